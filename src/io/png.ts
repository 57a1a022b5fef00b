/**
 * Minimal PNG encoder and decoder (8-bit, non-interlaced), using node:zlib only.
 *
 * encodePng writes 8-bit RGB or RGBA with a per-row adaptive filter (the smallest sum of absolute
 * filtered bytes among None/Sub/Up/Average/Paeth, the heuristic libpng uses). decodePng reads what
 * the encoder writes plus 8-bit greyscale and grey+alpha, and checks every chunk's CRC.
 */
import { deflateSync, inflateSync } from 'node:zlib';
import { InputError } from '../core/errors.js';
import { crc32 as zipCrc32 } from './zip.js';
import { writeFileAtomicSync } from './atomic.js';

/** Interleaved 8-bit pixels, row-major, row 0 at the top. `channels` defaults to 4 (RGBA). */
export interface PixelImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly channels?: 1 | 2 | 3 | 4;
}

/** What decodePng returns: the channels as stored (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA). */
export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
  readonly data: Uint8Array;
}

const SIGNATURE = Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10);
const COLOUR_TYPE: Record<1 | 2 | 3 | 4, number> = { 1: 0, 2: 4, 3: 2, 4: 6 };
const CHANNELS_OF: Record<number, 1 | 2 | 3 | 4> = { 0: 1, 4: 2, 2: 3, 6: 4 };

/** CRC-32 (ISO 3309, as used by PNG) of bytes[start, end). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return zipCrc32(bytes.subarray(start, end));
}

function chunk(type: string, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, payload.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(payload, 8);
  dv.setUint32(8 + payload.length, crc32(out, 4, 8 + payload.length));
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Filter one scanline with filter `type` into out (length stride); prev is the raw previous row
 * (zeros for row 0). Returns the sum of |filtered byte| (as signed), the libpng selection score.
 */
