/**
 * The README's promise, checked: every `caldera ...` (or `npx caldera ...`) command in its `sh`
 * code blocks runs as written, in order, from a fresh copy of the clone, and exits 0 (or the
 * status its comment states, "exits 1"). The test reads whatever commands the README holds, so a
 * new one is run without touching this file.
 *
 * - The copy: the tracked files of the working tree (`git ls-files`: what a clone has, with the
 *   README as it is now) in a temporary folder; `../shared` beside it is a link to this machine's
 *   `../shared` when there is one. Commands run there with the built CLI of this checkout
 *   (`node dist/src/cli/main.js`, what `npm link` points `caldera` at).
 * - Small counts: `--count` at most 20 (synth-series 4, demo 12 where not given), `--epochs` 1
 *   (2 with --resume), `--steps-per-epoch` 2, `--val-count` 8 (added to on-the-fly training),
 *   `--pool` 16.
 * - Skipped, each with a diagnostic line: blocks after `<!-- readme-test: skip REASON -->` (examples
 *   on your own files; REASON "expensive ..." runs with CALDERA_README_ALL=1); commands that name
 *   `../shared` when it is absent (CALDERA_README_SHARED=NAME looks for ../NAME instead, to try
 *   that); commands that name the `--out` of a skipped command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../../src/cli/commands.js';
import { writeNpy } from '../../src/io/npy.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const SHARED = path.resolve(ROOT, '..', process.env.CALDERA_README_SHARED ?? 'shared');

export interface ReadmeCommand {
  /** Line of the README where the command starts (1-based). */
  readonly line: number;
  /** The command as written (continuations joined). */
  readonly text: string;
  /** Arguments after `caldera`. */
  readonly argv: string[];
  /** Why the README marks it not to run, or null. */
  readonly skip: string | null;
  /** Exit status its comment states ("exits 1"), else 0. */
  readonly expectCode: number;
}

/** Shell words of one command line: '...' and "..." quoting, backslash escapes; an unquoted # starts a comment. */
export function shellWords(s: string): { words: string[]; comment: string } {
  const words: string[] = [];
  let cur = '', inWord = false, quote: '"' | "'" | null = null;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += ch;
      continue;
    }
    if (ch === "'" || ch === '"') { quote = ch; inWord = true; continue; }
    if (ch === '\\' && i + 1 < s.length) { cur += s[++i]; inWord = true; continue; }
    if (/\s/.test(ch)) {
      if (inWord) { words.push(cur); cur = ''; inWord = false; }
      continue;
    }
    if (ch === '#' && !inWord) return { words, comment: s.slice(i + 1).trim() };
    cur += ch;
    inWord = true;
  }
  if (quote) throw new Error(`unbalanced quote in: ${s}`);
  if (inWord) words.push(cur);
  return { words, comment: '' };
}

