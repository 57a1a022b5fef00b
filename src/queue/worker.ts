/**
 * `caldera worker`: take jobs from the queue and run them (`run-job.ts`), `concurrency` at a time,
 * on as many machines as share the Redis server and the file system.
 *
 * - A worker holds a lock on each job it runs and renews it while the job runs. A worker that
 *   dies (SIGKILL, a lost node) stops renewing; after `lockSeconds` another worker's stalled-job
 *   check puts the job back in the queue and it runs again (at most `MAX_STALLED` times; parts are
 *   committed atomically, so the rerun leaves the same files).
 * - Bad input (InputError: a job of another caldera version, files that disappeared, a product
 *   that cannot be read) fails the job at once with its one-line reason; the worker logs it and
 *   takes the next job. Anything else is retried (jobs have 3 attempts), then failed.
 * - `drain`: stop when the queue has nothing waiting, delayed or running (array-job style
 *   workers, tests and benches); otherwise run until stopped (SIGTERM / SIGINT: the jobs running
 *   finish first).
 */
import * as os from 'node:os';
import { UnrecoverableError, Worker, type Job as BullJob } from 'bullmq';
import { isInputError } from '../core/errors.js';
import { oneLine } from '../io/input-file.js';
import { checkJob, jobLabel } from './jobs.js';
import { newJobContext, runJob, type JobResult } from './run-job.js';
import { openQueue, refuseOtherVersions, unfinishedCount, type QueueAddress } from './queue.js';
import { redisOptions } from './redis.js';

/** Times a job may be taken back from a dead worker before it is failed ("stalled too often"). */
export const MAX_STALLED = 2;

export interface WorkerOptions extends QueueAddress {
  /** Jobs at once in this process (default 1). */
  readonly concurrency?: number;
  /** Job lock: a dead worker's job is taken back after about this long (default 30 s). */
  readonly lockSeconds?: number;
  /** ONNX Runtime threads of this worker's detectors. */
  readonly threads?: number;
  /** Stop when the queue is empty. */
  readonly drain?: boolean;
  /** One line per event (job started, done, failed; connection trouble). */
  readonly log: (line: string) => void;
}

export interface WorkerHandle {
  /** Resolves when the worker has stopped, with what it did. */
  readonly done: Promise<{ completed: number; failed: number }>;
  /** Stop taking jobs; running jobs finish first. */
  stop(): Promise<void>;
}

/** Start a worker (InputError when Redis cannot be reached or the queue holds another version's jobs). */
export async function startWorker(o: WorkerOptions): Promise<WorkerHandle> {
  const q = await openQueue(o);
  try {
    await refuseOtherVersions(q, o);
  } catch (e) {
    await q.close();
    throw e;
  }
  const ctx = newJobContext(o.threads !== undefined ? { threads: o.threads } : {});
  const me = `${os.hostname()}:${process.pid}`;
  const log = (s: string): void => o.log(`${new Date().toISOString()} worker ${me}: ${s}`);
  let completed = 0, failed = 0;
  const processor = async (bj: BullJob): Promise<JobResult> => {
    const t0 = Date.now();
    let label = bj.name;
    try {
      const job = checkJob(bj.data);
      label = jobLabel(job);
      log(`start ${bj.id} ${label}${bj.attemptsStarted > 1 ? ` (attempt ${bj.attemptsStarted})` : ''}`);
      const r = await runJob(job, ctx);
      completed++;
      log(`done ${bj.id} ${label}: ${r.summary} (${((Date.now() - t0) / 1000).toFixed(2)} s)`);
      return r;
    } catch (e) {
      failed++;
      const msg = oneLine((e as Error)?.message ?? String(e));
      if (isInputError(e)) {
        log(`failed ${bj.id} ${label}: ${msg}`);
        throw new UnrecoverableError(msg);
      }
      log(`error ${bj.id} ${label} (attempt ${bj.attemptsMade + 1} of ${bj.opts.attempts ?? 1}): ${msg}`);
      throw e;
    }
  };
  const lockMs = Math.round((o.lockSeconds ?? 30) * 1000);
  const worker = new Worker(o.queue, processor, {
    connection: redisOptions(o.url), concurrency: Math.max(1, o.concurrency ?? 1),
    lockDuration: lockMs, stalledInterval: lockMs, maxStalledCount: MAX_STALLED,
    // Poll again soon after the queue runs dry, so that a draining worker notices the end.
    drainDelay: o.drain ? 1 : 5,
  });
  let lastError = '';
  worker.on('error', (e: Error) => {
    const m = oneLine(e.message);
    if (m !== lastError) log(`queue: ${m}`);
    lastError = m;
  });
  worker.on('stalled', (id: string) => log(`job ${id} stalled (its worker stopped renewing the lock): back in the queue`));
  let stopping: Promise<void> | null = null;
  let timer: NodeJS.Timeout | undefined;
  const stop = (): Promise<void> => (stopping ??= (async () => {
    clearInterval(timer);
    await worker.close();
    await q.close();
  })());
  const done = new Promise<{ completed: number; failed: number }>((resolve) => {
    worker.on('closed', () => resolve({ completed, failed }));
  });
  log(`waiting for jobs on queue '${o.queue}' (concurrency ${Math.max(1, o.concurrency ?? 1)}, lock ${lockMs / 1000} s${o.drain ? ', stops when the queue is empty' : ''})`);
  if (o.drain) {
    let busy = false;
    timer = setInterval(() => {
      if (busy) return;
      busy = true;
      unfinishedCount(q).then((n) => { if (n === 0) void stop(); }, () => undefined).finally(() => { busy = false; });
    }, 1000);
  }
  return { done, stop };
}
