/**
 * NumPy `.npz` archives: a ZIP of `.npy` files, one per key (what `np.savez` and
 * `np.savez_compressed` write and `np.load` reads).
 */
import { InputError } from '../core/errors.js';
import { writeFileAtomicSync } from './atomic.js';
import { readInputFileSync } from './input-file.js';
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

export interface NpzReadOptions {
  /** Decode only these arrays (the others are not even inflated); missing ones are simply absent. Default: all. */
  readonly keys?: readonly string[];
}

/** Decode `.npz` bytes into arrays keyed by member name without `.npy`; other members are ignored. */
export function decodeNpz(bytes: Uint8Array, name = 'npz', opts: NpzReadOptions = {}): Record<string, DecodedNpy> {
  const out: Record<string, DecodedNpy> = {};
  const wanted = opts.keys ? new Set(opts.keys.map((k) => `${k}.npy`)) : null;
  const include = (n: string): boolean => n.endsWith('.npy') && (wanted === null || wanted.has(n));
  for (const entry of decodeZip(bytes, name, { include })) {
    const key = entry.name.slice(0, -'.npy'.length);
    if (Object.prototype.hasOwnProperty.call(out, key)) throw new InputError(`${name}: array '${key}' is in the archive twice`);
    // defineProperty: a member named __proto__.npy must not become the object's prototype.
    Object.defineProperty(out, key, { value: decodeNpy(entry.data, `${name}:${entry.name}`), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Read a `.npz` file (a regular file; see {@link decodeNpz} for `keys`). */
export function readNpz(filePath: string, opts: NpzReadOptions = {}): Record<string, DecodedNpy> {
  return decodeNpz(readInputFileSync(filePath), filePath, opts);
}

/** Write a `.npz` file atomically. */
export function writeNpz(filePath: string, record: Readonly<Record<string, NdArray>>, opts: NpzWriteOptions = {}): void {
  writeFileAtomicSync(filePath, encodeNpz(record, opts));
}
