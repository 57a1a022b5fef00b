import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { createSpectralCache } from '../../src/synth/atmosphere.js';
import { DEFAULT_SCENE_CONFIG, generateScene, MASK_INCOHERENT, MASK_WATER, signalToNoise, type TerrainProvider } from '../../src/synth/scene.js';
import { proceduralTerrain } from '../../src/synth/terrains.js';
import { boxFromDeformation } from '../../src/synth/labels.js';

const cfg = DEFAULT_SCENE_CONFIG;
const terrain = proceduralTerrain(448, 90, { poolSize: 4, seed: 3 });
const cache = createSpectralCache(256);

test('a seed reproduces a scene exactly; another seed does not', () => {
  const a = generateScene(new Rng(11), 'dyke', terrain, cfg, cache);
  const b = generateScene(new Rng(11), 'dyke', proceduralTerrain(448, 90, { poolSize: 4, seed: 3 }), cfg, createSpectralCache(256));
  assert.deepEqual(a.losM, b.losM);
  assert.deepEqual(a.box, b.box);
  assert.deepEqual(a.meta, b.meta);
  const c = generateScene(new Rng(12), 'dyke', terrain, cfg, cache);
  assert.notDeepEqual(a.losM, c.losM);
});

test('deformation scenes obey the SyInterferoPy acceptance rules', () => {
  for (let k = 0; k < 8; k++) {
    const cls = k % 2 === 0 ? 'dyke' : 'sill';
    const s = generateScene(new Rng(100 + k), cls, terrain, cfg, cache);
    assert.equal(s.className, cls);
    const m = s.meta;
    assert.ok(m.defoMaxAbsM >= cfg.minDefoM - 1e-6 && m.defoMaxAbsM <= cfg.maxDefoM + 1e-6, `max |defo| ${m.defoMaxAbsM}`);
    assert.ok(m.snr !== null && m.snr >= cfg.snrThreshold, `snr ${m.snr}`);
    // The source sits 10-90 % across the crop (the 448 px region always allows it).
    const [sx, sy] = m.sourceXY!;
    assert.ok(sx >= 0.1 * 224 - 1 && sx <= 0.9 * 224 + 1 && sy >= 0.1 * 224 - 1 && sy <= 0.9 * 224 + 1, `source at ${sx},${sy}`);
    // The box is centred on the source and its extent is that of |defo| > 20 % of max.
    assert.deepEqual(s.box, boxFromDeformation(s.defoM, 224, 224, sx, sy));
    // LOS = deformation + atmosphere: the residual is the atmosphere, which is weaker than the deformation over it.
    const atm = s.losM.map((v, i) => v - s.defoM[i]!);
    assert.ok(Math.abs(signalToNoise(s.defoM, atm) - m.snr!) < 1e-3 * m.snr!);
    if (m.source!.kind === 'dyke') assert.ok(m.source!.kind === 'dyke' && (m.source as { openingM: number }).openingM > 0, 'dykes open');
  }
});

test('sills and Mogi sources both appear in class sill, inflating and deflating', () => {
  const kinds = new Set<string>();
  const signs = new Set<number>();
  for (let k = 0; k < 16; k++) {
    const s = generateScene(new Rng(300 + k), 'sill', terrain, cfg, cache);
    const src = s.meta.source!;
    kinds.add(src.kind);
    signs.add(Math.sign(src.kind === 'mogi' ? src.volumeChangeM3 : src.openingM ?? 0));
  }
  assert.deepEqual([...kinds].sort(), ['mogi', 'sill']);
  assert.deepEqual([...signs].sort(), [-1, 1]);
});

test('none scenes have no deformation and no box; masks mark water and incoherence', () => {
  const s = generateScene(new Rng(5), 'none', terrain, cfg, cache);
  assert.equal(s.box, null);
  assert.equal(s.meta.source, null);
  assert.ok(s.defoM.every((v) => v === 0));
  for (let i = 0; i < s.mask.length; i++) {
    assert.equal((s.mask[i]! & MASK_WATER) !== 0, !(s.dem[i]! > 0));
    assert.equal((s.mask[i]! & MASK_INCOHERENT) !== 0, s.coherence[i]! < 1 - s.meta.cohThreshold);
  }
  // Atmosphere alone: a plausible strength (SyInterferoPy no_def: median std 1.3 rad ~ 6 mm).
  let mean = 0;
  for (const v of s.losM) mean += v / s.losM.length;
  const std = Math.sqrt(s.losM.reduce((a, v) => a + (v - mean) ** 2, 0) / s.losM.length);
  assert.ok(std > 0.0005 && std < 0.03, `atmosphere std ${std} m`);
});

test('a terrain smaller than the scene is a clear error; an all-water terrain gives up', () => {
  const tiny: TerrainProvider = () => ({ dem: { width: 100, height: 100, data: new Float32Array(10000).fill(500) }, anchor: { x: 50, y: 50 }, name: 'tiny', lonLat: null });
  assert.throws(() => generateScene(new Rng(1), 'dyke', tiny, cfg, cache), /smaller than the 224px scene/);
  const sea: TerrainProvider = () => ({ dem: { width: 448, height: 448, data: new Float32Array(448 * 448) }, anchor: { x: 224, y: 224 }, name: 'sea', lonLat: null });
  assert.throws(() => generateScene(new Rng(1), 'dyke', sea, cfg, cache, 3), /no viable dyke scene after 3 attempts/);
});

test('artefacts of real products change the signal, not the labels or the deformation', () => {
  const plain = generateScene(new Rng(21), 'dyke', terrain, cfg, cache);
  const withArt = generateScene(new Rng(21), 'dyke', terrain, { ...cfg, artefacts: { unwrappingChance: 1 } }, cache);
  assert.deepEqual(withArt.defoM, plain.defoM);
  assert.deepEqual(withArt.box, plain.box);
  let diff = 0;
  for (let i = 0; i < plain.losM.length; i++) diff = Math.max(diff, Math.abs(withArt.losM[i]! - plain.losM[i]!));
  // At least one whole unwrapping cycle (lambda / 2 = 2.8 cm of LOS) appears somewhere.
  assert.ok(diff >= 0.0277 - 1e-4, `largest change ${diff} m`);
});