/** The caldera commands of a README's shell code blocks, in order. */
export function readmeCommands(markdown: string): ReadmeCommand[] {
  const lines = markdown.split('\n');
  const out: ReadmeCommand[] = [];
  let inBlock = false, runnable = false, skip: string | null = null, pendingSkip: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const fence = /^\s*```\s*([\w-]*)/.exec(raw);
    if (fence) {
      if (!inBlock) {
        inBlock = true;
        runnable = ['', 'sh', 'bash', 'shell', 'console'].includes(fence[1]!.toLowerCase());
        skip = pendingSkip;
      } else {
        inBlock = false;
      }
      pendingSkip = null;
      continue;
    }
    if (!inBlock) {
      const marker = /<!--\s*readme-test:\s*skip\s*(.*?)\s*-->/.exec(raw);
      if (marker) pendingSkip = marker[1] || 'marked skip';
      else if (raw.trim() !== '') pendingSkip = null;
      continue;
    }
    if (!runnable) continue;
    // Join continuation lines.
    const start = i;
    let text = raw;
    while (/\\\s*$/.test(text) && i + 1 < lines.length) text = text.replace(/\\\s*$/, ' ') + lines[++i]!.trim();
    const { words, comment } = shellWords(text.replace(/^\s*\$\s+/, ''));
    // Commands chained with && or ;: the caldera ones.
    const parts: string[][] = [[]];
    for (const w of words) {
      if (w === '&&' || w === ';' || w === '||') parts.push([]);
      else parts[parts.length - 1]!.push(w);
    }
    for (const part of parts) {
      const at = part[0] === 'caldera' ? 1 : part[0] === 'npx' && part[1] === 'caldera' ? 2 : -1;
      if (at < 0) continue;
      const code = /\bexits? (?:with )?(?:status )?(\d+)\b/.exec(comment);
      out.push({ line: start + 1, text: part.join(' '), argv: part.slice(at), skip, expectCode: code ? Number(code[1]) : 0 });
    }
  }
  return out;
}

/** The same command with small counts (see the module comment). */
export function smallCounts(argv: readonly string[]): string[] {
  const cmd = argv[0];
  const limits: Record<string, (v: number) => number> = {
    count: (v) => Math.min(v, cmd === 'synth-series' ? 4 : cmd === 'demo' ? 12 : 20),
    epochs: () => (argv.includes('--resume') ? 2 : 1),
    'steps-per-epoch': (v) => Math.min(v, 2),
    'val-count': (v) => Math.min(v, 8),
    pool: (v) => Math.min(v, 16),
  };
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
    const limit = m ? limits[m[1]!] : undefined;
    if (!m || !limit) { out.push(a); continue; }
    const raw = m[2] ?? argv[++i];
    const v = Number(raw);
    out.push(`--${m[1]}`, Number.isFinite(v) ? String(limit(v)) : String(raw));
  }
  if (cmd === 'demo' && !argv.some((a) => a.startsWith('--count'))) out.push('--count', '12');
  if (cmd === 'train' && argv.includes('--synthetic-on-the-fly') && !argv.some((a) => a.startsWith('--val-count'))) out.push('--val-count', '8');
  return out;
}

/** `--out` of a command (what it makes), or null. */
function outOf(argv: readonly string[]): string | null {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') return argv[i + 1] ?? null;
    if (argv[i]!.startsWith('--out=')) return argv[i]!.slice(6);
  }
  return null;
}

const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

test('README commands are found: shell words, continuations, chains, skip markers, stated exit codes', () => {
  assert.deepEqual(shellWords(`caldera x --volcanoes "A B,C" --at=-1,2 'q r' # note`), { words: ['caldera', 'x', '--volcanoes', 'A B,C', '--at=-1,2', 'q r'], comment: 'note' });
  const md = [
    'text', '```sh', 'npm install && npx caldera demo   # go', 'caldera synth --count 1000 \\', '    --out d', '```',
    '<!-- readme-test: skip your own files -->', '```sh', 'caldera predict x.npy', '```',
    '```ts', 'caldera in typescript is not a command', '```', '```sh', 'caldera scan bad   # exits 1: a bad file', '```',
  ].join('\n');
  const cs = readmeCommands(md);
  assert.deepEqual(cs.map((c) => [c.line, c.argv.join(' '), c.skip, c.expectCode]), [
    [3, 'demo', null, 0], [4, 'synth --count 1000 --out d', null, 0], [9, 'predict x.npy', 'your own files', 0], [15, 'scan bad', null, 1],
  ]);
  assert.deepEqual(smallCounts(['synth', '--count', '1000', '--out', 'd']), ['synth', '--count', '20', '--out', 'd']);
  assert.deepEqual(smallCounts(['train', '--synthetic-on-the-fly', '--epochs=20', '--steps-per-epoch', '200']),
    ['train', '--synthetic-on-the-fly', '--epochs', '1', '--steps-per-epoch', '2', '--val-count', '8']);
  assert.deepEqual(smallCounts(['train', '--out', 'm', '--resume', '--epochs', '25']), ['train', '--out', 'm', '--resume', '--epochs', '2']);
  assert.deepEqual(smallCounts(['demo']), ['demo', '--count', '12']);
});

