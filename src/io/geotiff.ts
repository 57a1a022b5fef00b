/**
 * Single-band GeoTIFF rasters (LiCSAR-style interferograms, coherence, DEMs).
 * Reading uses the `geotiff` package (decompression, tiles/strips) through `geotiff-decode.ts`
 * (bytes in, re-exported here), with the file read by `input-file.ts`; writing is a small
 * hand-written classic-TIFF encoder (uncompressed or deflate strips/tiles, GeoKeys for an EPSG
 * code, GDAL_NODATA).
 * Georeference follows GDAL: `west`/`north` are the outer edge of the top-left pixel and pixel
 * (col, row) covers west + col*dLon .. west + (col+1)*dLon; `dLat` is negative for north-up grids.
 */
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { Raster } from '../core/raster.js';
import { InputError } from '../core/errors.js';
import { writeFileAtomic } from './atomic.js';
import { readInputFile } from './input-file.js';
import { decodeGeoTiff as decodeGeoTiffBytes, type GeoReference, type GeoTiffRead, type GeoTiffReadOptions, type GeoTransform,
  type Reprojector } from './geotiff-decode.js';
import { registerBoundedTiffDecoders } from './tiff-codecs.js';
import { projectionOf, reprojectToLonLat } from './reproject.js';

export * from './geotiff-decode.js';

/** zlib-wrapped Deflate (TIFF compression 8 and 32946) by Node's zlib, never more than `maxOut` bytes. */
export function deflateDecode(input: Uint8Array, maxOut: number): Uint8Array {
  return zlib.inflateSync(input, { maxOutputLength: Math.max(1, maxOut) });
}

registerBoundedTiffDecoders(deflateDecode);

export type TiffDtype = 'float32' | 'float64' | 'int16' | 'uint8' | 'uint16' | 'int32';

/** Node's reprojector (proj4, `reproject.ts`), kept out of `geotiff-decode.ts` and so of the web bundle. */
export const nodeReprojector: Reprojector = {
  knows: (epsg) => projectionOf(epsg) !== null,
  toLonLat: (raster, geo, epsg, name) => reprojectToLonLat(raster, geo, epsg, name),
};

/**
 * Decode GeoTIFF bytes; `name` is used in error messages. As `geotiff-decode.ts`'s, with the
 * option `reproject` served by `reproject.ts`.
 */
export async function decodeGeoTiff(bytes: Uint8Array, name = 'geotiff', opts: GeoTiffReadOptions = {}): Promise<GeoTiffRead> {
  return decodeGeoTiffBytes(bytes, name, opts, nodeReprojector);
}

/** Read a single-band GeoTIFF file. */
export async function readGeoTiff(filePath: string, opts: GeoTiffReadOptions = {}): Promise<GeoTiffRead> {
  return decodeGeoTiff(await readInputFile(filePath), path.basename(filePath), opts);
}

// ---------------------------------------------------------------------------------------------
// Writer

export interface GeoTiffWriteOptions {
  /** Written as GDAL_NODATA; NaN pixels are stored as this value in integer files. */
  nodata?: number;
  /** Sample type on disk (default float32). Integer types round and clamp. */
  dtype?: TiffDtype;
  /** 'deflate' (zlib, TIFF compression 8), 'lzw' (5) or 'none' (default). */
  compression?: 'none' | 'deflate' | 'lzw';
  /** Write square tiles of this size (a multiple of 16) instead of strips. */
  tileSize?: number;
  /** CRS (default: geo.crs if it is 'EPSG:n', else 4326). Codes 4000-4999 are written as geographic. */
  epsg?: number;
  /** More bands of the same size, interleaved after the raster (for multi-band files). */
  extraBands?: readonly ArrayLike<number>[];
}

interface DtypeSpec { bits: number; format: number; set: (dv: DataView, o: number, v: number) => void; min: number; max: number }

