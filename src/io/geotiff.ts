/**
 * Single-band GeoTIFF rasters (LiCSAR-style interferograms, coherence, DEMs).
 * Reading uses the `geotiff` package (decompression, tiles/strips); writing is a small hand-written
 * classic-TIFF encoder (uncompressed or deflate strips/tiles, GeoKeys for an EPSG code, GDAL_NODATA).
 * Georeference follows GDAL: `west`/`north` are the outer edge of the top-left pixel and pixel
 * (col, row) covers west + col*dLon .. west + (col+1)*dLon; `dLat` is negative for north-up grids.
 */
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { fromArrayBuffer } from 'geotiff';
import type { Raster } from '../core/raster.js';
import { InputError } from '../core/errors.js';
import { writeFileAtomic } from './atomic.js';
import { readInputFile } from './input-file.js';
import { registerBoundedTiffDecoders } from './tiff-codecs.js';
import { projectionOf, reprojectToLonLat } from './reproject.js';

registerBoundedTiffDecoders();

/** Affine, axis-aligned grid: pixel (col, row) has its top-left corner at (west + col*dLon, north + row*dLat). */
export interface GeoTransform {
  west: number;
  north: number;
  /** Pixel width (degrees for a geographic CRS, else CRS units, e.g. metres). */
  dLon: number;
  /** Pixel height, negative for north-up grids. */
  dLat: number;
}

export interface GeoReference extends GeoTransform {
  /** 'EPSG:<code>' when the file names one, else null. */
  crs: string | null;
}

export type SampleFormat = 'float' | 'int' | 'uint';
export type TiffDtype = 'float32' | 'float64' | 'int16' | 'uint8' | 'uint16' | 'int32';

export interface GeoTiffReadOptions {
  /** Band to read (0-based). Required when the file has several bands. */
  band?: number;
  /** Fail when the file has no affine georeference (default true). */
  requireGeo?: boolean;
  /** Fail when the CRS is projected rather than geographic lat/lon (default true). */
  requireGeographic?: boolean;
  /**
   * A projected grid in a projection `reproject.ts` knows (WGS84 UTM, Web Mercator) is resampled
   * onto a lon/lat grid (nearest neighbour) instead of refused (default false).
   */
  reproject?: boolean;
}

export interface GeoTiffRead {
  /** Values as float32; nodata values are NaN. */
  raster: Raster;
  /** Null only when the file has no georeference and `requireGeo: false`. */
  geo: GeoReference | null;
  /** EPSG code of the CRS, when the file gives one. */
  epsg: number | null;
  /** True for a geographic CRS, false for projected, null when the file does not say. */
  geographic: boolean | null;
  /** The GDAL_NODATA value (NaN for "nan"), or null when there is none. */
  nodata: number | null;
  sampleFormat: SampleFormat;
  bitsPerSample: number;
  /** Number of bands in the file and the one that was read. */
  bands: number;
  band: number;
  /** 'EPSG:<code>' of the projected grid the raster was reprojected from (option `reproject`), else absent. */
  reprojectedFrom?: string;
}

const USER_DEFINED = 32767;

function fail(name: string, problem: string, cause?: unknown): never {
  // One short line whatever the file holds (a corrupt tag can make a "number" thousands of values long).
  const p = problem.replace(/\s+/g, ' ');
  throw new InputError(`${name}: ${p.length > 400 ? `${p.slice(0, 400)}…` : p}`, cause === undefined ? undefined : { cause });
}

/** Read a single-band GeoTIFF file. */
export async function readGeoTiff(filePath: string, opts: GeoTiffReadOptions = {}): Promise<GeoTiffRead> {
  return decodeGeoTiff(await readInputFile(filePath), path.basename(filePath), opts);
}