test('the README gives one way to run caldera (npm link: the package bin, from any folder) and uses it throughout', async () => {
  assert.doesNotMatch(README, /npx caldera/, 'the README uses `caldera ...` after npm link, not npx (which asks the registry outside the clone)');
  assert.match(README, /npm link/);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.bin?.caldera, 'dist/src/cli/main.js');
  const bin = path.join(ROOT, pkg.bin.caldera);
  assert.match(fs.readFileSync(bin, 'utf8').split('\n')[0]!, /^#!\/usr\/bin\/env node$/);
  // What npm link makes: a `caldera` link to the bin, run from elsewhere (the bundled model found from there).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-link-'));
  try {
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.symlinkSync(bin, path.join(dir, 'bin', 'caldera'));
    const run = (...args: string[]) => spawnSync(process.execPath, [path.join(dir, 'bin', 'caldera'), ...args], { cwd: dir, encoding: 'utf8' });
    const help = run('--help');
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /usage: caldera <command>/);
    const ifg = Float32Array.from({ length: 64 * 64 }, (_, i) => 3 * Math.exp(-(((i % 64) - 32) ** 2 + (Math.floor(i / 64) - 32) ** 2) / 100));
    writeNpy(path.join(dir, 'ifg.npy'), { data: ifg, shape: [64, 64] });
    const p = run('predict', 'ifg.npy', '--json');
    assert.equal(p.status, 0, p.stderr);
    assert.ok(['dyke', 'sill', 'none'].includes(JSON.parse(p.stdout).class));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every command in the README runs as written, in order, on a fresh copy of the clone', (t) => {
  const commands = readmeCommands(README);
  assert.ok(commands.length >= 10, `${commands.length} commands found`);
  const known = new Set([...Object.keys(COMMANDS), '--help', '-h', 'help', '--version']);
  for (const c of commands) assert.ok(c.argv[0] !== undefined && known.has(c.argv[0]), `README line ${c.line}: '${c.text}' is not a caldera command`);
  const git = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' });
  if (git.status !== 0) {
    t.skip('not a git checkout: no list of tracked files to copy');
    return;
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-readme-'));
  const clone = path.join(scratch, 'caldera');
  try {
    for (const f of git.stdout.split('\0').filter(Boolean)) {
      const src = path.join(ROOT, f);
      if (!fs.existsSync(src)) continue; // deleted in the working tree
      fs.mkdirSync(path.dirname(path.join(clone, f)), { recursive: true });
      fs.copyFileSync(src, path.join(clone, f));
    }
    const shared = fs.existsSync(SHARED);
    if (shared) fs.symlinkSync(SHARED, path.join(scratch, 'shared'));
    const all = process.env.CALDERA_README_ALL === '1';
    const missing: string[] = []; // outputs of skipped commands
    let ran = 0;
    for (const c of commands) {
      let why: string | null = null;
      if (c.skip && !(all && c.skip.startsWith('expensive'))) why = `marked: ${c.skip}`;
      else if (!shared && c.argv.some((a) => a.includes('../shared'))) why = `needs ../shared, absent here (${SHARED})`;
      else {
        const dep = missing.find((m) => c.argv.some((a) => a === m || a.startsWith(`${m}/`) || a.endsWith(`=${m}`)));
        if (dep) why = `uses ${dep}, which a skipped command makes`;
      }
      if (why) {
        t.diagnostic(`skipped README line ${c.line}: caldera ${c.argv.join(' ')} (${why})`);
        const o = outOf(c.argv);
        if (o) missing.push(o);
        continue;
      }
      const argv = smallCounts(c.argv);
      const t0 = Date.now();
      const r = spawnSync(process.execPath, [MAIN, ...argv], { cwd: clone, encoding: 'utf8', timeout: 120_000 });
      t.diagnostic(`README line ${c.line}: caldera ${argv.join(' ')}: exit ${r.status} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      assert.equal(r.status, c.expectCode, `README line ${c.line}: caldera ${argv.join(' ')} exited ${r.status ?? r.signal}:\n${(r.stderr ?? '').slice(-2000)}`);
      ran++;
    }
    assert.ok(ran >= 5, `only ${ran} README commands ran`);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});