const DTYPES: Record<TiffDtype, DtypeSpec> = {
  float32: { bits: 32, format: 3, set: (dv, o, v) => dv.setFloat32(o, v, true), min: -Infinity, max: Infinity },
  float64: { bits: 64, format: 3, set: (dv, o, v) => dv.setFloat64(o, v, true), min: -Infinity, max: Infinity },
  int16: { bits: 16, format: 2, set: (dv, o, v) => dv.setInt16(o, v, true), min: -32768, max: 32767 },
  uint8: { bits: 8, format: 1, set: (dv, o, v) => dv.setUint8(o, v), min: 0, max: 255 },
  uint16: { bits: 16, format: 1, set: (dv, o, v) => dv.setUint16(o, v, true), min: 0, max: 65535 },
  int32: { bits: 32, format: 2, set: (dv, o, v) => dv.setInt32(o, v, true), min: -2147483648, max: 2147483647 },
};

// TIFF field types.
const ASCII = 2;
const SHORT = 3;
const LONG = 4;
const DOUBLE = 12;
const TYPE_SIZE: Record<number, number> = { [ASCII]: 1, [SHORT]: 2, [LONG]: 4, [DOUBLE]: 8 };

interface Tag { tag: number; type: number; values: number[] | string }

/** Encode a raster as a GeoTIFF (classic little-endian TIFF). */
export function encodeGeoTiff(r: Raster, geo: GeoTransform | null, opts: GeoTiffWriteOptions = {}): Uint8Array {
  const { width, height } = r;
  const dtype = opts.dtype ?? 'float32';
  const spec = DTYPES[dtype];
  if (!spec) throw new InputError(`geotiff: unsupported dtype '${dtype}'`);
  const bands = [r.data, ...(opts.extraBands ?? [])];
  for (const b of bands) {
    if (b.length !== width * height) throw new InputError(`geotiff: band has ${b.length} values, expected ${width}x${height}`);
  }
  const pixels = pixelBytes(bands, spec, opts.nodata);
  const bpp = bands.length * (spec.bits / 8);
  const tile = opts.tileSize;
  if (tile !== undefined && (!Number.isInteger(tile) || tile <= 0 || tile % 16 !== 0)) {
    throw new InputError(`geotiff: tile size ${tile} must be a positive multiple of 16`);
  }
  const raw = tile ? tileChunks(pixels, width, height, bpp, tile) : stripChunks(pixels, width, height, bpp);
  const compression = opts.compression ?? 'none';
  if (!(compression in COMPRESSION)) throw new InputError(`geotiff: unsupported compression '${compression}'`);
  const chunks = raw.chunks.map(COMPRESSION[compression].encode);

  const tags: Tag[] = [
    { tag: 256, type: LONG, values: [width] },
    { tag: 257, type: LONG, values: [height] },
    { tag: 258, type: SHORT, values: bands.map(() => spec.bits) },
    { tag: 259, type: SHORT, values: [COMPRESSION[compression].code] },
    { tag: 262, type: SHORT, values: [1] }, // BlackIsZero
    { tag: 277, type: SHORT, values: [bands.length] },
    { tag: 284, type: SHORT, values: [1] }, // chunky
    { tag: 339, type: SHORT, values: bands.map(() => spec.format) },
  ];
  const offsetsTag: Tag = { tag: tile ? 324 : 273, type: LONG, values: chunks.map(() => 0) };
  tags.push(offsetsTag, { tag: tile ? 325 : 279, type: LONG, values: chunks.map((c) => c.length) });
  if (tile) tags.push({ tag: 322, type: SHORT, values: [tile] }, { tag: 323, type: SHORT, values: [tile] });
  else tags.push({ tag: 278, type: LONG, values: [raw.rowsPerStrip] });
  if (geo) tags.push(...geoTags(geo, opts.epsg));
  if (opts.nodata !== undefined) tags.push({ tag: 42113, type: ASCII, values: nodataString(opts.nodata) });
  tags.sort((a, b) => a.tag - b.tag);
  return layoutTiff(tags, offsetsTag, chunks);
}

const COMPRESSION: Record<'none' | 'deflate' | 'lzw', { code: number; encode: (c: Uint8Array) => Uint8Array }> = {
  none: { code: 1, encode: (c) => c },
  deflate: { code: 8, encode: (c) => new Uint8Array(zlib.deflateSync(c)) },
  lzw: { code: 5, encode: (c) => lzwEncode(c) },
};

/**
 * TIFF LZW (TIFF 6.0 section 13): MSB-first codes of 9..12 bits, Clear = 256, EOI = 257, with the
 * "early change" of code width that libtiff and GDAL use (width grows when the next code needs it).
 */
