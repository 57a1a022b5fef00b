/** Temporary folders, captured output and the built CLI, for tests. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/core/rng.js';

/** Run `f` with a fresh temporary folder, removed afterwards whatever happens. */
export async function withDir<T>(prefix: string, f: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    return await f(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The same, for synchronous tests. */
export function withDirSync<T>(prefix: string, f: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  try {
    return f(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A maker of fresh temporary folders under one root (removed by the caller, e.g. in `after`). */
export function tempDirs(prefix: string): { root: string; make: (name?: string) => string; remove: () => void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  let n = 0;
  return {
    root,
    make: (name = 'd') => fs.mkdtempSync(path.join(root, `${name}-${n++}-`)),
    remove: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** Run `f` with process.stdout/stderr writes captured; returns f's result and the text written. */
export async function captureOutput<T>(f: () => Promise<T> | T): Promise<{ result: T; stdout: string; stderr: string }> {
  const out: string[] = [], err: string[] = [];
  const [so, se] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string | Uint8Array) => { out.push(String(s)); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => { err.push(String(s)); return true; }) as typeof process.stderr.write;
  try {
    const result = await f();
    return { result, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = so;
    process.stderr.write = se;
  }
}

/** The built CLI (dist/src/cli/main.js) run as a user would: exit code, stdout, stderr. */
export function runCli(...args: string[]): { code: number; out: string; err: string } {
  const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** A seeded generator of uniform values in [lo, hi) for test data, on the project's Rng. */
export function uniformSource(seed: number, lo = -1, hi = 1): () => number {
  const r = new Rng(seed);
  return () => r.uniform(lo, hi);
}
