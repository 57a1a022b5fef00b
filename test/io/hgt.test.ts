import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  decodeHgt, fillVoids, HGT_VOID, hgtTileName, listHgtTiles, mosaicHgt, parseHgtName, readHgt,
} from '../../src/io/hgt.js';
import { InputError } from '../../src/core/errors.js';
import { withDirSync } from '../helpers/files.js';

const REAL_DIR = '/work/shared/dem/srtm3';
const N = 1200; // SRTM3 grid steps per degree

/** A height that depends only on the global grid node (j = lat*N, i = lon*N), so shared edges agree. */
function height(j: number, i: number): number {
  return ((j * 7 + i * 3) % 20000 + 20000) % 20000 - 5000;
}

function tileBytes(lat: number, lon: number, edit?: (row: number, col: number, v: number) => number): Uint8Array {
  const size = N + 1;
  const out = new Uint8Array(size * size * 2);
  const dv = new DataView(out.buffer);
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      let v = height((lat + 1) * N - row, lon * N + col);
      if (edit) v = edit(row, col, v);
      dv.setInt16(2 * (row * size + col), v, false);
    }
  }
  return out;
}

const withDir = (f: (dir: string) => void): void => withDirSync('caldera-hgt-', f);

test('tile names: format, parse, hemispheres and bad names', () => {
  assert.equal(hgtTileName(40, 14), 'N40E014.hgt');
  assert.equal(hgtTileName(-17, -70), 'S17W070.hgt');
  assert.equal(hgtTileName(0, 0), 'N00E000.hgt');
  assert.deepEqual(parseHgtName('/x/y/S18E168.hgt'), { lat: -18, lon: 168 });
  assert.deepEqual(parseHgtName('n33w131.HGT'), { lat: 33, lon: -131 });
  for (const bad of ['N40E14.hgt', 'X40E014.hgt', 'N40E014.tif', 'N95E014.hgt', 'N40E200.hgt']) {
    assert.throws(() => parseHgtName(bad), (e: unknown) => e instanceof InputError && e.message.startsWith(bad));
  }
  assert.throws(() => hgtTileName(40.5, 14), InputError);
});

test('readHgt reads big-endian heights, keeps voids, detects SRTM1 by size', () => {
  withDir((dir) => {
    const f = path.join(dir, 'N40E014.hgt');
    fs.writeFileSync(f, tileBytes(40, 14, (r, c, v) => (r === 5 && c === 6 ? HGT_VOID : v)));
    const t = readHgt(f);
    assert.deepEqual(t.tile, { lat: 40, lon: 14 });
    assert.equal(t.size, 1201);
    assert.equal(t.data[0], height(41 * N, 14 * N)); // north-west corner
    assert.equal(t.data[1201 * 1201 - 1], height(40 * N, 15 * N)); // south-east corner
    assert.equal(t.data[5 * 1201 + 6], HGT_VOID);
  });
  const srtm1 = decodeHgt(new Uint8Array(3601 * 3601 * 2), 'S01W001.hgt');
  assert.equal(srtm1.size, 3601);
  assert.deepEqual(srtm1.tile, { lat: -1, lon: -1 });
});

test('truncated tiles, bad names and missing directories are InputErrors naming the file', () => {
  withDir((dir) => {
    const f = path.join(dir, 'N40E014.hgt');
    fs.writeFileSync(f, new Uint8Array(1000));
    assert.throws(() => readHgt(f), (e: unknown) => e instanceof InputError &&
      /^N40E014\.hgt: expected 2884802 bytes \(1201x1201 int16\) or 25934402 bytes \(3601x3601 int16\), got 1000/.test(e.message));
    fs.writeFileSync(path.join(dir, 'tile.hgt'), new Uint8Array(2884802));
    assert.throws(() => readHgt(path.join(dir, 'tile.hgt')), (e: unknown) => e instanceof InputError && /tile\.hgt: not an SRTM tile name/.test(e.message));
    assert.throws(() => listHgtTiles(dir), InputError);
    assert.throws(() => mosaicHgt(dir, { south: 40, north: 41, west: 14, east: 15 }), InputError);
  });
  assert.throws(() => listHgtTiles('/nonexistent/dem'), (e: unknown) => e instanceof InputError && /\/nonexistent\/dem/.test(e.message));
  assert.throws(() => readHgt('/nonexistent/N40E014.hgt'), (e: unknown) => e instanceof InputError && /cannot read/.test(e.message));
  withDir((dir) => {
    assert.throws(() => mosaicHgt(dir, { south: 41, north: 40, west: 14, east: 15 }), (e: unknown) => e instanceof InputError && /bad DEM box/.test(e.message));
  });
});

