import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureWritableDir, writeFileAtomic, writeFileAtomicSync } from '../../src/io/atomic.js';
import { InputError } from '../../src/core/errors.js';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-atomic-'));
}

test('writeFileAtomic writes, overwrites and leaves no temp files', async () => {
  const dir = tmpDir();
  try {
    const f = path.join(dir, 'out.bin');
    await writeFileAtomic(f, new Uint8Array([1, 2, 3]));
    assert.deepEqual(Array.from(fs.readFileSync(f)), [1, 2, 3]);
    await writeFileAtomic(f, 'text');
    assert.equal(fs.readFileSync(f, 'utf8'), 'text');
    writeFileAtomicSync(f, 'sync');
    assert.equal(fs.readFileSync(f, 'utf8'), 'sync');
    assert.deepEqual(fs.readdirSync(dir), ['out.bin']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('failed atomic writes throw InputError and clean up', async () => {
  const dir = tmpDir();
  try {
    // Target is an existing directory: rename fails after the temp file was written.
    const target = path.join(dir, 'sub');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'keep'), 'x');
    await assert.rejects(writeFileAtomic(target, 'data'), (e: unknown) => e instanceof InputError && e.message.startsWith(target));
    assert.throws(() => writeFileAtomicSync(target, 'data'), InputError);
    assert.deepEqual(fs.readdirSync(dir), ['sub']);
    // Parent missing.
    await assert.rejects(writeFileAtomic(path.join(dir, 'nope', 'f'), 'x'), InputError);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('ensureWritableDir creates nested dirs and rejects impossible ones', () => {
  const dir = tmpDir();
  try {
    const nested = path.join(dir, 'a', 'b', 'c');
    ensureWritableDir(nested);
    assert.ok(fs.statSync(nested).isDirectory());
    assert.deepEqual(fs.readdirSync(nested), [], 'probe file removed');
    const file = path.join(dir, 'file');
    fs.writeFileSync(file, '');
    assert.throws(() => ensureWritableDir(file), (e: unknown) => e instanceof InputError && /not a directory/.test(e.message));
    assert.throws(() => ensureWritableDir(path.join(file, 'sub')), (e: unknown) => e instanceof InputError && e.message.includes(file));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
