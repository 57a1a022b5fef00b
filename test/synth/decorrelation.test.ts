import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { estimateCoherence } from '../../src/core/phase-coherence.js';
import { C_BAND_WAVELENGTH_M, losToPhaseArray } from '../../src/physics/index.js';
import { createSpectralCache } from '../../src/synth/atmosphere.js';
import { DEFAULT_SCENE_CONFIG, generateScene, MASK_INCOHERENT, MASK_WATER, type SceneConfig } from '../../src/synth/scene.js';
import { decorrelateScene, distanceTo, multilookPhaseNoise, type DecorrelationConfig } from '../../src/synth/decorrelation.js';
import { proceduralTerrain } from '../../src/synth/terrains.js';

const terrain = proceduralTerrain(448, 90, { poolSize: 4, seed: 3 });
const cache = createSpectralCache(256);
const products = (o: DecorrelationConfig = {}): SceneConfig => ({ ...DEFAULT_SCENE_CONFIG, decorrelation: 'products', decorrelationOptions: o });

function quantile(a: number[], q: number): number {
  const v = [...a].sort((x, y) => x - y);
  return v[Math.min(v.length - 1, Math.floor(q * v.length))]!;
}

test('off (or absent) keeps the old scenes exactly', () => {
  for (const cls of ['dyke', 'none'] as const) {
    const a = generateScene(new Rng(41), cls, terrain, DEFAULT_SCENE_CONFIG, cache);
    const b = generateScene(new Rng(41), cls, terrain, { ...DEFAULT_SCENE_CONFIG, decorrelation: 'off', domain: 'caldera' }, cache);
    assert.deepEqual(a.losM, b.losM);
    assert.deepEqual(a.mask, b.mask);
    assert.deepEqual(a.meta, b.meta);
    assert.equal(a.meta.decorrelation, undefined);
  }
});

test('a seed reproduces a products scene; the labels and deformation are untouched', () => {
  const a = generateScene(new Rng(42), 'sill', terrain, products(), cache);
  const b = generateScene(new Rng(42), 'sill', terrain, products(), createSpectralCache(256));
  assert.deepEqual(a.losM, b.losM);
  assert.deepEqual(a.mask, b.mask);
  assert.deepEqual(a.coherence, b.coherence);
  assert.deepEqual(a.meta, b.meta);
  const plain = generateScene(new Rng(42), 'sill', terrain, DEFAULT_SCENE_CONFIG, cache);
  assert.deepEqual(a.defoM, plain.defoM);
  assert.deepEqual(a.box, plain.box);
  assert.equal(a.className, plain.className);
});

test('a noise-only none scene: phase-derived coherence is low over its decorrelated ground and high elsewhere', () => {
  const cfg = products({ noiseOnlyChance: 1, maskChoice: { nan: 0, noise: 1, partial: 0 }, slopeChance: 0, filterChance: 0, waterNoiseChance: 1 });
  for (const seed of [1, 2, 3]) {
    const s = generateScene(new Rng(seed), 'none', terrain, cfg, cache);
    const d = s.meta.decorrelation!;
    assert.equal(s.className, 'none');
    assert.ok(d.noiseOnly && d.maskChoice === 'noise' && d.maskedFraction === 0);
    assert.ok(d.decorrelatedFraction > 0.45, `decorrelated ${d.decorrelatedFraction}`);
    const est = estimateCoherence(losToPhaseArray(s.losM), s.size, s.size, 7);
    // Away from edges (>= 5 px from the other kind of ground): decorrelated vs coherent pixels.
    const low = new Uint8Array(est.length), high = new Uint8Array(est.length);
    for (let i = 0; i < est.length; i++) { low[i] = s.coherence[i]! < 0.1 ? 1 : 0; high[i] = s.coherence[i]! >= 0.5 ? 1 : 0; }
    const toHigh = distanceTo(high, s.size, s.size), toLow = distanceTo(low, s.size, s.size);
    const inLow: number[] = [], inHigh: number[] = [];
    for (let i = 0; i < est.length; i++) {
      if (low[i] && toHigh[i]! >= 5) inLow.push(est[i]!);
      if (high[i] && toLow[i]! >= 5) inHigh.push(est[i]!);
    }
    assert.ok(inLow.length > 1000, `${inLow.length} decorrelated pixels`);
    // Pure random phase in 7 x 7 reads 0.12 (median) and 0.22 (90 %): the scanner's 0.3 masks it.
    assert.ok(quantile(inLow, 0.5) < 0.16 && quantile(inLow, 0.9) < 0.3, `noise reads ${quantile(inLow, 0.5)} (median), ${quantile(inLow, 0.9)} (90 %)`);
    if (inHigh.length > 200) assert.ok(quantile(inHigh, 0.5) > 0.8, `coherent ground reads ${quantile(inHigh, 0.5)}`);
  }
});

