/**
 * The dataset schema, validated once (data/dataset.ts): every wrong type or value in manifest.json
 * or a shard's sidecar is one InputError naming the file and the field, never a TypeError; shards
 * listed twice, negative counts, NaN boxes and paths out of the folder are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { synthesise } from '../../src/data/generate.js';
import { readDataset, readManifest, shardFileName } from '../../src/data/dataset.js';
import { DatasetReader } from '../../src/data/feeder.js';
import { isInputError } from '../../src/core/errors.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

let made: string | null = null;
/** A small valid dataset (4 samples of 64 px in 2 shards), made once and copied per case. */
async function dataset(): Promise<string> {
  if (!made) {
    made = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-ds-'));
    await synthesise({ outDir: made, count: 4, seed: 3, classes: ['dyke', 'sill', 'none'], terrain: { kind: 'procedural' }, shardSize: 2, workers: 1, scene: { size: 64 } });
  }
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-ds-case-'));
  fs.cpSync(made, copy, { recursive: true });
  return copy;
}

function readAll(dir: string): number {
  let n = 0;
  for (const s of readDataset(dir)) {
    assert.ok(s.box === null || [s.box.x, s.box.y, s.box.halfWidth, s.box.halfHeight].every(Number.isFinite));
    n++;
  }
  const r = new DatasetReader(dir);
  for (let i = 0; i < r.count; i++) r.get(r.manifest.shards[0]!.start);
  return n;
}

type Json = Record<string, unknown>;

