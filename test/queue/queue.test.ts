/**
 * The job queue against a real Redis: `redis-server` (Debian's package) started on a free port of
 * 127.0.0.1 for this file and stopped after it; skipped with a message when it is not installed.
 * Workers are real `caldera worker` processes.
 *
 * - two workers over a set of products: every product scanned exactly once, and the merged output
 *   is a plain `caldera scan`'s;
 * - a worker SIGKILLed mid-job: a worker started after it takes the job back (stalled-job
 *   recovery) and the set is finished;
 * - bad input: a product that is not a TIFF and one whose files disappeared end as failed jobs
 *   with their one-line reasons, tried once; retry-failed runs them again;
 * - an unreachable Redis, a queue holding another caldera version's jobs: one line, exit 2.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { enqueue, queueStatus, retryFailed } from '../../src/queue/queue.js';
import { planScan, planSynth } from '../../src/queue/plan.js';
import { mergeParts, partsUnder } from '../../src/queue/merge.js';
import { readManifest } from '../../src/data/dataset.js';
import { JOB_FORMAT, type ScanSpec } from '../../src/queue/jobs.js';
import { InputError } from '../../src/core/errors.js';
import { freePort, NO_REDIS_MESSAGE, redisServerPath, startRedis, type TestRedis } from '../helpers/redis.js';
import { captureOutput, runCli, tempDirs } from '../helpers/files.js';
import { scanCommand } from '../../src/cli/scan.js';
import { startWorker } from '../../src/queue/worker.js';
import { writeProductFiles } from '../helpers/products.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const skip = redisServerPath() ? false : NO_REDIS_MESSAGE;
if (skip) process.stderr.write(`${skip}\n`);

let redis: TestRedis | null = null;
const dirs = tempDirs('caldera-queue-');
before(async () => { if (!skip) redis = await startRedis(); });
after(async () => {
  await redis?.stop();
  dirs.remove();
});

const SPEC: ScanSpec = {
  detector: { model: 'stand-in', batchSize: 16, symmetric: false }, points: {}, units: 'rad', minCoherence: 0.3, phaseCoherence: 'auto',
  scan: { scalesKm: [20], overlap: 0.5, minScore: 0.8, maxMasked: 0.6, iou: 0.3 }, png: false,
};

async function products(dir: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await writeProductFiles(dir, `2020${String(i + 1).padStart(2, '0')}01_2020${String(i + 1).padStart(2, '0')}13`, { width: 200, height: 150, shift: 0.01 * i });
}

interface Proc { readonly lines: string[]; readonly exit: Promise<number | null>; kill(sig: NodeJS.Signals): void; onLine(f: (l: string) => void): void }

/** A `caldera worker` process; its stdout lines are collected. */
function worker(queue: string, ...args: string[]): Proc {
  const child = spawn(process.execPath, [MAIN, 'worker', '--redis', redis!.url, '--queue', queue, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const listeners: ((l: string) => void)[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(l);
      for (const f of listeners) f(l);
    }
  });
  child.stderr.on('data', (d: Buffer) => lines.push(`stderr: ${d.toString().trim()}`));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { lines, exit, kill: (s) => child.kill(s), onLine: (f) => listeners.push(f) };
}

/** `done <id> <kind> k/n` lines of a worker log: which parts it finished. */
const doneParts = (lines: readonly string[]): string[] => lines.flatMap((l) => /: done \S+ \w+ (\d+\/\d+)/.exec(l)?.[1] ?? []);

