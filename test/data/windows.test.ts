import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wrapPhase } from '../../src/core/raster.js';
import { InputError } from '../../src/core/errors.js';
import { MASK_NODATA } from '../../src/io/licsar.js';
import {
  cutWindow, lonLatBoxToPixels, lonLatBoxToWindow, lonLatToWindow, parseLonLat, resampleWindow, scanGrid,
  windowBoxToLonLat, windowToLonLat, DEFAULT_WINDOW_KM,
} from '../../src/data/windows.js';
import { fakeProduct } from '../helpers/products.js';

const rejects = (re: RegExp) => (e: unknown) => e instanceof InputError && re.test(e.message);

test('window geometry: the centre pixel is the point, 90 m pixels, inverse maps agree', () => {
  const g = { centre: { lon: -72.6, lat: -41.3 }, size: 224, spacingM: 90 };
  assert.deepEqual(windowToLonLat(g, 112, 112), [-72.6, -41.3]);
  const [lon, lat] = windowToLonLat(g, 112, 0);
  assert.equal(lon, -72.6);
  assert.ok(Math.abs((lat - -41.3) * 111195 - 112 * 90) < 1, 'north is up, 90 m per pixel');
  const [x, y] = lonLatToWindow(g, ...windowToLonLat(g, 17.25, 200.5));
  assert.ok(Math.abs(x - 17.25) < 1e-9 && Math.abs(y - 200.5) < 1e-9);
  const box = { x: 60, y: 150, halfWidth: 12, halfHeight: 30 };
  const back = lonLatBoxToWindow(g, windowBoxToLonLat(g, box));
  for (const k of ['x', 'y', 'halfWidth', 'halfHeight'] as const) assert.ok(Math.abs(back[k] - box[k]) < 1e-6, k);
  assert.ok(Math.abs(DEFAULT_WINDOW_KM - 20.16) < 1e-12);
});

test('unwrapped phase resamples bilinearly; wrapped phase through exp(i phi) keeps sharp fringes', () => {
  // Dense fringes: a phase ramp of ~2.4 rad per product pixel in longitude, smooth in latitude.
  const ramp = (lon: number, lat: number) => (lon + 73) * 1200 + (lat + 41) * 300;
  const p = fakeProduct({ width: 300, height: 300, dLon: 0.002, dLat: -0.0015, phase: ramp });
  const w = cutWindow(p, { lon: -72.7, lat: -41.2 }, { size: 64, sizeKm: 10 });
  assert.equal(w.maskedFraction, 0);
  let maxU = 0, maxW = 0, maxNaive = 0;
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const [lon, lat] = windowToLonLat(w, x, y);
      const truth = ramp(lon, lat);
      const i = y * 64 + x;
      maxU = Math.max(maxU, Math.abs(w.unwrappedRad![i]! - truth));
      maxW = Math.max(maxW, Math.abs(wrapPhase(w.wrappedRad[i]! - truth)));
      maxNaive = Math.max(maxNaive, Math.abs(wrapPhase(w.unwrappedRad![i]! * 0 + naiveWrapped(p, lon, lat) - truth)));
    }
  }
  assert.ok(maxU < 1e-3, `unwrapped error ${maxU}`);
  assert.ok(maxW < 0.35, `wrapped error ${maxW}`);
  assert.ok(maxNaive > 1.5, `averaging angles would smear fringes (error ${maxNaive})`);
});

/** Bilinear interpolation of the wrapped angles themselves: what not to do. */
function naiveWrapped(p: ReturnType<typeof fakeProduct>, lon: number, lat: number): number {
  const fx = (lon - p.geo.west) / p.geo.dLon - 0.5, fy = (lat - p.geo.north) / p.geo.dLat - 0.5;
  const x0 = Math.floor(fx), y0 = Math.floor(fy), tx = fx - x0, ty = fy - y0;
  const v = (x: number, y: number) => p.wrappedRad[y * p.width + x]!;
  return (1 - ty) * ((1 - tx) * v(x0, y0) + tx * v(x0 + 1, y0)) + ty * ((1 - tx) * v(x0, y0 + 1) + tx * v(x0 + 1, y0 + 1));
}

