/**
 * The fuzz harness's child process (forked by fuzz.test.ts, one per target, restarted after a
 * crash or a hang): sets the target up, then runs the cases it is sent, one at a time, and
 * reports each outcome: 'ok' (a valid result), 'input' (an InputError), or 'bug' (anything else,
 * or an InputError whose message is not one line). A separate process, so that a reader that
 * aborts Node or loops forever fails one case, not the test run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { isInputError } from '../../src/core/errors.js';
import { onMutated, TARGETS, workDir } from './targets.js';

export interface CaseRequest { readonly type: 'case'; readonly index: number }
export interface CaseResult {
  readonly type: 'result';
  readonly index: number;
  readonly outcome: 'ok' | 'input' | 'bug';
  readonly how: string;
  readonly message: string;
  readonly ms: number;
  readonly rssMb: number;
}
export type ChildMessage = { readonly type: 'ready' } | { readonly type: 'setup-failed'; readonly message: string } |
  { readonly type: 'mutated'; readonly index: number; readonly how: string } | CaseResult;

/** The Rng of case `index` of `target` for run seed `seed` (the same in every process). */
export function caseRng(seed: number, target: string, index: number): Rng {
  let h = seed >>> 0;
  for (const c of target) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return Rng.stream(h, index);
}

/** Why an InputError message breaks the contract, or null. */
export function messageProblem(msg: string): string | null {
  if (msg.length === 0) return 'empty message';
  if (/[\r\n]/.test(msg)) return 'message of several lines';
  if (msg.length > 2000) return `message of ${msg.length} characters`;
  return null;
}

async function main(): Promise<void> {
  const [name, seedText] = process.argv.slice(2);
  const target = TARGETS.find((t) => t.name === name);
  const send = (m: ChildMessage): void => { process.send!(m); };
  if (!target) {
    send({ type: 'setup-failed', message: `no fuzz target '${name}'` });
    return;
  }
  const seed = Number(seedText ?? 1);
  try {
    await target.setup();
  } catch (e) {
    send({ type: 'setup-failed', message: (e as Error)?.stack ?? String(e) });
    return;
  }
  const root = workDir('cases');
  process.on('message', (m: CaseRequest) => {
    if (m?.type !== 'case') return;
    const caseDir = path.join(root, String(m.index));
    fs.mkdirSync(caseDir, { recursive: true });
    const t0 = performance.now();
    let how = '?';
    const rng = caseRng(seed, target.name, m.index);
    onMutated((h) => { how = h; send({ type: 'mutated', index: m.index, how: h }); });
    const done = (outcome: CaseResult['outcome'], message: string): void => {
      fs.rmSync(caseDir, { recursive: true, force: true });
      send({ type: 'result', index: m.index, outcome, how, message, ms: performance.now() - t0, rssMb: process.memoryUsage().rss / 2 ** 20 });
    };
    // `how` is known only after the mutation: targets return it, and report it on failure too.
    target.run(rng, caseDir).then((h) => { how = h; done('ok', ''); }, (e: unknown) => {
      how = (e as { fuzzHow?: string })?.fuzzHow ?? how;
      if (isInputError(e)) {
        const problem = messageProblem((e as Error).message);
        done(problem ? 'bug' : 'input', problem ? `${problem}: ${JSON.stringify((e as Error).message)}` : (e as Error).message);
      } else {
        done('bug', (e as Error)?.stack ?? String(e));
      }
    });
  });
  send({ type: 'ready' });
}

// Only as a forked child (the test runner may load this file too: then it does nothing).
if (process.env.CALDERA_FUZZ_CHILD === '1' && typeof process.send === 'function') void main();
