import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { createSpectralCache } from '../../src/synth/atmosphere.js';
import { proceduralDem } from '../../src/synth/terrain.js';

function range(a: Float32Array): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const v of a) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return [lo, hi];
}

test('procedural DEM: plausible relief, finite, sea is exactly 0, volcanoes on land inside the scene', () => {
  const cache = createSpectralCache(256);
  const reliefs: number[] = [];
  let withVolcano = 0;
  for (let seed = 1; seed <= 30; seed++) {
    const { dem, volcanoes, edifices, seaFraction } = proceduralDem(new Rng(seed), { width: 224, height: 224, spacingM: 90 }, cache);
    assert.equal(dem.width, 224);
    assert.equal(dem.height, 224);
    assert.ok(dem.data.every(Number.isFinite));
    const [lo, hi] = range(dem.data);
    assert.ok(lo >= 0, `seed ${seed}: min ${lo}`);
    assert.ok(hi < 6000, `seed ${seed}: max ${hi}`);
    reliefs.push(hi - lo);
    let sea = 0;
    for (const v of dem.data) if (v <= 0) { sea++; assert.equal(v, 0); }
    assert.equal(seaFraction, sea / dem.data.length);
    assert.equal(volcanoes.length, edifices.length);
    for (const v of volcanoes) {
      assert.ok(v.x >= 0 && v.x < 224 && v.y >= 0 && v.y < 224);
      assert.ok(dem.data[Math.round(v.y) * 224 + Math.round(v.x)]! > 0, 'volcano on land');
    }
    if (volcanoes.length > 0) withVolcano++;
  }
  reliefs.sort((a, b) => a - b);
  const median = reliefs[reliefs.length >> 1]!;
  assert.ok(reliefs[0]! > 300, `smallest relief ${reliefs[0]}`);
  assert.ok(median > 800 && median < 3000, `median relief ${median}`);
  assert.ok(withVolcano >= 25, `${withVolcano}/30 DEMs have a volcano on land`);
});

test('summits are local highs: the DEM at a cone summit is well above the scene median', () => {
  const cache = createSpectralCache(256);
  let checked = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const { dem, edifices } = proceduralDem(new Rng(seed), { width: 224, height: 224 }, cache);
    const sorted = Float32Array.from(dem.data).sort();
    const med = sorted[sorted.length >> 1]!;
    for (const e of edifices) {
      if (e.kind !== 'stratocone' || e.reliefM < 800) continue;
      // highest point within 10 px of the summit (the centre itself may be a crater floor)
      let z = -Infinity;
      for (let y = Math.round(e.y) - 10; y <= Math.round(e.y) + 10; y++) {
        for (let x = Math.round(e.x) - 10; x <= Math.round(e.x) + 10; x++) {
          if (x >= 0 && y >= 0 && x < 224 && y < 224) z = Math.max(z, dem.data[y * 224 + x]!);
        }
      }
      assert.ok(z > med + 0.5 * e.reliefM, `seed ${seed}: summit ${z} vs median ${med}, relief ${e.reliefM}`);
      checked++;
    }
  }
  assert.ok(checked >= 5);
});

test('procedural DEM is deterministic for a seed (with or without a cache)', () => {
  const o = { width: 224, height: 224, spacingM: 90 };
  const a = proceduralDem(new Rng(11), o, createSpectralCache(256));
  const b = proceduralDem(new Rng(11), o);
  assert.deepEqual(a.dem.data, b.dem.data);
  assert.deepEqual(a.volcanoes, b.volcanoes);
  assert.notDeepEqual(a.dem.data, proceduralDem(new Rng(12), o).dem.data);
});

test('coast: requested coasts give a sea fraction strictly between 0 and 1; coast=false gives none', () => {
  const cache = createSpectralCache(256);
  for (let seed = 1; seed <= 12; seed++) {
    const c = proceduralDem(new Rng(seed), { width: 224, height: 224, coast: true }, cache);
    assert.ok(c.seaFraction > 0.02 && c.seaFraction < 0.95, `seed ${seed}: sea ${c.seaFraction}`);
    const n = proceduralDem(new Rng(seed), { width: 224, height: 224, coast: false }, cache);
    assert.equal(n.seaFraction, 0);
    assert.ok(range(n.dem.data)[0] > 0);
  }
  // default: some scenes have a coast, most do not
  let coasts = 0;
  for (let seed = 100; seed < 160; seed++) if (proceduralDem(new Rng(seed), { width: 128, height: 128 }, cache).seaFraction > 0) coasts++;
  assert.ok(coasts > 8 && coasts < 40, `${coasts}/60 with a coast`);
});

