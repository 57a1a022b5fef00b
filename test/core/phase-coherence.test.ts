import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { estimateCoherence, maskByCoherence, randomPhaseCoherenceFloor } from '../../src/core/phase-coherence.js';

const W = 384, H = 384;

function mean(a: Float32Array): number {
  let s = 0, n = 0;
  for (const v of a) if (Number.isFinite(v)) { s += v; n++; }
  return s / n;
}

function quantile(a: Float32Array, q: number): number {
  const v = Array.from(a).filter(Number.isFinite).sort((x, y) => x - y);
  return v[Math.min(v.length - 1, Math.floor(q * v.length))]!;
}

/** A smooth phase (a few radians over hundreds of pixels: < 0.05 rad/px) plus Gaussian noise of std sigma. */
function noisyPhase(rng: Rng, sigma: number): Float32Array {
  const p = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) p[y * W + x] = 3 * Math.sin((2 * Math.PI * x) / 400) + 2 * Math.cos((2 * Math.PI * y) / 300) + sigma * rng.normal();
  }
  return p;
}

test('Gaussian phase noise of std sigma reads exp(-sigma^2/2), up to the window bias', () => {
  const rng = new Rng(7);
  const N = 49;
  for (const sigma of [0.3, 0.7, 1.0, 1.5]) {
    const gamma = Math.exp(-(sigma * sigma) / 2);
    const est = mean(estimateCoherence(noisyPhase(rng, sigma), W, H, 7));
    // E|mean of N phasors|^2 = gamma^2 + (1 - gamma^2) / N bounds the biased estimate from above.
    const upper = Math.sqrt(gamma * gamma + (1 - gamma * gamma) / N);
    assert.ok(est > gamma - 0.01 && est < upper + 0.01, `sigma ${sigma}: estimate ${est.toFixed(4)}, expected ${gamma.toFixed(4)}..${upper.toFixed(4)}`);
  }
});

test('a larger window has less bias: 15 x 15 at sigma = 1.5 is within 0.02 of exp(-sigma^2/2)', () => {
  const gamma = Math.exp(-1.125);
  const est = mean(estimateCoherence(noisyPhase(new Rng(8), 1.5), W, H, 15));
  assert.ok(Math.abs(est - gamma) < 0.02, `estimate ${est} vs ${gamma}`);
});

test('uniform random phase reads near sqrt(pi/(4N)), well below 0.3 for 7 x 7', () => {
  const rng = new Rng(9);
  const p = new Float32Array(W * H).map(() => rng.uniform(-Math.PI, Math.PI));
  const c = estimateCoherence(p, W, H, 7);
  const m = mean(c);
  assert.ok(Math.abs(m - randomPhaseCoherenceFloor(7)) < 0.01, `mean ${m} vs ${randomPhaseCoherenceFloor(7)}`);
  // Per pixel the estimate is Rayleigh-like (scale 1/sqrt(2N) = 0.10): 90 % of pixels read below 0.25.
  assert.ok(quantile(c, 0.9) < 0.25, `90th percentile ${quantile(c, 0.9)}`);
});

test('clean fringes (concentric, 40 px per fringe at the edge) read near 1', () => {
  const p = new Float32Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) p[y * W + x] = 30 * Math.exp(-((x - 190) ** 2 + (y - 200) ** 2) / (2 * 90 ** 2));
  const c = estimateCoherence(p, W, H, 7);
  assert.ok(quantile(c, 0.01) > 0.9, `1st percentile ${quantile(c, 0.01)}`);
});

test('NaN is ignored, edges count only valid pixels, and an all-NaN window gives NaN', () => {
  const w = 20, h = 12;
  const p = new Float32Array(w * h).fill(1.2);
  for (let y = 0; y < h; y++) for (let x = 0; x < 8; x++) p[y * w + x] = NaN;
  const c = estimateCoherence(p, w, h, 5);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = c[y * w + x]!;
      if (x < 6) assert.ok(Number.isNaN(v), `(${x},${y}) should be NaN, got ${v}`);
      else assert.ok(Math.abs(v - 1) < 1e-6, `(${x},${y}) = ${v}`);
    }
  }
  // One pixel of opposite phase in a 3x3 corner window of 4 valid pixels: |3 - 1| / 4 = 0.5.
  const q = new Float32Array(9).fill(0);
  q[0] = Math.PI;
  assert.ok(Math.abs(estimateCoherence(q, 3, 3, 3)[0]! - 0.5) < 1e-6);
  assert.throws(() => estimateCoherence(q, 3, 3, 4), /odd/);
  assert.throws(() => estimateCoherence(q, 4, 3, 3), /expected 4x3/);
});

test('maskByCoherence sets NaN below the threshold and where coherence is unknown', () => {
  const phase = Float32Array.from([1, 2, 3, 4]);
  const coh = Float32Array.from([0.1, 0.3, NaN, 0.9]);
  const m = maskByCoherence(phase, coh, 0.3);
  assert.ok(Number.isNaN(m[0]!) && m[1] === 2 && Number.isNaN(m[2]!) && m[3] === 4);
  assert.equal(phase[0], 1, 'input unchanged');
});
