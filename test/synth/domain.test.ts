import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { losUnitVector, sourceDisplacementGrid } from '../../src/physics/index.js';
import { createSpectralCache } from '../../src/synth/atmosphere.js';
import { boxFromDeformation } from '../../src/synth/labels.js';
import { DEFAULT_SCENE_CONFIG, generateScene, type SceneConfig } from '../../src/synth/scene.js';
import { HEADINGS_DEG, resampleDem, sampleDomain, sampleSizedSource } from '../../src/synth/domain.js';
import { proceduralTerrain } from '../../src/synth/terrains.js';

const terrain = proceduralTerrain(448, 90, { poolSize: 4, seed: 3 });
const cache = createSpectralCache(256);
const randomised: SceneConfig = { ...DEFAULT_SCENE_CONFIG, domain: 'randomised' };

test('domain draws cover the stated ranges', () => {
  const rng = new Rng(1);
  const spacing = new Set<number>(), conv = new Set<string>(), spec = new Set<string>(), size = new Set<string>();
  let ramps = 0, cuts = 0, extras = 0, tMin = Infinity, tMax = 0;
  for (let k = 0; k < 600; k++) {
    const d = sampleDomain(rng, DEFAULT_SCENE_CONFIG, k % 3 === 2 ? 'none' : 'dyke');
    const m = d.meta;
    assert.ok(m.spacingM >= 60 && m.spacingM <= 120 && m.spacingM % 5 === 0, `spacing ${m.spacingM}`);
    assert.equal(d.cfg.spacingM, m.spacingM);
    assert.deepEqual(d.cfg.incidenceRangeDeg, [20, 46]);
    assert.deepEqual({ asc: d.cfg.headingsDeg!.asc, desc: d.cfg.headingsDeg!.desc }, HEADINGS_DEG[m.headingConvention]);
    assert.equal(d.cfg.domain, undefined, 'the inner config is not randomised again');
    spacing.add(m.spacingM); conv.add(m.headingConvention); spec.add(m.turbulenceSpectrum); size.add(m.sourceSize);
    tMin = Math.min(tMin, m.turbulenceMeanM); tMax = Math.max(tMax, m.turbulenceMeanM);
    if (m.rampMaxM > 0) ramps++;
    if (m.cut) { cuts++; assert.notEqual(k % 3, 2, 'no cuts in none scenes'); }
    if (d.extra > 0) { extras++; assert.notEqual(k % 3, 2, 'no secondary sources in none scenes'); }
  }
  assert.equal(spacing.size, 13);
  assert.deepEqual([...conv].sort(), ['s1', 'syinterferopy']);
  assert.deepEqual([...spec].sort(), ['kolmogorov', 'syinterferopy']);
  assert.deepEqual([...size].sort(), ['broad', 'small', 'standard']);
  assert.ok(tMin < 0.008 && tMax > 0.037, `turbulence ${tMin}..${tMax}`);
  assert.ok(ramps > 300 && ramps < 420, `ramps ${ramps}`);
  assert.ok(cuts > 60 && cuts < 140, `cuts ${cuts}`);
  assert.ok(extras > 40 && extras < 120, `extras ${extras}`);
});

test('randomised scenes: incidence 20-46, both heading conventions, per-scene pixel size; a seed reproduces them', () => {
  const inc: number[] = [];
  const conventions = new Set<string>();
  for (let k = 0; k < 18; k++) {
    const s = generateScene(new Rng(500 + k), (['dyke', 'sill', 'none'] as const)[k % 3], terrain, randomised, cache);
    const d = s.meta.domain!;
    assert.equal(s.spacingM, d.spacingM);
    inc.push(s.meta.incidenceDeg);
    const h = HEADINGS_DEG[d.headingConvention];
    const nominal = s.meta.pass === 'asc' ? h.asc : h.desc;
    assert.ok(Math.abs(s.meta.headingDeg - nominal) <= 5 + 1e-9, `heading ${s.meta.headingDeg} for ${s.meta.pass} (${d.headingConvention})`);
    conventions.add(d.headingConvention);
    for (const e of d.extraSources) assert.ok(e.maxAbsM <= 0.6 * s.meta.defoMaxAbsM + 1e-9, 'secondary sources are weaker');
  }
  assert.ok(Math.min(...inc) >= 20 && Math.max(...inc) <= 46);
  assert.ok(Math.min(...inc) < 29, `some incidences below IW's 29 deg: ${Math.min(...inc)}`);
  assert.equal(conventions.size, 2);
  const a = generateScene(new Rng(77), 'dyke', terrain, { ...randomised, decorrelation: 'products' }, cache);
  const b = generateScene(new Rng(77), 'dyke', terrain, { ...randomised, decorrelation: 'products' }, createSpectralCache(256));
  assert.deepEqual(a.losM, b.losM);
  assert.deepEqual(a.mask, b.mask);
  assert.deepEqual(a.meta, b.meta);
});

