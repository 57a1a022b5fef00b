import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { wrapPhase } from '../../src/core/raster.js';
import { C_BAND_WAVELENGTH_M, losToPhaseArray } from '../../src/physics/units.js';
import { decorrelationStdRad } from '../../src/synth/coherence.js';
import {
  addArtefacts, cyclesToLosM, decorrelationLosM, longWavelengthAtmosphere, unwrappingErrors,
} from '../../src/synth/artefacts.js';

const N = 128;

test('unwrapping errors: whole-cycle patches that leave the wrapped phase unchanged', () => {
  const rng = new Rng(7);
  const e = unwrappingErrors(rng, { width: N, height: N, count: [2, 2], radiusPx: [8, 16] });
  assert.equal(e.patches.length, 2);
  assert.ok(e.fraction > 0.005 && e.fraction < 0.4, String(e.fraction));
  for (const p of e.patches) assert.ok(p.cycles !== 0 && Math.abs(p.cycles) <= 2);
  const los = cyclesToLosM(e.cycles);
  const phase = losToPhaseArray(los);
  for (let i = 0; i < phase.length; i++) {
    assert.ok(Math.abs(wrapPhase(phase[i]!)) < 1e-3, 'a multiple of 2 pi');
    assert.ok(Math.abs(Math.abs(los[i]!) - (Math.abs(e.cycles[i]!) * C_BAND_WAVELENGTH_M) / 2) < 1e-7, 'one cycle = half a wavelength');
  }
  // Reproducible from the seed.
  assert.deepEqual(unwrappingErrors(new Rng(7), { width: N, height: N, count: [2, 2], radiusPx: [8, 16] }).cycles, e.cycles);
});

test('unwrapping errors sit next to the allowed region when given', () => {
  const near = new Uint8Array(N * N);
  for (let y = 0; y < N; y++) near[y * N + 100] = 1; // a line at x = 100
  const e = unwrappingErrors(new Rng(3), { width: N, height: N, count: [3, 3], near });
  for (const p of e.patches) assert.equal(p.x, 100);
  assert.equal(unwrappingErrors(new Rng(3), { width: N, height: N, near: new Uint8Array(N * N) }).patches.length, 0);
});

test('decorrelation noise follows the Cramer-Rao std of the coherence', () => {
  const coh = new Float32Array(20000);
  coh.fill(0.9, 0, 10000);
  coh.fill(0.3, 10000);
  const los = decorrelationLosM(new Rng(1), coh, { looks: 20 });
  const ph = losToPhaseArray(los);
  const std = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
  const hi = std(ph.subarray(0, 10000)), lo = std(ph.subarray(10000));
  assert.ok(Math.abs(hi - decorrelationStdRad(0.9, 20)) < 0.01, `${hi}`);
  assert.ok(Math.abs(lo - decorrelationStdRad(0.3, 20)) < 0.03, `${lo}`);
});

/** Share of variance a plane + quadratic explains (least squares on a coarse sub-grid). */
function quadraticR2(a: Float32Array, n: number): number {
  const rows: number[][] = [], ys: number[] = [];
  for (let y = 0; y < n; y += 4) for (let x = 0; x < n; x += 4) {
    const u = x / n - 0.5, v = y / n - 0.5;
    rows.push([1, u, v, u * u, u * v, v * v]);
    ys.push(a[y * n + x]!);
  }
  // Normal equations, Gaussian elimination.
  const k = 6;
  const A = Array.from({ length: k }, (_, i) => Array.from({ length: k + 1 }, (_, j) => (j < k ? rows.reduce((s, r) => s + r[i]! * r[j]!, 0) : rows.reduce((s, r, q) => s + r[i]! * ys[q]!, 0))));
  for (let i = 0; i < k; i++) {
    for (let r = i + 1; r < k; r++) {
      const f = A[r]![i]! / A[i]![i]!;
      for (let c = i; c <= k; c++) A[r]![c]! -= f * A[i]![c]!;
    }
  }
  const b = new Array<number>(k).fill(0);
  for (let i = k - 1; i >= 0; i--) b[i] = (A[i]![k]! - A[i]!.slice(i + 1, k).reduce((s, v, j) => s + v * b[i + 1 + j]!, 0)) / A[i]![i]!;
  const mean = ys.reduce((s, v) => s + v, 0) / ys.length;
  let ssr = 0, sst = 0;
  rows.forEach((r, q) => { const f = r.reduce((s, v, j) => s + v * b[j]!, 0); ssr += (ys[q]! - f) ** 2; sst += (ys[q]! - mean) ** 2; });
  return 1 - ssr / sst;
}