export function lzwEncode(input: Uint8Array): Uint8Array {
  const CLEAR = 256;
  const EOI = 257;
  const out: number[] = [];
  let acc = 0;
  let accBits = 0;
  let bits = 9;
  const put = (code: number): void => {
    acc = (acc << bits) | code;
    accBits += bits;
    while (accBits >= 8) {
      accBits -= 8;
      out.push((acc >>> accBits) & 0xff);
    }
    acc &= (1 << accBits) - 1;
  };
  let table = new Map<number, number>();
  let next = 258;
  put(CLEAR);
  if (input.length === 0) {
    put(EOI);
    if (accBits > 0) out.push((acc << (8 - accBits)) & 0xff);
    return new Uint8Array(out);
  }
  let w = input[0]!;
  for (let k = 1; k < input.length; k++) {
    const c = input[k]!;
    const key = w * 256 + c;
    const hit = table.get(key);
    if (hit !== undefined) {
      w = hit;
      continue;
    }
    put(w);
    table.set(key, next++);
    if (next >= 1 << bits && bits < 12) bits++;
    if (next >= 4000) {
      // Restart the table well before 4096 codes (decoders differ on the last few).
      put(CLEAR);
      table = new Map();
      next = 258;
      bits = 9;
    }
    w = c;
  }
  put(w);
  // The decoder adds an entry for the last code too, so the width may grow before EOI.
  next++;
  if (next >= 1 << bits && bits < 12) bits++;
  put(EOI);
  if (accBits > 0) out.push((acc << (8 - accBits)) & 0xff);
  return new Uint8Array(out);
}

/** Write a GeoTIFF file atomically (float32, EPSG:4326 unless options say otherwise). */
export async function writeGeoTiff(filePath: string, r: Raster, geo: GeoTransform, opts: GeoTiffWriteOptions = {}): Promise<void> {
  await writeFileAtomic(filePath, encodeGeoTiff(r, geo, opts));
}

function nodataString(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return String(v);
}

function pixelBytes(bands: readonly ArrayLike<number>[], spec: DtypeSpec, nodata: number | undefined): Uint8Array {
  const n = bands[0]!.length;
  const size = spec.bits / 8;
  const out = new Uint8Array(n * bands.length * size);
  const dv = new DataView(out.buffer);
  const isInt = spec.format !== 3;
  const fillInt = nodata !== undefined && Number.isFinite(nodata) ? nodata : 0;
  let o = 0;
  for (let i = 0; i < n; i++) {
    for (const b of bands) {
      let v = b[i]!;
      if (isInt) {
        v = Number.isNaN(v) ? fillInt : Math.min(spec.max, Math.max(spec.min, Math.round(v)));
      }
      spec.set(dv, o, v);
      o += size;
    }
  }
  return out;
}

function stripChunks(px: Uint8Array, width: number, height: number, bpp: number): { chunks: Uint8Array[]; rowsPerStrip: number } {
  const rowBytes = width * bpp;
  const rowsPerStrip = Math.max(1, Math.min(height, Math.floor(65536 / rowBytes)));
  const chunks: Uint8Array[] = [];
  for (let y = 0; y < height; y += rowsPerStrip) {
    chunks.push(px.subarray(y * rowBytes, Math.min(height, y + rowsPerStrip) * rowBytes));
  }
  return { chunks, rowsPerStrip };
}

function tileChunks(px: Uint8Array, width: number, height: number, bpp: number, t: number): { chunks: Uint8Array[]; rowsPerStrip: number } {
  const chunks: Uint8Array[] = [];
  const rowBytes = width * bpp;
  for (let ty = 0; ty < height; ty += t) {
    for (let tx = 0; tx < width; tx += t) {
      const c = new Uint8Array(t * t * bpp); // edge tiles are padded with zeros
      const w = Math.min(t, width - tx);
      for (let y = 0; y < t && ty + y < height; y++) {
        const src = (ty + y) * rowBytes + tx * bpp;
        c.set(px.subarray(src, src + w * bpp), y * t * bpp);
      }
      chunks.push(c);
    }
  }
  return { chunks, rowsPerStrip: t };
}

function epsgFromCrs(crs: unknown): number | undefined {
  const m = typeof crs === 'string' ? /^EPSG:(\d+)$/i.exec(crs) : null;
  return m ? Number(m[1]) : undefined;
}

