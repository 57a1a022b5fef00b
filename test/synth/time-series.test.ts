/** Synthetic time series: dates, the interferogram network, growth laws, labels, masks, determinism. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { maxAbs } from '../../src/core/arrays.js';
import { createSpectralCache } from '../../src/synth/atmosphere.js';
import { proceduralTerrain } from '../../src/synth/terrains.js';
import { DEFAULT_SCENE_CONFIG, MASK_WATER } from '../../src/synth/scene.js';
import {
  addDays, DEFAULT_TIME_SERIES_CONFIG, generateStack, growthAmplitude, pairLosM, shortBaselinePairs, type TimeSeriesConfig,
} from '../../src/synth/time-series.js';
import { InputError } from '../../src/core/errors.js';

const SIZE = 96;
const sceneCfg = { ...DEFAULT_SCENE_CONFIG, size: SIZE };
const terrain = proceduralTerrain(2 * SIZE, 90, { poolSize: 2 });
const cache = createSpectralCache(128);
const cfg = (over: Partial<TimeSeriesConfig> = {}): TimeSeriesConfig => ({ ...DEFAULT_TIME_SERIES_CONFIG, epochs: 10, ...over });

test('the short-baseline network pairs each acquisition with the next 1..3', () => {
  const p = shortBaselinePairs(6, 3);
  assert.equal(p.length, 1 + 2 + 3 + 3 + 3);
  assert.deepEqual(p.slice(0, 4), [{ i: 0, j: 1 }, { i: 0, j: 2 }, { i: 1, j: 2 }, { i: 0, j: 3 }]);
  assert.ok(p.every(({ i, j }) => j > i && j - i <= 3));
  assert.equal(addDays('2021-12-27', 12), '2022-01-08');
});

test('growth laws: zero before the onset, full at the end of the rise; exponential accelerates', () => {
  for (const g of ['linear', 'exponential', 'step'] as const) {
    assert.equal(growthAmplitude(g, 10, 10, 30), 0);
    assert.equal(growthAmplitude(g, 40, 10, 30), 1);
    assert.equal(growthAmplitude(g, 100, 10, 30), 1);
  }
  assert.equal(growthAmplitude('step', 11, 10, 0), 1);
  assert.ok(Math.abs(growthAmplitude('linear', 25, 10, 30) - 0.5) < 1e-12);
  assert.ok(growthAmplitude('exponential', 25, 10, 30) < 0.25);
});

test('a deforming stack: dates, labels (onset, crossing of 3 cm, box), cumulative series and interferograms', () => {
  for (const growth of ['step', 'linear', 'exponential'] as const) {
    const s = generateStack(Rng.stream(7, 1), 'sill', terrain, sceneCfg, cfg({ growth, spacingDays: 6 }), cache);
    const n = 10;
    assert.equal(s.dates.length, n);
    assert.equal(s.dates[1], addDays(s.dates[0]!, 6));
    assert.equal(s.label.className, 'sill');
    assert.equal(s.label.growth, growth);
    assert.ok(s.label.box);
    const k0 = s.label.onsetIndex!;
    assert.ok(k0 >= 1 && k0 < n);
    // The onset lies between acquisitions k0-1 and k0.
    assert.ok(s.label.onsetDate! > s.dates[k0 - 1]! && s.label.onsetDate! < s.dates[k0]!, `${s.label.onsetDate} in ${s.dates[k0 - 1]}..${s.dates[k0]}`);
    for (let k = 0; k < k0; k++) assert.equal(s.amplitude[k], 0);
    assert.ok(s.amplitude[k0]! > 0);
    assert.equal(s.amplitude[n - 1], 1);
    if (growth === 'step') assert.equal(s.amplitude[k0], 1);
    // Crossing: first acquisition where amplitude x final max exceeds 3 cm.
    const c = s.label.crossingIndex!;
    assert.ok(c >= k0);
    assert.ok(s.amplitude[c]! * s.label.defoMaxAbsM > 0.03);
    if (c > 0) assert.ok(s.amplitude[c - 1]! * s.label.defoMaxAbsM <= 0.03);
    assert.ok(s.label.defoMaxAbsM >= 0.05 && s.label.defoMaxAbsM <= 0.25);
    // Cumulative series: zero at the first date; the deformation is in it.
    assert.equal(maxAbs(s.cumulativeM[0]!), 0);
    const last = s.cumulativeM[n - 1]!;
    let dot = 0, dd = 0;
    for (let q = 0; q < last.length; q++) { dot += last[q]! * s.defoM[q]!; dd += s.defoM[q]! ** 2; }
    assert.ok(dot / dd > 0.5, 'the last cumulative epoch holds the deformation');
    // Interferograms are differences of the series.
    const k = s.pairs.findIndex((p) => p.i === 2 && p.j === 4);
    const ifg = pairLosM(s, k);
    assert.ok(Math.abs(ifg[100]! - (s.cumulativeM[4]![100]! - s.cumulativeM[2]![100]!)) < 1e-7);
  }
});

test('incoherence varies between interferograms; water is masked in all; stacks without deformation', () => {
  const s = generateStack(Rng.stream(3, 2), 'none', terrain, sceneCfg, cfg(), cache);
  assert.equal(s.label.className, 'none');
  assert.equal(s.label.onsetDate, null);
  assert.equal(s.label.crossingIndex, null);
  assert.equal(s.label.box, null);
  assert.ok(s.amplitude.every((a) => a === 0));
  const fractions = s.pairMask.map((m) => m.reduce((a, v) => a + (v ? 1 : 0), 0) / m.length);
  assert.ok(new Set(fractions.map((f) => f.toFixed(4))).size > 3, `masked fractions vary: ${fractions.map((f) => f.toFixed(3)).join(' ')}`);
  for (const m of s.pairMask) for (let q = 0; q < m.length; q++) if (s.mask[q]! & MASK_WATER) assert.ok(m[q]! & MASK_WATER);
  assert.ok(s.pairCoherence.every((c) => c.every((v) => v >= 0 && v <= 1)));
  assert.equal(s.acquisitions.length, 10);
});

test('the same seed gives the same stack; bad settings are InputErrors', () => {
  const a = generateStack(Rng.stream(11, 5), 'dyke', terrain, sceneCfg, cfg(), cache);
  const b = generateStack(Rng.stream(11, 5), 'dyke', terrain, sceneCfg, cfg(), createSpectralCache(128));
  assert.deepEqual(a.label, b.label);
  assert.deepEqual(a.cumulativeM[7], b.cumulativeM[7]);
  assert.throws(() => generateStack(Rng.stream(1, 1), 'dyke', terrain, sceneCfg, cfg({ epochs: 2 }), cache), InputError);
  assert.throws(() => generateStack(Rng.stream(1, 1), 'dyke', terrain, sceneCfg, cfg({ startDate: 'soon' }), cache), InputError);
});