test('long-wavelength atmosphere: zero mean, scaled, mostly longer than the crop', () => {
  const rng = new Rng(11);
  let r2 = 0;
  const draws = 12;
  for (let k = 0; k < draws; k++) {
    const a = longWavelengthAtmosphere(rng, { width: N, height: N, spacingM: 90, maxAbsM: 0.03 });
    let m = 0, s = 0;
    for (const v of a.data) { m = Math.max(m, Math.abs(v)); s += v; }
    assert.ok(Math.abs(m - 0.03) < 1e-6);
    assert.ok(Math.abs(s / a.data.length) < 1e-6);
    r2 += quadraticR2(a.data, N);
  }
  assert.ok(r2 / draws > 0.7, `a quadratic surface explains ${(r2 / draws).toFixed(2)} of the variance on average`);
  const ramp = longWavelengthAtmosphere(rng, { width: N, height: N, spacingM: 90, maxAbsM: 0.01, kind: 'ramp' });
  assert.ok(quadraticR2(ramp.data, N) > 0.999);
});

test('addArtefacts: pure, reproducible, and changes the scene', () => {
  const los = new Float32Array(N * N).fill(0.01);
  const coh = new Float32Array(N * N).fill(0.6);
  const mask = new Uint8Array(N * N);
  for (let i = 0; i < 400; i++) mask[5000 + i] = 2;
  const s = { width: N, height: N, spacingM: 90, losM: los, coherence: coh, mask };
  const a = addArtefacts(new Rng(4), s, { unwrappingChance: 1 });
  const b = addArtefacts(new Rng(4), s, { unwrappingChance: 1 });
  assert.deepEqual(a.losM, b.losM);
  assert.ok(a.cycles.some((c) => c !== 0));
  assert.ok(los.every((v) => v === Math.fround(0.01)), 'input untouched');
  assert.ok(a.losM.some((v, i) => v !== los[i]));
});

test('long-wavelength extent range: window-scale bowls at small extents; absent = the scenes as before', () => {
  // A screen over 1.2 crop sizes puts power at the crop's own scale: a quadratic surface explains less of it.
  const meanR2 = (extent: number): number => {
    const rng = new Rng(23);
    let r2 = 0;
    for (let k = 0; k < 12; k++) r2 += quadraticR2(longWavelengthAtmosphere(rng, { width: N, height: N, spacingM: 90, maxAbsM: 0.03, extent }).data, N);
    return r2 / 12;
  };
  const wide = meanR2(4), tight = meanR2(1.2);
  assert.ok(tight < wide - 0.1, `extent 1.2: R² ${tight.toFixed(2)}, extent 4: ${wide.toFixed(2)}`);
  const coh = new Float32Array(N * N).fill(0.9);
  const s = { width: N, height: N, spacingM: 90, losM: new Float32Array(N * N), coherence: coh };
  const plain = addArtefacts(new Rng(9), s, { unwrappingChance: 0, decorrelation: false });
  const one = addArtefacts(new Rng(9), s, { unwrappingChance: 0, decorrelation: false, longWavelengthExtent: [1.2, 1.2] });
  assert.ok(one.losM.some((v, i) => v !== plain.losM[i]), 'a range changes the screen');
  assert.throws(() => addArtefacts(new Rng(9), s, { longWavelengthExtent: [0.5, 2] }), /longWavelengthExtent must be 1.1 <= min <= max/);
});