test('with secondary sources the label is the primary (strongest) source', () => {
  const cfg: SceneConfig = { ...randomised, domainOptions: { extraSourceChance: 1, cutChance: 0 } };
  const s = generateScene(new Rng(9), 'sill', terrain, cfg, cache);
  const extra = s.meta.domain!.extraSources;
  assert.ok(extra.length >= 1);
  // Rebuild each secondary from its meta and subtract it: what is left is the primary, whose box is the label.
  const n = s.size;
  const los = losUnitVector(s.meta.headingDeg, s.meta.incidenceDeg);
  const primary = Float64Array.from(s.defoM);
  for (const e of extra) {
    const xs = new Float64Array(n).map((_, i) => (i - e.xy[0]) * s.spacingM);
    const ys = new Float64Array(n).map((_, i) => (e.xy[1] - i) * s.spacingM);
    const g = sourceDisplacementGrid(e.source, xs, ys);
    const f = new Float64Array(n * n).map((_, i) => g.east[i]! * los[0] + g.north[i]! * los[1] + g.up[i]! * los[2]);
    const m = f.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    for (let i = 0; i < f.length; i++) primary[i] = primary[i]! - (f[i]! * e.maxAbsM) / m;
    assert.ok(e.maxAbsM <= 0.6 * s.meta.defoMaxAbsM + 1e-9);
  }
  const pm = primary.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  assert.ok(Math.abs(pm - s.meta.defoMaxAbsM) < 1e-4, `primary max ${pm} vs ${s.meta.defoMaxAbsM}`);
  assert.deepEqual(s.box, boxFromDeformation(primary, n, n, s.meta.sourceXY![0], s.meta.sourceXY![1]));
});

test('cuts hide part of the deformation (half rings), masked when decorrelation is off', () => {
  const cfg: SceneConfig = { ...randomised, domainOptions: { cutChance: 1, extraSourceChance: 0 } };
  for (let k = 0; k < 4; k++) {
    const s = generateScene(new Rng(900 + k), k % 2 ? 'dyke' : 'sill', terrain, cfg, cache);
    const d = s.meta.decorrelation!;
    assert.equal(d.mode, 'off');
    assert.ok(d.cutShare! > 0.1 && d.cutShare! < 0.65, `cut hides ${d.cutShare}`);
    assert.ok(d.visibleShare! < 0.95);
  }
});

test('small sources are 1-3 km across and broad ones wider than half the widest window', () => {
  const rng = new Rng(3);
  const widthKm = (kind: 'mogi' | 'sill', size: 'small' | 'broad'): number => {
    const src = sampleSizedSource(rng, kind, size);
    const step = size === 'small' ? 25 : 150, n = 321;
    const xs = new Float64Array(n).map((_, i) => (i - (n - 1) / 2) * step);
    const up = sourceDisplacementGrid(src, xs, xs).up;
    const b = boxFromDeformation(up, n, n, (n - 1) / 2, (n - 1) / 2);
    return (2 * Math.max(b.halfWidth, b.halfHeight) * step) / 1000;
  };
  for (let k = 0; k < 6; k++) {
    const ms = widthKm('mogi', 'small'), ss = widthKm('sill', 'small');
    assert.ok(ms >= 0.8 && ms <= 3.5, `small mogi ${ms} km`);
    assert.ok(ss >= 0.8 && ss <= 4.5, `small sill ${ss} km`);
    const mb = widthKm('mogi', 'broad'), sb = widthKm('sill', 'broad');
    assert.ok(mb > 13.4 && sb > 13.4, `broad: mogi ${mb} km, sill ${sb} km (half window 13.4 km)`);
  }
});

test('resampling a DEM keeps its values and scales its size', () => {
  const dem = { width: 4, height: 4, data: Float32Array.from({ length: 16 }, (_, i) => (i % 4) * 10) };
  const up = resampleDem(dem, 1.5);
  assert.equal(up.width, 6);
  for (let y = 0; y < 6; y++) {
    const row = Array.from(up.data.subarray(y * 6, y * 6 + 6));
    for (let x = 1; x < 6; x++) assert.ok(row[x]! >= row[x - 1]!, 'monotone along x');
    assert.ok(row[0]! >= 0 && row[5]! <= 30);
  }
});