/** Decode GeoTIFF bytes; `name` is used in error messages. */
export async function decodeGeoTiff(bytes: Uint8Array, name = 'geotiff', opts: GeoTiffReadOptions = {}): Promise<GeoTiffRead> {
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let image: Awaited<ReturnType<Awaited<ReturnType<typeof fromArrayBuffer>>['getImage']>>;
  try {
    const tiff = await fromArrayBuffer(buf);
    image = await tiff.getImage(0);
  } catch (e) {
    fail(name, `not a readable TIFF (${(e as Error).message})`, e);
  }
  const fd = image.getFileDirectory() as Record<string, unknown>;
  // Tags the reader needs, before the geotiff package reads them (it assumes they are there).
  for (const [tag, label] of [['ImageWidth', 'ImageWidth'], ['ImageLength', 'ImageLength'], ['BitsPerSample', 'BitsPerSample']] as const) {
    if (fd[tag] === undefined) fail(name, `corrupt TIFF: no ${label} tag`);
  }
  if (typeof (fd.BitsPerSample as ArrayLike<number>).length !== 'number') fail(name, 'corrupt TIFF: BitsPerSample is not a list');
  const width = image.getWidth();
  const height = image.getHeight();
  const bands = image.getSamplesPerPixel();
  const band = opts.band ?? 0;
  if (opts.band === undefined && bands > 1) {
    fail(name, `has ${bands} bands; choose one with the band option (0..${bands - 1})`);
  }
  if (!Number.isInteger(band) || band < 0 || band >= bands) {
    fail(name, `band ${band} does not exist (file has ${bands} band${bands > 1 ? 's' : ''}, 0-based)`);
  }
  const sampleFormat = sampleFormatOf(image.getSampleFormat(band) as number | undefined);
  const bitsPerSample = Number(image.getBitsPerSample(band));
  checkSampleType(name, sampleFormat, bitsPerSample);
  checkLayout(name, fd, width, height, bands, image.isTiled, bytes.length);

  const keys = (image.getGeoKeys() ?? {}) as Record<string, unknown>;
  const { epsg, geographic } = crsOf(keys);
  let geo: GeoReference | null = null;
  const affine = affineOf(name, fd, keys);
  if (affine) {
    geo = { ...affine, crs: epsg !== null ? `EPSG:${epsg}` : null };
  } else if (opts.requireGeo ?? true) {
    fail(name, 'has no georeference (no ModelTiepoint + ModelPixelScale or ModelTransformation); ' +
      'pass requireGeo: false to read it as a plain image');
  }
  const reproject = opts.reproject === true && geographic === false && geo !== null;
  if (reproject && (epsg === null || projectionOf(epsg) === null)) {
    const what = epsg !== null ? `projected CRS EPSG:${epsg}` : 'a projected (user-defined) CRS';
    fail(name, `has ${what}, which caldera cannot reproject (it knows WGS84 UTM zones and Web Mercator); warp it: gdalwarp -t_srs EPSG:4326`);
  }
  if ((opts.requireGeographic ?? true) && !reproject) checkGeographic(name, geo, epsg, geographic, width, height);

  const nodata = parseNodata(fd.GDAL_NODATA);
  let values: ArrayLike<number>;
  try {
    const r = await image.readRasters({ samples: [band], interleave: true });
    values = r as unknown as ArrayLike<number>;
  } catch (e) {
    fail(name, `corrupt image data (${(e as Error).message})`, e);
  }
  if (values.length !== width * height) {
    fail(name, `decoded ${values.length} values, expected ${width}x${height}; corrupt or truncated`);
  }
  const raster = { width, height, data: toFloat32(values, nodata) };
  if (reproject) {
    const r = reprojectToLonLat(raster, geo!, epsg!, name);
    return { raster: r.raster, geo: r.geo, epsg: 4326, geographic: true, nodata, sampleFormat, bitsPerSample, bands, band, reprojectedFrom: `EPSG:${epsg}` };
  }
  return { raster, geo, epsg, geographic, nodata, sampleFormat, bitsPerSample, bands, band };
}

function sampleFormatOf(code: number | undefined): SampleFormat {
  // TIFF 6.0 SampleFormat: 1 uint (default), 2 int, 3 IEEE float.
  if (code === 2) return 'int';
  if (code === 3) return 'float';
  return 'uint';
}

function checkSampleType(name: string, fmt: SampleFormat, bits: number): void {
  const ok = (fmt === 'float' && (bits === 32 || bits === 64)) ||
    (fmt === 'int' && (bits === 8 || bits === 16 || bits === 32)) ||
    (fmt === 'uint' && (bits === 8 || bits === 16 || bits === 32));
  if (!ok) fail(name, `unsupported sample type ${fmt}${bits} (supported: float32/64, int8/16/32, uint8/16/32)`);
}

/** The largest raster read (pixels): 2^27 = 134 M (e.g. 11585 x 11585); a LiCSAR frame is ~25 M. */
export const MAX_TIFF_PIXELS = 2 ** 27;

/**
 * How many decoded bytes each stored byte can give, per TIFF compression: what the scheme can
 * reach at best (DEFLATE ~1032:1; LZW ~2560:1 for 12-bit codes of the longest strings; PackBits
 * 64:1), with a margin. LERC (34887) has no useful bound (a constant tile is a few bytes).
 */
const MAX_EXPANSION: Record<number, { name: string; ratio: number | null }> = {
  1: { name: 'uncompressed', ratio: 1 },
  5: { name: 'LZW', ratio: 4096 },
  8: { name: 'Deflate', ratio: 1040 },
  32946: { name: 'Deflate', ratio: 1040 },
  32773: { name: 'PackBits', ratio: 128 },
  34887: { name: 'LERC', ratio: null },
};

