import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { createSpectralCache } from '../../src/synth/atmosphere.js';
import {
  coherenceFromField, decorrelationNoise, decorrelationStdRad, incoherenceFromField, incoherenceMask, randomPhase,
} from '../../src/synth/coherence.js';

/** Mean over images of the Pearson correlation between the field and itself shifted by `lag` px in x. */
function lagCorrelation(f: Float32Array, w: number, h: number, lag: number): number {
  let m = 0;
  for (let i = 0; i < f.length; i++) m += f[i]!;
  m /= f.length;
  let v = 0;
  for (let i = 0; i < f.length; i++) v += (f[i]! - m) ** 2;
  v /= f.length;
  let s = 0, n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x + lag < w; x++) {
      s += (f[y * w + x]! - m) * (f[y * w + x + lag]! - m);
      n++;
    }
  }
  return s / n / v;
}

test('incoherence field is 0..1, mask = field > threshold, fraction matches', () => {
  const cache = createSpectralCache(256);
  const inc = incoherenceMask(new Rng(1), { width: 224, height: 224, spacingM: 90, threshold: 0.75 }, cache);
  assert.equal(inc.field.length, 224 * 224);
  assert.equal(inc.mask.length, 224 * 224);
  let lo = Infinity, hi = -Infinity, n = 0;
  for (let i = 0; i < inc.field.length; i++) {
    const f = inc.field[i]!;
    lo = Math.min(lo, f);
    hi = Math.max(hi, f);
    assert.equal(inc.mask[i], f > 0.75 ? 1 : 0);
    n += inc.mask[i]!;
  }
  assert.equal(lo, 0);
  assert.ok(Math.abs(hi - 1) < 1e-6);
  assert.equal(inc.fraction, n / inc.field.length);
  assert.equal(inc.threshold, 0.75);
});

test('incoherent fraction varies between draws and has a plausible mean (a few % at 0.8)', () => {
  const cache = createSpectralCache(256);
  const rng = new Rng(2);
  const fr: number[] = [];
  for (let i = 0; i < 200; i++) fr.push(incoherenceMask(rng, { width: 224, height: 224, spacingM: 90 }, cache).fraction);
  const mean = fr.reduce((a, b) => a + b, 0) / fr.length;
  const sd = Math.sqrt(fr.reduce((a, b) => a + (b - mean) ** 2, 0) / fr.length);
  // SyInterferoPy's own masks (threshold 0.8) cover 2.7 % on average (0.7-9 %)
  assert.ok(mean > 0.01 && mean < 0.08, `mean incoherent fraction ${mean}`);
  assert.ok(sd > 0.005, `fraction std ${sd}`);
  assert.ok(Math.max(...fr) > 2 * Math.min(...fr));
  // a lower threshold masks more
  const rng2 = new Rng(2);
  let m7 = 0;
  for (let i = 0; i < 200; i++) m7 += incoherenceMask(rng2, { width: 224, height: 224, spacingM: 90, threshold: 0.7 }, cache).fraction / 200;
  assert.ok(m7 > 2 * mean, `threshold 0.7 mean ${m7} vs 0.8 mean ${mean}`);
});

test('incoherence field is correlated over ~5 km: high at 1 km, low at 20 km', () => {
  const cache = createSpectralCache(512);
  const rng = new Rng(3);
  const w = 512, h = 96;
  let c1 = 0, c20 = 0;
  const N = 30;
  for (let i = 0; i < N; i++) {
    const inc = incoherenceMask(rng, { width: w, height: h, spacingM: 90, correlationLengthM: 5000 }, cache);
    c1 += lagCorrelation(inc.field, w, h, 11) / N; // 990 m
    c20 += lagCorrelation(inc.field, w, h, 222) / N; // 19.98 km
  }
  assert.ok(c1 > 0.7, `corr at 1 km ${c1}`);
  assert.ok(c20 < 0.2, `corr at 20 km ${c20}`);
  assert.ok(c20 < c1 - 0.5);
});

