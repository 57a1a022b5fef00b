/**
 * A pool of worker threads working through a list of tasks: each worker is handed the next task
 * when it asks (`next`), terminated when the list is empty; the first error (a worker's `error`
 * message, or a thread failure) terminates them all and rejects. Used by the `synth` job and the
 * sensitivity study.
 */
import { Worker } from 'node:worker_threads';
import { InputError } from '../core/errors.js';

/** Messages from a pool worker: its own, plus `{ type: 'error', message, input }` for a failure (input = the user's). */
export type PoolMessage = { readonly type: string } & ({ readonly type: 'error'; readonly message: string; readonly input: boolean } | object);

/**
 * Run `tasks` on `n` workers of module `url` (each started with `workerData`). `handle` sees every
 * other message and calls `next()` when its worker is ready for another task. Without
 * `waitForReady`, each worker gets its first task as soon as it is started.
 */
export function runTaskWorkers<T, M extends PoolMessage>(
  url: URL, n: number, tasks: readonly T[], workerData: unknown,
  handle: (m: M, next: () => void) => void, opts: { readonly waitForReady?: boolean } = {},
): Promise<void> {
  const queue = [...tasks];
  return new Promise((resolve, reject) => {
    let alive = n;
    let failed = false;
    const workers: Worker[] = [];
    const fail = (e: Error): void => {
      if (failed) return;
      failed = true;
      for (const w of workers) void w.terminate();
      reject(e);
    };
    for (let j = 0; j < n; j++) {
      const w = new Worker(url, { workerData });
      workers.push(w);
      const next = (): void => {
        const t = queue.shift();
        if (t === undefined) void w.terminate();
        else w.postMessage(t);
      };
      w.on('message', (m: M) => {
        if (m.type === 'error') {
          const e = m as unknown as { message: string; input: boolean };
          fail(e.input ? new InputError(e.message) : new Error(e.message));
        } else handle(m, next);
      });
      w.on('error', fail);
      w.on('exit', () => { if (--alive === 0 && !failed) resolve(); });
      if (!opts.waitForReady) next();
    }
  });
}
