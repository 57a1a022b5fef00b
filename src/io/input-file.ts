/**
 * Reading the user's input files safely: regular files only (a FIFO, a device or a directory
 * given as an input would block forever or read without end), and never more than a stated size.
 * The file is opened non-blocking (opening a FIFO for reading otherwise waits for a writer) and
 * checked with fstat on the open descriptor, so what is checked is what is read.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { InputError } from '../core/errors.js';

export interface ReadInputOptions {
  /** Refuse files larger than this many bytes (default: 2 GiB - 1, what a Buffer can hold). */
  readonly maxBytes?: number;
  /** What the file is, for messages (e.g. 'manifest'); default none. */
  readonly what?: string;
}

const DEFAULT_MAX = 2 ** 31 - 1;
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function label(filePath: string, o: ReadInputOptions): string {
  return o.what ? `${filePath} (${o.what})` : filePath;
}

function checkStat(filePath: string, st: fs.Stats, o: ReadInputOptions): void {
  if (!st.isFile()) throw new InputError(`${label(filePath, o)}: is ${kindOf(st)}, not a regular file; give a file`);
  const max = o.maxBytes ?? DEFAULT_MAX;
  if (st.size > max) throw new InputError(`${label(filePath, o)}: ${st.size} bytes, more than the ${max} this reader accepts`);
}

function cannotRead(filePath: string, e: unknown, o: ReadInputOptions): InputError {
  if (e instanceof InputError) return e;
  return new InputError(`${label(filePath, o)}: cannot read (${(e as Error).message})`, { cause: e });
}

/** Throws InputError unless `filePath` is a regular file (following symlinks); returns its stats. */
export function checkRegularFile(filePath: string, o: ReadInputOptions = {}): fs.Stats {
  let st: fs.Stats;
  try {
    st = fs.statSync(filePath);
  } catch (e) {
    throw cannotRead(filePath, e, o);
  }
  checkStat(filePath, st, o);
  return st;
}

/** Read a regular file whole (InputError for anything else, or when it is larger than `maxBytes`). */
export function readInputFileSync(filePath: string, o: ReadInputOptions = {}): Buffer {
  let fd: number | undefined;
  try {
    fd = fs.openSync(filePath, OPEN_FLAGS);
    checkStat(filePath, fs.fstatSync(fd), o);
    return fs.readFileSync(fd);
  } catch (e) {
    throw cannotRead(filePath, e, o);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Async {@link readInputFileSync}. */
export async function readInputFile(filePath: string, o: ReadInputOptions = {}): Promise<Buffer> {
  let h: fsp.FileHandle | undefined;
  try {
    h = await fsp.open(filePath, OPEN_FLAGS);
    checkStat(filePath, await h.stat(), o);
    return await h.readFile();
  } catch (e) {
    throw cannotRead(filePath, e, o);
  } finally {
    await h?.close();
  }
}

/**
 * A message as one short line: runs of whitespace (newlines included, e.g. in Node's JSON.parse
 * messages, which quote the text around the error) become one space, and it is cut at `max`.
 */
export function oneLine(msg: string, max = 300): string {
  const flat = msg.replace(/[\s\u0000-\u001f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** A regular text file as UTF-8 (see {@link readInputFileSync}). */
export function readInputTextSync(filePath: string, o: ReadInputOptions = {}): string {
  return readInputFileSync(filePath, o).toString('utf8');
}
