import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { wrapPhase } from '../../src/core/raster.js';
import {
  augmentLayers, balancedPlan, inversePoint, randomAugmentation, sourceSizeFor, sourceToOutput, transformBox, transformPoint,
  FLIPS, IDENTITY, type Augmentation, type SquareLayers,
} from '../../src/data/augment.js';
import { type CentreBox } from '../../src/core/box.js';

/** An elongated, rotated Gaussian (a dyke-like signal) on an M x M grid, its mask and its box. */
function blob(m: number, cx: number, cy: number, sx: number, sy: number, angleDeg: number, amp = 6): { layers: SquareLayers; box: CentreBox } {
  const n = m * m;
  const un = new Float32Array(n), wr = new Float32Array(n), co = new Float32Array(n).fill(0.8), mask = new Uint8Array(n);
  const t = (angleDeg * Math.PI) / 180;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let y = 0; y < m; y++) {
    for (let x = 0; x < m; x++) {
      const u = (x - cx) * Math.cos(t) + (y - cy) * Math.sin(t);
      const v = -(x - cx) * Math.sin(t) + (y - cy) * Math.cos(t);
      const f = amp * Math.exp(-(u * u) / (2 * sx * sx) - (v * v) / (2 * sy * sy));
      const i = y * m + x;
      un[i] = f;
      wr[i] = wrapPhase(f);
      if (f > 0.2 * amp) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    }
  }
  // The label box: the extent of |defo| > 20 % of the peak (labels.ts), centred on the extent.
  const box = { x: (x0 + x1) / 2, y: (y0 + y1) / 2, halfWidth: (x1 - x0) / 2 + 0.5, halfHeight: (y1 - y0) / 2 + 0.5 };
  return { layers: { width: m, height: m, wrappedRad: wr, unwrappedRad: un, coherence: co, mask }, box };
}

test('transformPoint and inversePoint are inverses; identity does nothing', () => {
  const rng = new Rng(3);
  for (let k = 0; k < 200; k++) {
    const a = randomAugmentation(rng);
    const [x, y] = [rng.uniform(-10, 240), rng.uniform(-10, 240)];
    const [tx, ty] = transformPoint(a, 224, x, y);
    const [bx, by] = inversePoint(a, 224, tx, ty);
    assert.ok(Math.abs(bx - x) < 1e-9 && Math.abs(by - y) < 1e-9);
  }
  assert.deepEqual(transformPoint(IDENTITY, 224, 10, 20), [10, 20]);
});

test('flips and quarter turns are exact pixel permutations', () => {
  const { layers } = blob(16, 5, 9, 2, 4, 20);
  const at = (l: SquareLayers, x: number, y: number) => l.unwrappedRad![y * l.width + x]!;
  const lr = augmentLayers(layers, { flip: 'lr', rotationDeg: 0, dx: 0, dy: 0 });
  const ud = augmentLayers(layers, { flip: 'ud', rotationDeg: 0, dx: 0, dy: 0 });
  const r90 = augmentLayers(layers, { flip: 'none', rotationDeg: 90, dx: 0, dy: 0 });
  const shift = augmentLayers(layers, { flip: 'none', rotationDeg: 0, dx: 3, dy: -2 });
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 16; x++) {
      assert.equal(at(lr, x, y), at(layers, 15 - x, y));
      assert.equal(at(ud, x, y), at(layers, x, 15 - y));
      // 90 degrees counter-clockwise on screen: the top row comes from the right column.
      assert.equal(at(r90, x, y), at(layers, 15 - y, x));
      if (x - 3 >= 0 && y + 2 < 16) assert.equal(at(shift, x, y), at(layers, x - 3, y + 2));
    }
  }
  assert.ok(shift.mask[0]! !== 0, 'shifted-in pixels are masked');
  assert.equal(lr.mask.reduce((a, b) => a + b, 0), 0);
});

