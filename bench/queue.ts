/**
 * Benchmark (not a test): scan throughput through the Redis job queue. The Calbuco product
 * (`../shared/real`) copied N times is scanned (bundled model, scan's defaults) by a plain
 * `caldera scan`, then through `caldera enqueue scan` + `caldera worker --drain` with 1 worker and
 * with 2 workers (one ONNX Runtime thread each), then `caldera merge`. Each run is timed from the
 * start of its processes to their exit (process start and model loading included, as a user
 * sees it); the per-job overhead is the queue's extra time over the plain scan, per product. Each
 * mode runs `--repeat` times, interleaved, and its best time counts (other load on the machine
 * only slows runs down). Needs `redis-server` (started on a free port of 127.0.0.1, stopped after).
 *   npm run bench:queue [-- --copies 12] [-- --repeat 2] [-- --json]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRedis } from '../test/helpers/redis.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.resolve(HERE, '../src/cli/main.js');
const CALBUCO = path.resolve(HERE, '../../../shared/real');
const NAME = 'calbuco_20160414_20160426';

function run(args: string[]): Promise<{ code: number | null; out: string; err: string; seconds: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    c.on('exit', (code) => resolve({ code, out, err, seconds: (performance.now() - t0) / 1000 }));
  });
}

function must(r: { code: number | null; err: string }, what: string): void {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.err}`);
}

/** Seconds between the first job start and the last job end in worker logs (the steady state). */
function jobSpan(logs: string[]): { seconds: number; jobs: number; perJob: number; gapMs: number } {
  const starts: number[] = [], ends: number[] = [], durations: number[] = [];
  for (const l of logs.join('\n').split('\n')) {
    const t = Date.parse(l.slice(0, 24));
    if (/: start /.test(l)) starts.push(t);
    const m = /: done .*\(([\d.]+) s\)$/.exec(l);
    if (m) { ends.push(t); durations.push(Number(m[1])); }
  }
  const seconds = (Math.max(...ends) - Math.min(...starts)) / 1000;
  const busy = durations.reduce((a, b) => a + b, 0);
  // One worker: the time between one job's end and the next one's start (taking a job, its lock).
  return { seconds, jobs: ends.length, perJob: busy / durations.length, gapMs: ((seconds - busy) / Math.max(1, durations.length - 1)) * 1000 };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const ci = args.indexOf('--copies');
  const n = ci >= 0 ? Number(args[ci + 1]) : 12;
  const ri = args.indexOf('--repeat');
  const repeat = ri >= 0 ? Number(args[ri + 1]) : 2;
  if (!fs.existsSync(path.join(CALBUCO, `${NAME}.geo.unw.tif`))) throw new Error(`no Calbuco product in ${CALBUCO}`);
  const redis = await startRedis();
  if (!redis) throw new Error('redis-server is not installed (apt-get install redis-server)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-bench-queue-'));
  try {
    const input = path.join(dir, 'in');
    fs.mkdirSync(input);
    for (let i = 0; i < n; i++) {
      for (const layer of ['unw', 'diff_pha', 'cc']) {
        fs.copyFileSync(path.join(CALBUCO, `${NAME}.geo.${layer}.tif`), path.join(input, `calbuco${String(i).padStart(3, '0')}_20160414_20160426.geo.${layer}.tif`));
      }
    }
    const plainRun = async (): Promise<{ seconds: number }> => {
      const r = await run(['scan', input, '--out', path.join(dir, 'plain'), '--quiet']);
      must(r, 'plain scan');
      return r;
    };
    let round = 0;
    const queued = async (workers: number): Promise<{ enqueue: number; wall: number; span: ReturnType<typeof jobSpan>; merge: number }> => {
      const out = path.join(dir, `queue-${workers}-${round}`);
      const q = ['--redis', redis.url, '--queue', `bench-${workers}-${round++}`];
      const e = await run(['enqueue', 'scan', input, '--out', out, ...q]);
      must(e, 'enqueue');
      const t0 = performance.now();
      const ws = await Promise.all(Array.from({ length: workers }, () => run(['worker', '--drain', ...q, ...(workers > 1 ? ['--threads', '1'] : [])])));
      const wall = (performance.now() - t0) / 1000;
      ws.forEach((w, i) => must(w, `worker ${i}`));
      const m = await run(['merge', out]);
      must(m, 'merge');
      const a = fs.readFileSync(path.join(out, 'scan.jsonl'), 'utf8'), b = fs.readFileSync(path.join(dir, 'plain', 'scan.jsonl'), 'utf8');
      if (a !== b) throw new Error(`queued scan (${workers} workers) differs from the plain scan`);
      return { enqueue: e.seconds, wall, span: jobSpan(ws.map((w) => w.out)), merge: m.seconds };
    };
    const best = <T extends { seconds?: number; wall?: number }>(rs: T[]): T => rs.reduce((a, b) => ((b.wall ?? b.seconds!) < (a.wall ?? a.seconds!) ? b : a));
    const runs: { plain: { seconds: number }[]; one: Awaited<ReturnType<typeof queued>>[]; two: Awaited<ReturnType<typeof queued>>[] } = { plain: [], one: [], two: [] };
    for (let i = 0; i < repeat; i++) {
      runs.plain.push(await plainRun());
      runs.one.push(await queued(1));
      runs.two.push(await queued(2));
    }
    const plain = best(runs.plain), one = best(runs.one), two = best(runs.two);
    const ppm = (s: number): number => Math.round((n / s) * 60 * 10) / 10;
    const r = {
      copies: n, repeat,
      all_s: { plain: runs.plain.map((r) => +r.seconds.toFixed(1)), one: runs.one.map((r) => +r.wall.toFixed(1)), two: runs.two.map((r) => +r.wall.toFixed(1)) },
      plain_scan_s: +plain.seconds.toFixed(2), plain_products_per_min: ppm(plain.seconds),
      queue_1_worker_s: +one.wall.toFixed(2), queue_1_worker_products_per_min: ppm(one.wall),
      queue_2_workers_s: +two.wall.toFixed(2), queue_2_workers_products_per_min: ppm(two.wall),
      // Jobs only: from the first job's start to the last job's end (no process start, no model loading).
      steady_1_worker_products_per_min: Math.round((one.span.jobs / one.span.seconds) * 600) / 10,
      steady_2_workers_products_per_min: Math.round((two.span.jobs / two.span.seconds) * 600) / 10,
      job_s_1_worker: +one.span.perJob.toFixed(3), job_s_2_workers: +two.span.perJob.toFixed(3),
      overhead_per_job_s: +((one.wall - plain.seconds) / n).toFixed(3),
      queue_gap_ms_per_job: +one.span.gapMs.toFixed(1),
      enqueue_s: +one.enqueue.toFixed(2), merge_s: +one.merge.toFixed(2),
    };
    if (json) {
      process.stdout.write(JSON.stringify(r) + '\n');
      return;
    }
    process.stdout.write([
      `Calbuco product x ${n} (${os.availableParallelism()} cores), bundled model, scan defaults; wall time from process start to exit, best of ${repeat}:`,
      `  plain caldera scan          ${r.plain_scan_s.toFixed(1).padStart(6)} s  ${r.plain_products_per_min.toFixed(1).padStart(6)} products/min`,
      `  queue, 1 worker             ${r.queue_1_worker_s.toFixed(1).padStart(6)} s  ${r.queue_1_worker_products_per_min.toFixed(1).padStart(6)} products/min  (a job: ${r.job_s_1_worker.toFixed(2)} s)`,
      `  queue, 2 workers (1 thread) ${r.queue_2_workers_s.toFixed(1).padStart(6)} s  ${r.queue_2_workers_products_per_min.toFixed(1).padStart(6)} products/min  (a job: ${r.job_s_2_workers.toFixed(2)} s)`,
      `  jobs only (first start to last end): 1 worker ${r.steady_1_worker_products_per_min.toFixed(1)}, 2 workers ${r.steady_2_workers_products_per_min.toFixed(1)} products/min`,
      `  all runs (s): plain ${r.all_s.plain.join(', ')}; 1 worker ${r.all_s.one.join(', ')}; 2 workers ${r.all_s.two.join(', ')}`,
      `  overhead per job (1 worker vs plain): ${r.overhead_per_job_s.toFixed(3)} s; between jobs (1 worker): ${r.queue_gap_ms_per_job.toFixed(0)} ms; enqueue ${r.enqueue_s.toFixed(1)} s, merge ${r.merge_s.toFixed(1)} s (not in the walls)`,
    ].join('\n') + '\n');
  } finally {
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
