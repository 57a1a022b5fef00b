/**
 * NumPy `.npy` arrays (format spec: numpy/lib/format.py, "NEP 1").
 * Writes version 1.0 (2.0 only when the header would not fit in 64 KiB); reads 1.0, 2.0 and 3.0.
 * Writes C order; reads C and Fortran order (what `np.asfortranarray` saves), returned in C order;
 * little- and big-endian numeric dtypes.
 */
import { InputError } from '../core/errors.js';
import { writeFileAtomicSync } from './atomic.js';
import { readInputFileSync } from './input-file.js';

export type NpyDtype =
  | 'float32' | 'float64' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'bool';

export type NpyTypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

/** An n-dimensional array: `data` in C (row-major) order, `shape` outermost first. */
export interface NdArray {
  readonly data: NpyTypedArray;
  readonly shape: readonly number[];
  /** Only needed to write `bool` from a Uint8Array; otherwise taken from the typed array. */
  readonly dtype?: NpyDtype;
}

export interface DecodedNpy {
  data: NpyTypedArray;
  shape: number[];
  dtype: NpyDtype;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

interface DtypeInfo {
  kind: string; // numpy kind char + size, without byte order, e.g. 'f4'
  size: number;
  ctor: { new (n: number): NpyTypedArray; new (b: ArrayBuffer, o: number, n: number): NpyTypedArray };
}

const DTYPES: Record<NpyDtype, DtypeInfo> = {
  float32: { kind: 'f4', size: 4, ctor: Float32Array },
  float64: { kind: 'f8', size: 8, ctor: Float64Array },
  int8: { kind: 'i1', size: 1, ctor: Int8Array },
  uint8: { kind: 'u1', size: 1, ctor: Uint8Array },
  int16: { kind: 'i2', size: 2, ctor: Int16Array },
  uint16: { kind: 'u2', size: 2, ctor: Uint16Array },
  int32: { kind: 'i4', size: 4, ctor: Int32Array },
  uint32: { kind: 'u4', size: 4, ctor: Uint32Array },
  bool: { kind: 'b1', size: 1, ctor: Uint8Array },
};

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The dtype a typed array is written as (Uint8Array is uint8 unless told 'bool'). */
export function dtypeOf(data: NpyTypedArray): NpyDtype {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  throw new TypeError(`unsupported typed array ${(data as object).constructor.name} for .npy`);
}

function descrFor(dtype: NpyDtype): string {
  const info = DTYPES[dtype];
  return (info.size === 1 ? '|' : '<') + info.kind;
}

function checkShape(shape: readonly number[], n: number, what: string): void {
  let size = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new InputError(`${what}: bad shape (${shape.join(', ')})`);
    size *= d;
  }
  if (size !== n) {
    throw new InputError(`${what}: shape (${shape.join(', ')}) needs ${size} values, data has ${n}`);
  }
}

function shapeLiteral(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** Encode an array as `.npy` bytes (version 1.0, C order, little-endian). */
export function encodeNpy(arr: NdArray): Uint8Array {
  const dtype = arr.dtype ?? dtypeOf(arr.data);
  if (!(dtype in DTYPES)) throw new InputError(`npy: unsupported dtype '${dtype}'`);
  if (dtype === 'bool' && !(arr.data instanceof Uint8Array)) {
    throw new InputError(`npy: dtype 'bool' needs a Uint8Array, got ${arr.data.constructor.name}`);
  }
  if (dtype !== 'bool' && dtype !== dtypeOf(arr.data)) {
    throw new InputError(`npy: dtype '${dtype}' does not match ${arr.data.constructor.name}`);
  }
  checkShape(arr.shape, arr.data.length, 'npy');
  const dict = `{'descr': '${descrFor(dtype)}', 'fortran_order': False, 'shape': ${shapeLiteral(arr.shape)}, }`;
  // Pad with spaces so that magic + version + length + header (ending in '\n') is a multiple of 64.
  let version = 1;
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    version = 2;
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  const headerLen = total - prefix;
  const header = dict + ' '.repeat(headerLen - dict.length - 1) + '\n';
  const body = toLittleEndianBytes(arr.data);
  const out = new Uint8Array(total + body.length);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, headerLen, true);
  else dv.setUint32(8, headerLen, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(body, total);
  return out;
}

function toLittleEndianBytes(data: NpyTypedArray): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) return bytes;
  return swapBytes(bytes, data.BYTES_PER_ELEMENT);
}

function swapBytes(src: Uint8Array, size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += size) {
    for (let k = 0; k < size; k++) out[i + k] = src[i + size - 1 - k]!;
  }
  return out;
}

/** Header text for a message: printable, short (the header is the file's, not ours). */
function clip(s: string): string {
  const t = s.replace(/[^\x20-\x7e]/g, '?');
  return t.length > 80 ? `${t.slice(0, 80)}…` : t;
}

interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  dataOffset: number;
}