test('two workers scan a set of products: each exactly once, merged into what a plain scan writes', { skip }, async () => {
  const d = dirs.make('two');
  await products(path.join(d, 'in'), 5);
  const where = { url: redis!.url, queue: 'two' };
  const plan = planScan([path.join(d, 'in')], SPEC, path.join(d, 'out'));
  assert.equal(plan.jobs.length, 5);
  assert.deepEqual(await enqueue(where, plan.jobs), { added: 5, existing: 0 });
  assert.deepEqual(await enqueue(where, plan.jobs), { added: 0, existing: 5 }, 'enqueueing the same work again adds nothing');
  const [a, b] = [worker('two', '--drain'), worker('two', '--drain')];
  assert.deepEqual(await Promise.all([a.exit, b.exit]), [0, 0], [...a.lines, ...b.lines].join('\n'));
  const done = [...doneParts(a.lines), ...doneParts(b.lines)].sort();
  assert.deepEqual(done, ['0/5', '1/5', '2/5', '3/5', '4/5'], 'every product exactly once');
  const s = await queueStatus(where);
  assert.deepEqual([s.waiting, s.active, s.completed, s.failed], [0, 0, 5, 0]);
  const r = await mergeParts(partsUnder(path.join(d, 'out')), path.join(d, 'out'));
  assert.equal(r.parts, 5);
  const plain = await captureOutput(() => scanCommand.run([path.resolve(d, 'in'), '--model', 'stand-in', '--scales-km', '20', '--no-png', '--quiet', '--out', path.join(d, 'plain')]));
  assert.equal(plain.result, 0, plain.stderr);
  for (const f of ['scan.jsonl', 'scan.geojson']) assert.equal(fs.readFileSync(path.join(d, 'out', f), 'utf8'), fs.readFileSync(path.join(d, 'plain', f), 'utf8'), f);
});

test('a worker killed with SIGKILL mid-job: a worker started after it takes the job back and finishes the set', { skip }, async () => {
  const d = dirs.make('kill');
  const where = { url: redis!.url, queue: 'kill' };
  // 2 synth jobs of 12 scenes each (~0.3-1 s of work: long enough to be killed in the middle).
  const plan = planSynth({ count: 24, seed: 4, classes: ['dyke', 'sill', 'none'], terrain: { kind: 'procedural' }, shardSize: 12, scene: {} }, path.join(d, 'out'));
  await enqueue(where, plan.jobs);
  const a = worker('kill', '--lock-seconds', '2');
  const killed = await new Promise<string>((resolve) => a.onLine((l) => {
    const m = /: start (\S+) /.exec(l);
    if (m) { a.kill('SIGKILL'); resolve(m[1]!); }
  }));
  assert.equal(await a.exit, null, 'killed by a signal');
  assert.deepEqual(doneParts(a.lines), [], 'killed before finishing anything');
  const q = new Queue('kill', { connection: { host: '127.0.0.1', port: redis!.port } });
  try {
    assert.equal(await q.getJobState(killed), 'active', 'the killed job is still held by the dead worker');
    const b = worker('kill', '--lock-seconds', '2', '--drain');
    assert.equal(await b.exit, 0, b.lines.join('\n'));
    assert.deepEqual(doneParts(b.lines).sort(), ['0/2', '1/2'], b.lines.join('\n'));
    const job = await q.getJob(killed);
    assert.equal(await job!.getState(), 'completed');
    assert.ok(job!.attemptsStarted >= 2, `the killed job was started again (${job!.attemptsStarted})`);
  } finally {
    await q.close();
  }
  const s = await queueStatus(where);
  assert.deepEqual([s.completed, s.failed], [2, 0]);
  // The killed attempt left only a temporary folder, which merge leaves out.
  const r = await mergeParts(partsUnder(path.join(d, 'out')), path.join(d, 'merged'));
  assert.equal(r.kind, 'synth');
  const m = readManifest(path.join(d, 'merged'));
  assert.equal(m.complete, true);
  assert.equal(m.shards.reduce((n, x) => n + x.count, 0), 24);
});

