import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeGeoTiff, writeGeoTiff, type GeoTransform, type GeoTiffWriteOptions } from '../../src/io/geotiff.js';
import {
  datesFromName, discoverProducts, frameFromPath, layerOf, readProduct, lonLatToPixel, pixelToLonLat,
  MASK_INCOHERENT, MASK_NODATA, MASK_ZERO, type ProductFiles,
} from '../../src/io/licsar.js';
import { InputError } from '../../src/core/errors.js';
import { C_BAND_WAVELENGTH_M } from '../../src/physics/units.js';
import type { Raster } from '../../src/core/raster.js';
import { withDir as withTempDir } from '../helpers/files.js';

const GEO: GeoTransform = { west: -73, north: -41, dLon: 0.002, dLat: -0.002 };
const W = 40, H = 30;

function field(f: (x: number, y: number) => number, w = W, h = H): Raster {
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = f(x, y);
  return { width: w, height: h, data };
}

const withDir = (f: (dir: string) => Promise<void>): Promise<void> => withTempDir('caldera-licsar-', f);

const rejectsWith = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
  assert.match((e as Error).message, re);
  return true;
};

async function product(dir: string, name: string, layers: { unw?: Raster; pha?: Raster; cc?: Raster }, opts: GeoTiffWriteOptions = {}, geo = GEO): Promise<ProductFiles> {
  fs.mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = {};
  if (layers.unw) await writeGeoTiff((files.unw = path.join(dir, `${name}.geo.unw.tif`)), layers.unw, geo, opts);
  if (layers.pha) await writeGeoTiff((files.diffPha = path.join(dir, `${name}.geo.diff_pha.tif`)), layers.pha, geo, opts);
  if (layers.cc) await writeGeoTiff((files.cc = path.join(dir, `${name}.geo.cc.tif`)), layers.cc, geo, opts);
  const d = discoverProducts([dir]);
  const p = d.products.find((q) => q.prefix.endsWith(name));
  assert.ok(p, `product ${name} found`);
  return p;
}

test('file names: layers, dates in time order, LiCSAR frame ids', () => {
  assert.deepEqual(layerOf('20160414_20160426.geo.unw.tif'), { kind: 'unw', prefix: '20160414_20160426' });
  assert.deepEqual(layerOf('a.geo.diff_pha.tif'), { kind: 'diff_pha', prefix: 'a' });
  assert.deepEqual(layerOf('a.cc.tiff'), { kind: 'cc', prefix: 'a' });
  assert.equal(layerOf('a.geo.hgt.tif').kind, null);
  assert.equal(layerOf('a.geo.E.tif').kind, null);
  assert.equal(layerOf('a.png').kind, null);
  assert.deepEqual(layerOf('velocity.tif'), { kind: 'raster', prefix: 'velocity' });
  assert.deepEqual(datesFromName('/x/083D_12636_131313/interferograms/20160426_20160414/20160426_20160414.geo.unw.tif'), ['2016-04-14', '2016-04-26']);
  assert.deepEqual(datesFromName('calbuco_20160414_20160426.geo.cc.tif'), ['2016-04-14', '2016-04-26']);
  assert.deepEqual(datesFromName('/data/20190101_20190113/disp.tif'), ['2019-01-01', '2019-01-13']);
  assert.equal(datesFromName('20161314_20160426.geo.unw.tif'), null); // month 13
  assert.equal(datesFromName('20160230_20160426.geo.unw.tif'), null); // 30 February
  assert.equal(datesFromName('x.geo.unw.tif'), null);
  assert.equal(frameFromPath('/lic/083D_12636_131313/interferograms/a.geo.unw.tif'), '083D_12636_131313');
  assert.equal(frameFromPath('/lic/plain/a.geo.unw.tif'), null);
});