test('masked pixels follow the chosen mode', () => {
  const only = (m: 'nan' | 'noise' | 'partial', water: number): SceneConfig => products({ maskChoice: { nan: m === 'nan' ? 1 : 0, noise: m === 'noise' ? 1 : 0, partial: m === 'partial' ? 1 : 0 }, waterNoiseChance: water });
  for (let seed = 0; seed < 3; seed++) {
    // noise: nothing incoherent is masked; water masked (waterNoiseChance 0).
    const a = generateScene(new Rng(60 + seed), 'none', terrain, only('noise', 0), cache);
    assert.equal(a.meta.decorrelation!.maskChoice, 'noise');
    for (let i = 0; i < a.mask.length; i++) {
      assert.equal(a.mask[i]! & MASK_INCOHERENT, 0);
      assert.equal((a.mask[i]! & MASK_WATER) !== 0, !(a.dem[i]! > 0));
    }
    // nan: masked exactly where coherence is below the drawn threshold; water left as noise.
    const b = generateScene(new Rng(60 + seed), 'none', terrain, only('nan', 1), cache);
    const t = b.meta.decorrelation!.maskThreshold!;
    assert.ok(t >= 0.2 && t <= 0.4);
    let n = 0;
    for (let i = 0; i < b.mask.length; i++) {
      assert.equal(b.mask[i]! & MASK_WATER, 0);
      assert.equal((b.mask[i]! & MASK_INCOHERENT) !== 0, b.coherence[i]! < t);
      if (b.mask[i]) n++;
    }
    assert.ok(Math.abs(n / b.mask.length - b.meta.decorrelation!.maskedFraction) < 1e-12);
    // partial: masked where the phase-derived coherence of the product is below its threshold.
    const c = generateScene(new Rng(60 + seed), 'none', terrain, only('partial', 1), cache);
    const dc = c.meta.decorrelation!;
    assert.ok(dc.maskThreshold! >= 0.15 && dc.maskThreshold! <= 0.4 && [5, 7, 9].includes(dc.estimatorWindowPx!));
    const est = estimateCoherence(losToPhaseArray(c.losM), c.size, c.size, dc.estimatorWindowPx!);
    for (let i = 0; i < c.mask.length; i++) assert.equal((c.mask[i]! & MASK_INCOHERENT) !== 0, est[i]! < dc.maskThreshold!);
  }
});

test('deformation stays visible in the product; noise is bounded by a quarter wavelength', () => {
  for (let seed = 0; seed < 8; seed++) {
    const cls = seed % 2 ? 'dyke' : 'sill';
    const s = generateScene(new Rng(80 + seed), cls, terrain, products(), cache);
    const d = s.meta.decorrelation!;
    let m = 0;
    for (const v of s.defoM) m = Math.max(m, Math.abs(v));
    let n = 0, seen = 0;
    for (let i = 0; i < s.defoM.length; i++) {
      if (Math.abs(s.defoM[i]!) <= 0.3 * m) continue;
      n++;
      if (!s.mask[i] && s.coherence[i]! >= 0.35) seen++;
    }
    assert.ok(Math.abs(seen / n - d.visibleShare!) < 1e-12);
    assert.ok(d.visibleShare! >= 0.5, `seed ${seed}: visible ${d.visibleShare}`);
  }
  const plain = generateScene(new Rng(90), 'dyke', terrain, DEFAULT_SCENE_CONFIG, cache);
  const noisy = decorrelateScene(new Rng(1), plain, 'products', { filterChance: 1 }, cache);
  let big = 0;
  for (let i = 0; i < plain.losM.length; i++) big = Math.max(big, Math.abs(noisy.losM[i]! - plain.losM[i]!));
  assert.ok(big <= C_BAND_WAVELENGTH_M / 4 + 1e-6, `max change ${big} m`);
  assert.equal(noisy.meta.decorrelation!.filtered, true);
});

test('multilook phase noise: uniform at zero coherence, Cramer-Rao-like when coherent', () => {
  const n = 40000;
  const z = multilookPhaseNoise(new Rng(3), new Float32Array(n), 8);
  let c = 0, s = 0;
  for (const v of z) { c += Math.cos(v); s += Math.sin(v); }
  assert.ok(Math.hypot(c, s) / n < 0.02, `resultant ${Math.hypot(c, s) / n}`);
  const g = 0.9, L = 16;
  const y = multilookPhaseNoise(new Rng(4), new Float32Array(n).fill(g), L);
  const std = Math.sqrt(y.reduce((a, v) => a + v * v, 0) / n);
  const cr = Math.sqrt((1 - g * g) / (2 * L * g * g));
  assert.ok(std > 0.85 * cr && std < 1.25 * cr, `std ${std} vs Cramer-Rao ${cr}`);
  assert.throws(() => multilookPhaseNoise(new Rng(1), new Float32Array(1), 0), /looks/);
});

test('mask bits agree with scene.ts', () => {
  // decorrelation.ts repeats them to avoid an import cycle: a noise-only scene with water masked uses bit 1.
  const s = generateScene(new Rng(7), 'none', terrain, products({ waterNoiseChance: 0, maskChoice: { nan: 1, noise: 0, partial: 0 } }), cache);
  for (let i = 0; i < s.mask.length; i++) if (!(s.dem[i]! > 0)) assert.ok(s.mask[i]! & MASK_WATER);
  assert.equal(MASK_WATER, 1);
  assert.equal(MASK_INCOHERENT, 2);
});
