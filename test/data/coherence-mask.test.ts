/**
 * Coherence from the wrapped phase (data/coherence-mask.ts): against coherences known by
 * construction (a plane of any slope reads 1, Gaussian noise of std σ reads exp(−σ²/2), uniform
 * random phase reads the small-window floor), dense fringes stay coherent where the plain 7 × 7
 * estimate cancels them, and the product-level masking (auto / on / off).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { estimateCoherence } from '../../src/core/phase-coherence.js';
import { wrapPhase } from '../../src/core/raster.js';
import {
  applyPhaseCoherence, estimatePhaseCoherence, maskPhaseByPhaseCoherence, phaseCoherenceMask,
} from '../../src/data/coherence-mask.js';
import { MASK_INCOHERENT, MASK_NODATA } from '../../src/io/licsar.js';
import { fakeProduct } from '../helpers/products.js';

const W = 200, H = 200;

function finite(a: Float32Array): number[] {
  return Array.from(a).filter(Number.isFinite);
}
function mean(a: Float32Array): number {
  const v = finite(a);
  return v.reduce((s, x) => s + x, 0) / v.length;
}
function quantile(a: Float32Array, q: number): number {
  const v = finite(a).sort((x, y) => x - y);
  return v[Math.min(v.length - 1, Math.floor(q * v.length))]!;
}
function shareBelow(a: Float32Array, t: number): number {
  const v = finite(a);
  return v.filter((x) => x < t).length / v.length;
}

test('a plane of any slope up to ~2.5 rad/px reads 1 (the plain 7×7 estimate cancels it above ~0.5 rad/px)', () => {
  for (const g of [0.1, 0.5, 0.9, 1.5, 2.5]) {
    const p = Float32Array.from({ length: W * H }, (_, i) => wrapPhase(g * (i % W) - 0.4 * g * Math.floor(i / W)));
    const est = estimatePhaseCoherence(p, W, H);
    assert.ok(quantile(est, 0.001) > 0.999, `slope ${g}: ${quantile(est, 0.001)}`);
    if (g >= 0.9) assert.ok(mean(estimateCoherence(p, W, H, 7)) < 0.3, `the plain estimate should cancel slope ${g}`);
  }
});

test('dense concentric fringes (up to 1.6 rad/px at the edge) stay coherent; uniform random phase does not', () => {
  const fringes = new Float32Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) fringes[y * W + x] = wrapPhase(0.008 * ((x - 100) ** 2 + (y - 100) ** 2));
  const est = estimatePhaseCoherence(fringes, W, H);
  assert.ok(quantile(est, 0.01) > 0.95, `1st percentile ${quantile(est, 0.01)}`);
  // The plain estimate masks most of the bullseye's outer rings.
  assert.ok(shareBelow(estimateCoherence(fringes, W, H, 7), 0.3) > 0.3);
  // Uniform random phase: the plane fitted to noise is random too, so it stays near the floor.
  const rng = new Rng(3);
  const noise = Float32Array.from({ length: W * H }, () => rng.uniform(-Math.PI, Math.PI));
  const n = estimatePhaseCoherence(noise, W, H);
  assert.ok(mean(n) < 0.17, `mean ${mean(n)}`);
  assert.ok(shareBelow(n, 0.3) > 0.95, `${shareBelow(n, 0.3)} below 0.3`);
});

test('Gaussian phase noise of std σ on dense fringes reads exp(−σ²/2)', () => {
  const rng = new Rng(5);
  for (const [sigma, tol] of [[0.3, 0.01], [0.5, 0.015], [1.0, 0.04]] as const) {
    const p = Float32Array.from({ length: W * H }, (_, i) => wrapPhase(0.8 * (i % W) + 0.3 * Math.floor(i / W) + sigma * rng.normal()));
    const m = mean(estimatePhaseCoherence(p, W, H));
    const gamma = Math.exp(-(sigma * sigma) / 2);
    // E|mean of 49 phasors| = sqrt(γ² + (1 − γ²)/49) at most (the small-window bias), the fitted plane takes a little.
    const upper = Math.sqrt(gamma * gamma + (1 - gamma * gamma) / 49);
    assert.ok(m > gamma - tol && m < upper + 0.01, `σ ${sigma}: ${m.toFixed(4)}, expected ${gamma.toFixed(4)}..${upper.toFixed(4)}`);
  }
});

test('too few valid pixels in the window: no estimate (salt-and-pepper survivors are masked)', () => {
  const w = 40, h = 40;
  const p = new Float32Array(w * h).fill(1);
  const valid = new Uint8Array(w * h);
  // A full block, and isolated pixels every 4th pixel (1/16 of a window): same phase everywhere.
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) valid[y * w + x] = x < 20 ? 1 : (x % 4 === 0 && y % 4 === 0 ? 1 : 0);
  const est = estimatePhaseCoherence(p, w, h, { valid });
  assert.ok(Math.abs(est[20 * w + 10]! - 1) < 1e-6);
  assert.ok(Number.isNaN(est[20 * w + 32]!), 'an isolated survivor has no estimate');
  assert.ok(Number.isNaN(est[20 * w + 33]!), 'an invalid pixel has no estimate');
  assert.throws(() => estimatePhaseCoherence(p, w, h, { windowPx: 4 }), /odd/);
  assert.throws(() => estimatePhaseCoherence(p, w, h - 1), /expected 40x39/);
});

test('phaseCoherenceMask adds MASK_INCOHERENT on noise, keeps other bits; the NaN form agrees', () => {
  const rng = new Rng(11);
  const phase = new Float32Array(W * H), mask = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      phase[i] = x < 100 ? wrapPhase(0.7 * x) : rng.uniform(-Math.PI, Math.PI);
      if (y < 10) mask[i] = MASK_NODATA;
    }
  }
  const m = phaseCoherenceMask({ width: W, height: H, wrappedRad: phase, mask }, 0.3);
  let leftMasked = 0, rightMasked = 0;
  for (let y = 20; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (x < 90 && m.mask[y * W + x]) leftMasked++;
      if (x > 110 && m.mask[y * W + x]) rightMasked++;
    }
  }
  assert.equal(leftMasked, 0, 'fringes at 0.7 rad/px stay');
  assert.ok(rightMasked / (180 * 89) > 0.95, `noise masked: ${rightMasked / (180 * 89)}`);
  assert.equal(m.mask[5 * W + 50], MASK_NODATA, 'no-data bits are kept');
  assert.equal(m.mask[50 * W + 150] ? m.mask[50 * W + 150]! & MASK_INCOHERENT : MASK_INCOHERENT, MASK_INCOHERENT);
  assert.equal(m.maskedCount, Array.from(m.mask).filter(Boolean).length);
  const nanPhase = phase.map((v, i) => (mask[i] ? NaN : v));
  const masked = maskPhaseByPhaseCoherence(nanPhase, W, H, 0.3);
  for (let i = 0; i < masked.length; i++) assert.equal(Number.isNaN(masked[i]!), m.mask[i]! !== 0);
});

test('applyPhaseCoherence: auto only without a .cc, on with it too, off never; a note says what was done', () => {
  const rng = new Rng(2);
  const noiseEast = (lon: number) => (lon > -72.6 ? rng.uniform(-40, 40) : 0.5);
  const withCc = fakeProduct({ width: 300, height: 200, phase: noiseEast });
  const noCc = { ...withCc, coherence: null, coherenceSource: 'none' as const };
  const a = applyPhaseCoherence(noCc);
  assert.equal(a.coherenceSource, 'phase');
  assert.ok(a.maskedFraction > 0.3 && a.maskedFraction < 0.6, `masked ${a.maskedFraction}`);
  assert.match(a.notes.at(-1)!, /coherence estimated from the wrapped phase \(7×7 px, local fringe gradient removed\): \d+\.\d % of the valid pixels below 0\.3 masked/);
  assert.equal(applyPhaseCoherence(withCc), withCc, 'auto leaves a product with a .cc alone');
  assert.equal(applyPhaseCoherence(noCc, 'off'), noCc);
  const on = applyPhaseCoherence(withCc, 'on');
  assert.equal(on.coherenceSource, 'file+phase');
  assert.ok(on.maskedFraction > 0.3);
  assert.equal(noCc.maskedFraction, 0, 'the input is not changed');
});