test('mosaic across tile edges matches the global grid, with voids, overlaps and missing tiles', () => {
  withDir((dir) => {
    // N41E015 is missing. N40E014's east edge column (lon 15) is void: N40E015's west column must fill it.
    fs.writeFileSync(path.join(dir, 'N40E014.hgt'), tileBytes(40, 14, (_r, c, v) => (c === N ? HGT_VOID : v)));
    fs.writeFileSync(path.join(dir, 'N40E015.hgt'), tileBytes(40, 15));
    // N41E014 has one void in its interior that no other tile covers.
    fs.writeFileSync(path.join(dir, 'N41E014.hgt'), tileBytes(41, 14, (r, c, v) => (r === 100 && c === 900 ? HGT_VOID : v)));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
    assert.deepEqual(listHgtTiles(dir).map((t) => t.name), ['N40E014.hgt', 'N40E015.hgt', 'N41E014.hgt']);

    const box = { south: 40.5, north: 41.5, west: 14.5, east: 15.5 };
    const m = mosaicHgt(dir, box);
    assert.equal(m.raster.width, 1201);
    assert.equal(m.raster.height, 1201);
    const d = 1 / N;
    assert.ok(Math.abs(m.geo.west - (14.5 - d / 2)) < 1e-12);
    assert.ok(Math.abs(m.geo.north - (41.5 + d / 2)) < 1e-12);
    assert.equal(m.geo.dLat, -d);
    assert.deepEqual(m.tiles, ['N40E014.hgt', 'N40E015.hgt', 'N41E014.hgt']);
    assert.deepEqual(m.missing, ['N41E015.hgt']);
    const jNorth = 41.5 * N;
    const iWest = 14.5 * N;
    let bad = 0;
    for (let r = 0; r < m.raster.height; r++) {
      for (let c = 0; c < m.raster.width; c++) {
        const j = jNorth - r;
        const i = iWest + c;
        const v = m.raster.data[r * m.raster.width + c]!;
        const inMissing = j > 41 * N && i > 15 * N; // interior of N41E015
        const isVoid = j === 42 * N - 100 && i === 14 * N + 900;
        const expect = inMissing || isVoid ? NaN : height(j, i);
        if (!Object.is(v, expect) && !(Number.isNaN(v) && Number.isNaN(expect))) bad++;
      }
    }
    assert.equal(bad, 0);
  });
});

test('a box equal to one tile returns the tile unchanged; an empty area is all NaN', () => {
  withDir((dir) => {
    fs.writeFileSync(path.join(dir, 'S18E168.hgt'), tileBytes(-18, 168));
    const t = readHgt(path.join(dir, 'S18E168.hgt'));
    const m = mosaicHgt(dir, { south: -18, north: -17, west: 168, east: 169 });
    assert.equal(m.raster.width, 1201);
    assert.deepEqual(Array.from(m.raster.data), Array.from(t.data));
    const e = mosaicHgt(dir, { south: 10, north: 10.1, west: 10, east: 10.1 });
    assert.ok(e.raster.data.every(Number.isNaN));
    assert.deepEqual(e.missing, ['N10E010.hgt']);
  });
});

