/**
 * A minimal ZIP archive writer and reader (PKWARE APPNOTE 6.3): STORE and DEFLATE entries, CRC-32,
 * local headers plus central directory. Enough for `.npz`. The writer refuses archives that would
 * need ZIP64 (> 4 GiB or > 65535 entries); the reader accepts ZIP64 size fields, since
 * `numpy.savez` always writes them (gh-10776).
 */
import * as zlib from 'node:zlib';
import { InputError } from '../core/errors.js';

export interface ZipEntryInput {
  /** Per-entry override of `ZipWriteOptions.compress`. */
  compress?: boolean;
  name: string;
  data: Uint8Array;
}

export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

export interface ZipWriteOptions {
  /** DEFLATE entries (default false: STORE). An entry that does not shrink is stored. */
  compress?: boolean;
  /** zlib level 1 (fast) to 9 (small); default 6. Float noise barely shrinks, so fast levels pay. */
  level?: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const U32_MAX = 0xffffffff;
/** DEFLATE's largest expansion is 258 bytes per 2 bits (~1032:1); a little more for headers. */
const MAX_DEFLATE_RATIO = 1040;
/** The largest entry extracted (a Buffer's limit). */
const MAX_ENTRY_BYTES = 2 ** 31 - 1;
// Fixed DOS timestamp 1980-01-01 00:00 so that the same arrays give the same bytes.
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/** CRC-32 (IEEE 802.3, as in ZIP and PNG), continuing from `crc`; node:zlib's native implementation. */
export function crc32(data: Uint8Array, crc = 0): number {
  return zlib.crc32(data, crc) >>> 0;
}

interface Prepared {
  nameBytes: Uint8Array;
  utf8: boolean;
  method: number;
  crc: number;
  size: number;
  body: Uint8Array;
  offset: number;
}

/** Build a ZIP archive from entries (in the given order). */
export function encodeZip(entries: readonly ZipEntryInput[], opts: ZipWriteOptions = {}): Uint8Array {
  if (entries.length > 0xffff) throw new InputError(`zip: ${entries.length} entries need ZIP64, which is not supported`);
  const seen = new Set<string>();
  const prepared: Prepared[] = [];
  let offset = 0;
  for (const e of entries) {
    if (seen.has(e.name)) throw new InputError(`zip: duplicate entry name '${e.name}'`);
    seen.add(e.name);
    const nameBytes = new TextEncoder().encode(e.name);
    if (nameBytes.length > 0xffff) throw new InputError(`zip: entry name too long '${e.name.slice(0, 40)}...'`);
    let method = 0;
    let body = e.data;
    if (e.compress ?? opts.compress) {
      const deflated = zlib.deflateRawSync(e.data, { level: opts.level ?? 6 });
      if (deflated.length < e.data.length) {
        method = 8;
        body = deflated;
      }
    }
    if (e.data.length > U32_MAX || body.length > U32_MAX) {
      throw new InputError(`zip: entry '${e.name}' is larger than 4 GiB; ZIP64 is not supported`);
    }
    const utf8 = /[^\x20-\x7e]/.test(e.name);
    prepared.push({ nameBytes, utf8, method, crc: crc32(e.data), size: e.data.length, body, offset });
    offset += 30 + nameBytes.length + body.length;
  }
  const cdOffset = offset;
  const cdSize = prepared.reduce((s, p) => s + 46 + p.nameBytes.length, 0);
  if (cdOffset > U32_MAX || cdOffset + cdSize + 22 > U32_MAX) {
    throw new InputError('zip: archive would be larger than 4 GiB; ZIP64 is not supported');
  }
  const out = new Uint8Array(cdOffset + cdSize + 22);
  const dv = new DataView(out.buffer);
  for (const p of prepared) {
    let o = p.offset;
    dv.setUint32(o, SIG_LOCAL, true);
    dv.setUint16(o + 4, 20, true); // version needed: 2.0 (deflate)
    dv.setUint16(o + 6, p.utf8 ? 0x0800 : 0, true);
    dv.setUint16(o + 8, p.method, true);
    dv.setUint16(o + 10, DOS_TIME, true);
    dv.setUint16(o + 12, DOS_DATE, true);
    dv.setUint32(o + 14, p.crc, true);
    dv.setUint32(o + 18, p.body.length, true);
    dv.setUint32(o + 22, p.size, true);
    dv.setUint16(o + 26, p.nameBytes.length, true);
    dv.setUint16(o + 28, 0, true);
    out.set(p.nameBytes, o + 30);
    o += 30 + p.nameBytes.length;
    out.set(p.body, o);
  }
  let o = cdOffset;
  for (const p of prepared) {
    dv.setUint32(o, SIG_CENTRAL, true);
    dv.setUint16(o + 4, (3 << 8) | 20, true); // made by: Unix, 2.0
    dv.setUint16(o + 6, 20, true);
    dv.setUint16(o + 8, p.utf8 ? 0x0800 : 0, true);
    dv.setUint16(o + 10, p.method, true);
    dv.setUint16(o + 12, DOS_TIME, true);
    dv.setUint16(o + 14, DOS_DATE, true);
    dv.setUint32(o + 16, p.crc, true);
    dv.setUint32(o + 20, p.body.length, true);
    dv.setUint32(o + 24, p.size, true);
    dv.setUint16(o + 28, p.nameBytes.length, true);
    dv.setUint16(o + 30, 0, true); // extra
    dv.setUint16(o + 32, 0, true); // comment
    dv.setUint16(o + 34, 0, true); // disk
    dv.setUint16(o + 36, 0, true); // internal attributes
    dv.setUint32(o + 38, (0o100644 << 16) >>> 0, true); // external: regular file rw-r--r--
    dv.setUint32(o + 42, p.offset, true);
    out.set(p.nameBytes, o + 46);
    o += 46 + p.nameBytes.length;
  }
  dv.setUint32(o, SIG_EOCD, true);
  dv.setUint16(o + 4, 0, true);
  dv.setUint16(o + 6, 0, true);
  dv.setUint16(o + 8, prepared.length, true);
  dv.setUint16(o + 10, prepared.length, true);
  dv.setUint32(o + 12, cdSize, true);
  dv.setUint32(o + 16, cdOffset, true);
  dv.setUint16(o + 20, 0, true);
  return out;
}

interface CentralRecord {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compSize: number;
  size: number;
  localOffset: number;
}

function findEocd(dv: DataView, name: string): number {
  const min = Math.max(0, dv.byteLength - 22 - 0xffff);
  for (let i = dv.byteLength - 22; i >= min; i--) {
    if (dv.getUint32(i, true) === SIG_EOCD) return i;
  }
  throw new InputError(`${name}: not a ZIP archive (no end-of-central-directory record; truncated?)`);
}

/** Read the ZIP64 extra field (id 0x0001) of a central record, for fields that were 0xFFFFFFFF. */
function applyZip64Extra(dv: DataView, start: number, len: number, rec: CentralRecord, name: string): void {
  let o = start;
  while (o + 4 <= start + len) {
    const id = dv.getUint16(o, true);
    const size = dv.getUint16(o + 2, true);
    if (id === 0x0001) {
      let p = o + 4;
      const read64 = (): number => {
        if (p + 8 > o + 4 + size) throw new InputError(`${name}: corrupt ZIP64 extra field for '${rec.name}'`);
        const v = Number(dv.getBigUint64(p, true));
        p += 8;
        return v;
      };
      if (rec.size === U32_MAX) rec.size = read64();
      if (rec.compSize === U32_MAX) rec.compSize = read64();
      if (rec.localOffset === U32_MAX) rec.localOffset = read64();
      return;
    }
    o += 4 + size;
  }
}

function readCentralDirectory(bytes: Uint8Array, name: string): CentralRecord[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 22) throw new InputError(`${name}: not a ZIP archive (${bytes.length} bytes)`);
  const eocd = findEocd(dv, name);
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if ((count === 0xffff || cdSize === U32_MAX || cdOffset === U32_MAX) && eocd >= 20 &&
      dv.getUint32(eocd - 20, true) === SIG_EOCD64_LOCATOR) {
    const eocd64 = Number(dv.getBigUint64(eocd - 12, true));
    if (eocd64 + 56 > bytes.length || dv.getUint32(eocd64, true) !== SIG_EOCD64) {
      throw new InputError(`${name}: corrupt ZIP64 end-of-central-directory record`);
    }
    count = Number(dv.getBigUint64(eocd64 + 32, true));
    cdSize = Number(dv.getBigUint64(eocd64 + 40, true));
    cdOffset = Number(dv.getBigUint64(eocd64 + 48, true));
  }
  if (cdOffset + cdSize > bytes.length) {
    throw new InputError(`${name}: truncated ZIP archive (central directory at ${cdOffset}+${cdSize}, ` +
      `file has ${bytes.length} bytes)`);
  }
  const records: CentralRecord[] = [];
  let o = cdOffset;
  for (let i = 0; i < count; i++) {
    if (o + 46 > bytes.length || dv.getUint32(o, true) !== SIG_CENTRAL) {
      throw new InputError(`${name}: corrupt ZIP central directory (entry ${i})`);
    }
    const flags = dv.getUint16(o + 8, true);
    const nameLen = dv.getUint16(o + 28, true);
    const extraLen = dv.getUint16(o + 30, true);
    const commentLen = dv.getUint16(o + 32, true);
    if (o + 46 + nameLen + extraLen + commentLen > bytes.length) {
      throw new InputError(`${name}: corrupt ZIP central directory (entry ${i} runs past the end of the file)`);
    }
    const nameBytes = bytes.subarray(o + 46, o + 46 + nameLen);
    const rec: CentralRecord = {
      name: new TextDecoder(flags & 0x0800 ? 'utf-8' : 'latin1').decode(nameBytes),
      method: dv.getUint16(o + 10, true),
      flags,
      crc: dv.getUint32(o + 16, true),
      compSize: dv.getUint32(o + 20, true),
      size: dv.getUint32(o + 24, true),
      localOffset: dv.getUint32(o + 42, true),
    };
    applyZip64Extra(dv, o + 46 + nameLen, extraLen, rec, name);
    records.push(rec);
    o += 46 + nameLen + extraLen + commentLen;
  }
  return records;
}

