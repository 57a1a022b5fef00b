/**
 * Array jobs: shard K of N takes one contiguous block of a job's work list (scenes' shard files,
 * products, targets, runs), so that N independent processes (a SLURM job array, a Kubernetes
 * Indexed Job, N shells) together do exactly the list once, and putting their outputs side by side
 * in K order gives the one-process order. K counts from 0, like `SLURM_ARRAY_TASK_ID` with
 * `--array=0-(N-1)` and Kubernetes' `JOB_COMPLETION_INDEX`.
 */
import { InputError } from './errors.js';

export interface Shard {
  /** This shard, 0 <= k < n. */
  readonly k: number;
  /** Number of shards. */
  readonly n: number;
}

/** Parse `K/N` (e.g. `3/8`). InputError naming the expected form otherwise. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const k = m ? Number(m[1]) : NaN, n = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(k) || !Number.isSafeInteger(n) || n < 1 || k >= n) {
    throw new InputError(`a shard is K/N with 0 <= K < N (K counts from 0, like SLURM_ARRAY_TASK_ID with --array=0-(N-1) or JOB_COMPLETION_INDEX), got '${text}'`);
  }
  return { k, n };
}

export function checkShard(s: Shard): Shard {
  if (!Number.isSafeInteger(s.k) || !Number.isSafeInteger(s.n) || s.n < 1 || s.k < 0 || s.k >= s.n) {
    throw new InputError(`a shard is K/N with 0 <= K < N, got ${s.k}/${s.n}`);
  }
  return s;
}

export function shardText(s: Shard): string {
  return `${s.k}/${s.n}`;
}

/** The items [start, end) of `count` that shard `s` takes: block sizes differ by at most one. */
export function shardRange(count: number, s: Shard | undefined): { start: number; end: number } {
  if (!s) return { start: 0, end: count };
  checkShard(s);
  return { start: Math.floor((s.k * count) / s.n), end: Math.floor(((s.k + 1) * count) / s.n) };
}

/** The items of `list` that shard `s` takes (all of them without a shard), in order. */
export function shardSlice<T>(list: readonly T[], s: Shard | undefined): T[] {
  const { start, end } = shardRange(list.length, s);
  return list.slice(start, end);
}
