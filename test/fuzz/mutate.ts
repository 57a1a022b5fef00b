/**
 * Seeded mutations for the fuzz harness: generic byte mutations (bit flips, interesting bytes and
 * words, truncation, insertion, deletion, duplication), and format-aware ones that get past the
 * first checks (TIFF IFD entries, ZIP header fields, PNG chunks with their CRC fixed, the .npy
 * header text, JSON type swaps). Every mutation is a pure function of the input and the Rng, and
 * says what it did, so a failing case can be repeated and read.
 */
import type { Rng } from '../../src/core/rng.js';
import { crc32 } from '../../src/io/png.js';

export interface Mutated<T> {
  readonly value: T;
  readonly how: string;
}

const INTERESTING_U8 = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x2e, 0x3f];
const INTERESTING_U16 = [0, 1, 2, 0x7fff, 0x8000, 0xffff, 255, 256, 4096, 1000];
const INTERESTING_U32 = [0, 1, 2, 3, 8, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 65535, 65536, 1e6, 1e8, 1 << 30];

function pos(rng: Rng, n: number, headerBias = 256): number {
  if (n <= 0) return 0;
  return rng.chance(0.5) ? rng.int(0, Math.min(n, headerBias) - 1) : rng.int(0, n - 1);
}

/** One generic byte-level mutation. */
export function mutateBytes(rng: Rng, src: Uint8Array): Mutated<Uint8Array> {
  const n = src.length;
  const out = (): Uint8Array => src.slice();
  switch (rng.int(0, 8)) {
    case 0: {
      const b = out();
      const k = rng.int(1, 8);
      const at: number[] = [];
      for (let i = 0; i < k && n > 0; i++) {
        const p = pos(rng, n);
        b[p] ^= 1 << rng.int(0, 7);
        at.push(p);
      }
      return { value: b, how: `flip bits at ${at.join(',')}` };
    }
    case 1: {
      const b = out();
      const p = pos(rng, n);
      const v = rng.pick(INTERESTING_U8);
      if (n > 0) b[p] = v;
      return { value: b, how: `byte ${p} = ${v}` };
    }
    case 2: {
      const b = out();
      if (n < 2) return { value: b, how: 'no-op (too short for a word)' };
      const p = Math.min(pos(rng, n), n - 2);
      const v = rng.pick(INTERESTING_U16);
      const le = rng.chance(0.5);
      new DataView(b.buffer).setUint16(p, v, le);
      return { value: b, how: `u16 ${le ? 'LE' : 'BE'} at ${p} = ${v}` };
    }
    case 3: {
      const b = out();
      if (n < 4) return { value: b, how: 'no-op (too short for a word)' };
      const p = Math.min(pos(rng, n), n - 4);
      const v = rng.pick(INTERESTING_U32) >>> 0;
      const le = rng.chance(0.5);
      new DataView(b.buffer).setUint32(p, v, le);
      return { value: b, how: `u32 ${le ? 'LE' : 'BE'} at ${p} = ${v}` };
    }
    case 4: {
      const cut = rng.int(0, Math.max(0, n - 1));
      return { value: src.slice(0, cut), how: `truncate to ${cut}` };
    }
    case 5: {
      const p = pos(rng, n + 1);
      const len = rng.int(1, 16);
      const ins = new Uint8Array(len).map(() => rng.int(0, 255));
      const b = new Uint8Array(n + len);
      b.set(src.subarray(0, p));
      b.set(ins, p);
      b.set(src.subarray(p), p + len);
      return { value: b, how: `insert ${len} bytes at ${p}` };
    }
    case 6: {
      const p = pos(rng, n);
      const len = Math.min(rng.int(1, 64), n - p);
      const b = new Uint8Array(n - len);
      b.set(src.subarray(0, p));
      b.set(src.subarray(p + len), p);
      return { value: b, how: `delete ${len} bytes at ${p}` };
    }
    case 7: {
      const b = out();
      if (n < 8) return { value: b, how: 'no-op' };
      const from = rng.int(0, n - 8);
      const len = Math.min(rng.int(1, 64), n - from);
      const to = rng.int(0, n - len);
      b.copyWithin(to, from, from + len);
      return { value: b, how: `copy ${len} bytes ${from} -> ${to}` };
    }
    default: {
      const b = out();
      const k = rng.int(1, 64);
      for (let i = 0; i < k && n > 0; i++) b[rng.int(0, n - 1)] = rng.int(0, 255);
      return { value: b, how: `${k} random bytes` };
    }
  }
}

