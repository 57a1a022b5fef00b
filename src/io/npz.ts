/**
 * NumPy `.npz` archives: a ZIP of `.npy` files, one per key (what `np.savez` and
 * `np.savez_compressed` write and `np.load` reads).
 */
import * as fs from 'node:fs';
import { InputError } from '../core/errors.js';
import { writeFileAtomicSync } from './atomic.js';
import { decodeNpy, encodeNpy, type DecodedNpy, type NdArray } from './npy.js';
import { decodeZip, encodeZip } from './zip.js';

export interface NpzWriteOptions {
  /**
   * DEFLATE the members, like `np.savez_compressed` (default false, like `np.savez`); or the names
   * of the members to deflate (float noise barely shrinks and costs more to deflate than to store).
   */
  compress?: boolean | readonly string[];
  /** zlib level when compressing (1 fast .. 9 small; default 6). */
  level?: number;
}

/** Encode named arrays as `.npz` bytes; keys become `<key>.npy` members. */
export function encodeNpz(record: Readonly<Record<string, NdArray>>, opts: NpzWriteOptions = {}): Uint8Array {
  const entries = Object.entries(record).map(([key, arr]) => {
    if (key.length === 0 || key.includes('/') || key.includes('\\')) {
      throw new InputError(`npz: bad array name '${key}' (must be non-empty, without slashes)`);
    }
    const c = opts.compress ?? false;
    return { name: `${key}.npy`, data: encodeNpy(arr), compress: typeof c === 'boolean' ? c : c.includes(key) };
  });
  return encodeZip(entries, opts.level !== undefined ? { level: opts.level } : {});
}

/** Decode `.npz` bytes into arrays keyed by member name without `.npy`; other members are ignored. */
export function decodeNpz(bytes: Uint8Array, name = 'npz'): Record<string, DecodedNpy> {
  const out: Record<string, DecodedNpy> = {};
  for (const entry of decodeZip(bytes, name)) {
    if (!entry.name.endsWith('.npy')) continue;
    const key = entry.name.slice(0, -'.npy'.length);
    out[key] = decodeNpy(entry.data, `${name}:${entry.name}`);
  }
  return out;
}

/** Read a `.npz` file. */
export function readNpz(filePath: string): Record<string, DecodedNpy> {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(filePath);
  } catch (e) {
    throw new InputError(`${filePath}: cannot read (${(e as Error).message})`, { cause: e });
  }
  return decodeNpz(bytes, filePath);
}

/** Write a `.npz` file atomically. */
export function writeNpz(filePath: string, record: Readonly<Record<string, NdArray>>, opts: NpzWriteOptions = {}): void {
  writeFileAtomicSync(filePath, encodeNpz(record, opts));
}