function extract(bytes: Uint8Array, rec: CentralRecord, name: string): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = rec.localOffset;
  if (lo + 30 > bytes.length || dv.getUint32(lo, true) !== SIG_LOCAL) {
    throw new InputError(`${name}: corrupt ZIP local header for '${rec.name}'`);
  }
  if (rec.flags & 0x0001) throw new InputError(`${name}: entry '${rec.name}' is encrypted`);
  const start = lo + 30 + dv.getUint16(lo + 26, true) + dv.getUint16(lo + 28, true);
  const end = start + rec.compSize;
  if (end > bytes.length) {
    throw new InputError(`${name}: truncated ZIP archive: entry '${rec.name}' needs bytes up to ${end}, ` +
      `file has ${bytes.length}`);
  }
  const body = bytes.subarray(start, end);
  let data: Uint8Array;
  if (rec.method === 0) {
    if (rec.size !== rec.compSize) {
      throw new InputError(`${name}: stored entry '${rec.name}' is ${rec.compSize} bytes, directory says ${rec.size}`);
    }
    data = new Uint8Array(body);
  } else if (rec.method === 8) {
    // Bound the work and memory by the declared size, and the declared size by what DEFLATE can
    // expand the stored bytes to (at most ~1032:1), before inflating anything.
    if (rec.size > MAX_DEFLATE_RATIO * rec.compSize + 1024) {
      throw new InputError(`${name}: entry '${rec.name}' claims ${rec.size} bytes from ${rec.compSize} compressed, ` +
        'more than DEFLATE can hold (corrupt archive)');
    }
    if (rec.size > MAX_ENTRY_BYTES) {
      throw new InputError(`${name}: entry '${rec.name}' is ${rec.size} bytes, more than the ${MAX_ENTRY_BYTES} this reader accepts`);
    }
    try {
      data = zlib.inflateRawSync(body, { maxOutputLength: Math.max(1, rec.size) });
    } catch (e) {
      const big = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError;
      throw new InputError(big
        ? `${name}: entry '${rec.name}' inflates to more than the ${rec.size} bytes the directory says (corrupt archive)`
        : `${name}: corrupt DEFLATE data in '${rec.name}' (${(e as Error).message})`, { cause: e });
    }
  } else {
    throw new InputError(`${name}: entry '${rec.name}' uses compression method ${rec.method}; ` +
      'only STORE (0) and DEFLATE (8) are supported');
  }
  if (data.length !== rec.size) {
    throw new InputError(`${name}: entry '${rec.name}' is ${data.length} bytes, directory says ${rec.size}`);
  }
  if (crc32(data) !== rec.crc) throw new InputError(`${name}: CRC-32 mismatch in '${rec.name}' (corrupt archive)`);
  return data;
}

/** List the entry names of a ZIP archive (from its central directory). */
export function listZip(bytes: Uint8Array, name = 'zip'): string[] {
  return readCentralDirectory(bytes, name).map((r) => r.name);
}

export interface ZipReadOptions {
  /** Extract only the entries whose names this accepts (others are never inflated). Default: all. */
  readonly include?: (entryName: string) => boolean;
}

/** Read the file entries of a ZIP archive (directories skipped), checking CRC-32. */
export function decodeZip(bytes: Uint8Array, name = 'zip', opts: ZipReadOptions = {}): ZipEntry[] {
  const include = opts.include ?? (() => true);
  return readCentralDirectory(bytes, name)
    .filter((r) => !r.name.endsWith('/') && include(r.name))
    .map((r) => ({ name: r.name, data: extract(bytes, r, name) }));
}
