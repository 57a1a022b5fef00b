/**
 * Bounded mutation fuzzing of every reader of user files (npy, npz/zip, GeoTIFF, .hgt, PNG, the
 * dataset's manifest + sidecars + shards, model.json + weights.bin). Each case mutates a valid
 * input (seeded: bit flips, truncation, insertion/deletion, header fields, JSON type swaps) and
 * asserts the contract: a valid result, or an InputError with a one-line message; never another
 * exception, never a hang (each case is timed in a child process and killed past the limit),
 * never a memory blow-up (the child's heap is capped and its RSS checked after every case).
 *
 *   CALDERA_FUZZ_CASES=5000 npm test        more cases (default 350, shared by weight)
 *   CALDERA_FUZZ_SEED=7                     another seed (default 1)
 *   CALDERA_FUZZ_ONLY=geotiff:123           one target, or one case of it (to repeat a failure)
 *   CALDERA_FUZZ_TIMEOUT_MS, CALDERA_FUZZ_MAX_RSS_MB   the per-case bounds (10 s, 1536 MB)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TARGETS } from './targets.js';
import type { CaseResult, ChildMessage } from './fuzz-child.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fuzz-child.js');
const env = (k: string, d: number): number => {
  const v = Number(process.env[k]);
  return Number.isFinite(v) && v > 0 ? v : d;
};
const CASES = env('CALDERA_FUZZ_CASES', 350);
const SEED = env('CALDERA_FUZZ_SEED', 1);
const CASE_TIMEOUT_MS = env('CALDERA_FUZZ_TIMEOUT_MS', 10_000);
const SETUP_TIMEOUT_MS = 120_000;
const MAX_RSS_MB = env('CALDERA_FUZZ_MAX_RSS_MB', 1536);
const HEAP_MB = 1024;
const [onlyTarget, onlyCase] = (process.env.CALDERA_FUZZ_ONLY ?? '').split(':');

interface Failure { index: number; kind: string; how: string; message: string }

type Event = ChildMessage | { type: 'exit'; code: number | null; signal: string | null } | { type: 'timeout' };

/** A forked child and an inbox of its messages (kept in order, none lost between waits). */
function startChild(name: string, tmp: string): { child: ChildProcess; next: (ms: number) => Promise<Event>; stderr: () => string } {
  const child = fork(CHILD, [name, String(SEED)], {
    env: { ...process.env, CALDERA_FUZZ_CHILD: '1', CALDERA_FUZZ_TMP: tmp },
    execArgv: [`--max-old-space-size=${HEAP_MB}`],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
  const inbox: Event[] = [];
  let wake: (() => void) | null = null;
  const push = (e: Event): void => { inbox.push(e); wake?.(); };
  child.on('message', (m: ChildMessage) => push(m));
  child.on('exit', (code, signal) => push({ type: 'exit', code, signal }));
  /** The child's next message, its exit, or a timeout. */
  const next = async (ms: number): Promise<Event> => {
    if (inbox.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { wake = null; resolve(); }, ms);
        wake = () => { clearTimeout(timer); wake = null; resolve(); };
      });
    }
    return inbox.shift() ?? { type: 'timeout' };
  };
  return { child, next, stderr: () => err };
}

async function runTarget(name: string, indices: number[]): Promise<{ results: CaseResult[]; failures: Failure[] }> {
  const results: CaseResult[] = [];
  const failures: Failure[] = [];
  let queue = [...indices];
  // The children's files live here, removed at the end (a child killed on a hang cleans nothing).
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `caldera-fuzz-${name}-`));
  try {
    while (queue.length > 0) {
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.mkdirSync(tmp);
      const { child, next, stderr } = startChild(name, tmp);
      const ready = await next(SETUP_TIMEOUT_MS);
      if (ready.type !== 'ready') {
        child.kill('SIGKILL');
        throw new Error(`fuzz ${name}: the child did not start (${JSON.stringify(ready)}) ${stderr()}`);
      }
      let restart = false;
      while (queue.length > 0 && !restart) {
        const index = queue.shift()!;
        child.send({ type: 'case', index });
        let how = '(before the mutation)';
        let r = await next(CASE_TIMEOUT_MS);
        while (r.type === 'mutated') {
          how = r.how;
          r = await next(CASE_TIMEOUT_MS);
        }
        if (r.type === 'result') {
          results.push(r);
          if (r.outcome === 'bug') failures.push({ index, kind: 'not an InputError / not one line', how: r.how, message: r.message });
          else if (r.rssMb > MAX_RSS_MB) failures.push({ index, kind: `memory: RSS ${r.rssMb.toFixed(0)} MB`, how: r.how, message: r.message });
        } else {
          const kind = r.type === 'timeout' ? `hang: no answer in ${CASE_TIMEOUT_MS} ms` : `crash: exit ${'code' in r ? r.code : '?'} signal ${'signal' in r ? r.signal : '?'}`;
          failures.push({ index, kind, how, message: stderr().slice(-1500) });
          restart = true;
        }
      }
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
      if (!restart) queue = [];
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { results, failures };
}

const totalWeight = TARGETS.reduce((a, t) => a + t.weight, 0);
for (const target of TARGETS) {
  if (onlyTarget && onlyTarget !== target.name) continue;
  const n = onlyCase !== undefined && onlyCase !== '' ? 1 : Math.max(1, Math.round((CASES * target.weight) / totalWeight));
  const indices = onlyCase !== undefined && onlyCase !== '' ? [Number(onlyCase)] : Array.from({ length: n }, (_, i) => i);
  test(`fuzz ${target.name}: ${n} mutated inputs, each a valid result or a one-line InputError, bounded in time and memory`, async (t) => {
    const t0 = performance.now();
    const { results, failures } = await runTarget(target.name, indices);
    const count = (o: string): number => results.filter((r) => r.outcome === o).length;
    const slowest = results.reduce((a, r) => (r.ms > a.ms ? r : a), { ms: 0, index: -1, how: '' } as Pick<CaseResult, 'ms' | 'index' | 'how'>);
    const rss = results.reduce((a, r) => Math.max(a, r.rssMb), 0);
    t.diagnostic(`${target.name}: ${results.length} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${count('ok')} read, ` +
      `${count('input')} refused (InputError); slowest #${slowest.index} ${slowest.ms.toFixed(0)} ms (${slowest.how}); peak RSS ${rss.toFixed(0)} MB`);
    const report = failures.slice(0, 8).map((f) =>
      `  ${target.name}#${f.index} (repeat: CALDERA_FUZZ_SEED=${SEED} CALDERA_FUZZ_ONLY=${target.name}:${f.index}) ${f.kind}\n    mutation: ${f.how}\n    ${f.message.split('\n').slice(0, 6).join('\n    ')}`);
    assert.equal(failures.length, 0, `${failures.length} of ${indices.length} cases broke the contract:\n${report.join('\n')}`);
  });
}
