/**
 * Decoding single-band GeoTIFF bytes (the reading half of `geotiff.ts`, which re-exports it):
 * pure, no file system, so Node (`readGeoTiff`) and the web page (files dropped in a browser)
 * read rasters with the same code. Decompression goes through the bounded decoders of
 * `tiff-codecs.ts`. Georeference follows GDAL: `west`/`north` are the outer edge of the top-left
 * pixel and pixel (col, row) covers west + col*dLon .. west + (col+1)*dLon; `dLat` is negative for
 * north-up grids.
 */
import { fromArrayBuffer } from 'geotiff';
import type { Raster } from '../core/raster.js';
import { InputError } from '../core/errors.js';
import { registerBoundedTiffDecoders } from './tiff-codecs.js';

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

export interface GeoTiffReadOptions {
  /** Band to read (0-based). Required when the file has several bands. */
  band?: number;
  /** Fail when the file has no affine georeference (default true). */
  requireGeo?: boolean;
  /** Fail when the CRS is projected rather than geographic lat/lon (default true). */
  requireGeographic?: boolean;
  /**
   * A projected grid in a projection the reprojector knows (in Node, `reproject.ts`: WGS84 UTM,
   * Web Mercator) is resampled onto a lon/lat grid (nearest neighbour) instead of refused (default
   * false). Without a reprojector (the web page) a projected grid is refused as before.
   */
  reproject?: boolean;
}

/**
 * Resamples a projected raster to lon/lat; passed by `geotiff.ts` in Node (proj4 stays out of
 * the browser bundle).
 */
export interface Reprojector {
  /** True when the reprojector knows EPSG code `epsg`. */
  knows(epsg: number): boolean;
  toLonLat(raster: Raster, geo: GeoReference, epsg: number, name: string): { raster: Raster; geo: GeoReference };
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

/** Decode GeoTIFF bytes; `name` is used in error messages. */
export async function decodeGeoTiff(bytes: Uint8Array, name = 'geotiff', opts: GeoTiffReadOptions = {},
  reprojector?: Reprojector): Promise<GeoTiffRead> {
  // The bounded decoders; the first registration wins (io/geotiff.ts registers zlib's in Node).
  registerBoundedTiffDecoders();
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
  const reproject = opts.reproject === true && reprojector !== undefined && geographic === false && geo !== null;
  if (reproject && (epsg === null || !reprojector.knows(epsg))) {
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
    const r = reprojector!.toLonLat(raster, geo!, epsg!, name);
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