test('incoherence mask is deterministic for a seed; the syinterferopy model works too', () => {
  const o = { width: 100, height: 80, spacingM: 90 };
  const a = incoherenceMask(new Rng(4), o, createSpectralCache(128));
  const b = incoherenceMask(new Rng(4), o);
  assert.deepEqual(a.field, b.field);
  assert.deepEqual(a.mask, b.mask);
  assert.notDeepEqual(a.field, incoherenceMask(new Rng(5), o).field);
  const s = incoherenceMask(new Rng(4), { ...o, model: 'syinterferopy' });
  assert.equal(s.field.length, 100 * 80);
  assert.notDeepEqual(s.field, a.field);
});

test('incoherenceFromField rescales by min/max', () => {
  const r = incoherenceFromField(Float32Array.from([2, 4, 6, 10]), 0.6);
  assert.deepEqual(Array.from(r.field), [0, 0.25, 0.5, 1]);
  assert.deepEqual(Array.from(r.mask), [0, 0, 0, 1]);
  assert.equal(r.fraction, 0.25);
});

test('coherenceFromField: gammaMax at 0, gammaAtThreshold at the threshold, gammaMin at 1', () => {
  const g = coherenceFromField(Float32Array.from([0, 0.4, 0.8, 1]), { threshold: 0.8 });
  assert.ok(Math.abs(g[0]! - 0.9) < 1e-6);
  assert.ok(Math.abs(g[1]! - 0.575) < 1e-6);
  assert.ok(Math.abs(g[2]! - 0.25) < 1e-6);
  assert.ok(Math.abs(g[3]! - 0.05) < 1e-6);
});

test('decorrelation noise std follows the Cramer-Rao bound and grows as coherence falls', () => {
  assert.ok(Math.abs(decorrelationStdRad(0.5, 10) - Math.sqrt(0.75 / (20 * 0.25))) < 1e-12);
  assert.equal(decorrelationStdRad(1, 10), 0);
  assert.equal(decorrelationStdRad(0, 10), Math.PI / Math.sqrt(3));
  assert.equal(decorrelationStdRad(0.01, 1), Math.PI / Math.sqrt(3));
  const n = 40000;
  for (const [g, looks] of [[0.9, 20], [0.5, 20], [0.3, 5]] as const) {
    const coh = new Float32Array(n).fill(g);
    const e = decorrelationNoise(new Rng(6), coh, { looks });
    let s = 0, ss = 0;
    for (const v of e) { s += v; ss += v * v; }
    const m = s / n;
    const sd = Math.sqrt(ss / n - m * m);
    const want = decorrelationStdRad(Math.fround(g), looks);
    assert.ok(Math.abs(m) < 0.03 * want + 1e-3, `mean ${m}`);
    assert.ok(Math.abs(sd / want - 1) < 0.03, `gamma ${g}: std ${sd} vs ${want}`);
  }
  assert.deepEqual(decorrelationNoise(new Rng(1), new Float32Array(10).fill(0.5)), decorrelationNoise(new Rng(1), new Float32Array(10).fill(0.5)));
  assert.throws(() => decorrelationNoise(new Rng(1), new Float32Array(2), { looks: 0 }), RangeError);
});

test('randomPhase is uniform in (-pi, pi] and deterministic', () => {
  const n = 100000;
  const p = randomPhase(new Rng(7), n);
  const bins = new Array(10).fill(0);
  const lim = Math.fround(Math.PI);
  for (const v of p) {
    assert.ok(v > -lim && v <= lim);
    bins[Math.min(9, Math.floor(((v + Math.PI) / (2 * Math.PI)) * 10))]++;
  }
  for (const b of bins) assert.ok(Math.abs(b - n / 10) < 0.05 * (n / 10), `bins ${bins}`);
  assert.deepEqual(p, randomPhase(new Rng(7), n));
});