test('bad input: an unreadable product and one whose files disappeared fail once with their reasons; retry-failed runs them again', { skip }, async () => {
  const d = dirs.make('bad');
  const input = path.join(d, 'in');
  await products(input, 3);
  fs.writeFileSync(path.join(input, '20200401_20200413.geo.unw.tif'), 'not a tiff');
  const where = { url: redis!.url, queue: 'bad' };
  const plan = planScan([input], SPEC, path.join(d, 'out'));
  assert.equal(plan.jobs.length, 4);
  await enqueue(where, plan.jobs);
  // After enqueueing, a product's files go away.
  const gone = plan.jobs[1]!.files;
  const saved = gone.map((f) => fs.readFileSync(f));
  for (const f of gone) fs.rmSync(f);
  const w = worker('bad', '--drain');
  assert.equal(await w.exit, 0, 'the worker logs the failures and goes on');
  assert.deepEqual(doneParts(w.lines).sort(), ['0/4', '2/4']);
  assert.equal(w.lines.filter((l) => /: failed \S+ scan/.test(l)).length, 2, w.lines.join('\n'));
  let s = await queueStatus(where);
  assert.deepEqual([s.waiting, s.active, s.completed, s.failed], [0, 0, 2, 2]);
  const reasons = s.failures.map((f) => f.reason).sort();
  assert.match(reasons[0]!, /^20200401_20200413\.geo\.unw\.tif: .*(TIFF|tiff)/);
  assert.match(reasons[1]!, /^files disappeared: .*20200201_20200213\.geo\.(unw|cc)\.tif/);
  for (const f of s.failures) {
    assert.equal(f.attempts, 1, 'bad input is not retried');
    assert.ok(!f.reason.includes('\n'));
  }
  // The status as JSON: one object with the counts.
  const js = runCli('queue', 'status', '--json', '--redis', redis!.url, '--queue', 'bad');
  assert.equal(js.code, 0, js.err);
  const o = JSON.parse(js.out) as Record<string, unknown>;
  assert.deepEqual([o.waiting, o.active, o.completed, o.failed], [0, 0, 2, 2]);
  // A part is missing (its files are gone): merge says which.
  await assert.rejects(mergeParts(partsUnder(path.join(d, 'out')), path.join(d, 'out')), (e: unknown) => e instanceof InputError && /part 1 of 4 missing/.test(e.message));
  // The files come back; retry the failed jobs.
  gone.forEach((f, i) => fs.writeFileSync(f, saved[i]!));
  assert.equal(await retryFailed(where), 2);
  const w2 = worker('bad', '--drain');
  assert.equal(await w2.exit, 0);
  s = await queueStatus(where);
  assert.deepEqual([s.completed, s.failed], [3, 1]);
  // The bad product left its part with the failure recorded: the merge completes and lists it, like a plain scan.
  const r = await mergeParts(partsUnder(path.join(d, 'out')), path.join(d, 'out'));
  assert.equal(r.failures.length, 1);
  assert.match(r.failures[0]!, /20200401_20200413/);
  assert.equal(new Set(fs.readFileSync(path.join(d, 'out', 'scan.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).product)).size, 3);
});

test('an unreachable Redis, and a queue with jobs of another caldera version: one line, exit 2', { skip }, async () => {
  const port = await freePort();
  const d = dirs.make('other');
  await products(path.join(d, 'in'), 1);
  const nowhere = { url: `redis://127.0.0.1:${port}`, queue: 'x' };
  const r = runCli('queue', 'status', '--redis', nowhere.url);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /^caldera queue: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED.*\)[^\n]*\n$/);
  const unreachable = (e: unknown): boolean => e instanceof InputError && /^cannot reach Redis at .*ECONNREFUSED/.test(e.message);
  await assert.rejects(enqueue(nowhere, planScan([path.join(d, 'in')], SPEC, path.join(d, 'out')).jobs), unreachable);
  await assert.rejects(startWorker({ ...nowhere, drain: true, log: () => {} }), unreachable);
  const q = new Queue('old', { connection: { host: '127.0.0.1', port: redis!.port } });
  try {
    await q.add('scan 0/1 x', { format: JOB_FORMAT, version: '0.0.1-old', kind: 'scan', out: '/tmp/x', part: { k: 0, n: 1 }, product: 'x', files: ['/tmp/x.tif'], spec: {} });
  } finally {
    await q.close();
  }
  const e = runCli('enqueue', 'scan', path.join(d, 'in'), '--out', path.join(d, 'out'), '--model', 'stand-in', '--redis', redis!.url, '--queue', 'old');
  assert.equal(e.code, 2, e.err);
  assert.match(e.err, /^caldera enqueue: queue 'old' at redis:\/\/127\.0\.0\.1:\d+ holds unfinished jobs from another caldera version \(1 of caldera 0\.0\.1-old; this is [\d.]+\)[^\n]*\n$/);
  const old = { url: redis!.url, queue: 'old' };
  await assert.rejects(startWorker({ ...old, drain: true, log: () => {} }), (x: unknown) => x instanceof InputError && /another caldera version/.test(x.message));
  const s = await queueStatus(old);
  assert.equal(s.waiting, 1);
  assert.equal(s.otherVersions, '1 of caldera 0.0.1-old');
});
