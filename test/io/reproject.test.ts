import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import proj4 from 'proj4';
import { groundSpacingM, pixelToLonLatFn, projectionOf, reprojectToLonLat } from '../../src/io/reproject.js';
import { readGeoTiff, writeGeoTiff, type GeoReference } from '../../src/io/geotiff.js';
import { isInputError } from '../../src/core/errors.js';
import { scanAll } from '../../src/scan/scan-all.js';
import { predictRaster, readInterferogram } from '../../src/scan/predict.js';
import { bump, thresholdModel } from '../helpers/products.js';
import { withDir } from '../helpers/files.js';

// A UTM zone 18S grid (EPSG:32718) of 300 m pixels around Calbuco, north-up in UTM.
const EPSG = 32718;
const UTM: GeoReference = { west: 660000, north: 5450000, dLon: 300, dLat: -300, crs: `EPSG:${EPSG}` };
const W = 200, H = 160;
const V = { lon: -72.62, lat: -41.33 };
const phase = (lon: number, lat: number): number => 0.5 + bump(V.lon, V.lat, 3, 3)(lon, lat);
const toLonLat = proj4(projectionOf(EPSG)!, 'EPSG:4326');

/** A raster on the UTM grid whose pixel centres hold f(lon, lat). */
function utmRaster(f: (lon: number, lat: number) => number): Float32Array {
  return Float32Array.from({ length: W * H }, (_, i) => {
    const [lon, lat] = toLonLat.forward([UTM.west + ((i % W) + 0.5) * UTM.dLon, UTM.north + (Math.floor(i / W) + 0.5) * UTM.dLat]);
    return f(lon, lat);
  });
}

test('known projections: WGS84 UTM north and south, Web Mercator; nothing else', () => {
  assert.match(projectionOf(32633)!, /\+proj=utm \+zone=33 \+datum=WGS84/);
  assert.match(projectionOf(32718)!, /\+zone=18 \+south/);
  assert.match(projectionOf(3857)!, /\+proj=merc/);
  for (const e of [4326, 2193, 32661, 32600, 27700]) assert.equal(projectionOf(e), null, String(e));
  const sp = groundSpacingM(UTM, EPSG, W, H);
  assert.ok(Math.abs(sp.east - 300) < 1 && Math.abs(sp.north - 300) < 1, JSON.stringify(sp)); // UTM scale ~0.9997-1.0004
  const [lon, lat] = pixelToLonLatFn(UTM, EPSG)(0, 0);
  assert.ok(Math.abs(lon + 73.1) < 0.2 && Math.abs(lat + 41.07) < 0.2, `${lon}, ${lat}`);
});

test('reprojection to lon/lat is nearest neighbour: every output pixel holds the input pixel under its centre', () => {
  const ids = Float32Array.from({ length: W * H }, (_, i) => i);
  const r = reprojectToLonLat({ width: W, height: H, data: ids }, UTM, EPSG);
  assert.equal(r.geo.crs, 'EPSG:4326');
  assert.ok(r.geo.dLat < 0 && r.geo.dLon > 0);
  // About the input's ground pixel size: similar pixel count, plus the corners of the turned outline.
  assert.ok(r.raster.width * r.raster.height > W * H && r.raster.width * r.raster.height < 1.3 * W * H, `${r.raster.width}x${r.raster.height}`);
  let filled = 0, wrong = 0;
  for (let row = 0; row < r.raster.height; row++) {
    for (let col = 0; col < r.raster.width; col++) {
      const v = r.raster.data[row * r.raster.width + col]!;
      if (Number.isNaN(v)) continue;
      filled++;
      const [x, y] = toLonLat.inverse([r.geo.west + (col + 0.5) * r.geo.dLon, r.geo.north + (row + 0.5) * r.geo.dLat]);
      const ic = Math.floor((x - UTM.west) / UTM.dLon), ir = Math.floor((y - UTM.north) / UTM.dLat);
      if (ir * W + ic !== v) wrong++;
    }
  }
  assert.ok(filled > 0.75 * W * H, `${filled} filled`);
  assert.ok(wrong / filled < 0.002, `${wrong} of ${filled} pixels off (only where the row interpolation crosses a pixel edge)`);
});

test('UTM GeoTIFFs: refused by a plain read with a hint, reprojected on request; scan finds the source where it is; predict puts its box on the map', async () => {
  await withDir('caldera-utm-', async (dir) => {
    const file = path.join(dir, '20200101_20200113.geo.unw.tif');
    await writeGeoTiff(file, { width: W, height: H, data: utmRaster(phase) }, UTM, { epsg: EPSG });
    await assert.rejects(readGeoTiff(file), (e: unknown) => isInputError(e) && /projected CRS EPSG:32718; a geographic lat\/lon grid is needed \(e\.g\. gdalwarp/.test((e as Error).message));
    const g = await readGeoTiff(file, { reproject: true });
    assert.equal(g.reprojectedFrom, 'EPSG:32718');
    assert.equal(g.geographic, true);
    const nz = path.join(dir, 'nz.tif');
    await writeGeoTiff(nz, { width: 8, height: 8, data: new Float32Array(64) }, { west: 1.7e6, north: 5.9e6, dLon: 100, dLat: -100 }, { epsg: 2193 });
    await assert.rejects(readGeoTiff(nz, { reproject: true }), /EPSG:2193, which caldera cannot reproject .*gdalwarp -t_srs EPSG:4326/);

    const scenes: { notes: string[]; boxes: number[][] }[] = [];
    const res = await scanAll([file], thresholdModel({ background: 0.5 }), {
      scan: { scalesKm: [40] },
      onScene: (s) => { scenes.push({ notes: s.product.notes, boxes: s.detections.map((d) => [...d.boxLonLat]) }); },
    });
    assert.equal(res.failures.length, 0, JSON.stringify(res.failures));
    assert.match(scenes[0]!.notes.join(' '), /EPSG:32718 grid reprojected to lon\/lat \(nearest neighbour, (29\d|30\d) m pixels\)/);
    assert.equal(scenes[0]!.boxes.length, 1);
    const [w, s, e, n] = scenes[0]!.boxes[0]!;
    assert.ok(w < V.lon && V.lon < e && s < V.lat && V.lat < n, `box ${[w, s, e, n].join(', ')} holds the source`);

    const r = await readInterferogram(file, 'rad');
    assert.ok(r.projected, 'predict keeps the UTM pixels and knows their lon/lat');
    const p = await predictRaster(thresholdModel({ background: 0.5 }), r);
    assert.equal(p.className, 'sill');
    const lons = p.polygon!.map((c) => c[0]), lats = p.polygon!.map((c) => c[1]);
    assert.ok(Math.min(...lons) < V.lon && V.lon < Math.max(...lons) && Math.min(...lats) < V.lat && V.lat < Math.max(...lats), JSON.stringify(p.polygon));
    // The box in the input's own (UTM) pixels: the source's pixel.
    const [sx, sy] = toLonLat.inverse([V.lon, V.lat]);
    const col = (sx - UTM.west) / UTM.dLon, row = (sy - UTM.north) / UTM.dLat;
    assert.ok(Math.abs(p.box.x + 0.5 - col) < 4 && Math.abs(p.box.y + 0.5 - row) < 4, `box centre ${p.box.x}, ${p.box.y} vs ${col}, ${row}`);
    void fs;
  });
});
