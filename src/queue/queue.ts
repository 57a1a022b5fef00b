/**
 * The queue from the outside: putting jobs on it (`caldera enqueue`), counting them and listing
 * failures (`caldera queue status`), and retrying failed ones (`caldera queue retry-failed`).
 *
 * Job ids are a hash of the job (output folder, kind, part, settings, files), so enqueueing the
 * same work twice (a submit script run again) adds nothing: the jobs already there are kept.
 * Jobs are retried 3 times on unexpected errors (with backoff); bad input fails at once (the
 * worker throws BullMQ's UnrecoverableError with the one-line reason).
 */
import { createHash } from 'node:crypto';
import { Queue, type Job as BullJob } from 'bullmq';
import { InputError } from '../core/errors.js';
import { CALDERA_VERSION, jobLabel, type Job } from './jobs.js';
import { checkRedis, redisOptions, safeUrl } from './redis.js';

export interface QueueAddress {
  /** redis://HOST:PORT[/DB] */
  readonly url: string;
  /** The queue's name (default 'caldera'). */
  readonly queue: string;
}

/** Attempts of a job that fails on something other than its input (a full disk, a lost connection). */
export const JOB_ATTEMPTS = 3;

export function jobId(j: Job): string {
  const h = createHash('sha256').update(JSON.stringify(j)).digest('hex').slice(0, 20);
  return `${j.kind}-${j.part.k}-of-${j.part.n}-${h}`;
}

async function openQueue(a: QueueAddress): Promise<Queue> {
  await checkRedis(a.url);
  const q = new Queue(a.queue, { connection: redisOptions(a.url) });
  q.on('error', () => { /* reconnects; commands report their own errors */ });
  return q;
}

const UNFINISHED = ['waiting', 'active', 'delayed', 'prioritized', 'paused'] as const;

/**
 * Versions of caldera other than this one among the queue's unfinished jobs (a sample of up to
 * `limit` of them), with how many of each.
 */
async function otherVersions(q: Queue, limit = 200): Promise<Map<string, number>> {
  const jobs = await q.getJobs([...UNFINISHED], 0, limit - 1);
  const out = new Map<string, number>();
  for (const j of jobs) {
    const v = (j?.data as { version?: unknown } | undefined)?.version;
    const s = typeof v === 'string' ? v : 'none (not a caldera job)';
    if (s !== CALDERA_VERSION) out.set(s, (out.get(s) ?? 0) + 1);
  }
  return out;
}

function versionsText(m: Map<string, number>): string {
  return [...m].map(([v, n]) => `${n} of caldera ${v}`).join(', ');
}

/** InputError when the queue holds unfinished jobs of another caldera version. */
export async function refuseOtherVersions(q: Queue, a: QueueAddress): Promise<void> {
  const other = await otherVersions(q);
  if (other.size) {
    throw new InputError(`queue '${a.queue}' at ${safeUrl(a.url)} holds unfinished jobs from another caldera version (${versionsText(other)}; this is ${CALDERA_VERSION}): ` +
      'let workers of that version finish them, or use another --queue');
  }
}

export interface EnqueueResult {
  readonly added: number;
  /** Jobs already on the queue (same work enqueued before), left as they are. */
  readonly existing: number;
}

/** Put jobs on the queue. InputError when Redis cannot be reached or the queue holds another version's jobs. */
export async function enqueue(a: QueueAddress, jobs: readonly Job[]): Promise<EnqueueResult> {
  const q = await openQueue(a);
  try {
    await refuseOtherVersions(q, a);
    const ids = jobs.map(jobId);
    const have = new Set<string>();
    for (let i = 0; i < ids.length; i += 200) {
      const got = await Promise.all(ids.slice(i, i + 200).map((id) => q.getJob(id)));
      got.forEach((j, t) => { if (j) have.add(ids[i + t]!); });
    }
    const fresh = jobs.map((j, i) => ({ j, id: ids[i]! })).filter(({ id }) => !have.has(id));
    for (let i = 0; i < fresh.length; i += 500) {
      await q.addBulk(fresh.slice(i, i + 500).map(({ j, id }) => ({
        name: jobLabel(j), data: j,
        opts: { jobId: id, attempts: JOB_ATTEMPTS, backoff: { type: 'exponential', delay: 2000 } },
      })));
    }
    return { added: fresh.length, existing: have.size };
  } finally {
    await q.close();
  }
}

export interface Failure {
  readonly id: string;
  readonly name: string;
  /** The one-line reason. */
  readonly reason: string;
  readonly attempts: number;
}

export interface QueueStatus {
  readonly queue: string;
  readonly redis: string;
  readonly waiting: number;
  readonly active: number;
  readonly completed: number;
  readonly failed: number;
  readonly delayed: number;
  /** Up to `maxFailures` failed jobs, the latest first. */
  readonly failures: Failure[];
  /** Unfinished jobs of other caldera versions (a sample), as 'N of caldera V'. */
  readonly otherVersions: string | null;
}

function oneLineReason(j: BullJob): string {
  return (j.failedReason ?? 'failed without a reason').split('\n')[0]!.slice(0, 400);
}

export async function queueStatus(a: QueueAddress, maxFailures = 20): Promise<QueueStatus> {
  const q = await openQueue(a);
  try {
    const c = await q.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'paused', 'waiting-children');
    const failed = maxFailures > 0 ? await q.getFailed(0, maxFailures - 1) : [];
    const other = await otherVersions(q);
    return {
      queue: a.queue, redis: safeUrl(a.url),
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.paused ?? 0) + (c['waiting-children'] ?? 0),
      active: c.active ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0, delayed: c.delayed ?? 0,
      failures: failed.filter((j): j is BullJob => !!j).map((j) => ({ id: String(j.id), name: j.name, reason: oneLineReason(j), attempts: j.attemptsMade })),
      otherVersions: other.size ? versionsText(other) : null,
    };
  } finally {
    await q.close();
  }
}

/** Move every failed job back to waiting; returns how many. */
export async function retryFailed(a: QueueAddress): Promise<number> {
  const q = await openQueue(a);
  try {
    const n = await q.getFailedCount();
    if (n > 0) await q.retryJobs({ state: 'failed', count: 1000 });
    return n;
  } finally {
    await q.close();
  }
}

/** Counts of unfinished jobs (a draining worker stops when they are all 0). */
export async function unfinishedCount(q: Queue): Promise<number> {
  const c = await q.getJobCounts(...UNFINISHED);
  return Object.values(c).reduce((a, v) => a + (v ?? 0), 0);
}

export { openQueue };