test('fillVoids fills NaN from neighbours, leaves finite values and sea level alone, is pure', () => {
  const w = 7;
  const h = 5;
  const data = new Float32Array(w * h).map((_, k) => 100 + (k % w) * 10);
  for (let y = 0; y < h; y++) data[y * w] = 0; // sea along the west edge
  for (const k of [9, 10, 11, 16, 17, 18]) data[k] = NaN;
  const before = Float32Array.from(data);
  const out = fillVoids({ width: w, height: h, data });
  assert.deepEqual(Array.from(data).map(String), Array.from(before).map(String), 'input untouched');
  for (let k = 0; k < w * h; k++) {
    const v = out.data[k]!;
    assert.ok(Number.isFinite(v));
    if (!Number.isNaN(before[k]!)) assert.equal(v, before[k]);
    else assert.ok(v >= 100 && v <= 160, `filled ${v} within neighbour range`);
  }
  const flat = fillVoids({ width: 30, height: 30, data: new Float32Array(900).fill(42).fill(NaN, 100, 800) });
  assert.ok(flat.data.every((v) => Math.abs(v - 42) < 1e-4));
  const none = fillVoids({ width: 3, height: 1, data: new Float32Array([NaN, NaN, NaN]) });
  assert.ok(none.data.every(Number.isNaN));
  const capped = fillVoids({ width: 5, height: 1, data: new Float32Array([1, NaN, NaN, NaN, NaN]) }, { maxIterations: 2 });
  assert.deepEqual(Array.from(capped.data).map(Number.isNaN), [false, false, false, true, true]);
});

const HAS_REAL = fs.existsSync(path.join(REAL_DIR, 'N40E014.hgt')) && fs.existsSync(path.join(REAL_DIR, 'N40E013.hgt'));

test('real SRTM3 tiles: Vesuvius height and a seamless edge', { skip: !HAS_REAL && 'no real tiles in ' + REAL_DIR }, () => {
  const t = readHgt(path.join(REAL_DIR, 'N40E014.hgt'));
  assert.equal(t.size, 1201);
  // Vesuvius summit ~40.821 N, 14.426 E, about 1,280 m.
  const row0 = Math.round((41 - 40.821) * N);
  const col0 = Math.round((14.426 - 14) * N);
  let peak = -Infinity;
  for (let dy = -6; dy <= 6; dy++) for (let dx = -6; dx <= 6; dx++) peak = Math.max(peak, t.data[(row0 + dy) * 1201 + col0 + dx]!);
  assert.ok(peak > 1150 && peak < 1350, `Vesuvius ${peak} m`);
  // Neighbouring tiles repeat their shared edge: N40E013's east column is N40E014's west column.
  const w = readHgt(path.join(REAL_DIR, 'N40E013.hgt'));
  for (let r = 0; r < 1201; r++) {
    const a = w.data[r * 1201 + 1200]!;
    const b = t.data[r * 1201]!;
    if (a !== HGT_VOID && b !== HGT_VOID) assert.equal(a, b, `row ${r}`);
  }
  const m = mosaicHgt(REAL_DIR, { south: 40.7, north: 40.9, west: 13.9, east: 14.1 });
  const c14 = Math.round(0.1 * N); // the lon 14 column, taken from either tile
  for (let r = 0; r < m.raster.height; r++) {
    const v = m.raster.data[r * m.raster.width + c14]!;
    const e = t.data[(Math.round((41 - 40.9) * N) + r) * 1201]!;
    if (e !== HGT_VOID) assert.equal(v, e);
  }
  assert.equal(m.raster.width, 241);
  assert.equal(m.raster.height, 241);
  assert.deepEqual(m.missing, []);
  const finite = m.raster.data.filter(Number.isFinite).length;
  assert.ok(finite > 0.5 * m.raster.data.length);
});

test('a tile of the wrong size is refused without reading it; a FIFO named like a tile is refused, not waited on', async () => {
  const { spawnSync } = await import('node:child_process');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-hgt-'));
  try {
    const big = path.join(dir, 'N40E014.hgt');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 200e6); // sparse
    assert.throws(() => readHgt(big), (e: unknown) => e instanceof InputError && /got 200000000; truncated or not a \.hgt tile/.test(e.message));
    const fifo = path.join(dir, 'N41E014.hgt');
    if (spawnSync('mkfifo', [fifo]).status === 0) {
      assert.throws(() => readHgt(fifo), (e: unknown) => e instanceof InputError && /N41E014\.hgt: is a FIFO/.test(e.message));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