test('masked pixels stay masked, coherence is carried, outside the product is no data', () => {
  const p = fakeProduct({
    width: 200, height: 200, phase: () => 0.5,
    coherence: (lon) => (lon < -72.8 ? 0.1 : 0.8),
  });
  // Window centred on the product's east edge: half of it lies outside.
  const east = p.geo.west + p.width * p.geo.dLon;
  const w = resampleWindow(p, { centre: { lon: east, lat: -41.15 }, size: 32, spacingM: 300 });
  assert.ok(w.mask[16 * 32 + 31]! & MASK_NODATA, 'east half is outside');
  assert.equal(w.mask[16 * 32 + 4], 0);
  assert.ok(Math.abs(w.coherence![16 * 32 + 4]! - 0.8) < 1e-6);
  assert.ok(w.maskedFraction > 0.4 && w.maskedFraction < 0.6, String(w.maskedFraction));
  const west = resampleWindow(p, { centre: { lon: -72.95, lat: -41.15 }, size: 32, spacingM: 90 });
  assert.equal(west.maskedFraction, 1);
  assert.equal(west.mask[0], 2, 'incoherent bit carried');
});

test('cutting: clear errors for a point outside the product and an entirely masked window', () => {
  const p = fakeProduct({ width: 200, height: 200, phase: () => 0.5, coherence: (lon) => (lon < -72.8 ? 0.1 : 0.8) });
  assert.throws(() => cutWindow(p, { lon: -70, lat: -41.1 }, { name: 'Somewhere' }),
    rejects(/fake_20200101_20200113: Somewhere \(-70\.0000, -41\.1000\) is outside the product \(lon -73\.0000\.\.-72\.6000, lat -41\.3000\.\.-41\.0000\)/));
  assert.throws(() => cutWindow(p, { lon: -72.95, lat: -41.15 }, { sizeKm: 5 }),
    rejects(/5\.0 km window around point \(-72\.9500, -41\.1500\) is entirely masked .*coherence below 0\.3.*--min-coherence/));
  assert.throws(() => cutWindow(p, { lon: -72.7, lat: -41.15 }, { sizeKm: -1 }), rejects(/> 0 km/));
  assert.equal(cutWindow(p, { lon: -72.7, lat: -41.15 }).size, 224);
});

test('scan grid: overlapping windows cover the frame edge to edge; small products get one window', () => {
  // ~84 km x 50 km
  const p = fakeProduct({ width: 500, height: 300, dLon: 0.002, dLat: -0.0015, phase: () => 1 });
  const centres = scanGrid(p, { sizeKm: 20, overlap: 0.5 });
  const lons = [...new Set(centres.map((c) => c.lon.toFixed(6)))].map(Number).sort((a, b) => a - b);
  const lats = [...new Set(centres.map((c) => c.lat.toFixed(6)))].map(Number).sort((a, b) => a - b);
  assert.equal(centres.length, lons.length * lats.length);
  const kmLon = 111.195 * Math.cos((-41.225 * Math.PI) / 180);
  assert.ok(Math.abs((lons[0]! - -73) * kmLon - 10) < 0.01, 'first window touches the west edge');
  assert.ok(Math.abs((-72 - lons.at(-1)!) * kmLon - 10) < 0.01, 'last window touches the east edge');
  for (let i = 1; i < lons.length; i++) assert.ok((lons[i]! - lons[i - 1]!) * kmLon <= 10 + 1e-6, 'stride <= half a window');
  for (let i = 1; i < lats.length; i++) assert.ok((lats[i]! - lats[i - 1]!) * 111.195 <= 10 + 1e-6);
  const tiny = fakeProduct({ width: 20, height: 20, phase: () => 1 });
  assert.equal(scanGrid(tiny).length, 1);
});

test('lon/lat boxes map to product pixels (GDAL convention)', () => {
  const p = fakeProduct({ width: 100, height: 100, phase: () => 1 });
  const b = lonLatBoxToPixels(p, [-73 + 10 * 0.002, -41 - 30 * 0.0015, -73 + 20 * 0.002, -41 - 5 * 0.0015]);
  const want = [10, 5, 20, 30];
  b.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-9, `${v} vs ${want[i]}`));
});

test('parseLonLat', () => {
  assert.deepEqual(parseLonLat('-72.62, -41.33'), { lon: -72.62, lat: -41.33 });
  assert.throws(() => parseLonLat('-41.33'), rejects(/LON,LAT/));
  assert.throws(() => parseLonLat('10,95'), rejects(/not a lon,lat/));
});
