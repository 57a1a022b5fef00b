import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxFromDeformation } from '../../src/synth/labels.js';
import { boxCorners, boxIoU, centreError } from '../../src/core/box.js';

/** A raster with a rectangle of value v from (x0,y0) to (x1,y1) inclusive. */
function rect(w: number, h: number, x0: number, y0: number, x1: number, y1: number, v = 1): Float32Array {
  const a = new Float32Array(w * h);
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) a[y * w + x] = v;
  return a;
}

test('box: centre is the source, half-widths are ceil(extent/2) of pixels above 20 % of max', () => {
  const a = rect(50, 40, 10, 5, 29, 14, 0.1); // extent x 10..29 (19), y 5..14 (9)
  a[8 * 50 + 12] = 0.2; // max; 0.1 > 0.2 * 0.2 so the whole rectangle counts
  const b = boxFromDeformation(a, 50, 40, 20, 10);
  assert.deepEqual(b, { x: 20, y: 10, halfWidth: 10, halfHeight: 5 });
  assert.deepEqual(boxCorners(b), [10, 5, 30, 15]);
});

test('box: pixels at or below 20 % of max are not deformation; sign does not matter', () => {
  const a = rect(30, 30, 0, 0, 29, 29, 0.019);
  for (let y = 12; y <= 17; y++) for (let x = 10; x <= 19; x++) a[y * 30 + x] = -0.1;
  const b = boxFromDeformation(a, 30, 30, 15, 14);
  assert.equal(b.halfWidth, 5); // ceil(9/2)
  assert.equal(b.halfHeight, 3); // ceil(5/2)
});

test('box: a source off the centre of its deformation keeps the source as centre (SyInterferoPy)', () => {
  const a = rect(100, 100, 40, 40, 60, 60, 1);
  const b = boxFromDeformation(a, 100, 100, 45, 58);
  assert.deepEqual([b.x, b.y, b.halfWidth, b.halfHeight], [45, 58, 10, 10]);
});

test('box: no deformation is an error, not a silent empty box', () => {
  assert.throws(() => boxFromDeformation(new Float32Array(16), 4, 4, 2, 2), /no deformation/);
});

test('IoU and centre error', () => {
  const a = { x: 10, y: 10, halfWidth: 5, halfHeight: 5 };
  assert.equal(boxIoU(a, a), 1);
  assert.equal(boxIoU(a, { x: 30, y: 30, halfWidth: 5, halfHeight: 5 }), 0);
  // Shifted by half its width: overlap 5x10 = 50, union 200 - 50 = 150.
  assert.ok(Math.abs(boxIoU(a, { x: 15, y: 10, halfWidth: 5, halfHeight: 5 }) - 50 / 150) < 1e-12);
  assert.equal(centreError(a, { x: 13, y: 14, halfWidth: 1, halfHeight: 1 }), 5);
});
