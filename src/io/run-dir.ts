/**
 * Output folders of long jobs (train, synth): one writer at a time, and no litter from killed runs.
 *
 * - `lockDir(dir)`: a lock file `dir/.caldera.lock` holding the owner's PID, host, job and start
 *   time. Taken atomically (a complete temporary file hard-linked into place, so the lock is never
 *   seen half-written); refused with the owner's PID while that process is alive; taken over when
 *   it is dead (a killed run). Released on `release()` and at process exit.
 * - `cleanStaleTemps(dir)`: removes the temporary files and folders that atomic writes leave when a
 *   run is killed (`*.tmp-PID-xxxx` of writeFileAtomic, `checkpoint.tmp-PID/` of checkpoints, the
 *   write probe of ensureWritableDir) whose PID is no longer running.
 *
 * PIDs are only meaningful on one machine: a lock taken on another host (a shared file system) is
 * never taken over; delete `.caldera.lock` by hand once that run is known to be gone.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from '../core/errors.js';

export const LOCK_FILE = '.caldera.lock';

/** True when a process with this PID exists (EPERM: it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The PID in a temporary name written by caldera's atomic writes, or null. */
export function tempOwner(name: string): number | null {
  const m = /\.tmp-(\d+)(?:-[a-z0-9]+)?$/.exec(name) ?? /^\.caldera-write-test-(\d+)-[a-z0-9]+$/.exec(name) ??
    /^\.caldera\.lock\.(?:new|stale)-(\d+)(?:-[a-z0-9]+)?$/.exec(name);
  return m ? Number(m[1]) : null;
}

/**
 * Remove the temporary files and folders in `dir` (not below it) left by caldera processes that
 * are no longer running; never those of this process or of a live one. Returns the names removed.
 */
export function cleanStaleTemps(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = tempOwner(name);
    if (pid === null || pid === process.pid || isProcessAlive(pid)) continue;
    try {
      fs.rmSync(path.join(dir, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Not ours to fight over (permissions): leave it.
    }
  }
  return removed;
}

interface LockRecord { pid: number; host: string; job: string; since: string }

export interface DirLock {
  readonly dir: string;
  readonly file: string;
  /** Remove the lock (if it is still ours). Idempotent. */
  release(): void;
}

const held = new Map<string, string>(); // lock file → job, for this process

function readLock(file: string): LockRecord | null | 'missing' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    return null;
  }
  try {
    const r = JSON.parse(text) as Partial<LockRecord>;
    if (typeof r.pid === 'number' && typeof r.host === 'string') {
      return { pid: r.pid, host: r.host, job: String(r.job ?? 'a job'), since: String(r.since ?? '?') };
    }
  } catch { /* unreadable: treated as stale */ }
  return null;
}

function describeOwner(r: LockRecord): string {
  return `pid ${r.pid}${r.host !== os.hostname() ? ` on ${r.host}` : ''}, ${r.job} since ${r.since}`;
}

/**
 * Lock output folder `dir` (created if needed) for this process, for `job` (e.g. 'caldera train').
 * InputError when another live process holds it (naming its PID); a lock left by a dead process
 * is taken over.
 */
export function lockDir(dir: string, job: string): DirLock {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  const key = path.resolve(file);
  const mine = held.get(key);
  if (mine !== undefined) {
    throw new InputError(`${dir}: in use by this process (${mine}); one job per output folder at a time`);
  }
  const record: LockRecord = { pid: process.pid, host: os.hostname(), job, since: new Date().toISOString() };
  const tag = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tmp = path.join(dir, `${LOCK_FILE}.new-${tag}`);
  fs.writeFileSync(tmp, JSON.stringify(record) + '\n', { flag: 'wx' });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        fs.linkSync(tmp, file);
        return registerLock(dir, file, key, job);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST') {
          // A file system without hard links: exclusive create (the content follows at once).
          if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') {
            try {
              fs.writeFileSync(file, JSON.stringify(record) + '\n', { flag: 'wx' });
              return registerLock(dir, file, key, job);
            } catch (e2) {
              if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST') throw e2;
            }
          } else {
            throw new InputError(`${dir}: cannot lock the folder (${(e as Error).message})`, { cause: e });
          }
        }
      }
      const owner = readLock(file);
      if (owner === 'missing') continue; // released meanwhile: try again
      if (owner && (owner.host !== os.hostname() || isProcessAlive(owner.pid)) && owner.pid !== process.pid) {
        throw new InputError(`${dir}: in use by another caldera process (${describeOwner(owner)}); ` +
          `wait for it to finish or choose another output folder (if it is gone, delete ${file})`);
      }
      // A dead owner's lock: move it aside atomically, check it is still the stale one, drop it.
      const aside = path.join(dir, `${LOCK_FILE}.stale-${tag}`);
      try {
        fs.renameSync(file, aside);
      } catch {
        continue; // someone else moved it first
      }
      const moved = readLock(aside);
      const stillStale = moved === null || moved === 'missing' ||
        (moved.pid === owner?.pid && moved.since === owner?.since) || !(moved.host !== os.hostname() || isProcessAlive(moved.pid));
      if (!stillStale) {
        // A live process took the lock between our read and our rename: give it back.
        try { fs.linkSync(aside, file); } catch { /* it will find its lock gone and its release is a no-op */ }
      }
      fs.rmSync(aside, { force: true });
    }
    throw new InputError(`${dir}: cannot lock the folder (it keeps changing hands); try again`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function registerLock(dir: string, file: string, key: string, job: string): DirLock {
  held.set(key, job);
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    held.delete(key);
    process.removeListener('exit', release);
    const owner = readLock(file);
    if (owner !== 'missing' && owner !== null && owner.pid === process.pid && owner.host === os.hostname()) {
      fs.rmSync(file, { force: true });
    }
  };
  process.on('exit', release);
  return { dir, file, release };
}
