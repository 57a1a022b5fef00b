import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';

const draw = (r: Rng, n: number, f: (r: Rng) => number): number[] => Array.from({ length: n }, () => f(r));

test('a seed reproduces the stream; other seeds and sub-streams differ', () => {
  assert.deepEqual(draw(new Rng(7), 50, (r) => r.nextU32()), draw(new Rng(7), 50, (r) => r.nextU32()));
  assert.notDeepEqual(draw(new Rng(7), 50, (r) => r.nextU32()), draw(new Rng(8), 50, (r) => r.nextU32()));
  assert.deepEqual(draw(Rng.stream(3, 11), 20, (r) => r.next()), draw(Rng.stream(3, 11), 20, (r) => r.next()));
  // Neighbouring sub-streams (sample k and k+1 of a dataset) share no leading values.
  const a = new Set(draw(Rng.stream(3, 11), 1000, (r) => r.nextU32()));
  const b = draw(Rng.stream(3, 12), 1000, (r) => r.nextU32());
  assert.ok(b.filter((v) => a.has(v)).length <= 1);
  // Seed 0 is not degenerate (xoshiro's all-zero state).
  assert.ok(new Set(draw(new Rng(0), 100, (r) => r.nextU32())).size === 100);
});

test('next is uniform on [0, 1): mean, variance, range, and bins within sampling error', () => {
  const n = 200_000;
  const xs = draw(new Rng(42), n, (r) => r.next());
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
  assert.ok(Math.abs(mean - 0.5) < 4 * Math.sqrt(1 / 12 / n), `mean ${mean}`);
  assert.ok(Math.abs(variance - 1 / 12) < 0.002, `variance ${variance}`);
  const bins = new Array<number>(20).fill(0);
  for (const x of xs) bins[Math.floor(x * 20)]!++;
  const chi2 = bins.reduce((s, c) => s + (c - n / 20) ** 2 / (n / 20), 0);
  assert.ok(chi2 < 43.8, `chi-square ${chi2.toFixed(1)} over 19 degrees of freedom (p = 0.001 at 43.8)`);
});

test('normal is N(0, 1); int covers [lo, hi] evenly; uniform, chance and pick do what they say', () => {
  const r = new Rng(9);
  const zs = draw(r, 100_000, (q) => q.normal());
  const m = zs.reduce((s, z) => s + z, 0) / zs.length;
  const v = zs.reduce((s, z) => s + (z - m) ** 2, 0) / zs.length;
  assert.ok(Math.abs(m) < 0.015 && Math.abs(v - 1) < 0.02, `mean ${m}, variance ${v}`);
  const within1 = zs.filter((z) => Math.abs(z) < 1).length / zs.length;
  assert.ok(Math.abs(within1 - 0.6827) < 0.006, `P(|z| < 1) = ${within1}`);
  const counts = new Map<number, number>();
  for (const k of draw(r, 60_000, (q) => q.int(-2, 3))) counts.set(k, (counts.get(k) ?? 0) + 1);
  assert.deepEqual([...counts.keys()].sort((a, b) => a - b), [-2, -1, 0, 1, 2, 3]);
  for (const c of counts.values()) assert.ok(Math.abs(c - 10_000) < 450, `count ${c}`);
  assert.ok(draw(r, 1000, (q) => q.uniform(5, 7)).every((u) => u >= 5 && u < 7));
  const p = draw(r, 20_000, (q) => (q.chance(0.3) ? 1 : 0)).reduce((s, c) => s + c, 0) / 20_000;
  assert.ok(Math.abs(p - 0.3) < 0.015);
  assert.equal(r.pick(['only']), 'only');
  assert.throws(() => r.pick([]), /empty/);
});