/** A tag value for a message: a number, or the first few of a list. */
function short(v: unknown): string {
  if (v !== null && typeof v === 'object' && 'length' in v) {
    const a = Array.from(v as ArrayLike<unknown>);
    return `[${a.slice(0, 4).join(',')}${a.length > 4 ? `,… (${a.length} values)` : ''}]`;
  }
  return String(v);
}

function posInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/**
 * Before any decoding: the raster size, the strip/tile grid and the compression must be
 * possible, every strip or tile must lie inside the file, and each must hold enough bytes for
 * what it decodes to (exactly, uncompressed; within the scheme's best ratio, compressed). So a
 * header that claims a huge raster, or compression on data that is not compressed, is refused
 * in one line instead of decoding (the work and memory are bounded by the file's size).
 */
function checkLayout(name: string, fd: Record<string, unknown>, width: number, height: number, bands: number,
  tiled: boolean, fileLength: number): void {
  if (!posInt(width) || !posInt(height)) fail(name, `corrupt TIFF: image size ${short(width)}x${short(height)}`);
  if (width * height > MAX_TIFF_PIXELS) {
    fail(name, `${width}x${height} pixels is more than the ${MAX_TIFF_PIXELS} this reader accepts (corrupt header, or cut the raster first)`);
  }
  const compression = fd.Compression === undefined ? 1 : Number(fd.Compression);
  const scheme = MAX_EXPANSION[compression];
  if (!scheme) fail(name, `TIFF compression ${compression} is not supported (uncompressed, LZW, Deflate, PackBits, LERC)`);
  const planar = fd.PlanarConfiguration === undefined ? 1 : Number(fd.PlanarConfiguration);
  if (planar !== 1 && planar !== 2) fail(name, `corrupt TIFF: PlanarConfiguration ${planar}`);
  const bits = Array.from((fd.BitsPerSample ?? []) as ArrayLike<number>, Number);
  if (!posInt(bands) || bits.length !== bands || bits.some((b) => !(b === 8 || b === 16 || b === 32 || b === 64))) {
    fail(name, `corrupt or unsupported TIFF: ${bands} samples per pixel with bits per sample [${bits.slice(0, 8).join(', ')}]`);
  }
  const tw = tiled ? fd.TileWidth : width;
  const th = tiled ? fd.TileLength : Math.min(Number(fd.RowsPerStrip ?? height), height);
  if (!posInt(tw) || !posInt(th)) fail(name, `corrupt TIFF: ${tiled ? 'tile' : 'strip'} size ${String(tw)}x${String(th)}`);
  const offsets = (tiled ? fd.TileOffsets : fd.StripOffsets) as ArrayLike<number> | undefined;
  const counts = (tiled ? fd.TileByteCounts : fd.StripByteCounts) as ArrayLike<number> | undefined;
  const across = Math.ceil(width / tw);
  const down = Math.ceil(height / th);
  const planes = planar === 2 ? bands : 1;
  const chunks = across * down * planes;
  if (!offsets || !counts || offsets.length !== counts.length || offsets.length < chunks) {
    fail(name, `corrupt TIFF: ${offsets?.length ?? 0} ${tiled ? 'tile' : 'strip'} offsets and ${counts?.length ?? 0} byte counts for ${chunks} ${tiled ? 'tiles' : 'strips'}`);
  }
  const pixelBytes = bits.map((b) => b / 8);
  const chunkPixelBytes = planar === 2 ? pixelBytes : [pixelBytes.reduce((a, b) => a + b, 0)];
  if (width * height * chunkPixelBytes.reduce((a, b) => a + b, 0) > 2 ** 31 - 1) {
    fail(name, `${width}x${height} pixels of ${bands} bands is more than 2 GiB decoded; cut the raster or extract a band first`);
  }
  const kind = tiled ? 'tile' : 'strip';
  for (let i = 0; i < chunks; i++) {
    const off = Number(offsets[i]);
    const cnt = Number(counts[i]);
    if (!Number.isInteger(off) || !Number.isInteger(cnt) || off < 0 || cnt < 0) fail(name, `corrupt TIFF: ${kind} ${i} at ${off}, ${cnt} bytes`);
    const end = off + cnt;
    if (end > fileLength) fail(name, `truncated: image data needs ${end} bytes, file has ${fileLength}`);
    if (scheme.ratio === null) continue;
    const row = Math.floor((i % (across * down)) / across);
    const rows = tiled ? th : Math.min(th, height - row * th);
    const need = tw * rows * chunkPixelBytes[planar === 2 ? Math.floor(i / (across * down)) : 0]!;
    if (need > cnt * scheme.ratio + (scheme.ratio > 1 ? 64 : 0)) {
      fail(name, scheme.ratio === 1
        ? `truncated or corrupt: ${kind} ${i} holds ${cnt} bytes, its ${tw}x${rows} pixels need ${need}`
        : `corrupt: ${kind} ${i} holds ${cnt} bytes, which ${scheme.name} cannot expand to the ${need} its ${tw}x${rows} pixels need ` +
          '(wrong compression in the header?)');
    }
  }
}

