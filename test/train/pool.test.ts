import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DIHEDRAL, ExamplePool, applyDihedral, dihedralBox, drawStretch, poolBatches, stretchBox, stretchColumns } from '../../src/train/pool.js';
import { Rng } from '../../src/core/rng.js';
import { addSample } from '../../src/data/real.js';
import { realMixer } from '../../src/data/real-mix.js';
import { bump, fakeProduct } from '../helpers/products.js';
import { Feeder } from '../../src/data/feeder.js';
import { withDir } from '../helpers/files.js';

const V = { lon: -72.7, lat: -41.2 };

test('the 8 symmetries of the square move a marked pixel and its box centre to the same place', () => {
  const n = 16, c = 2;
  const img = new Float32Array(n * n * c);
  const [px, py] = [3, 11]; // x = column, y = row
  img[(py * n + px) * c] = 1;
  img[(py * n + px) * c + 1] = -1;
  const box = [px / n, py / n, 2 / n, 5 / n];
  const seen = new Set<string>();
  for (const d of DIHEDRAL) {
    const out = new Float32Array(img.length);
    applyDihedral(img, n, c, d, out);
    const k = out.findIndex((v) => v === 1) / c;
    const [x, y] = [k % n, Math.floor(k / n)];
    assert.equal(out[k * c + 1], -1, 'channels move together');
    const [cx, cy, hw, hh] = dihedralBox(box, n, d);
    assert.ok(Math.abs(cx * n - x) < 1e-9 && Math.abs(cy * n - y) < 1e-9, `${JSON.stringify(d)}: pixel (${x}, ${y}), box centre (${cx * n}, ${cy * n})`);
    assert.deepEqual([hw * n, hh * n].map(Math.round), d.transpose ? [5, 2] : [2, 5]);
    seen.add(`${x},${y}`);
  }
  assert.equal(seen.size, 8, 'eight distinct images');
});

test('pool: made once through the feeder, saved, reloaded identically; batches are pure functions of their request', async () => {
  await withDir('caldera-pool-', async (dir) => {
    const init = { source: { kind: 'synthetic' as const, terrains: [{ spec: { kind: 'procedural' as const }, weight: 1 }], classes: ['dyke', 'sill', 'none'] as const }, format: 'w' as const };
    const feeder = await Feeder.start({ ...init, source: { ...init.source, classes: [...init.source.classes] } }, 0);
    const progress: number[] = [];
    const a = await ExamplePool.build(feeder, { count: 6, seed: 3 }, path.join(dir, 'pool'), 'w', (d) => progress.push(d));
    assert.equal(a.count, 6);
    assert.equal(progress.at(-1), 6);
    assert.ok(fs.existsSync(path.join(dir, 'pool', 'chunk-00000.npz')));
    // Reloading makes nothing new (the feeder is closed: it would fail if asked).
    await feeder.close();
    const b = await ExamplePool.build(feeder, { count: 6, seed: 3 }, path.join(dir, 'pool'), 'w');
    assert.deepEqual(Array.from(b.example(5)), Array.from(a.example(5)));
    assert.deepEqual(Array.from(b.classIndex), Array.from(a.classIndex));
    const x1 = a.batch([0, 2, 4], 7, 'w'), x2 = b.batch([0, 2, 4], 7, 'w');
    assert.deepEqual(Array.from(x1.x), Array.from(x2.x));
    assert.deepEqual(Array.from(x1.box), Array.from(x2.box));
    // Values are the int8 examples / 127, up to a symmetry and a sign: the same multiset of |values|.
    const sorted = (v: ArrayLike<number>, scale: number): number[] => Array.from(v, (q) => Math.round(Math.abs(q) * scale)).sort((p, q) => p - q);
    assert.deepEqual(sorted(x1.x.subarray(0, 224 * 224), 127), sorted(a.example(0), 1));
    // Labels follow the examples; `none` has no box.
    x1.classIndex.forEach((c, j) => assert.equal(x1.box[j * 5 + 4], c === 2 ? 0 : 1));

    // Real examples (a labelled real `none` sample) are swapped into pool batches, newly augmented
    // each epoch (another augmentation seed), never into validation requests.
    const realDir = path.join(dir, 'real');
    const p = fakeProduct({ id: 'f_20200101_20200113', width: 300, height: 300, dLon: 0.002, dLat: -0.0015, phase: (lon, lat) => 0.5 + bump(V.lon, V.lat, 2, 4)(lon, lat) });
    await addSample(realDir, p, { className: 'none', volcano: { name: 'Test Peak', ...V } });
    const mix = await realMixer({ dir: realDir, fraction: 1 }, 'w', a.size);
    const reqs = [{ indices: [0, 1, 2], augmentSeed: 11 }, { indices: [0, 1, 2], augmentSeed: 12 }, { indices: [3, 4], augmentSeed: null }];
    const [e1, e2, val] = [...poolBatches(a, reqs, 'w', mix)];
    assert.deepEqual(e1!.terrain.map((t) => t.startsWith('real:')), [true, true, true]);
    assert.deepEqual(Array.from(e1!.classIndex), [2, 2, 2]);
    assert.ok(e1!.x.some((v, i) => v !== e2!.x[i]), 'a new augmentation each epoch');
    assert.deepEqual(Array.from(val!.x), Array.from(a.batch([3, 4], 0, 'w').x), 'validation left alone');
    assert.deepEqual([...poolBatches(a, reqs.slice(0, 1), 'w')][0]!.terrain, [], 'no mixer: the pool as it is');
  });
});

test('stretch: a marked source pixel stays under its stretched box centre; wrapped phase interpolates through its angle; masked stays masked', () => {
  const n = 64, c = 1;
  const img = new Int8Array(n * n);
  for (let i = 0; i < img.length; i++) img[i] = 100; // valid everywhere …
  for (let y = 0; y < n; y++) img[y * n + 40] = 0; // … but one masked column
  const [sx, sy] = [20, 30];
  img[sy * n + sx] = -127; // the source pixel (wrapped phase −π)
  img[sy * n + sx + 1] = 127; // its neighbour at +π: the same angle
  const box = [sx / n, sy / n, 5 / n, 7 / n, 1];
  const rng = new Rng(3);
  let stretched = 0;
  for (let k = 0; k < 40; k++) {
    const st = drawStretch(rng, { chance: 1, maxFactor: 1.45 }, n, box);
    if (!st) continue;
    stretched++;
    const out = stretchColumns(img, n, c, st.factor, st.x0, [true]);
    const b = stretchBox(box, n, st.factor, st.x0);
    assert.ok(b[0]! >= 0.1 - 1e-9 && b[0]! <= 0.9 + 1e-9, `centre ${b[0]}`);
    assert.ok(Math.abs(b[2]! * n - 5 * st.factor) < 1e-9 && b[3] === box[3] && b[1] === box[1]);
    // The output column nearest the box centre reads near ±π (a linear mean of −127, 127 and 100 would give values near 0).
    const x = Math.round(b[0]! * n);
    assert.ok(Math.abs(out[sy * n + x]!) >= 100, `column ${x}: ${out[sy * n + x]}`);
    // Masked pixels stay exactly 0 and valid ones never become 0.
    let zeros = 0;
    for (let i = 0; i < out.length; i++) if (out[i] === 0) zeros++;
    assert.ok(zeros % n === 0 && zeros <= 2 * n, `${zeros} zeros`);
  }
  assert.ok(stretched > 30, `${stretched} of 40 stretched`);
  assert.equal(drawStretch(new Rng(1), { chance: 0, maxFactor: 1.45 }, n, box), null);
});