async function expectRefused(edit: (dir: string) => void, re: RegExp): Promise<void> {
  const dir = await dataset();
  try {
    edit(dir);
    assert.throws(() => readAll(dir), (e: unknown) => {
      assert.ok(isInputError(e), `not an InputError: ${(e as Error).stack}`);
      const msg = (e as Error).message;
      assert.ok(!msg.includes('\n'), `several lines: ${msg}`);
      assert.match(msg, re);
      return true;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function editJson(file: string, f: (j: Json) => unknown): void {
  fs.writeFileSync(file, JSON.stringify(f(JSON.parse(fs.readFileSync(file, 'utf8')) as Json)));
}

const manifest = (f: (m: Json) => unknown) => (dir: string) => editJson(path.join(dir, 'manifest.json'), f);
const sidecar = (f: (m: Json) => unknown) => (dir: string) => editJson(path.join(dir, shardFileName(1).replace('.npz', '.json')), f);
const samples = (j: Json) => j.samples as Json[];

test('a valid dataset reads whole', async () => {
  const dir = await dataset();
  assert.equal(readAll(dir), 4);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('manifest.json with wrong types: one line naming the field', async () => {
  const cases: [(m: Json) => unknown, RegExp][] = [
    [() => null, /manifest\.json: the manifest must be an object, got null/],
    [() => [], /the manifest must be an object, got an array/],
    [(m) => ({ ...m, shards: null }), /manifest\.json: shards must be an array, got null/],
    [(m) => ({ ...m, shards: 'shard-00000.npz' }), /shards must be an array, got "shard-00000\.npz"/],
    [(m) => ({ ...m, shards: {} }), /shards must be an array, got an object/],
    [(m) => ({ ...m, shards: [null] }), /shards\[0\] must be an object, got null/],
    [(m) => ({ ...m, shards: [3] }), /shards\[0\] must be an object, got 3/],
    [(m) => ({ ...m, shards: [{ ...(m.shards as Json[])[0], file: null }] }), /shards\[0\]\.file must be a string, got null/],
    [(m) => ({ ...m, shards: [{ ...(m.shards as Json[])[0], file: 7 }] }), /shards\[0\]\.file must be a string, got 7/],
    [(m) => ({ ...m, settings: null }), /settings must be an object, got null/],
    [(m) => ({ ...m, settings: { ...(m.settings as Json), size: '64' } }), /settings\.size must be a positive integer, got "64"/],
    [(m) => ({ ...m, settings: { ...(m.settings as Json), dem: null } }), /settings\.dem must be an object, got null/],
    [(m) => ({ ...m, settings: { ...(m.settings as Json), classes: ['dyke', 'volcano'] } }), /settings\.classes\[1\] must be one of dyke, sill, none, got "volcano"/],
    [(m) => ({ ...m, format: 'caldera-synth/9' }), /format "caldera-synth\/9" is not caldera-synth\/1/],
    [(m) => ({ ...m, complete: 'yes' }), /complete must be true or false/],
  ];
  for (const [f, re] of cases) await expectRefused(manifest(f), re);
});

test('shards listed twice, overlapping, with count -1 or outside the folder are refused', async () => {
  const first = (m: Json) => (m.shards as Json[])[0]!;
  await expectRefused(manifest((m) => ({ ...m, shards: [first(m), first(m)] })), /shards\[1\] lists shard-00000\.npz again \(already shards\[0\]\)/);
  await expectRefused(manifest((m) => ({ ...m, shards: [first(m), { ...(m.shards as Json[])[1], count: -1 }] })), /shards\[1\]\.count must be a positive integer, got -1/);
  await expectRefused(manifest((m) => ({ ...m, shards: [first(m), { ...(m.shards as Json[])[1], start: 1 }] })), /overlap/);
  await expectRefused(manifest((m) => ({ ...m, shards: [{ ...first(m), count: 99 }] })), /past settings\.count 4/);
  for (const bad of ['../shard-00000.npz', '../../etc/passwd.npz', 'sub/shard-00000.npz', '/tmp/x.npz', '..', 'shard-00000.json']) {
    await expectRefused(manifest((m) => ({ ...m, shards: [{ ...first(m), file: bad }] })), /shards\[0\]\.file must be a \.npz file name inside the dataset folder/);
  }
});

test('sidecar JSON with wrong types, a missing sample or a NaN box: one line naming the field', async () => {
  const cases: [(j: Json) => unknown, RegExp][] = [
    [() => [], /shard-00001\.json: the sidecar must be an object, got an array/],
    [() => ({ samples: null }), /shard-00001\.json: samples must be an array, got null/],
    [() => ({ samples: {} }), /samples must be an array, got an object/],
    [() => ({ samples: [] }), /has 0 samples, the manifest says 2/],
    [(j) => ({ samples: samples(j).slice(1) }), /has 1 samples, the manifest says 2/],
    [(j) => ({ samples: [samples(j)[0], null] }), /samples\[1\] must be an object, got null/],
    [(j) => ({ samples: [samples(j)[0], { ...samples(j)[1], meta: null }] }), /samples\[1\]\.meta must be an object, got null/],
    [(j) => ({ samples: [samples(j)[0], { ...samples(j)[1], meta: { ...(samples(j)[1]!.meta as Json), headingDeg: '12' } }] }), /samples\[1\]\.meta\.headingDeg must be a finite number/],
    [(j) => ({ samples: [{ ...samples(j)[0], box: { x: null, y: 1, halfWidth: 2, halfHeight: 3 } }, samples(j)[1]] }), /samples\[0\]\.box\.x must be a finite number, got null/],
    [(j) => ({ samples: [{ ...samples(j)[0], box: { x: 1, y: 1, halfWidth: -2, halfHeight: 3 } }, samples(j)[1]] }), /samples\[0\]\.box\.halfWidth must be a finite number >= 0/],
    [(j) => ({ samples: [{ ...samples(j)[0], className: 'plume' }, samples(j)[1]] }), /samples\[0\]\.className must be one of dyke, sill, none/],
    [(j) => ({ samples: [samples(j)[1], samples(j)[0]] }), /samples\[0\]\.index must be 2, got 3/],
  ];
  for (const [f, re] of cases) await expectRefused(sidecar(f), re);
  await expectRefused((dir) => fs.writeFileSync(path.join(dir, 'shard-00001.json'), '{"samples": [tru'), /shard-00001\.npz: cannot read its labels/);
});

test('eval and show on a broken dataset: exit 2 with one line (no stack trace)', async () => {
  const dir = await dataset();
  try {
    editJson(path.join(dir, 'manifest.json'), (m) => ({ ...m, shards: [null] }));
    const r = spawnSync(process.execPath, [MAIN, 'show', dir, '--out', path.join(dir, 'sheet.png')], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /shards\[0\] must be an object, got null/);
    // readManifest, as eval calls it first, gives the same line.
    assert.throws(() => readManifest(dir), (e: unknown) => isInputError(e) && /shards\[0\] must be an object/.test((e as Error).message));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.after(() => { if (made) fs.rmSync(made, { recursive: true, force: true }); });
