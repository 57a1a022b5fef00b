/** Values no interferogram has are refused in one line; real ones (and NaN no-data) pass. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkInterferogramValues, MAX_ABS_VALUE } from '../../src/io/value-sanity.js';
import { decodeGeoTiff, encodeGeoTiff } from '../../src/io/geotiff.js';
import { isInputError } from '../../src/core/errors.js';

const refused = (re: RegExp) => (e: unknown) => isInputError(e) && !(e as Error).message.includes('\n') && re.test((e as Error).message);

function phase(n = 64): Float32Array {
  const a = new Float32Array(n * n);
  for (let i = 0; i < a.length; i++) a[i] = Math.sin(i / 17) * 3 + Math.cos(i / 251);
  return a;
}

test('real-looking phase and LOS pass, NaN is no data', () => {
  const p = phase();
  p[5] = NaN;
  const s = checkInterferogramValues(p, 'a.tif', 'rad');
  assert.equal(s.total, p.length);
  assert.equal(s.finite, p.length - 1);
  assert.ok(s.maxAbs > 3 && s.maxAbs < 4.1);
  assert.equal(checkInterferogramValues(p.map((v) => v * 0.0044), 'los.tif', 'm').finite, p.length - 1);
  assert.equal(checkInterferogramValues(p.map((v) => v * 4.4), 'los.tif', 'mm').finite, p.length - 1);
  assert.equal(checkInterferogramValues(new Float32Array(10), 'zeros.npy').maxAbs, 0, 'all zero is allowed');
  // Unwrapped phase of hundreds of fringes is still an interferogram.
  assert.equal(checkInterferogramValues(new Float32Array([9000, -9999, 0]), 'u.tif').finite, 3);
});

test('byte-swapped floats, x1e30, +Inf and all-NaN are refused with the reason', () => {
  const p = phase();
  const swapped = new Float32Array(p.length);
  const src = new Uint8Array(p.buffer), dst = new Uint8Array(swapped.buffer);
  for (let i = 0; i < src.length; i += 4) for (let k = 0; k < 4; k++) dst[i + k] = src[i + 3 - k]!;
  assert.throws(() => checkInterferogramValues(swapped, 'swapped.npy'), refused(/^swapped\.npy: .*(exceed 10000 rad|below 1e-20|±Infinity|no finite)/));
  assert.throws(() => checkInterferogramValues(p.map((v) => v * 1e30), 'big.npy'), refused(/^big\.npy: \d+ of \d+ values exceed 10000 rad \(largest \|value\| [\d.]+e\+30 rad\), more than any interferogram has: byte-swapped, wrongly scaled/));
  assert.throws(() => checkInterferogramValues(new Float32Array(100).fill(Infinity), 'inf.tif'), refused(/^inf\.tif: no finite value in 100 pixels \(100 ±Infinity/));
  assert.throws(() => checkInterferogramValues(new Float32Array(100).fill(NaN), 'nan.tif'), refused(/^nan\.tif: no finite value in 100 pixels/));
  const someInf = phase();
  someInf[3] = -Infinity;
  assert.throws(() => checkInterferogramValues(someInf, 'x.tif'), refused(/1 of 4096 pixels are ±Infinity/));
  assert.throws(() => checkInterferogramValues(new Float32Array([150, 1]), 'los.tif', 'm'), refused(/exceed 100 m .* not LOS displacement in metres/));
  assert.throws(() => checkInterferogramValues(new Float32Array([1e-30, -2e-25]), 'tiny.npy'), refused(/every value is below 1e-20/));
  assert.equal(MAX_ABS_VALUE.rad, 1e4);
});

test('an all-+Inf GeoTIFF reads, and the check refuses it', async () => {
  const r = { width: 8, height: 8, data: new Float32Array(64).fill(Infinity) };
  const back = await decodeGeoTiff(encodeGeoTiff(r, { west: 14, north: 41, dLon: 0.001, dLat: -0.001 }), 'inf.geo.unw.tif');
  assert.throws(() => checkInterferogramValues(back.raster.data, 'inf.geo.unw.tif', 'rad'), refused(/no finite value/));
});
