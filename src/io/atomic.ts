/**
 * Atomic file writes: write a temporary file in the same directory, fsync it, then rename it over
 * the target, so a reader never sees a half-written file and a crash leaves the old file intact.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { InputError } from '../core/errors.js';

function tempName(target: string): string {
  const rand = Math.random().toString(36).slice(2, 10);
  return `${target}.tmp-${process.pid}-${rand}`;
}

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Write `data` to `filePath` atomically (temp file + fsync + rename). Throws InputError when the target cannot be written. */
export async function writeFileAtomic(filePath: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempName(filePath);
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(tmp, 'wx');
    await handle.writeFile(toBytes(data));
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, filePath);
  } catch (e) {
    if (handle) await handle.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new InputError(`${filePath}: cannot write (${describe(e)})`, { cause: e });
  }
}

/** Synchronous version of {@link writeFileAtomic}. */
export function writeFileAtomicSync(filePath: string, data: Uint8Array | string): void {
  const tmp = tempName(filePath);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx');
    const bytes = toBytes(data);
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, filePath);
  } catch (e) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* already failing */ }
    }
    fs.rmSync(tmp, { force: true });
    throw new InputError(`${filePath}: cannot write (${describe(e)})`, { cause: e });
  }
}

/**
 * Create `dir` (and parents) if needed and check that files can be written in it.
 * Throws InputError naming the directory when it cannot.
 */
export function ensureWritableDir(dir: string): void {
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) {
    throw new InputError(`${dir}: exists and is not a directory`);
  }
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new InputError(`${dir}: cannot create directory (${describe(e)})`, { cause: e });
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    throw new InputError(`${dir}: cannot access directory (${describe(e)})`, { cause: e });
  }
  if (!st.isDirectory()) throw new InputError(`${dir}: exists and is not a directory`);
  // access(W_OK) is not enough on its own (read-only mounts, ACLs, root ignoring modes on some
  // file systems), so probe with a real file.
  const probe = path.join(dir, `.caldera-write-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    fs.writeFileSync(probe, '');
    fs.rmSync(probe, { force: true });
  } catch (e) {
    throw new InputError(`${dir}: directory is not writable (${describe(e)})`, { cause: e });
  }
}