function geoTags(geo: GeoTransform, epsgOpt: number | undefined): Tag[] {
  if (![geo.west, geo.north, geo.dLon, geo.dLat].every(Number.isFinite) || geo.dLon <= 0 || geo.dLat >= 0) {
    throw new InputError(`geotiff: need a north-up grid with dLon > 0 and dLat < 0, got ${geo.dLon} x ${geo.dLat}`);
  }
  const epsg = epsgOpt ?? epsgFromCrs((geo as Partial<GeoReference>).crs) ?? 4326;
  const geographic = epsg >= 4000 && epsg < 5000;
  // GeoKeyDirectory: header (version 1.1.0, key count) then (key, location 0 = inline, count 1, value).
  const keys = [
    [1024, 0, 1, geographic ? 2 : 1], // GTModelTypeGeoKey: 2 geographic, 1 projected
    [1025, 0, 1, 1], // GTRasterTypeGeoKey: PixelIsArea
    geographic ? [2048, 0, 1, epsg] : [3072, 0, 1, epsg], // GeographicTypeGeoKey / ProjectedCSTypeGeoKey
  ];
  return [
    { tag: 33550, type: DOUBLE, values: [geo.dLon, -geo.dLat, 0] },
    { tag: 33922, type: DOUBLE, values: [0, 0, 0, geo.west, geo.north, 0] },
    { tag: 34735, type: SHORT, values: [1, 1, 0, keys.length, ...keys.flat()] },
  ];
}

function tagBytes(t: Tag): number {
  const count = typeof t.values === 'string' ? t.values.length + 1 : t.values.length;
  return count * TYPE_SIZE[t.type]!;
}

function layoutTiff(tags: Tag[], offsetsTag: Tag, chunks: Uint8Array[]): Uint8Array {
  const ifdStart = 8;
  const ifdSize = 2 + tags.length * 12 + 4;
  let extra = ifdStart + ifdSize;
  const extraAt = new Map<Tag, number>();
  for (const t of tags) {
    if (tagBytes(t) > 4) {
      extra += extra % 8 === 0 ? 0 : 8 - (extra % 8);
      extraAt.set(t, extra);
      extra += tagBytes(t);
    }
  }
  let dataAt = extra + (extra % 8 === 0 ? 0 : 8 - (extra % 8));
  const offsets = chunks.map((c) => {
    const o = dataAt;
    dataAt += c.length + (c.length % 2); // keep word alignment
    return o;
  });
  if (dataAt > 0xffffffff) throw new InputError('geotiff: file would exceed 4 GiB (BigTIFF is not supported)');
  offsetsTag.values = offsets;

  const out = new Uint8Array(dataAt);
  const dv = new DataView(out.buffer);
  out.set([0x49, 0x49]); // "II": little-endian
  dv.setUint16(2, 42, true);
  dv.setUint32(4, ifdStart, true);
  dv.setUint16(ifdStart, tags.length, true);
  tags.forEach((t, k) => {
    const e = ifdStart + 2 + k * 12;
    const count = typeof t.values === 'string' ? t.values.length + 1 : t.values.length;
    dv.setUint16(e, t.tag, true);
    dv.setUint16(e + 2, t.type, true);
    dv.setUint32(e + 4, count, true);
    const at = extraAt.get(t);
    if (at !== undefined) dv.setUint32(e + 8, at, true);
    writeValues(dv, at ?? e + 8, t);
  });
  dv.setUint32(ifdStart + ifdSize - 4, 0, true); // no next IFD
  chunks.forEach((c, k) => out.set(c, offsets[k]!));
  return out;
}

function writeValues(dv: DataView, at: number, t: Tag): void {
  if (typeof t.values === 'string') {
    for (let i = 0; i < t.values.length; i++) dv.setUint8(at + i, t.values.charCodeAt(i) & 0x7f);
    dv.setUint8(at + t.values.length, 0);
    return;
  }
  t.values.forEach((v, i) => {
    if (t.type === SHORT) dv.setUint16(at + 2 * i, v, true);
    else if (t.type === LONG) dv.setUint32(at + 4 * i, v, true);
    else dv.setFloat64(at + 8 * i, v, true);
  });
}