function crsOf(keys: Record<string, unknown>): { epsg: number | null; geographic: boolean | null } {
  const model = keys.GTModelTypeGeoKey as number | undefined;
  const projected = keys.ProjectedCSTypeGeoKey as number | undefined;
  const geographicCode = keys.GeographicTypeGeoKey as number | undefined;
  if (model === 1 || (projected !== undefined && model !== 2)) {
    return { epsg: projected !== undefined && projected !== USER_DEFINED ? projected : null, geographic: false };
  }
  const code = geographicCode !== undefined && geographicCode !== USER_DEFINED ? geographicCode : null;
  if (model === 2 || code !== null) return { epsg: code, geographic: true };
  return { epsg: null, geographic: null };
}

function affineOf(name: string, fd: Record<string, unknown>, keys: Record<string, unknown>): GeoTransform | null {
  const tie = fd.ModelTiepoint as ArrayLike<number> | undefined;
  const scale = fd.ModelPixelScale as ArrayLike<number> | undefined;
  const mt = fd.ModelTransformation as ArrayLike<number> | undefined;
  let g: GeoTransform;
  if (tie && tie.length >= 6 && scale && scale.length >= 2) {
    // Tiepoint (I, J, K, X, Y, Z) ties raster point (I, J) to model point (X, Y); scale is positive
    // for north-up (GeoTIFF spec 2.6.1).
    const [i, j, , x, y] = Array.from(tie) as [number, number, number, number, number];
    const [sx, sy] = [Number(scale[0]), Number(scale[1])];
    g = { west: x - i * sx, north: y + j * sy, dLon: sx, dLat: -sy };
  } else if (mt && mt.length >= 16) {
    const m = Array.from(mt);
    if (m[1] !== 0 || m[4] !== 0) fail(name, 'rotated or sheared grids (ModelTransformation) are not supported');
    g = { west: m[3]!, north: m[7]!, dLon: m[0]!, dLat: m[5]! };
  } else {
    if (tie && tie.length > 6) fail(name, 'has ground control points but no affine georeference; warp it first');
    return null;
  }
  if (![g.west, g.north, g.dLon, g.dLat].every(Number.isFinite) || g.dLon === 0 || g.dLat === 0) {
    fail(name, `bad georeference (origin ${g.west}, ${g.north}; pixel ${g.dLon} x ${g.dLat})`);
  }
  if (keys.GTRasterTypeGeoKey === 2) {
    // PixelIsPoint: the tie point is a pixel centre; shift to the corner as GDAL does.
    g = { ...g, west: g.west - g.dLon / 2, north: g.north - g.dLat / 2 };
  }
  return g;
}

function checkGeographic(name: string, geo: GeoReference | null, epsg: number | null,
  geographic: boolean | null, width: number, height: number): void {
  if (geographic === false) {
    const what = epsg !== null ? `projected CRS EPSG:${epsg}` : 'a projected (user-defined) CRS';
    fail(name, `has ${what}; a geographic lat/lon grid is needed (e.g. gdalwarp -t_srs EPSG:4326)`);
  }
  if (geographic === null && geo) {
    const south = geo.north + height * geo.dLat;
    const east = geo.west + width * geo.dLon;
    const inRange = [geo.north, south].every((v) => Math.abs(v) <= 90.001) &&
      [geo.west, east].every((v) => Math.abs(v) <= 360.001);
    if (!inRange) fail(name, 'has no CRS and its coordinates are not lat/lon degrees; a geographic grid is needed');
  }
}

/** Parse a GDAL_NODATA tag value ("nan", "-9999", ...), null when absent or unparsable. */
export function parseNodata(tag: unknown): number | null {
  if (typeof tag !== 'string') return null;
  const s = tag.replace(/\0/g, '').trim().toLowerCase();
  if (s === '') return null;
  if (s === 'nan' || s === '-nan') return NaN;
  if (s === 'inf' || s === '+inf') return Infinity;
  if (s === '-inf') return -Infinity;
  const v = Number(s);
  return Number.isNaN(v) ? null : v;
}

function toFloat32(values: ArrayLike<number>, nodata: number | null): Float32Array {
  const out = new Float32Array(values.length);
  if (nodata === null || Number.isNaN(nodata)) {
    for (let i = 0; i < values.length; i++) out[i] = values[i]!;
    return out;
  }
  // Compare raw values, in both double and float32 precision (a float32 file stores fround(nodata)).
  const nd32 = Math.fround(nodata);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] = v === nodata || v === nd32 ? NaN : v;
  }
  return out;
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