test('discovery pairs layers by prefix, walks folders, ignores other layers, reports problems', async () => {
  await withDir(async (dir) => {
    const frame = path.join(dir, '083D_12636_131313', 'interferograms');
    const r = field((x) => x * 0.1 + 0.5);
    for (const ifg of ['20160414_20160426', '20160426_20160508']) {
      const d = path.join(frame, ifg);
      fs.mkdirSync(d, { recursive: true });
      await writeGeoTiff(path.join(d, `${ifg}.geo.unw.tif`), r, GEO);
      await writeGeoTiff(path.join(d, `${ifg}.geo.cc.tif`), field(() => 0.9), GEO);
    }
    await writeGeoTiff(path.join(frame, '20160414_20160426', '20160414_20160426.geo.diff_pha.tif'), r, GEO);
    await writeGeoTiff(path.join(frame, '20160414_20160426', '20160414_20160426.geo.hgt.tif'), r, GEO);
    fs.writeFileSync(path.join(frame, '20160414_20160426', '20160414_20160426.geo.diff.png'), 'png');
    await writeGeoTiff(path.join(dir, 'lonely.geo.cc.tif'), r, GEO);
    await writeGeoTiff(path.join(dir, 'velocity.tif'), r, GEO);

    const d = discoverProducts([dir, path.join(dir, 'missing')]);
    assert.deepEqual(d.products.map((p) => p.id), ['083D_12636_131313/20160414_20160426', '083D_12636_131313/20160426_20160508']);
    const a = d.products[0]!;
    assert.ok(a.unw && a.diffPha && a.cc && !a.raster);
    assert.deepEqual(a.dates, ['2016-04-14', '2016-04-26']);
    assert.equal(a.frame, '083D_12636_131313');
    assert.ok(!d.products[1]!.diffPha);
    assert.deepEqual(d.problems.map((p) => p.message.replace(dir, 'DIR')).sort(), [
      'DIR/missing: no such file or folder',
      'lonely.geo.cc.tif: coherence only; no .unw.tif or .diff_pha.tif with the same prefix',
    ]);
    assert.ok(d.ignored.some((f) => f.endsWith('.geo.hgt.tif')));
    assert.ok(d.ignored.some((f) => f.endsWith('velocity.tif')), 'plain rasters in folders only with --units m');

    // With units m, plain rasters in folders are LOS products; named explicitly they always are.
    assert.ok(discoverProducts([dir], { units: 'm' }).products.some((p) => p.id === 'velocity'));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    const explicit = discoverProducts([path.join(dir, 'velocity.tif'), path.join(dir, 'notes.txt')]);
    assert.deepEqual(explicit.products.map((p) => p.id), ['velocity']);
    assert.match(explicit.problems[0]!.message, /notes\.txt: not a GeoTIFF/);
    // A layer named on its own brings its siblings.
    const unwOnly = discoverProducts([path.join(frame, '20160414_20160426', '20160414_20160426.geo.unw.tif')]);
    assert.equal(unwOnly.products.length, 1);
    assert.ok(unwOnly.products[0]!.cc && unwOnly.products[0]!.diffPha);
  });
});

test('reading float32 layers: NaN and nodata values, zeros and low coherence are masked', async () => {
  await withDir(async (dir) => {
    const unw = field((x, y) => 0.3 * x - 0.2 * y + 0.1);
    unw.data[0] = NaN; // NaN no data
    unw.data[1] = -9999; // nodata value
    unw.data[2] = 0; // LiCSAR zero fill
    const cc = field(() => 0.8);
    cc.data[3] = 0.1; // incoherent
    cc.data[4] = 0; // outside the swath
    const f = await product(dir, '20200101_20200113', { unw, cc }, { nodata: -9999 });
    const p = await readProduct(f);
    assert.equal(p.width, W);
    assert.equal(p.height, H);
    assert.deepEqual([p.geo.west, p.geo.north, p.geo.dLon, p.geo.dLat], [GEO.west, GEO.north, GEO.dLon, GEO.dLat]);
    assert.deepEqual(Array.from(p.mask.slice(0, 6)), [MASK_NODATA, MASK_NODATA, MASK_ZERO, MASK_INCOHERENT, MASK_ZERO, 0]);
    assert.ok(Math.abs(p.maskedFraction - 5 / (W * H)) < 1e-9);
    assert.equal(p.minCoherence, 0.3);
    // Wrapped phase comes from the unwrapped one when there is no diff_pha.
    const i = 10 * W + 30;
    const expected = Math.atan2(Math.sin(unw.data[i]!), Math.cos(unw.data[i]!));
    assert.ok(Math.abs(p.wrappedRad[i]! - expected) < 1e-5);
    assert.equal(p.unwrappedRad![i], unw.data[i]);
    // A stricter threshold masks more; a looser one less.
    const loose = await readProduct(f, { minCoherence: 0.05 });
    assert.equal(loose.mask[3], 0);
    await assert.rejects(readProduct(f, { minCoherence: 1.5 }), rejectsWith(/within 0\.\.1/));
  });
});

test('coherence stored as uint8 0..255 is rescaled; wrapped-only products have no unwrapped layer', async () => {
  await withDir(async (dir) => {
    const pha = field((x) => ((x % 12) / 12) * 6 - 3);
    const cc = field((x) => (x < 20 ? 200 : 50));
    const files = { ...(await product(dir, 'a', { pha })) };
    const ccFile = path.join(dir, 'a.geo.cc.tif');
    await writeGeoTiff(ccFile, cc, GEO, { dtype: 'uint8' });
    const p = await readProduct({ ...files, cc: ccFile });
    assert.equal(p.unwrappedRad, null);
    assert.ok(Math.abs(p.coherence![0]! - 200 / 255) < 1e-6);
    assert.equal(p.mask[0], 0);
    assert.equal(p.mask[25], MASK_INCOHERENT); // 50/255 = 0.2 < 0.3
    assert.ok(p.notes.some((n) => /0\.\.255/.test(n)));
  });
});

