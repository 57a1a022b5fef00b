/** Output folders of long jobs: the lock (one writer, named when refused, taken over from the dead) and stale temp files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cleanStaleTemps, isProcessAlive, LOCK_FILE, lockDir, tempOwner } from '../../src/io/run-dir.js';
import { isInputError } from '../../src/core/errors.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const RUN_DIR_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/io/run-dir.js');
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-rundir-'));

/** The PID of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(r.stdout);
  assert.ok(!isProcessAlive(pid));
  return pid;
}

test('temp names: the PID is recognised in every kind caldera writes', () => {
  assert.equal(tempOwner('weights.bin.tmp-1234-ab12cd'), 1234);
  assert.equal(tempOwner('checkpoint.tmp-77'), 77);
  assert.equal(tempOwner('train.log.jsonl.tmp-5-x9'), 5);
  assert.equal(tempOwner('.caldera-write-test-42-abc123'), 42);
  assert.equal(tempOwner('weights.bin'), null);
  assert.equal(tempOwner('model.json'), null);
});

test('cleanStaleTemps removes what killed runs left, never a live process\'s temps', () => {
  const dir = tmp();
  const dead = deadPid();
  const stale = [`weights.bin.tmp-${dead}-abc123`, `train.log.jsonl.tmp-${dead}-q1`, `checkpoint.tmp-${dead}`, `.caldera-write-test-${dead}-zz9`];
  const live = [`weights.bin.tmp-${process.pid}-abc`, `model.json.tmp-${process.ppid}-def`];
  const keep = ['weights.bin', 'model.json', 'checkpoint', 'checkpoint.old', 'notes.tmp'];
  for (const f of [...stale, ...live, ...keep]) {
    if (f.startsWith('checkpoint')) {
      fs.mkdirSync(path.join(dir, f));
      fs.writeFileSync(path.join(dir, f, 'weights.bin'), 'x');
    } else fs.writeFileSync(path.join(dir, f), 'x');
  }
  assert.deepEqual(cleanStaleTemps(dir).sort(), [...stale].sort());
  assert.deepEqual(fs.readdirSync(dir).sort(), [...live, ...keep].sort());
  fs.rmSync(dir, { recursive: true, force: true });
});

test('lockDir: one holder; refused with the holder\'s PID while it lives; taken over from a dead one; released', () => {
  const dir = tmp();
  const lock = lockDir(dir, 'caldera test');
  assert.ok(fs.existsSync(path.join(dir, LOCK_FILE)));
  assert.throws(() => lockDir(dir, 'again'), (e: unknown) => isInputError(e) && /in use by this process \(caldera test\)/.test((e as Error).message));
  // Another process is refused, naming this one.
  const child = spawnSync(process.execPath, ['--input-type=module', '-e',
    `import { lockDir } from ${JSON.stringify(RUN_DIR_JS)}; try { lockDir(${JSON.stringify(dir)}, 'child'); console.log('locked'); } catch (e) { console.log(e.message); }`], { encoding: 'utf8' });
  assert.match(child.stdout, new RegExp(`in use by another caldera process \\(pid ${process.pid}, caldera test since `));
  lock.release();
  lock.release();
  assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)));
  // A lock left by a killed run is taken over.
  fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: deadPid(), host: os.hostname(), job: 'caldera train', since: 'yesterday' }));
  const again = lockDir(dir, 'caldera train');
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
  again.release();
  // A corrupt lock file counts as stale.
  fs.writeFileSync(path.join(dir, LOCK_FILE), '{"pi');
  lockDir(dir, 'x').release();
  assert.deepEqual(fs.readdirSync(dir), [], 'no temporary lock files left');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('two runs writing the same --out: the second is one line, exit 2, naming the first; temps of killed runs are cleaned', () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, host: os.hostname(), job: 'caldera synth', since: '2024-01-01T00:00:00Z' }));
  const r = spawnSync(process.execPath, [MAIN, 'synth', '--count', '1', '--out', dir, '--workers', '1', '--quiet'], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, new RegExp(`in use by another caldera process \\(pid ${process.pid}, caldera synth since 2024-01-01T00:00:00Z\\)`));
  // Now the holder is dead; its half-written shard is litter.
  const dead = deadPid();
  fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: dead, host: os.hostname(), job: 'caldera synth', since: 'then' }));
  fs.writeFileSync(path.join(dir, `shard-00000.npz.tmp-${dead}-abc`), 'half');
  const ok = spawnSync(process.execPath, [MAIN, 'synth', '--count', '1', '--out', dir, '--workers', '1', '--quiet'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['manifest.json', 'shard-00000.json', 'shard-00000.npz']);
  fs.rmSync(dir, { recursive: true, force: true });
});