test('property: over many random augmentations the box always holds the transformed deformation', () => {
  const N = 96;
  const M = sourceSizeFor(N, 20);
  const rng = new Rng(20210421);
  let checked = 0;
  for (let trial = 0; trial < 150; trial++) {
    // A new elongated blob each time, anywhere near the middle, any orientation.
    const c = (M - 1) / 2;
    const src = blob(M, c + rng.uniform(-25, 25), c + rng.uniform(-25, 25), rng.uniform(2, 6), rng.uniform(6, 14), rng.uniform(0, 180));
    const a: Augmentation = randomAugmentation(rng);
    const out = augmentLayers(src.layers, a, N);
    const box = transformBox(a, N, sourceToOutput(src.box, M, N));
    // The transformed deformation: pixels of the augmented image above 20 % of the peak.
    for (let y = 0; y < N; y++) {
      for (let x = 0; x < N; x++) {
        const v = out.unwrappedRad![y * N + x]!;
        if (!(v > 0.2 * 6 + 0.05)) continue; // a little above the threshold: bilinear blur
        checked++;
        assert.ok(Math.abs(x - box.x) <= box.halfWidth + 1 && Math.abs(y - box.y) <= box.halfHeight + 1,
          `trial ${trial} ${JSON.stringify(a)}: pixel (${x}, ${y}) outside box ${JSON.stringify(box)}`);
      }
    }
    // The box centre is where the blob's centre went.
    const [ex, ey] = transformPoint(a, N, src.box.x - (M - N) / 2, src.box.y - (M - N) / 2);
    assert.ok(Math.abs(box.x - ex) < 1e-9 && Math.abs(box.y - ey) < 1e-9);
  }
  assert.ok(checked > 10000, `${checked} deformation pixels checked`);
});

test('a tighter outline gives a tighter box than the rotated box corners, still containing it', () => {
  const box = { x: 50, y: 50, halfWidth: 4, halfHeight: 20 };
  const a: Augmentation = { flip: 'none', rotationDeg: 45, dx: 0, dy: 0 };
  const corners = transformBox(a, 100, box);
  const diamond: [number, number][] = [[50, 30], [54, 50], [50, 70], [46, 50]];
  const tight = transformBox(a, 100, box, diamond);
  assert.ok(tight.halfWidth < corners.halfWidth && tight.halfHeight < corners.halfHeight);
  assert.ok(Math.abs(corners.halfWidth - 24 / Math.SQRT2) < 1e-9);
});

test('wrapped phase is rotated through exp(i phi): no smeared fringe edges', () => {
  // Dense linear fringes; after a 30 degree rotation the wrapped output must match the rotated field.
  const m = 64;
  const un = new Float32Array(m * m), wr = new Float32Array(m * m);
  for (let y = 0; y < m; y++) for (let x = 0; x < m; x++) { un[y * m + x] = 1.3 * x; wr[y * m + x] = wrapPhase(1.3 * x); }
  const src: SquareLayers = { width: m, height: m, wrappedRad: wr, unwrappedRad: un, coherence: null, mask: new Uint8Array(m * m) };
  const a: Augmentation = { flip: 'none', rotationDeg: 30, dx: 0, dy: 0 };
  const out = augmentLayers(src, a, 32);
  let worst = 0;
  for (let i = 0; i < 32 * 32; i++) worst = Math.max(worst, Math.abs(wrapPhase(out.wrappedRad[i]! - out.unwrappedRad![i]!)));
  assert.ok(worst < 0.3, `wrapped vs unwrapped after rotation: ${worst}`);
});

test('class balancing: every class drawn equally often, factor copies of the largest class', () => {
  const classes = ['dyke', 'sill', 'sill', 'sill', 'none', 'none'];
  const plan = balancedPlan(classes, 89, new Rng(1));
  const per = (c: string) => plan.filter((i) => classes[i] === c).length;
  assert.equal(per('dyke'), 267);
  assert.equal(per('sill'), 267);
  assert.equal(per('none'), 267);
  // Within a class each sample is used floor or ceil of its share.
  const uses = [1, 2, 3].map((i) => plan.filter((k) => k === i).length);
  assert.ok(Math.max(...uses) - Math.min(...uses) <= 1, JSON.stringify(uses));
  assert.throws(() => balancedPlan(classes, 0, new Rng(1)), RangeError);
  assert.deepEqual(balancedPlan([], 5, new Rng(1)), []);
});

test('random augmentations cover every flip, the full turn and the +-20 px shifts', () => {
  const rng = new Rng(9);
  const seen = new Set<string>();
  let minR = 360, maxR = -1, maxS = 0;
  for (let k = 0; k < 2000; k++) {
    const a = randomAugmentation(rng);
    seen.add(a.flip);
    minR = Math.min(minR, a.rotationDeg); maxR = Math.max(maxR, a.rotationDeg);
    maxS = Math.max(maxS, Math.abs(a.dx), Math.abs(a.dy));
  }
  assert.deepEqual([...seen].sort(), [...FLIPS].sort());
  assert.equal(minR, 0);
  assert.equal(maxR, 359);
  assert.equal(maxS, 20);
});
