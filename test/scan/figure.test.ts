/** The pictures a user looks at, against pixel-statistics fixtures (test/helpers/images.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanProduct } from '../../src/scan/scan.js';
import { scanFigure } from '../../src/scan/figure.js';
import { fakeProduct, thresholdModel } from '../helpers/products.js';
import { assertImageFixture, imageStats } from '../helpers/images.js';

const bump = (lon0: number, lat0: number, rKm: number, amp: number) => (lon: number, lat: number): number => {
  const dx = (lon - lon0) * 111.195 * Math.cos((lat0 * Math.PI) / 180), dy = (lat - lat0) * 111.195;
  return amp * Math.exp(-(dx * dx + dy * dy) / (rKm * rKm)) * 2 * Math.PI;
};

test('scan figure: the frame in the cyclic map, masked corner grey, one box per detection (fixture)', async () => {
  const A = { lon: -72.6, lat: -41.2 };
  const wave = bump(A.lon, A.lat, 2.5, 2);
  const p = fakeProduct({
    width: 400, height: 300, dLon: 0.002, dLat: -0.0015, phase: (lon, lat) => 0.5 + wave(lon, lat),
    // A low-coherence block in the south-west corner: masked, drawn grey.
    coherence: (lon, lat) => (lon < -72.9 && lat < -41.3 ? 0.1 : 0.9),
  });
  const s = await scanProduct(p, thresholdModel({ background: 0.5 }), { scalesKm: [20] });
  assert.equal(s.detections.length, 1);
  const fig = scanFigure(s);
  const stats = imageStats(fig);
  assert.ok(Object.keys(stats.colours).length >= 8, 'a phase map, not a flat image');
  assertImageFixture('scan-figure', fig);
});
