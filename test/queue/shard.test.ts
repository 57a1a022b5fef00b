/**
 * Array jobs: N shard runs of synth, scan and monitor, merged, make exactly what one run makes;
 * study shards take every run once; merge refuses incomplete or mixed sets of parts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../../src/core/errors.js';
import { parseShard, shardRange, shardSlice } from '../../src/core/shard.js';
import { synthesise } from '../../src/data/generate.js';
import { scanAll } from '../../src/scan/scan-all.js';
import { ScanWriter } from '../../src/scan/writer.js';
import { monitor, type MonitorJob } from '../../src/monitor/monitor.js';
import { synthesiseSeries } from '../../src/monitor/stacks.js';
import { standInModel } from '../../src/scan/stand-in.js';
import { shardRuns } from '../../src/study/study-run.js';
import { mergeParts } from '../../src/queue/merge.js';
import { writePartMarker } from '../../src/queue/parts.js';
import { checkJob, CALDERA_VERSION, JOB_FORMAT } from '../../src/queue/jobs.js';
import { thresholdModel, writeProductFiles } from '../helpers/products.js';
import { withDir } from '../helpers/files.js';

/** Every file under `dir` (relative path → bytes), lock files aside. */
function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.startsWith('.caldera')) out.set(path.relative(dir, p), fs.readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

function assertSameFiles(a: string, b: string, normalise: (name: string, text: string) => string = (_n, t) => t): void {
  const fa = files(a), fb = files(b);
  assert.deepEqual([...fb.keys()].sort(), [...fa.keys()].sort());
  for (const [name, bytes] of fa) {
    const other = fb.get(name)!;
    if (/\.(json|jsonl|csv|geojson|md)$/.test(name)) assert.equal(normalise(name, other.toString()), normalise(name, bytes.toString()), name);
    else assert.ok(bytes.equals(other), `${name} differs`);
  }
}

test('K/N: parsed with K from 0, blocks cover the list once and in order', () => {
  assert.deepEqual(parseShard('3/8'), { k: 3, n: 8 });
  for (const bad of ['8/8', '-1/4', '1/0', 'a/b', '1', '1/2/3']) assert.throws(() => parseShard(bad), InputError, bad);
  assert.match((() => { try { parseShard('8/8'); } catch (e) { return (e as Error).message; } return ''; })(), /K counts from 0/);
  for (const [count, n] of [[10, 3], [3, 5], [0, 2], [100, 7]] as const) {
    const all = Array.from({ length: count }, (_, i) => i);
    const joined = Array.from({ length: n }, (_, k) => shardSlice(all, { k, n })).flat();
    assert.deepEqual(joined, all, `${count} in ${n}`);
    const sizes = Array.from({ length: n }, (_, k) => { const r = shardRange(count, { k, n }); return r.end - r.start; });
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
  }
});

test('synth: 3 shard runs merged are the one-run dataset, file for file', async () => {
  await withDir('caldera-shard-synth-', async (dir) => {
    const o = { count: 8, seed: 3, classes: ['dyke', 'sill', 'none'] as const, terrain: { kind: 'procedural' } as const, workers: 1, shardSize: 2 };
    await synthesise({ ...o, outDir: path.join(dir, 'one') });
    const parts = [0, 1, 2].map((k) => path.join(dir, `part-${k}`));
    for (const [k, p] of parts.entries()) {
      const m = await synthesise({ ...o, outDir: p, shard: { k, n: 3 } });
      assert.deepEqual(m.part, { k, n: 3 });
    }
    assert.deepEqual(fs.readdirSync(parts[0]!).filter((f) => f.endsWith('.npz')), ['shard-00000.npz']);
    // A part is not a whole dataset: resuming it without its shard is refused, with both named.
    await assert.rejects(synthesise({ ...o, outDir: parts[1]! }), (e: unknown) => e instanceof InputError && /part 1\/3 of a dataset/.test(e.message));
    await assert.rejects(mergeParts(parts.slice(0, 2), path.join(dir, 'bad')), (e: unknown) => e instanceof InputError && /part 2 of 3 missing/.test(e.message));
    await assert.rejects(mergeParts([parts[0]!, ...parts], path.join(dir, 'bad')), (e: unknown) => e instanceof InputError && /given twice/.test(e.message));
    const r = await mergeParts(parts, path.join(dir, 'merged'));
    assert.equal(r.kind, 'synth');
    assertSameFiles(path.join(dir, 'one'), path.join(dir, 'merged'));
    // Merging again leaves the same files.
    await mergeParts(parts, path.join(dir, 'merged'));
    assertSameFiles(path.join(dir, 'one'), path.join(dir, 'merged'));
  });
});

test('scan: 3 shard runs merged are the one-run records, boxes and pictures, byte for byte', async () => {
  await withDir('caldera-shard-scan-', async (dir) => {
    const input = path.join(dir, 'in');
    for (let i = 0; i < 5; i++) await writeProductFiles(input, `20200${i + 1}01_20200${i + 1}13`, { width: 200, height: 150, shift: 0.02 * i });
    // Two products of one name in two folders (ids become their relative paths), in different parts.
    await writeProductFiles(path.join(input, 'z'), '20200101_20200113', { width: 200, height: 150 });
    const model = thresholdModel({ background: 0.5 });
    const opts = { scan: { scalesKm: [20] } };
    const run = async (out: string, shard?: { k: number; n: number }): Promise<void> => {
      const w = new ScanWriter(out);
      const r = await scanAll([input], model, { ...opts, ...(shard ? { shard } : {}), onScene: (s) => w.add(s) });
      const o = w.finish();
      if (shard) writePartMarker(out, shard, { kind: 'scan', pictures: o.pictures, failures: r.failures.map((f) => f.message), products: r.products });
    };
    await run(path.join(dir, 'one'));
    const parts = [0, 1, 2].map((k) => path.join(dir, `part-${k}`));
    for (const [k, p] of parts.entries()) await run(p, { k, n: 3 });
    const r = await mergeParts(parts, path.join(dir, 'merged'));
    assert.equal(r.kind, 'scan');
    assert.deepEqual(r.failures, []);
    fs.rmSync(path.join(dir, 'merged', '.caldera.lock'), { force: true });
    assertSameFiles(path.join(dir, 'one'), path.join(dir, 'merged'));
    const lines = fs.readFileSync(path.join(dir, 'one', 'scan.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { product: string });
    assert.equal(new Set(lines.map((l) => l.product)).size, 6);
    assert.ok(JSON.parse(fs.readFileSync(path.join(dir, 'one', 'scan.geojson'), 'utf8')).features.length >= 6);
    assert.equal([...files(path.join(dir, 'merged')).keys()].filter((f) => f.endsWith('.png')).length, 6);
  });
});

test('monitor: 2 shard runs over synthetic stacks merged are the one-run timeline, alerts and score', async () => {
  await withDir('caldera-shard-monitor-', async (dir) => {
    const stacks = path.join(dir, 'stacks');
    await synthesiseSeries({ outDir: stacks, count: 3, seed: 2, terrain: { kind: 'procedural' }, series: { epochs: 5 } });
    const job = (outDir: string, shard?: { k: number; n: number }): MonitorJob => ({
      paths: [stacks], targets: null, outDir, detector: standInModel('www'), rule: { k: 2, n: 3, minScore: 0.5, signal: 'cumulative' },
      ...(shard ? { shard } : {}),
    });
    await monitor(job(path.join(dir, 'one')));
    const parts = [0, 1].map((k) => path.join(dir, `part-${k}`));
    for (const [k, p] of parts.entries()) {
      const r = await monitor(job(p, { k, n: 2 }));
      assert.equal(r.results.length, k === 0 ? 1 : 2, 'targets split in blocks');
      writePartMarker(p, { k, n: 2 }, { kind: 'monitor', spec: { paths: [stacks], targets: null, sizeKm: 20.16, baseline: null, rule: job(p).rule, png: true, minCoherence: 0.3, maxDelay: 2 }, notes: r.run.notes });
    }
    const r = await mergeParts(parts, path.join(dir, 'merged'));
    assert.equal(r.kind, 'monitor');
    // Run times differ (one per part): everything else is the same.
    const normalise = (_name: string, text: string): string => text.replace(/"run":\s*"[^"]*"/g, '"run":"T"').replace(/"runs":\s*\[[^\]]*\]/g, '"runs":[]');
    assertSameFiles(path.join(dir, 'one'), path.join(dir, 'merged'), normalise);
  });
});

test('study: shards take every run of the plan once, in blocks', () => {
  const plan = { formats: ['www', 'wwd', 'w'] as const, seeds: [1, 2] };
  const all = shardRuns(plan);
  assert.deepEqual(all, ['www-s1', 'wwd-s1', 'w-s1', 'www-s2', 'wwd-s2', 'w-s2']);
  for (const n of [1, 2, 4, 6, 8]) assert.deepEqual(Array.from({ length: n }, (_, k) => shardRuns(plan, { k, n })).flat(), all);
});

test('a job of another caldera version, or not a caldera job, is one InputError', () => {
  const job = { format: JOB_FORMAT, version: CALDERA_VERSION, kind: 'synth', out: '/tmp/x', part: { k: 0, n: 1 }, spec: {} };
  assert.equal(checkJob(job).kind, 'synth');
  assert.throws(() => checkJob({ ...job, version: '0.0.1-old' }), (e: unknown) => e instanceof InputError && /job made by caldera 0\.0\.1-old, this worker is caldera/.test(e.message));
  assert.throws(() => checkJob({ hello: 1 }), (e: unknown) => e instanceof InputError && /not a caldera job/.test(e.message));
  assert.throws(() => checkJob({ ...job, part: { k: 2, n: 2 } }), InputError);
  assert.throws(() => checkJob({ ...job, kind: 'scan', files: ['relative.tif'], product: 'p' }), /absolute/);
});