/** A few stacked byte mutations (1..3). */
export function mutateBytesStacked(rng: Rng, src: Uint8Array): Mutated<Uint8Array> {
  let v = src;
  const hows: string[] = [];
  for (let i = rng.int(1, 3); i > 0; i--) {
    const m = mutateBytes(rng, v);
    v = m.value;
    hows.push(m.how);
  }
  return { value: v, how: hows.join('; ') };
}

// --- TIFF -------------------------------------------------------------------------------------

interface IfdEntry { at: number; tag: number; type: number; count: number }

function ifdEntries(b: Uint8Array): IfdEntry[] {
  if (b.length < 8 || b[0] !== 0x49) return [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ifd = dv.getUint32(4, true);
  if (ifd + 2 > b.length) return [];
  const n = dv.getUint16(ifd, true);
  const out: IfdEntry[] = [];
  for (let k = 0; k < n && ifd + 2 + 12 * (k + 1) <= b.length; k++) {
    const at = ifd + 2 + 12 * k;
    out.push({ at, tag: dv.getUint16(at, true), type: dv.getUint16(at + 2, true), count: dv.getUint32(at + 4, true) });
  }
  return out;
}

const TIFF_VALUES: Record<number, number[]> = {
  256: [0, 1, 3, 1000, 65535, 100000, 0x7fffffff], // width
  257: [0, 1, 2, 999, 65535, 100000, 0x7fffffff], // height
  258: [0, 1, 7, 8, 12, 16, 24, 32, 64, 128], // bits per sample
  259: [1, 2, 5, 6, 7, 8, 32773, 32946, 34887, 50000, 99], // compression
  273: [0, 1, 8, 0xffffffff], // strip offsets
  277: [0, 1, 2, 3, 255, 65535], // samples per pixel
  278: [0, 1, 2, 3, 1 << 20, 0xffffffff], // rows per strip
  279: [0, 1, 4, 1 << 20, 0xffffffff], // strip byte counts
  284: [0, 1, 2, 3], // planar configuration
  317: [1, 2, 3, 4], // predictor
  322: [0, 1, 8, 16, 17, 65535], // tile width
  323: [0, 1, 8, 16, 17, 65535], // tile length
  324: [0, 1, 0xffffffff],
  325: [0, 1, 0xffffffff],
  339: [0, 1, 2, 3, 4, 5, 6], // sample format
};

/** Change one IFD entry of a little-endian TIFF (its value, type or count), or a generic mutation. */
export function mutateTiff(rng: Rng, src: Uint8Array): Mutated<Uint8Array> {
  const entries = ifdEntries(src);
  if (entries.length === 0 || rng.chance(0.3)) return mutateBytesStacked(rng, src);
  const b = src.slice();
  const dv = new DataView(b.buffer);
  const e = rng.pick(entries);
  const what = rng.int(0, 5);
  if (what === 0) {
    const t = rng.pick([1, 2, 3, 4, 5, 11, 12, 16, 0, 99]);
    dv.setUint16(e.at + 2, t, true);
    return { value: b, how: `tag ${e.tag}: type ${e.type} -> ${t}` };
  }
  if (what === 1) {
    const c = rng.pick([0, 1, 2, e.count + 1, e.count * 2, 0xffff, 0x7fffffff, 0xffffffff]) >>> 0;
    dv.setUint32(e.at + 4, c, true);
    return { value: b, how: `tag ${e.tag}: count ${e.count} -> ${c}` };
  }
  if (what === 2) {
    const t = rng.pick([256, 257, 258, 259, 273, 277, 278, 279, 284, 317, 322, 323, 324, 325, 339, 33550, 33922, 34735, 42113, 0, 65535]);
    dv.setUint16(e.at, t, true);
    return { value: b, how: `tag ${e.tag} renamed ${t}` };
  }
  // The value (inline) or the first value at its offset.
  const size = e.type === 3 ? 2 : e.type === 4 ? 4 : e.type === 12 ? 8 : 1;
  const inline = size * e.count <= 4;
  const at = inline ? e.at + 8 : dv.getUint32(e.at + 8, true) + (rng.chance(0.5) ? 0 : size * rng.int(0, Math.max(0, e.count - 1)));
  const v = rng.pick(TIFF_VALUES[e.tag] ?? INTERESTING_U32);
  if (at + size > b.length) return { value: b, how: `tag ${e.tag}: value outside the file (no-op)` };
  if (size === 2) dv.setUint16(at, v & 0xffff, true);
  else if (size === 4) dv.setUint32(at, v >>> 0, true);
  else if (size === 8) dv.setFloat64(at, rng.pick([0, -0, 1e308, -1e308, NaN, Infinity, 1e-320, v]), true);
  else b[at] = v & 0xff;
  return { value: b, how: `tag ${e.tag}: value ${inline ? '' : `at ${at} `}= ${v}` };
}

// --- ZIP --------------------------------------------------------------------------------------

/** Offsets of the size/offset/count fields of a ZIP's headers (local, central, end record). */
function zipFields(b: Uint8Array): { at: number; size: 2 | 4; what: string }[] {
  const out: { at: number; size: 2 | 4; what: string }[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i + 4 <= b.length; i++) {
    const sig = dv.getUint32(i, true);
    if (sig === 0x04034b50 && i + 30 <= b.length) {
      out.push({ at: i + 8, size: 2, what: 'local method' }, { at: i + 18, size: 4, what: 'local compSize' },
        { at: i + 22, size: 4, what: 'local size' }, { at: i + 26, size: 2, what: 'local nameLen' }, { at: i + 28, size: 2, what: 'local extraLen' },
        { at: i + 6, size: 2, what: 'local flags' });
    } else if (sig === 0x02014b50 && i + 46 <= b.length) {
      out.push({ at: i + 10, size: 2, what: 'central method' }, { at: i + 16, size: 4, what: 'central crc' },
        { at: i + 20, size: 4, what: 'central compSize' }, { at: i + 24, size: 4, what: 'central size' },
        { at: i + 28, size: 2, what: 'central nameLen' }, { at: i + 30, size: 2, what: 'central extraLen' },
        { at: i + 42, size: 4, what: 'central localOffset' }, { at: i + 8, size: 2, what: 'central flags' });
    } else if (sig === 0x06054b50 && i + 22 <= b.length) {
      out.push({ at: i + 8, size: 2, what: 'eocd count' }, { at: i + 10, size: 2, what: 'eocd total' },
        { at: i + 12, size: 4, what: 'eocd cdSize' }, { at: i + 16, size: 4, what: 'eocd cdOffset' });
    }
  }
  return out;
}

/** Change one ZIP header field (sizes, offsets, counts, methods), or a generic mutation. */
export function mutateZip(rng: Rng, src: Uint8Array): Mutated<Uint8Array> {
  const fields = zipFields(src);
  if (fields.length === 0 || rng.chance(0.4)) return mutateBytesStacked(rng, src);
  const b = src.slice();
  const dv = new DataView(b.buffer);
  const f = rng.pick(fields);
  const old = f.size === 2 ? dv.getUint16(f.at, true) : dv.getUint32(f.at, true);
  const v = f.size === 2
    ? rng.pick([0, 1, 8, 9, 12, 0xffff, old + 1, Math.max(0, old - 1), 0x0800, 0x0001])
    : rng.pick([0, 1, old + 1, Math.max(0, old - 1), old * 2, 0x7fffffff, 0xffffffff, 1 << 30, b.length, b.length + 1]) >>> 0;
  if (f.size === 2) dv.setUint16(f.at, v & 0xffff, true);
  else dv.setUint32(f.at, v >>> 0, true);
  return { value: b, how: `${f.what} ${old} -> ${v}` };
}

// --- PNG --------------------------------------------------------------------------------------

/** Change an IHDR field (with its CRC fixed, so the decoder goes on), a chunk length, or generic. */
/** Recompute every chunk's CRC (as far as the chunk structure holds), so a mutation reaches the decoder. */
function fixPngCrcs(b: Uint8Array): Uint8Array {
  const out = Buffer.from(b);
  let pos = 8;
  while (pos + 12 <= out.length) {
    const len = out.readUInt32BE(pos);
    if (pos + 12 + len > out.length) break;
    out.writeUInt32BE(crc32(out, pos + 4, pos + 8 + len), pos + 8 + len);
    pos += 12 + len;
  }
  return new Uint8Array(out);
}

export function mutatePng(rng: Rng, src: Uint8Array): Mutated<Uint8Array> {
  if (src.length < 33 || rng.chance(0.4)) {
    const m = mutateBytesStacked(rng, src);
    return rng.chance(0.6) ? { value: fixPngCrcs(m.value), how: `${m.how} (CRCs fixed)` } : m;
  }
  const b = Buffer.from(src);
  const field = rng.int(0, 6);
  let how: string;
  if (field <= 1) {
    const v = rng.pick([0, 1, 2, 1000, 65535, 100000, 0x7fffffff, 0xffffffff]) >>> 0;
    b.writeUInt32BE(v, 16 + 4 * field);
    how = `IHDR ${field === 0 ? 'width' : 'height'} = ${v}`;
  } else if (field <= 5) {
    const off = [24, 25, 26, 28][field - 2]!;
    const v = rng.pick([0, 1, 2, 3, 4, 6, 8, 16, 255]);
    b[off] = v;
    how = `IHDR byte ${off} = ${v}`;
  } else {
    const v = rng.pick([0, 1, 12, 0x7fffffff, 0xffffffff]) >>> 0;
    b.writeUInt32BE(v, 33);
    return { value: new Uint8Array(b), how: `second chunk length = ${v}` };
  }
  b.writeUInt32BE(crc32(b, 12, 29), 29);
  return { value: new Uint8Array(b), how: `${how} (CRC fixed)` };
}

// --- .npy header ------------------------------------------------------------------------------

/** Rewrite the .npy header dictionary (shape, dtype, order, length field), or generic. */
export function mutateNpy(rng: Rng, src: Uint8Array): Mutated<Uint8Array> {
  if (src.length < 12 || rng.chance(0.35)) return mutateBytesStacked(rng, src);
  const headerLen = src[6] === 1 ? new DataView(src.buffer, src.byteOffset).getUint16(8, true) : new DataView(src.buffer, src.byteOffset).getUint32(8, true);
  const prefix = src[6] === 1 ? 10 : 12;
  let text = new TextDecoder('latin1').decode(src.subarray(prefix, prefix + headerLen));
  const body = src.subarray(prefix + headerLen);
  const k = rng.int(0, 4);
  let how: string;
  if (k === 0) {
    const shape = rng.pick(['()', '(0,)', '(-1, 5)', '(99999999999, 99999999999)', '(1e3,)', '(3, 10)', '(5, 6)', '(30,)', '(2, 3, 5)', '(1,1,1,1,1,1,30)', '(abc)', '(9007199254740993,)']);
    text = text.replace(/'shape':\s*\([^)]*\)/, `'shape': ${shape}`);
    how = `shape ${shape}`;
  } else if (k === 1) {
    const d = rng.pick(['<f4', '>f4', '<f8', '|u1', '<i2', '>i4', '<c8', '|b1', '<U3', "[('a', '<f4')]", 'O', '<f16', '=f4', '|?']);
    text = text.replace(/'descr':\s*'[^']*'/, `'descr': '${d}'`);
    how = `descr ${d}`;
  } else if (k === 2) {
    text = text.replace(/True|False/, (m) => (m === 'True' ? 'False' : 'True'));
    how = 'fortran_order flipped';
  } else if (k === 3) {
    text = text.slice(0, rng.int(0, text.length));
    how = 'header text cut';
  } else {
    const b = src.slice();
    const v = rng.pick([0, 1, 0xffff, headerLen + 1, headerLen - 1, 0x7fffffff]);
    if (prefix === 10) new DataView(b.buffer).setUint16(8, v & 0xffff, true);
    else new DataView(b.buffer).setUint32(8, v >>> 0, true);
    return { value: b, how: `header length field = ${v}` };
  }
  const enc = new Uint8Array(Array.from(text, (c) => c.charCodeAt(0) & 0xff));
  const out = new Uint8Array(prefix + enc.length + body.length);
  out.set(src.subarray(0, prefix));
  const dv = new DataView(out.buffer);
  if (prefix === 10) dv.setUint16(8, enc.length & 0xffff, true);
  else dv.setUint32(8, enc.length, true);
  out.set(enc, prefix);
  out.set(body, prefix + enc.length);
  return { value: out, how };
}

