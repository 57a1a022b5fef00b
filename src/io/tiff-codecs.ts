/**
 * Bounded TIFF decompressors for the `geotiff` package, registered in place of its own for LZW,
 * Deflate and PackBits. Each decodes one strip or tile into at most the bytes that block can hold
 * (tile or strip size × bytes per pixel, from the file's own header), so no input can make them
 * allocate or work without end. The package's LZW decoder, fed data that is not LZW (a header
 * that claims LZW on uncompressed floats), loops growing a JS array until Node aborts; its Deflate
 * and PackBits decoders grow without a bound too.
 *
 * No file system and no Node module: the web page decodes with the same decoders. Only Deflate's
 * inflater differs by platform: `io/geotiff.ts` registers Node's zlib; elsewhere (a browser)
 * `streamInflate` (the standard DecompressionStream) is the default, bounded the same way.
 */
import { addDecoder, BaseDecoder } from 'geotiff';

type FileDirectory = Record<string, unknown>;

/** The most bytes one decoded strip or tile of this image can hold. */
export function blockBytes(fd: FileDirectory): number {
  const width = Number(fd.ImageWidth);
  const height = Number(fd.ImageLength);
  const tiled = fd.TileWidth !== undefined && fd.TileOffsets !== undefined;
  const tw = tiled ? Number(fd.TileWidth) : width;
  const th = tiled ? Number(fd.TileLength) : Math.min(Number(fd.RowsPerStrip ?? height), height);
  const bits = Array.from((fd.BitsPerSample ?? [8]) as ArrayLike<number>, Number);
  const planar = Number(fd.PlanarConfiguration ?? 1);
  const bytesPerPixel = planar === 2 ? Math.max(...bits.map((b) => Math.ceil(b / 8))) : bits.reduce((a, b) => a + Math.ceil(b / 8), 0);
  const n = tw * th * bytesPerPixel;
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/**
 * TIFF LZW (TIFF 6.0 section 13): MSB-first codes of 9..12 bits, Clear 256, EOI 257, code width
 * growing one code early (as libtiff and GDAL write it). Output stops at `maxOut` bytes (as
 * libtiff stops at the end of its buffer); a code that cannot be in the table is an Error.
 */
export function lzwDecode(input: Uint8Array, maxOut: number): Uint8Array {
  const CLEAR = 256;
  const EOI = 257;
  const prefix = new Int16Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const length = new Uint16Array(4096);
  for (let i = 0; i < 256; i++) { prefix[i] = -1; suffix[i] = i; first[i] = i; length[i] = 1; }
  const out = new Uint8Array(maxOut);
  let pos = 0;
  let next = 258;
  let width = 9;
  let old = -1;
  let bitPos = 0;
  const nBytes = input.length;
  const emit = (code: number): boolean => {
    const len = length[code]!;
    const room = maxOut - pos;
    // Walk the chain from the end of the string; skip what does not fit.
    let c = code;
    for (let k = len - 1; k >= 0; k--) {
      if (k < room) out[pos + k] = suffix[c]!;
      c = prefix[c]!;
    }
    pos += Math.min(len, room);
    return pos < maxOut;
  };
  for (;;) {
    const at = bitPos >>> 3;
    if (at >= nBytes) break; // ran off the end without EOI: keep what was decoded
    const v = (input[at]! << 16) | ((input[at + 1] ?? 0) << 8) | (input[at + 2] ?? 0);
    const code = (v >>> (24 - (bitPos & 7) - width)) & ((1 << width) - 1);
    bitPos += width;
    if (code === EOI) break;
    if (code === CLEAR) {
      next = 258;
      width = 9;
      old = -1;
      continue;
    }
    let more: boolean;
    if (old === -1) {
      if (code > 255) throw new Error(`LZW code ${code} where a literal is needed (not LZW data?)`);
      more = emit(code);
    } else if (code < next) {
      more = emit(code);
      if (next < 4096) {
        prefix[next] = old; suffix[next] = first[code]!; first[next] = first[old]!; length[next] = length[old]! + 1;
        next++;
      }
    } else if (code === next && next < 4096) {
      prefix[next] = old; suffix[next] = first[old]!; first[next] = first[old]!; length[next] = length[old]! + 1;
      next++;
      more = emit(code);
    } else {
      throw new Error(`LZW code ${code} is not in the table (${next} entries; not LZW data?)`);
    }
    old = code;
    if (!more) break;
    if (next + 1 >= 1 << width && width < 12) width++;
  }
  return pos === maxOut ? out : out.slice(0, pos);
}

/** PackBits (TIFF 6.0 section 9), output bounded by `maxOut`. */
export function packBitsDecode(input: Uint8Array, maxOut: number): Uint8Array {
  const out = new Uint8Array(maxOut);
  let pos = 0;
  let i = 0;
  while (i < input.length && pos < maxOut) {
    const h = (input[i++]! << 24) >> 24;
    if (h >= 0) {
      const n = Math.min(h + 1, input.length - i, maxOut - pos);
      out.set(input.subarray(i, i + n), pos);
      pos += n;
      i += h + 1;
    } else if (h !== -128) {
      if (i >= input.length) break;
      const n = Math.min(1 - h, maxOut - pos);
      out.fill(input[i++]!, pos, pos + n);
      pos += n;
    }
  }
  return pos === maxOut ? out : out.slice(0, pos);
}

/** A zlib-wrapped Deflate inflater that never returns more than `maxOut` bytes (it throws instead). */
export type Inflate = (input: Uint8Array, maxOut: number) => Uint8Array | Promise<Uint8Array>;

/**
 * zlib-wrapped Deflate (TIFF compression 8 and 32946) by the standard DecompressionStream (browsers,
 * and Node >= 18), never more than `maxOut` bytes: a RangeError as soon as the output passes it.
 */
export async function streamInflate(input: Uint8Array, maxOut: number): Promise<Uint8Array> {
  const limit = Math.max(1, maxOut);
  const ds = new DecompressionStream('deflate');
  const writer = ds.writable.getWriter();
  // Errors surface on the reading side; these promises only need handling.
  writer.write(new Uint8Array(input.buffer as ArrayBuffer, input.byteOffset, input.byteLength)).catch(() => undefined);
  writer.close().catch(() => undefined);
  const reader = ds.readable.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > limit) {
      await reader.cancel().catch(() => undefined);
      throw new RangeError(`inflated data is larger than the ${limit} bytes its block can hold`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

function decoderClass(decode: (input: Uint8Array, maxOut: number) => Uint8Array | Promise<Uint8Array>): unknown {
  const bytes = (out: Uint8Array): ArrayBuffer => out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength) as ArrayBuffer;
  return class extends BaseDecoder {
    private readonly maxOut: number;
    constructor(fd: FileDirectory) {
      super();
      this.maxOut = blockBytes(fd);
    }
    decodeBlock(buffer: ArrayBuffer): ArrayBuffer | Promise<ArrayBuffer> {
      const out = decode(new Uint8Array(buffer), this.maxOut);
      return out instanceof Uint8Array ? bytes(out) : out.then(bytes);
    }
  };
}

let registered = false;

/**
 * Put the bounded decoders in the `geotiff` package's registry, with `inflate` for Deflate
 * (default `streamInflate`). Only the first call registers: `io/geotiff.ts` makes Node's zlib
 * the inflater when it is loaded; `decodeGeoTiff` calls this before every decode.
 */
export function registerBoundedTiffDecoders(inflate: Inflate = streamInflate): void {
  if (registered) return;
  registered = true;
  const lzw = decoderClass(lzwDecode);
  const deflate = decoderClass(inflate);
  const packBits = decoderClass(packBitsDecode);
  addDecoder(5, () => Promise.resolve(lzw));
  addDecoder([8, 32946], () => Promise.resolve(deflate));
  addDecoder(32773, () => Promise.resolve(packBits));
}
