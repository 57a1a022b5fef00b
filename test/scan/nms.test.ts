import { test } from 'node:test';
import assert from 'node:assert/strict';
import { centrality, nonMaxSuppression, rectContainment, rectIoU, type Rect } from '../../src/scan/nms.js';

test('IoU and containment', () => {
  assert.equal(rectIoU([0, 0, 2, 2], [0, 0, 2, 2]), 1);
  assert.equal(rectIoU([0, 0, 2, 2], [1, 0, 3, 2]), 2 / 6);
  assert.equal(rectIoU([0, 0, 1, 1], [2, 2, 3, 3]), 0);
  assert.equal(rectIoU([0, 0, 0, 0], [0, 0, 0, 0]), 0);
  assert.equal(rectContainment([0, 0, 10, 10], [2, 2, 4, 4]), 1);
  assert.ok(rectIoU([0, 0, 10, 10], [2, 2, 4, 4]) < 0.05);
});

test('IoU does not change when an axis is scaled (pixels or degrees give the same merge)', () => {
  const a: Rect = [1, 2, 5, 9], b: Rect = [3, 1, 8, 6];
  const s = (r: Rect): Rect => [r[0] * 0.0022, r[1] * 0.003, r[2] * 0.0022, r[3] * 0.003];
  assert.ok(Math.abs(rectIoU(a, b) - rectIoU(s(a), s(b))) < 1e-12);
});

test('greedy NMS keeps the best of each cluster, separate clusters each keep one', () => {
  const items = [
    { id: 'a1', rect: [0, 0, 10, 10] as Rect, score: 0.8 },
    { id: 'a2', rect: [1, 1, 11, 11] as Rect, score: 0.9 },
    { id: 'a3', rect: [3, 3, 6, 6] as Rect, score: 0.7 }, // inside a2: same signal seen partly
    { id: 'b1', rect: [50, 50, 60, 58] as Rect, score: 0.6 },
    { id: 'b2', rect: [52, 51, 61, 59] as Rect, score: 0.65 },
    { id: 'c', rect: [20, 0, 30, 10] as Rect, score: 0.55 }, // touches nothing
  ];
  assert.deepEqual(nonMaxSuppression(items).map((i) => i.id), ['a2', 'b2', 'c']);
  // Without the containment rule the partial box survives.
  assert.deepEqual(nonMaxSuppression(items, { containment: 1 }).map((i) => i.id), ['a2', 'a3', 'b2', 'c']);
  // A strict IoU keeps near-duplicates apart.
  assert.equal(nonMaxSuppression(items, { iou: 0.99, containment: 1 }).length, 6);
  assert.deepEqual(nonMaxSuppression([]), []);
});

test('per-group NMS lets different classes overlap; ties keep input order', () => {
  const items = [
    { rect: [0, 0, 10, 10] as Rect, score: 0.9, group: 'dyke' },
    { rect: [0, 0, 10, 10] as Rect, score: 0.8, group: 'sill' },
  ];
  assert.equal(nonMaxSuppression(items).length, 1);
  assert.equal(nonMaxSuppression(items, { perGroup: true }).length, 2);
  const ties = [{ rect: [0, 0, 1, 1] as Rect, score: 1, n: 1 }, { rect: [0, 0, 1, 1] as Rect, score: 1, n: 2 }];
  assert.deepEqual(nonMaxSuppression(ties).map((t) => t.n), [1]);
});

test('centrality: 1 in the central half, 0.5 at the edge', () => {
  assert.equal(centrality(112, 112, 224), 1);
  assert.equal(centrality(60, 160, 224), 1);
  assert.equal(centrality(0, 112, 224), 0.5);
  assert.ok(Math.abs(centrality(224 - 28, 112, 224) - 0.75) < 1e-9);
  assert.equal(centrality(-50, 112, 224), 0.5);
});