function parseHeader(bytes: Uint8Array, name: string): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new InputError(`${name}: not a .npy file (bad magic)`);
  }
  const major = bytes[6]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let prefix: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    prefix = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new InputError(`${name}: truncated .npy header`);
    headerLen = dv.getUint32(8, true);
    prefix = 12;
  } else {
    throw new InputError(`${name}: unsupported .npy version ${major}.${bytes[7]}`);
  }
  if (prefix + headerLen > bytes.length) throw new InputError(`${name}: truncated .npy header`);
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(prefix, prefix + headerLen));
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) {
    if (/['"]descr['"]\s*:\s*\[/.test(text)) {
      throw new InputError(`${name}: structured (record) dtypes are not supported`);
    }
    throw new InputError(`${name}: cannot parse .npy header ${JSON.stringify(clip(text.trim()))}`);
  }
  const dims = shape[1]!.split(',').map((s) => s.trim()).filter((s) => s.length > 0)
    .map((s) => Number(s.replace(/L$/, '')));
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new InputError(`${name}: bad shape (${clip(shape[1]!)}) in .npy header`);
  }
  return { descr: descr[1]!, fortranOrder: fortran[1] === 'True', shape: dims, dataOffset: prefix + headerLen };
}

function parseDescr(descr: string, name: string): { dtype: NpyDtype; littleEndian: boolean } {
  const m = /^([<>|=]?)([a-zA-Z]\d+|\?)$/.exec(descr);
  const kind = m ? (m[2] === '?' ? 'b1' : m[2]!) : '';
  const dtype = (Object.keys(DTYPES) as NpyDtype[]).find((k) => DTYPES[k].kind === kind);
  if (!m || !dtype) {
    throw new InputError(`${name}: unsupported dtype '${clip(descr)}' (supported: float32, float64, int8, uint8, ` +
      'int16, uint16, int32, uint32, bool)');
  }
  const order = m[1]!;
  const littleEndian = order === '>' ? false : order === '=' ? HOST_LITTLE_ENDIAN : true;
  return { dtype, littleEndian };
}

/** Decode `.npy` bytes. `name` (a file name) is used in error messages. */
export function decodeNpy(bytes: Uint8Array, name = 'npy'): DecodedNpy {
  const h = parseHeader(bytes, name);
  const { dtype, littleEndian } = parseDescr(h.descr, name);
  const info = DTYPES[dtype];
  const count = h.shape.reduce((a, b) => a * b, 1);
  const need = count * info.size;
  const have = bytes.length - h.dataOffset;
  // Compare before any allocation: a header can claim any shape.
  if (!(have >= need)) {
    throw new InputError(`${name}: truncated .npy data: expected ${need} bytes for shape ` +
      `(${h.shape.join(', ')}) ${h.descr}, got ${have}`);
  }
  const src = bytes.subarray(h.dataOffset, h.dataOffset + need);
  // Copy into a fresh buffer: aligned for the typed array, and not sharing the caller's bytes.
  const raw = info.size > 1 && littleEndian !== HOST_LITTLE_ENDIAN ? swapBytes(src, info.size) : new Uint8Array(src);
  const data = new info.ctor(raw.buffer, 0, count);
  return { data: h.fortranOrder && h.shape.length > 1 ? fortranToC(data, h.shape) : data, shape: h.shape, dtype };
}

/**
 * The same array in C order: `src` holds it in Fortran order (first index fastest). Walks the
 * output in C order with an odometer over the indices, stepping the Fortran offset along.
 */
export function fortranToC<T extends NpyTypedArray>(src: T, shape: readonly number[]): T {
  const out = new (src.constructor as new (n: number) => T)(src.length);
  const nd = shape.length;
  if (src.length === 0) return out;
  const fStride: number[] = [];
  let s = 1;
  for (let k = 0; k < nd; k++) { fStride.push(s); s *= shape[k]!; }
  const idx = new Float64Array(nd);
  const last = nd - 1;
  const lastLen = shape[last]!;
  const lastStride = fStride[last]!;
  let base = 0; // Fortran offset of (idx[0..last-1], 0)
  for (let o = 0; o < out.length; o += lastLen) {
    for (let j = 0, f = base; j < lastLen; j++, f += lastStride) out[o + j] = src[f]!;
    // Advance idx[0..last-1] like an odometer (C order: the axis before last moves fastest).
    for (let k = last - 1; k >= 0; k--) {
      idx[k]++;
      base += fStride[k]!;
      if (idx[k]! < shape[k]!) break;
      base -= fStride[k]! * shape[k]!;
      idx[k] = 0;
    }
  }
  return out;
}

/** Read a `.npy` file. */
export function readNpy(filePath: string): DecodedNpy {
  return decodeNpy(readInputFileSync(filePath), filePath);
}

/** Write a `.npy` file atomically. */
export function writeNpy(filePath: string, arr: NdArray): void {
  writeFileAtomicSync(filePath, encodeNpy(arr));
}
