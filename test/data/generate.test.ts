import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { synthesise } from '../../src/data/generate.js';
import { readDataset, readManifest, shardFileName } from '../../src/data/dataset.js';
import { InputError } from '../../src/core/errors.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-gen-'));
const base = { count: 9, seed: 42, classes: ['dyke', 'sill', 'none'] as const, terrain: { kind: 'procedural' } as const, shardSize: 4 };

function contents(dir: string): string[] {
  return [...readDataset(dir)].map((s) => `${s.index}:${s.className}:${JSON.stringify(s.box)}:${s.losM[1000]}`);
}

test('synth writes balanced shards, deterministic for a seed whatever the worker count', async () => {
  const a = tmp(), b = tmp();
  const seen: number[] = [];
  const m = await synthesise({ ...base, outDir: a, workers: 1 }, (p) => seen.push(p.done));
  assert.equal(m.complete, true);
  assert.deepEqual(m.shards.map((s) => [s.file, s.start, s.count]), [[shardFileName(0), 0, 4], [shardFileName(1), 4, 4], [shardFileName(2), 8, 1]]);
  assert.equal(seen.at(-1), 9);
  const samples = [...readDataset(a)];
  assert.deepEqual(samples.map((s) => s.className), ['dyke', 'sill', 'none', 'dyke', 'sill', 'none', 'dyke', 'sill', 'none']);
  for (const s of samples) {
    assert.equal(s.losM.length, 224 * 224);
    assert.equal(s.box === null, s.className === 'none');
  }
  await synthesise({ ...base, outDir: b, workers: 2 });
  assert.deepEqual(contents(a), contents(b));
});

test('an interrupted run resumes: missing shards are made again, identical to an uninterrupted run', async () => {
  const full = tmp(), cut = tmp();
  await synthesise({ ...base, outDir: full, workers: 1 });
  await synthesise({ ...base, outDir: cut, workers: 1 });
  // Simulate a kill after the first shard: later shards gone, manifest says incomplete.
  for (const f of [shardFileName(1), shardFileName(2)]) fs.rmSync(path.join(cut, f));
  const m = readManifest(cut);
  fs.writeFileSync(path.join(cut, 'manifest.json'), JSON.stringify({ ...m, complete: false, shards: m.shards.slice(0, 1) }));
  fs.writeFileSync(path.join(cut, shardFileName(1) + '.tmp-123-abc'), 'half-written');
  let resumed = -1;
  await synthesise({ ...base, outDir: cut, workers: 1 }, (p) => { resumed = p.resumed; });
  assert.equal(resumed, 4);
  assert.deepEqual(contents(cut), contents(full));
});

test('bad input: other settings in the output dir, bad counts, missing DEM dir, corrupt tile', async () => {
  const d = tmp();
  await synthesise({ ...base, count: 3, outDir: d, workers: 1 });
  await assert.rejects(synthesise({ ...base, count: 3, seed: 7, outDir: d, workers: 1 }), (e: unknown) => e instanceof InputError && /other settings/.test(e.message));
  await assert.rejects(synthesise({ ...base, count: 0, outDir: tmp(), workers: 1 }), /scene count must be a positive integer/);
  await assert.rejects(synthesise({ ...base, outDir: tmp(), workers: 1, terrain: { kind: 'srtm', path: '/nonexistent/dem' } }), /no such DEM directory/);
  const dem = tmp();
  fs.writeFileSync(path.join(dem, 'N40E014.hgt'), Buffer.alloc(1000));
  await assert.rejects(synthesise({ ...base, outDir: tmp(), workers: 1, terrain: { kind: 'srtm', path: dem, volcanoes: ['Vesuvius'] } }), /N40E014\.hgt/);
  const file = path.join(tmp(), 'a-file');
  fs.writeFileSync(file, 'x');
  await assert.rejects(synthesise({ ...base, outDir: path.join(file, 'sub'), workers: 1 }), InputError);
});

test('shards load with plain numpy.load when numpy is available', async (t) => {
  try { execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }); } catch { t.skip('no numpy'); return; }
  const d = tmp();
  await synthesise({ ...base, count: 3, outDir: d, workers: 1 });
  const out = execFileSync('python3', ['-c', [
    'import numpy as np, json, sys',
    `z = np.load(${JSON.stringify(path.join(d, shardFileName(0)))})`,
    'print(json.dumps({k: [list(z[k].shape), str(z[k].dtype)] for k in z.files}))',
    'print(json.dumps(z["box"][0].tolist()), int(z["class"][2]))',
  ].join('\n')], { encoding: 'utf8' }).trim().split('\n');
  const shapes = JSON.parse(out[0]!) as Record<string, [number[], string]>;
  assert.deepEqual(shapes['los'], [[3, 224, 224], 'float32']);
  assert.deepEqual(shapes['mask'], [[3, 224, 224], 'uint8']);
  assert.deepEqual(shapes['box'], [[3, 4], 'float32']);
  const first = [...readDataset(d)][0]!;
  const cut = out[1]!.lastIndexOf(' ');
  const boxJson = out[1]!.slice(0, cut), cls = out[1]!.slice(cut + 1);
  assert.deepEqual(JSON.parse(boxJson), [first.box!.x, first.box!.y, first.box!.halfWidth, first.box!.halfHeight]);
  assert.equal(Number(cls), 2);
});

test('a DEM of noise: one InputError (no stack), and no manifest left to block a corrected rerun', async () => {
  const dem = tmp();
  const noise = Buffer.alloc(1201 * 1201 * 2);
  let s = 1;
  for (let i = 0; i < noise.length; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; noise[i] = s >>> 24; }
  fs.writeFileSync(path.join(dem, 'N40E014.hgt'), noise);
  const out = tmp();
  const small = { ...base, count: 3, scene: { size: 64 } };
  for (const workers of [1, 2]) {
    await assert.rejects(synthesise({ ...small, outDir: out, workers, terrain: { kind: 'srtm', path: dem, volcanoes: ['Vesuvius'] } }),
      (e: unknown) => e instanceof InputError && e.message.startsWith(`${dem}: sample 0: `) && /no viable \w+ scene after \d+ attempts on this DEM around Vesuvius/.test(e.message) && !e.message.includes('\n'));
    assert.deepEqual(fs.readdirSync(out), [], 'nothing written');
  }
  // The corrected rerun (procedural terrain) into the same folder just works.
  const m = await synthesise({ ...small, outDir: out, workers: 1 });
  assert.equal(m.complete, true);
  // A manifest from an older failed run (no shard written) with other settings is replaced, not a blocker.
  const stale = tmp();
  fs.writeFileSync(path.join(stale, 'manifest.json'), JSON.stringify({ ...readManifest(out), shards: [], complete: false, settings: { ...m.settings, seed: 99 } }));
  fs.writeFileSync(path.join(stale, 'shard-00000.json'), '{"samples": []}'); // a sidecar whose .npz never came
  assert.equal((await synthesise({ ...small, outDir: stale, workers: 1 })).complete, true);
  // With shards written, other settings are refused, saying which and what to do.
  await assert.rejects(synthesise({ ...small, seed: 5, outDir: out, workers: 1 }),
    (e: unknown) => e instanceof InputError && /other settings \(seed: 42 → 5\); rerun with the same options to finish or extend it, or choose another output folder, or delete it/.test(e.message));
  for (const d of [dem, out, stale]) fs.rmSync(d, { recursive: true, force: true });
});