// --- JSON -------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function paths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

const REPLACEMENTS: (() => Json)[] = [
  () => null, () => 0, () => -1, () => 1.5, () => 1e308, () => -1e308, () => 2 ** 53 + 2, () => 0x7fffffff,
  () => '', () => 'x', () => '../../etc/passwd', () => '/dev/zero', () => 'shard-00000.npz', () => '__proto__', () => 'NaN',
  () => [], () => [null], () => ({}), () => true, () => false, () => 1e6,
];

function getAt(v: Json, p: (string | number)[]): Json {
  let cur = v;
  for (const k of p) cur = (cur as Record<string | number, Json>)[k]!;
  return cur;
}

/** One JSON mutation: a value's type or value swapped, a key deleted, an array element duplicated/dropped/swapped, or the text cut. */
export function mutateJson(rng: Rng, text: string): Mutated<string> {
  let root: Json;
  try {
    root = JSON.parse(text) as Json;
  } catch {
    return { value: text.slice(0, rng.int(0, text.length)), how: 'cut unparsable text' };
  }
  if (rng.chance(0.08)) {
    const cut = rng.int(0, text.length);
    return { value: text.slice(0, cut), how: `text cut at ${cut}` };
  }
  if (rng.chance(0.05)) {
    const at = rng.int(0, text.length);
    const ch = rng.pick(['{', '}', '[', ']', ',', '"', ':', '\\', '\u0000', '9']);
    return { value: text.slice(0, at) + ch + text.slice(at), how: `insert ${JSON.stringify(ch)} at ${at}` };
  }
  const all = paths(root);
  const p = rng.pick(all);
  const where = p.length ? p.join('.') : '(root)';
  const k = rng.int(0, 5);
  if (p.length === 0 || k <= 2) {
    const r = rng.pick(REPLACEMENTS)();
    if (p.length === 0) return { value: JSON.stringify(r), how: `root = ${JSON.stringify(r)}` };
    const parent = getAt(root, p.slice(0, -1)) as Record<string | number, Json>;
    parent[p[p.length - 1]!] = r;
    return { value: JSON.stringify(root), how: `${where} = ${JSON.stringify(r)}` };
  }
  const parent = getAt(root, p.slice(0, -1)) as Json;
  const key = p[p.length - 1]!;
  if (Array.isArray(parent)) {
    const i = key as number;
    if (k === 3) { parent.splice(i, 0, structuredClone(parent[i]!)); return { value: JSON.stringify(root), how: `${where} duplicated` }; }
    if (k === 4) { parent.splice(i, 1); return { value: JSON.stringify(root), how: `${where} removed` }; }
    const j = rng.int(0, parent.length - 1);
    [parent[i], parent[j]] = [parent[j]!, parent[i]!];
    return { value: JSON.stringify(root), how: `${where} swapped with [${j}]` };
  }
  const obj = parent as Record<string, Json>;
  if (k === 3) { delete obj[key as string]; return { value: JSON.stringify(root), how: `${where} deleted` }; }
  const v = obj[key as string]!;
  if (typeof v === 'number') { obj[key as string] = rng.pick([-v, v * 1e6, v + 1, v - 1, 0, -1, 0.5]); return { value: JSON.stringify(root), how: `${where} ${v} -> ${obj[key as string]}` }; }
  obj[key as string] = [v];
  return { value: JSON.stringify(root), how: `${where} wrapped in an array` };
}