function filterRow(type: number, cur: Uint8Array, prev: Uint8Array, bpp: number, out: Uint8Array): number {
  const n = cur.length;
  const m = Math.min(bpp, n);
  let s = 0;
  let v = 0;
  switch (type) {
    case 0:
      out.set(cur);
      for (let i = 0; i < n; i++) { v = cur[i]!; s += v < 128 ? v : 256 - v; }
      return s;
    case 1:
      for (let i = 0; i < m; i++) { v = cur[i]!; out[i] = v; s += v < 128 ? v : 256 - v; }
      for (let i = bpp; i < n; i++) { v = (cur[i]! - cur[i - bpp]!) & 0xff; out[i] = v; s += v < 128 ? v : 256 - v; }
      return s;
    case 2:
      for (let i = 0; i < n; i++) { v = (cur[i]! - prev[i]!) & 0xff; out[i] = v; s += v < 128 ? v : 256 - v; }
      return s;
    case 3:
      for (let i = 0; i < m; i++) { v = (cur[i]! - (prev[i]! >> 1)) & 0xff; out[i] = v; s += v < 128 ? v : 256 - v; }
      for (let i = bpp; i < n; i++) {
        v = (cur[i]! - ((cur[i - bpp]! + prev[i]!) >> 1)) & 0xff;
        out[i] = v;
        s += v < 128 ? v : 256 - v;
      }
      return s;
    default:
      // Paeth; for the first pixel a = c = 0, so the predictor is b.
      for (let i = 0; i < m; i++) { v = (cur[i]! - prev[i]!) & 0xff; out[i] = v; s += v < 128 ? v : 256 - v; }
      for (let i = bpp; i < n; i++) {
        const a = cur[i - bpp]!;
        const b = prev[i]!;
        const c = prev[i - bpp]!;
        let pa = b - c; if (pa < 0) pa = -pa;
        let pb = a - c; if (pb < 0) pb = -pb;
        let pc = a + b - 2 * c; if (pc < 0) pc = -pc;
        v = (cur[i]! - (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 0xff;
        out[i] = v;
        s += v < 128 ? v : 256 - v;
      }
      return s;
  }
}

export interface EncodeOptions {
  /** Force one filter type for every row (0 None … 4 Paeth); default: adaptive per row. */
  readonly filter?: 0 | 1 | 2 | 3 | 4;
  /** zlib level 0–9 (default 6). */
  readonly level?: number;
}

/** Encode 8-bit pixels (1, 2, 3 or 4 channels; default 4 = RGBA) as a PNG file. */
export function encodePng(image: PixelImage, options: EncodeOptions = {}): Uint8Array {
  const { width, height, data } = image;
  const channels = image.channels ?? 4;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`PNG size must be positive integers, got ${width}x${height}`);
  }
  if (!(channels in COLOUR_TYPE)) throw new RangeError(`PNG channels must be 1-4, got ${channels}`);
  const stride = width * channels;
  if (data.length !== stride * height) {
    throw new RangeError(`PNG data has ${data.length} bytes, expected ${width}x${height}x${channels}=${stride * height}`);
  }
  const raw = new Uint8Array((stride + 1) * height);
  const src = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length);
  let prev: Uint8Array = new Uint8Array(stride);
  const candidates = [0, 1, 2, 3, 4].map(() => new Uint8Array(stride));
  for (let y = 0; y < height; y++) {
    const cur = src.subarray(y * stride, (y + 1) * stride);
    let best = options.filter ?? 0;
    if (options.filter === undefined) {
      let bestScore = Infinity;
      for (let f = 0; f < 5; f++) {
        const s = filterRow(f, cur, prev, channels, candidates[f]!);
        if (s < bestScore) { bestScore = s; best = f as 0; }
      }
    } else {
      filterRow(best, cur, prev, channels, candidates[best]!);
    }
    raw[y * (stride + 1)] = best;
    raw.set(candidates[best]!, y * (stride + 1) + 1);
    prev = cur;
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = COLOUR_TYPE[channels];
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering
  ihdr[12] = 0; // no interlace
  const idat = deflateSync(raw, { level: options.level ?? 6 });
  const parts = [SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

/** The largest image decodePng accepts (pixels). */
export const MAX_PNG_PIXELS = 2 ** 27;

/**
 * Decode an 8-bit, non-interlaced greyscale, grey+alpha, RGB or RGBA PNG. Throws InputError for
 * anything else (palette, 16-bit, interlaced) and for corrupt files (bad signature, CRC, length).
 */
export function decodePng(bytes: Uint8Array, name = 'PNG'): DecodedPng {
  if (bytes.length < 8 || SIGNATURE.some((v, i) => bytes[i] !== v)) {
    throw new InputError(`${name}: not a PNG file (bad signature)`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels: 1 | 2 | 3 | 4 | undefined;
  const idat: Uint8Array[] = [];
  let sawEnd = false;
  while (pos < bytes.length) {
    if (pos + 12 > bytes.length) throw new InputError(`${name}: truncated chunk header at byte ${pos}`);
    const len = dv.getUint32(pos);
    const raw4 = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!, bytes[pos + 6]!, bytes[pos + 7]!);
    // Chunk types are four ASCII letters; anything else is shown in hex (a message stays one line).
    const type = /^[A-Za-z]{4}$/.test(raw4) ? raw4 : `0x${Buffer.from(bytes.subarray(pos + 4, pos + 8)).toString('hex')}`;
    if (pos + 12 + len > bytes.length) throw new InputError(`${name}: truncated ${type} chunk at byte ${pos}`);
    const crc = dv.getUint32(pos + 8 + len);
    if (crc32(bytes, pos + 4, pos + 8 + len) !== crc) throw new InputError(`${name}: bad CRC in ${type} chunk at byte ${pos}`);
    const payload = bytes.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      if (len !== 13) throw new InputError(`${name}: IHDR has ${len} bytes, expected 13`);
      width = dv.getUint32(pos + 8);
      height = dv.getUint32(pos + 12);
      const depth = payload[8]!;
      const ct = payload[9]!;
      if (depth !== 8) throw new InputError(`${name}: bit depth ${depth} not supported (only 8)`);
      channels = CHANNELS_OF[ct];
      if (!channels) throw new InputError(`${name}: colour type ${ct} not supported (grey, grey+alpha, RGB, RGBA only)`);
      if (payload[10] !== 0 || payload[11] !== 0) throw new InputError(`${name}: unknown compression or filter method`);
      if (payload[12] !== 0) throw new InputError(`${name}: interlaced PNG not supported`);
      if (width === 0 || height === 0) throw new InputError(`${name}: empty image ${width}x${height}`);
    } else if (type === 'IDAT') {
      idat.push(payload);
    } else if (type === 'IEND') {
      sawEnd = true;
      break;
    } else if ((bytes[pos + 4]! & 0x20) === 0) {
      throw new InputError(`${name}: unknown critical chunk ${type}`);
    }
    pos += 12 + len;
  }
  if (!channels) throw new InputError(`${name}: missing IHDR chunk`);
  if (!sawEnd) throw new InputError(`${name}: missing IEND chunk (truncated file?)`);
  if (idat.length === 0) throw new InputError(`${name}: missing IDAT chunk`);
  const stride = width * channels;
  // Bound inflation by what the header says the image is (and the image by a sane size).
  const rawBytes = (stride + 1) * height;
  if (width * height > MAX_PNG_PIXELS || rawBytes > 2 ** 31 - 1) {
    throw new InputError(`${name}: ${width}x${height} pixels is more than the ${MAX_PNG_PIXELS} this reader accepts`);
  }
  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.concat(idat), { maxOutputLength: rawBytes });
  } catch (e) {
    throw new InputError(`${name}: corrupt image data (${(e as Error).message})`, { cause: e });
  }
  if (raw.length < (stride + 1) * height) {
    throw new InputError(`${name}: image data has ${raw.length} bytes, expected ${(stride + 1) * height}`);
  }
  const out = new Uint8Array(stride * height);
  const bpp = channels;
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const inOff = y * (stride + 1) + 1;
    const o = y * stride;
    const p = o - stride;
    for (let i = 0; i < stride; i++) {
      const x = raw[inOff + i]!;
      const a = i >= bpp ? out[o + i - bpp]! : 0;
      const b = y > 0 ? out[p + i]! : 0;
      const c = y > 0 && i >= bpp ? out[p + i - bpp]! : 0;
      let v: number;
      switch (f) {
        case 0: v = x; break;
        case 1: v = x + a; break;
        case 2: v = x + b; break;
        case 3: v = x + ((a + b) >> 1); break;
        case 4: v = x + paeth(a, b, c); break;
        default: throw new InputError(`${name}: unknown filter type ${f} in row ${y}`);
      }
      out[o + i] = v & 0xff;
    }
  }
  return { width, height, channels, data: out };
}

/** Encode and write a PNG atomically (temp file + rename). */
export function writePng(filePath: string, image: PixelImage): void {
  writeFileAtomicSync(filePath, encodePng(image));
}