test('runs for 224, 256 and non-square sizes, and other spacings', () => {
  const cache = createSpectralCache(256);
  for (const [w, h, dx] of [[224, 224, 90], [256, 256, 90], [300, 180, 90], [97, 251, 90], [224, 224, 30], [64, 64, 200]] as const) {
    const r = proceduralDem(new Rng(w * h), { width: w, height: h, spacingM: dx }, cache);
    assert.equal(r.dem.width, w);
    assert.equal(r.dem.height, h);
    assert.equal(r.dem.data.length, w * h);
    assert.ok(r.dem.data.every(Number.isFinite));
    const [lo, hi] = range(r.dem.data);
    assert.ok(hi - lo > 100, `${w}x${h}@${dx}: relief ${hi - lo}`);
  }
  assert.throws(() => proceduralDem(new Rng(1), { width: 4, height: 100 }), RangeError);
  assert.throws(() => proceduralDem(new Rng(1), { width: 100, height: 100, spacingM: 0 }), RangeError);
});

test('caldera lakes are flat: some DEMs have a large exactly-flat area above sea level', () => {
  const cache = createSpectralCache(256);
  let lakes = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const { dem } = proceduralDem(new Rng(seed), { width: 224, height: 224, coast: false }, cache);
    const counts = new Map<number, number>();
    for (const v of dem.data) counts.set(v, (counts.get(v) ?? 0) + 1);
    const biggest = Math.max(...counts.values());
    if (biggest > 300) lakes++;
  }
  assert.ok(lakes >= 2 && lakes <= 30, `${lakes}/40 DEMs with a flat lake`);
});

// ---------------------------------------------------------------------------------------------
// Optional visual check: CALDERA_TERRAIN_PNG=dir writes hillshaded PNGs of a few procedural DEMs.

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC[(c ^ x) & 255]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function pngChunk(type: string, data: Uint8Array): Buffer {
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  td.copy(out, 4);
  out.writeUInt32BE(crc32(td), 8 + data.length);
  return out;
}
function grayPng(w: number, h: number, g: Uint8Array): Buffer {
  const raw = Buffer.alloc((w + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw[y * (w + 1) + 1 + x] = g[y * w + x]!;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', new Uint8Array(0))]);
}
function hillshade(d: Float32Array, w: number, h: number, dx: number): Uint8Array {
  const out = new Uint8Array(w * h);
  const at = (x: number, y: number): number => d[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))]!;
  const l = [-Math.SQRT1_2 * Math.cos(Math.PI / 4), Math.SQRT1_2 * Math.cos(Math.PI / 4), Math.sin(Math.PI / 4)]; // from the NW, 45 deg
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const gx = (at(x + 1, y) - at(x - 1, y)) / (2 * dx), gy = (at(x, y - 1) - at(x, y + 1)) / (2 * dx);
    const n = Math.hypot(gx, gy, 1);
    const s = (-gx * l[0]! - gy * l[1]! + l[2]!) / n;
    out[y * w + x] = at(x, y) <= 0 ? 40 : Math.round(255 * Math.max(0, Math.min(1, s)));
  }
  return out;
}

test('writes hillshade PNGs when CALDERA_TERRAIN_PNG is set', { skip: !process.env['CALDERA_TERRAIN_PNG'] }, () => {
  const dir = process.env['CALDERA_TERRAIN_PNG'] ?? os.tmpdir();
  fs.mkdirSync(dir, { recursive: true });
  for (let seed = 1; seed <= 4; seed++) {
    const { dem } = proceduralDem(new Rng(seed), { width: 224, height: 224 });
    fs.writeFileSync(path.join(dir, `procedural_dem_${seed}.png`), grayPng(224, 224, hillshade(dem.data, 224, 224, 90)));
  }
});