test('every GeoTIFF layout reads the same: strips, tiles, deflate, LZW, int16', async () => {
  const unw = field((x, y) => Math.round(0.25 * x - 0.5 * y) + 20);
  let ref: Float32Array | null = null;
  for (const opts of [{}, { tileSize: 16 }, { compression: 'deflate' as const }, { compression: 'lzw' as const, tileSize: 32 }, { dtype: 'int16' as const }]) {
    await withDir(async (dir) => {
      const p = await readProduct(await product(dir, 'x', { unw }, opts));
      ref ??= p.unwrappedRad!;
      assert.deepEqual(Array.from(p.unwrappedRad!), Array.from(ref), JSON.stringify(opts));
    });
  }
});

test('LOS displacement in metres (--units m) becomes LiCSAR-sign phase', async () => {
  await withDir(async (dir) => {
    const f = path.join(dir, 'disp_20200101_20200201.tif');
    await writeGeoTiff(f, field(() => 0.01), GEO);
    const d = discoverProducts([f], { units: 'm' });
    const p = await readProduct(d.products[0]!, { units: 'm' });
    assert.equal(p.source, 'los-metres');
    assert.deepEqual(p.files.dates, ['2020-01-01', '2020-02-01']);
    // d = -phi lambda / 4 pi: 1 cm toward the satellite is -4 pi 0.01 / lambda rad.
    assert.ok(Math.abs(p.unwrappedRad![0]! - (-4 * Math.PI * 0.01) / C_BAND_WAVELENGTH_M) < 1e-4);
    // The same file read as radians gets a hint that it might be metres.
    const asRad = await readProduct(d.products[0]!, { units: 'rad' });
    assert.ok(asRad.notes.some((n) => /--units m/.test(n)));
  });
});

test('bad input: each a clear message naming the file', async () => {
  await withDir(async (dir) => {
    const r = field((x) => x + 1);
    const tif = (name: string) => path.join(dir, name);
    const one = (f: string): ProductFiles => discoverProducts([f]).products[0]!;

    await writeGeoTiff(tif('m.geo.unw.tif'), r, GEO, { extraBands: [r.data, r.data] });
    await assert.rejects(readProduct(one(tif('m.geo.unw.tif'))), rejectsWith(/m\.geo\.unw\.tif: has 3 bands; products are single-band/));

    // UTM is reprojected (test/io/reproject.test.ts); a projection caldera does not know is refused.
    await writeGeoTiff(tif('p.geo.unw.tif'), r, { west: 1700000, north: 5400000, dLon: 100, dLat: -100 }, { epsg: 2193 });
    await assert.rejects(readProduct(one(tif('p.geo.unw.tif'))), rejectsWith(/p\.geo\.unw\.tif: has projected CRS EPSG:2193, which caldera cannot reproject.*EPSG:4326/));

    fs.writeFileSync(tif('n.geo.unw.tif'), encodeGeoTiff(r, null));
    await assert.rejects(readProduct(one(tif('n.geo.unw.tif'))), rejectsWith(/n\.geo\.unw\.tif: has no georeference/));

    const whole = encodeGeoTiff(field((x, y) => x * y + 1, 64, 64), GEO, { compression: 'deflate' });
    fs.writeFileSync(tif('t.geo.unw.tif'), whole.subarray(0, whole.length - 200));
    await assert.rejects(readProduct(one(tif('t.geo.unw.tif'))), rejectsWith(/t\.geo\.unw\.tif: truncated/));

    fs.writeFileSync(tif('junk.geo.unw.tif'), 'not a tiff at all');
    await assert.rejects(readProduct(one(tif('junk.geo.unw.tif'))), rejectsWith(/junk\.geo\.unw\.tif: not a readable TIFF/));

    await writeGeoTiff(tif('g.geo.unw.tif'), r, GEO);
    await writeGeoTiff(tif('g.geo.cc.tif'), field(() => 0.9, W + 1, H), GEO);
    await assert.rejects(readProduct(one(tif('g.geo.unw.tif'))), rejectsWith(/g\.geo\.cc\.tif: grid 41x30 .* differs from g\.geo\.unw\.tif/));

    await writeGeoTiff(tif('z.geo.unw.tif'), r, GEO);
    await writeGeoTiff(tif('z.geo.cc.tif'), field(() => 0.1), GEO);
    await assert.rejects(readProduct(one(tif('z.geo.unw.tif'))), rejectsWith(/z \(z.geo.unw.tif, z.geo.cc.tif\): every pixel is masked \(no data, zero, or coherence below 0\.3\)/));
  });
});

test('pixel <-> lon/lat follow GDAL (pixel i covers i..i+1)', () => {
  const p = { geo: { ...GEO, crs: 'EPSG:4326' } };
  assert.deepEqual(pixelToLonLat(p, 0, 0), [GEO.west, GEO.north]);
  const [c, r] = lonLatToPixel(p, GEO.west + 2.5 * GEO.dLon, GEO.north + 4 * GEO.dLat);
  assert.ok(Math.abs(c - 2.5) < 1e-9 && Math.abs(r - 4) < 1e-9);
});
