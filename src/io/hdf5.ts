/**
 * Time series of LOS displacement in HDF5, as MintPy and LiCSBAS write them (read with h5wasm, the
 * HDF5 C library compiled to wasm; nothing native, nothing downloaded):
 *
 *   MintPy `timeseries.h5`  dataset `timeseries` float32 [date, row, col] in metres (attribute UNIT,
 *                           default m), dataset `date` (bytes 'YYYYMMDD'), geocoding attributes
 *                           X_FIRST / Y_FIRST (outer corner of the first pixel, as GDAL),
 *                           X_STEP / Y_STEP (Y_STEP < 0 for north-up), WAVELENGTH (m).
 *   MintPy `velocity.h5`    dataset `velocity` float32 [row, col] in m/year, attributes START_DATE /
 *                           END_DATE and the same geocoding; read as the displacement over
 *                           START_DATE..END_DATE (default) or over one year (`velocityAs: 'year'`).
 *   LiCSBAS `cum.h5`,       dataset `cum` float32 [date, row, col] in mm, `imdates` (int YYYYMMDD or
 *   `cum_filt.h5`           bytes), `corner_lat` / `corner_lon` (the centre of the first pixel:
 *                           LiCSBAS shifts them by half a pixel to make GeoTIFFs), `post_lat` (< 0)
 *                           / `post_lon`; no wavelength (Sentinel-1 C band is assumed unless given).
 *
 * Both programs write displacement positive toward the satellite, as caldera's LOS (physics/los.ts).
 * Grids stored south-up are flipped so row 0 is north, as everywhere in caldera. Only lat/lon grids
 * are read: a file in radar coordinates (no X_FIRST / corner_lat) or on a projected grid has to be
 * geocoded first (MintPy geocode.py; LiCSBAS geocodes by default).
 *
 * An opened file (`Hdf5Series`) reads one epoch (or a crop of it) at a time, so a cum.h5 of
 * hundreds of epochs never has to fit in memory (`monitor`). `scan` and `predict` read a file as one
 * product (`readHdf5CBandProduct`: the displacement over its span as C-band phase). Every problem
 * with the file is an `InputError` naming it: not HDF5, truncated, no geocoding, missing or
 * mis-shaped datasets, an unknown unit.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../core/errors.js';
import { wrapPhase } from '../core/raster.js';
import { C_BAND_WAVELENGTH_M, losToPhaseArray } from '../physics/units.js';
import type { GeoReference } from './geotiff.js';
import { MASK_NODATA, minCoherenceOf, type Product, type ProductFiles } from './product.js';

type H5 = typeof import('h5wasm/node');
type H5File = import('h5wasm/node').File;
type H5Dataset = import('h5wasm/node').Dataset;

let h5Promise: Promise<H5> | null = null;

/** The h5wasm module, loaded once; HDF5 errors become exceptions instead of text on stderr. */
export function h5wasm(): Promise<H5> {
  h5Promise ??= (async () => {
    const m = await import('h5wasm/node');
    const mod = await m.ready;
    mod.activate_throwing_error_handler();
    return m;
  })();
  return h5Promise;
}

/** The HDF5 signature, at byte 0 (or 512, 1024, ... when a user block precedes it). */
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** True when the file starts like an HDF5 file (signature at 0 or a power-of-two offset from 512). */
export function isHdf5File(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(8);
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      fs.readSync(fd, buf, 0, 8, off);
      if (SIGNATURE.every((b, i) => buf[i] === b)) return true;
      if (off > 1 << 20) break;
    }
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

/** Names that look like HDF5 (what folders are searched for). */
export const HDF5_NAME = /\.(h5|hdf5|he5)$/i;

/** The most specific line of an HDF5 error stack ("truncated file: eof = ..."), else the message. */
function hdf5Reason(e: unknown): string {
  const text = String((e as Error)?.message ?? e);
  const lines = [...text.matchAll(/in [\w]+\(\): ([^\n]+)/g)].map((m) => m[1]!.trim());
  return lines.length ? lines[lines.length - 1]! : text.split('\n')[0]!.trim();
}

export type Hdf5Layout = 'mintpy-timeseries' | 'mintpy-velocity' | 'licsbas-cum';

export interface Hdf5Options {
  /** Radar wavelength (m) for LOS -> phase; overrides the file's WAVELENGTH (default: the file's, else Sentinel-1 C band). */
  readonly wavelengthM?: number;
  /** velocity.h5: 'span' = displacement over START_DATE..END_DATE (default), 'year' = over one year. */
  readonly velocityAs?: 'span' | 'year';
}

/** A crop in north-up pixel coordinates: columns col0..col1-1, rows row0..row1-1. */
export interface PixelCrop {
  readonly col0: number;
  readonly row0: number;
  readonly col1: number;
  readonly row1: number;
}

/** An opened HDF5 time series (or a velocity as a two-epoch series). Close it when done. */
export interface Hdf5Series {
  readonly file: string;
  readonly layout: Hdf5Layout;
  readonly width: number;
  readonly height: number;
  /** North-up lon/lat grid: outer corner of the top-left pixel and the steps (dLat < 0). */
  readonly geo: GeoReference;
  /** Acquisition dates (ISO yyyy-mm-dd), in file order; a velocity has [start, end]. */
  readonly dates: readonly string[];
  readonly wavelengthM: number;
  readonly wavelengthFrom: 'file' | 'option' | 'default';
  /** The unit the file states (or its layout's), e.g. 'm', 'mm', 'm/year'. */
  readonly unit: string;
  /** Things the user should know (wavelength assumed, dates not in order, ...). */
  readonly notes: string[];
  /** LOS displacement (metres, + toward the satellite) at epoch i relative to the file's reference, row 0 north; NaN = no data. */
  epochM(i: number, crop?: PixelCrop): Float32Array;
  close(): void;
}

const LENGTH_UNITS: Readonly<Record<string, number>> = { m: 1, meter: 1, meters: 1, metre: 1, metres: 1, cm: 0.01, mm: 0.001 };

/** Metres per unit of a length unit ('m', 'cm', 'mm'), or per unit per year ('m/year', 'mm/yr'). */
export function unitScale(unit: string, perYear: boolean): number | null {
  const u = unit.trim().toLowerCase().replace(/\s+/g, '');
  const m = /^([a-z]+)(?:\/(?:year|yr|y|a))?$/.exec(u);
  if (!m) return null;
  const isRate = u.includes('/');
  if (isRate !== perYear) return null;
  return LENGTH_UNITS[m[1]!] ?? null;
}

/** 'YYYYMMDD' (string or number) as ISO yyyy-mm-dd, or null. */
export function isoFromCompact(v: unknown): string | null {
  const s = typeof v === 'number' || typeof v === 'bigint' ? String(v) : typeof v === 'string' ? v.trim() : '';
  const m = /^(\d{4})(\d{2})(\d{2})(?:T.*)?$/.exec(s);
  if (!m) return null;
  const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3]);
  const t = new Date(Date.UTC(y, mo - 1, d));
  if (y < 1990 || y > 2100 || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) return null;
  return `${m[1]}-${m[2]}-${m[3]}`;
}

/** Days from a to b (ISO dates). */
export function daysBetween(a: string, b: string): number {
  return (Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86400000;
}

function attrValue(f: H5File | H5Dataset, name: string): unknown {
  const attrs = f.attrs;
  const key = Object.keys(attrs).find((k) => k === name) ?? Object.keys(attrs).find((k) => k.toLowerCase() === name.toLowerCase());
  if (!key) return undefined;
  let v: unknown = attrs[key]!.value;
  if (Array.isArray(v) && v.length === 1) v = v[0];
  if (ArrayBuffer.isView(v) && (v as unknown as ArrayLike<number>).length === 1) v = (v as unknown as ArrayLike<number>)[0];
  return typeof v === 'bigint' ? Number(v) : v;
}

function attrString(f: H5File | H5Dataset, name: string): string | undefined {
  const v = attrValue(f, name);
  if (v === undefined || v === null) return undefined;
  return String(v).trim();
}

function attrNumber(f: H5File | H5Dataset, name: string, file: string): number | undefined {
  const v = attrValue(f, name);
  if (v === undefined || v === null || v === '') return undefined;
  const x = typeof v === 'number' ? v : Number(String(v).trim());
  if (!Number.isFinite(x)) throw new InputError(`${file}: attribute ${name} = '${String(v)}' is not a number`);
  return x;
}

/** A scalar dataset (LiCSBAS corner_lat ...), as a number. */
function scalarDataset(f: H5File, name: string, file: string): number | undefined {
  if (!f.keys().includes(name)) return undefined;
  const d = f.get(name) as H5Dataset;
  let v: unknown = d.value;
  if (ArrayBuffer.isView(v)) v = (v as unknown as ArrayLike<number>)[0];
  if (Array.isArray(v)) v = v[0];
  const x = typeof v === 'bigint' ? Number(v) : Number(v);
  if (!Number.isFinite(x)) throw new InputError(`${file}: dataset ${name} is not a number`);
  return x;
}

function datasetOf(f: H5File, name: string, file: string, rank: number): H5Dataset {
  const e = f.get(name);
  if (!e || !(e instanceof Object) || !('shape' in e)) throw new InputError(`${file}: '${name}' is not a dataset`);
  const d = e as H5Dataset;
  const shape = d.shape ?? [];
  if (shape.length !== rank) throw new InputError(`${file}: dataset '${name}' has shape [${shape.join(', ')}]; expected ${rank} dimensions`);
  // HDF5 type classes: 0 integer, 1 float.
  const cls = d.metadata.type;
  if (cls !== 0 && cls !== 1) throw new InputError(`${file}: dataset '${name}' holds ${String(d.dtype)}, not numbers`);
  return d;
}

function datesOf(f: H5File, name: string, file: string, n: number): string[] {
  if (!f.keys().includes(name)) throw new InputError(`${file}: no '${name}' dataset (the acquisition dates)`);
  const raw = (f.get(name) as H5Dataset).value;
  const list: unknown[] = ArrayBuffer.isView(raw) ? Array.from(raw as unknown as ArrayLike<number>) : Array.isArray(raw) ? raw : [raw];
  if (list.length !== n) throw new InputError(`${file}: '${name}' has ${list.length} dates for ${n} epochs`);
  return list.map((v, i) => {
    const iso = isoFromCompact(v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v);
    if (!iso) throw new InputError(`${file}: date ${i} of '${name}' is '${String(v)}', not YYYYMMDD`);
    return iso;
  });
}

interface Grid {
  geo: GeoReference;
  /** Rows stored south-up (flip when reading). */
  flip: boolean;
}

function mintpyGrid(f: H5File, file: string, width: number, height: number): Grid {
  const x0 = attrNumber(f, 'X_FIRST', file), y0 = attrNumber(f, 'Y_FIRST', file);
  const dx = attrNumber(f, 'X_STEP', file), dy = attrNumber(f, 'Y_STEP', file);
  if (x0 === undefined || y0 === undefined || dx === undefined || dy === undefined) {
    const missing = ['X_FIRST', 'Y_FIRST', 'X_STEP', 'Y_STEP'].filter((k) => attrValue(f, k) === undefined).join(', ');
    throw new InputError(`${file}: no geocoding (attribute${missing.includes(',') ? 's' : ''} ${missing} missing): the file is in radar coordinates; ` +
      'geocode it first (MintPy: geocode.py)');
  }
  const xUnit = (attrString(f, 'X_UNIT') ?? 'degrees').toLowerCase();
  const epsg = attrString(f, 'EPSG');
  if (!xUnit.startsWith('deg') || (epsg && epsg !== '4326')) {
    throw new InputError(`${file}: grid in ${epsg ? `EPSG:${epsg}` : xUnit} (projected); caldera reads lat/lon grids (geocode to EPSG:4326)`);
  }
  return gridFromEdges(file, x0, y0, dx, dy, width, height);
}

function gridFromEdges(file: string, west: number, y0: number, dx: number, dy: number, width: number, height: number): Grid {
  if (!(dx > 0) || dy === 0 || !Number.isFinite(dy)) throw new InputError(`${file}: pixel steps ${dx} x ${dy} deg; expected a positive longitude step and a non-zero latitude step`);
  const flip = dy > 0;
  const north = flip ? y0 + height * dy : y0;
  const dLat = flip ? -dy : dy;
  if (Math.abs(north) > 90.001 || Math.abs(north + height * dLat) > 90.001 || Math.abs(west) > 360) {
    throw new InputError(`${file}: geocoding puts the grid at lon ${west}, lat ${north}, outside the globe (not degrees?)`);
  }
  return { geo: { west, north, dLon: dx, dLat, crs: 'EPSG:4326' }, flip };
}

function licsbasGrid(f: H5File, file: string, width: number, height: number): Grid {
  const lat = scalarDataset(f, 'corner_lat', file), lon = scalarDataset(f, 'corner_lon', file);
  const dLat = scalarDataset(f, 'post_lat', file), dLon = scalarDataset(f, 'post_lon', file);
  if (lat === undefined || lon === undefined || dLat === undefined || dLon === undefined) {
    const missing = ['corner_lat', 'corner_lon', 'post_lat', 'post_lon'].filter((k) => !f.keys().includes(k)).join(', ');
    throw new InputError(`${file}: no geocoding (dataset${missing.includes(',') ? 's' : ''} ${missing} missing): LiCSBAS writes them when the ` +
      'interferograms are geocoded; use the geocoded (GEOCml*) products');
  }
  // corner_lat/lon are the first pixel's centre (grid registration): the outer corner is half a step out.
  return gridFromEdges(file, lon - dLon / 2, lat - dLat / 2, dLon, dLat, width, height);
}

function detectLayout(f: H5File, file: string): Hdf5Layout {
  const keys = f.keys();
  if (keys.includes('timeseries')) return 'mintpy-timeseries';
  if (keys.includes('cum')) return 'licsbas-cum';
  if (keys.includes('velocity')) return 'mintpy-velocity';
  const type = attrString(f, 'FILE_TYPE');
  throw new InputError(`${file}: neither a MintPy time series / velocity (dataset 'timeseries' or 'velocity') nor a LiCSBAS cum.h5 (dataset 'cum')` +
    `${type ? ` (FILE_TYPE ${type})` : ''}; datasets: ${keys.slice(0, 12).join(', ') || 'none'}`);
}

function toFloat32(v: unknown, file: string, name: string): Float32Array {
  if (v instanceof Float32Array) return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const a = v as unknown as ArrayLike<number | bigint>;
    const out = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = Number(a[i]!);
    return out;
  }
  throw new InputError(`${file}: cannot read '${name}' as numbers`);
}

/**
 * Open a MintPy timeseries.h5 / velocity.h5 or a LiCSBAS cum.h5 / cum_filt.h5 and check it:
 * layout, shapes, dates, geocoding, unit, wavelength. InputError for anything wrong with the file.
 */
export async function openHdf5Series(file: string, opts: Hdf5Options = {}): Promise<Hdf5Series> {
  const name = path.basename(file);
  if (!fs.existsSync(file)) throw new InputError(`${file}: no such file`);
  if (!isHdf5File(file)) throw new InputError(`${name}: not an HDF5 file (no HDF5 signature)`);
  if (opts.wavelengthM !== undefined && !(opts.wavelengthM > 0.001 && opts.wavelengthM < 1)) {
    throw new InputError(`wavelength must be in metres (0.001..1), got ${opts.wavelengthM}`);
  }
  const h5 = await h5wasm();
  let f: H5File;
  try {
    f = new h5.File(path.resolve(file), 'r');
  } catch (e) {
    throw new InputError(`${name}: cannot open as HDF5 (${hdf5Reason(e)})`, { cause: e });
  }
  try {
    return describe(f, file, name, opts);
  } catch (e) {
    f.close();
    if (e instanceof InputError) throw e;
    throw new InputError(`${name}: cannot read (${hdf5Reason(e)})`, { cause: e });
  }
}

function describe(f: H5File, file: string, name: string, opts: Hdf5Options): Hdf5Series {
  const layout = detectLayout(f, name);
  const notes: string[] = [];
  const dsName = layout === 'mintpy-timeseries' ? 'timeseries' : layout === 'licsbas-cum' ? 'cum' : 'velocity';
  const ds = datasetOf(f, dsName, name, layout === 'mintpy-velocity' ? 2 : 3);
  const shape = ds.shape!;
  const [height, width] = layout === 'mintpy-velocity' ? [shape[0]!, shape[1]!] : [shape[1]!, shape[2]!];
  const nEpochs = layout === 'mintpy-velocity' ? 2 : shape[0]!;
  if (width < 1 || height < 1 || nEpochs < 1) throw new InputError(`${name}: dataset '${dsName}' is empty`);
  for (const [k, v] of [['LENGTH', height], ['WIDTH', width]] as const) {
    const stated = attrNumber(f, k, name);
    if (stated !== undefined && stated !== v) throw new InputError(`${name}: attribute ${k} = ${stated} but '${dsName}' has ${v}`);
  }
  const grid = layout === 'licsbas-cum' ? licsbasGrid(f, name, width, height) : mintpyGrid(f, name, width, height);

  // Unit: the dataset's attribute, then the file's, then the layout's.
  const stated = attrString(ds, 'UNIT') ?? attrString(ds, 'units') ?? attrString(f, 'UNIT');
  const unit = stated ?? (layout === 'licsbas-cum' ? 'mm' : layout === 'mintpy-velocity' ? 'm/year' : 'm');
  const scale = unitScale(unit, layout === 'mintpy-velocity');
  if (scale === null) {
    const ok = layout === 'mintpy-velocity' ? 'm/year, cm/year, mm/year' : 'm, cm, mm';
    throw new InputError(`${name}: unknown unit '${unit}' for '${dsName}' (expected ${ok})`);
  }

  let dates: string[];
  let factor = scale;
  if (layout === 'mintpy-velocity') {
    const start = isoFromCompact(attrString(f, 'START_DATE'));
    const end = isoFromCompact(attrString(f, 'END_DATE'));
    if ((opts.velocityAs ?? 'span') === 'span') {
      if (!start || !end) throw new InputError(`${name}: no START_DATE / END_DATE attributes to turn the velocity into a displacement; read it per year instead`);
      if (!(end > start)) throw new InputError(`${name}: END_DATE ${end} is not after START_DATE ${start}`);
      dates = [start, end];
      factor = scale * (daysBetween(start, end) / 365.25);
    } else {
      const s = start ?? '2000-01-01';
      const e = new Date(Date.parse(`${s}T00:00:00Z`) + 365 * 86400000).toISOString().slice(0, 10);
      dates = [s, e];
      notes.push(`${name}: velocity read as the displacement over one year${start ? '' : ' (no START_DATE; dates are nominal)'}`);
    }
  } else {
    dates = datesOf(f, layout === 'licsbas-cum' ? 'imdates' : 'date', name, nEpochs);
  }

  const fileWl = attrNumber(f, 'WAVELENGTH', name);
  let wavelengthM: number;
  let wavelengthFrom: Hdf5Series['wavelengthFrom'];
  if (opts.wavelengthM !== undefined) {
    wavelengthM = opts.wavelengthM;
    wavelengthFrom = 'option';
    if (fileWl !== undefined && Math.abs(fileWl - wavelengthM) > 1e-4 * wavelengthM) notes.push(`${name}: WAVELENGTH ${fileWl} m in the file; its LOS displacement is converted to phase at ${wavelengthM} m`);
  } else if (fileWl !== undefined) {
    if (!(fileWl > 0.001 && fileWl < 1)) throw new InputError(`${name}: WAVELENGTH = ${fileWl}, not a radar wavelength in metres; give the wavelength as an option`);
    wavelengthM = fileWl;
    wavelengthFrom = 'file';
  } else {
    wavelengthM = C_BAND_WAVELENGTH_M;
    wavelengthFrom = 'default';
    notes.push(`${name}: no WAVELENGTH; Sentinel-1 C band (${C_BAND_WAVELENGTH_M} m) assumed`);
  }

  const epochM = (i: number, crop?: PixelCrop): Float32Array => {
    if (!Number.isInteger(i) || i < 0 || i >= nEpochs) throw new RangeError(`epoch ${i} of ${nEpochs}`);
    const c = crop ?? { col0: 0, row0: 0, col1: width, row1: height };
    const col0 = Math.max(0, c.col0), col1 = Math.min(width, c.col1);
    const row0 = Math.max(0, c.row0), row1 = Math.min(height, c.row1);
    const w = Math.max(0, col1 - col0), h = Math.max(0, row1 - row0);
    const out = new Float32Array(w * h);
    if (w === 0 || h === 0) return out;
    if (layout === 'mintpy-velocity' && i === 0) return out;
    // File rows of the north-up rows row0..row1-1.
    const fr0 = grid.flip ? height - row1 : row0, fr1 = grid.flip ? height - row0 : row1;
    let raw: Float32Array;
    try {
      const sl = layout === 'mintpy-velocity'
        ? ds.slice([[fr0, fr1], [col0, col1]])
        : ds.slice([[i, i + 1], [fr0, fr1], [col0, col1]]);
      raw = toFloat32(sl, name, dsName);
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(`${name}: cannot read epoch ${i} of '${dsName}' (${hdf5Reason(e)})`, { cause: e });
    }
    if (raw.length !== w * h) throw new InputError(`${name}: read ${raw.length} values of '${dsName}' for a ${w}x${h} crop`);
    for (let r = 0; r < h; r++) {
      const src = grid.flip ? h - 1 - r : r;
      for (let x = 0; x < w; x++) out[r * w + x] = raw[src * w + x]! * factor;
    }
    return out;
  };

  for (let i = 1; i < dates.length; i++) {
    if (dates[i]! <= dates[i - 1]!) { notes.push(`${name}: dates are not in increasing order (${dates[i - 1]} then ${dates[i]})`); break; }
  }
  let closed = false;
  return {
    file, layout, width, height, geo: grid.geo, dates, wavelengthM, wavelengthFrom, unit, notes, epochM,
    close: () => { if (!closed) { closed = true; f.close(); } },
  };
}

/** The files of a product made from an HDF5 series (for reports: the id, dates, source file). */
export function hdf5ProductFiles(series: Pick<Hdf5Series, 'file'>, dates: readonly [string, string], id?: string): ProductFiles {
  const base = path.basename(series.file);
  return {
    id: id ?? `${base}/${dates[0].replace(/-/g, '')}_${dates[1].replace(/-/g, '')}`,
    prefix: series.file, hdf5: series.file, dates: [dates[0], dates[1]], frame: null,
  };
}

/**
 * A product (as `io/licsar.ts` reads GeoTIFFs) from LOS metres on a grid: unwrapped phase by the
 * LiCSAR convention at `wavelengthM`, wrapped phase, NaN masked as no data. Every pixel no data:
 * InputError, unless `allowEmpty` (a scan reports such a product as having no valid pixels).
 */
export function productFromLos(
  losM: Float32Array, width: number, height: number, geo: GeoReference, files: ProductFiles, wavelengthM: number, notes: string[] = [],
  opts: { readonly allowEmpty?: boolean } = {},
): Product {
  const n = width * height;
  if (losM.length !== n) throw new RangeError(`LOS has ${losM.length} values for ${width}x${height}`);
  const unwrapped = losToPhaseArray(losM, { wavelengthM });
  const wrapped = new Float32Array(n);
  const mask = new Uint8Array(n);
  let masked = 0;
  for (let i = 0; i < n; i++) {
    const v = unwrapped[i]!;
    if (Number.isFinite(v)) wrapped[i] = wrapPhase(v);
    else { wrapped[i] = NaN; unwrapped[i] = NaN; mask[i] = MASK_NODATA; masked++; }
  }
  if (masked === n && !opts.allowEmpty) throw new InputError(`${files.id}: every pixel is no data`);
  return {
    id: files.id, files, width, height, geo, wrappedRad: wrapped, unwrappedRad: unwrapped, coherence: null, mask,
    maskedFraction: masked / n, minCoherence: 0, source: 'los-metres', notes,
  };
}

/** The grid of a crop of the series (north-up pixel crop). */
export function cropGeo(geo: GeoReference, crop: PixelCrop): GeoReference {
  return { ...geo, west: geo.west + crop.col0 * geo.dLon, north: geo.north + crop.row0 * geo.dLat };
}

/**
 * The displacement between epochs i and j (LOS metres, epoch j minus epoch i) as a product, over
 * the whole grid or a crop. An epoch pair of a velocity is (0, 1).
 */
export function seriesProduct(series: Hdf5Series, i: number, j: number, opts: { crop?: PixelCrop; id?: string; allowEmpty?: boolean } = {}): Product {
  const a = series.epochM(i, opts.crop);
  const b = series.epochM(j, opts.crop);
  const los = new Float32Array(b.length);
  for (let k = 0; k < los.length; k++) los[k] = b[k]! - a[k]!;
  const c = opts.crop
    ? { col0: Math.max(0, opts.crop.col0), row0: Math.max(0, opts.crop.row0), col1: Math.min(series.width, opts.crop.col1), row1: Math.min(series.height, opts.crop.row1) }
    : { col0: 0, row0: 0, col1: series.width, row1: series.height };
  const dates: [string, string] = [series.dates[i]!, series.dates[j]!];
  return productFromLos(los, c.col1 - c.col0, c.row1 - c.row0, cropGeo(series.geo, c), hdf5ProductFiles(series, dates, opts.id), series.wavelengthM, [...series.notes],
    opts.allowEmpty ? { allowEmpty: true } : {});
}

export interface ReadHdf5ProductOptions extends Hdf5Options {
  /** Two dates (ISO or YYYYMMDD) of a time series: the displacement from the first to the second. Default: first to last epoch. */
  readonly dates?: readonly [string, string];
  /** Every pixel no data: a product entirely masked instead of an InputError. */
  readonly allowEmpty?: boolean;
}

/**
 * One product from an HDF5 file, for `scan` and `predict`: a velocity as the displacement over
 * its span (or a year), a time series as the displacement from its first to its last epoch (or
 * between two given dates).
 */
export async function readHdf5Product(file: string, opts: ReadHdf5ProductOptions = {}): Promise<Product> {
  const s = await openHdf5Series(file, opts);
  try {
    let i = 0, j = s.dates.length - 1;
    if (opts.dates) {
      const want = opts.dates.map((d) => isoFromCompact(d.replace(/-/g, '')));
      if (!want[0] || !want[1]) throw new InputError(`dates must be YYYYMMDD or yyyy-mm-dd, got ${opts.dates.join(', ')}`);
      i = s.dates.indexOf(want[0]);
      j = s.dates.indexOf(want[1]);
      if (i < 0 || j < 0) throw new InputError(`${path.basename(file)}: has no epoch ${i < 0 ? want[0] : want[1]} (epochs ${s.dates[0]} .. ${s.dates[s.dates.length - 1]})`);
    }
    if (i === j) throw new InputError(`${path.basename(file)}: a displacement needs two different epochs (the file has ${s.dates.length})`);
    return seriesProduct(s, i, j, opts.allowEmpty ? { allowEmpty: true } : {});
  } finally {
    s.close();
  }
}

export interface CBandProductOptions {
  /** The product's files as discovery named them (`io/licsar.ts`: its id and frame); the dates are the file's. */
  readonly files?: ProductFiles;
  /**
   * Threshold of the coherence that will mask the product (default 0.3): HDF5 files carry no
   * coherence, so `scan` masks them by coherence estimated from the phase (data/coherence-mask.ts).
   */
  readonly minCoherence?: number;
  /** Every pixel no data: a product entirely masked instead of an InputError. */
  readonly allowEmpty?: boolean;
}

/**
 * An HDF5 file as the network takes it, for `scan` and `predict`: `readHdf5Product`'s displacement
 * (a velocity over its span, a time series from its first to its last epoch) as C-band phase
 * whatever the satellite's band (LOS displacement does not depend on the wavelength, and C band is
 * what the network was trained on), with a note saying what was read.
 */
export async function readHdf5CBandProduct(file: string, opts: CBandProductOptions = {}): Promise<Product> {
  const minCoherence = minCoherenceOf(opts);
  const p = await readHdf5Product(file, { wavelengthM: C_BAND_WAVELENGTH_M, ...(opts.allowEmpty ? { allowEmpty: true } : {}) });
  const dates = p.files.dates;
  const files: ProductFiles = opts.files ? { ...opts.files, hdf5: file, dates } : p.files;
  const span = dates ? ` (${dates[0]} to ${dates[1]})` : '';
  return { ...p, id: files.id, files, minCoherence, notes: [...p.notes, `${path.basename(file)}: LOS displacement${span} read from HDF5 as C-band phase`] };
}

// ---------------------------------------------------------------------------------------------
// Writing (synthetic series as LiCSBAS / MintPy would write them; tests)

export interface WriteSeriesInput {
  readonly width: number;
  readonly height: number;
  /** North-up grid (outer corner of the top-left pixel). */
  readonly geo: Pick<GeoReference, 'west' | 'north' | 'dLon' | 'dLat'>;
  /** ISO dates, one per epoch. */
  readonly dates: readonly string[];
  /** LOS metres (+ toward the satellite) per epoch, relative to the first, row 0 north; NaN = no data. */
  readonly epochsM: readonly Float32Array[];
  readonly wavelengthM?: number;
}

const compact = (d: string): string => d.replace(/-/g, '');

/** Write a series as a LiCSBAS cum.h5 ('licsbas': cum in mm, imdates, corner/post) or a MintPy timeseries.h5 ('mintpy'). */
export async function writeHdf5Series(file: string, layout: 'licsbas' | 'mintpy', s: WriteSeriesInput): Promise<void> {
  const n = s.dates.length;
  if (s.epochsM.length !== n) throw new RangeError(`${s.epochsM.length} epochs for ${n} dates`);
  const px = s.width * s.height;
  const cube = new Float32Array(n * px);
  const k = layout === 'licsbas' ? 1000 : 1;
  s.epochsM.forEach((e, i) => {
    if (e.length !== px) throw new RangeError(`epoch ${i} has ${e.length} values, expected ${px}`);
    for (let j = 0; j < px; j++) cube[i * px + j] = e[j]! * k;
  });
  const h5 = await h5wasm();
  const tmp = `${file}.tmp-${process.pid}`;
  const f = new h5.File(path.resolve(tmp), 'w');
  try {
    if (layout === 'licsbas') {
      f.create_dataset({ name: 'cum', data: cube, shape: [n, s.height, s.width], chunks: [1, s.height, s.width], compression: 'gzip', compression_opts: 1 });
      f.create_dataset({ name: 'imdates', data: new Int32Array(s.dates.map((d) => Number(compact(d)))) });
      f.create_dataset({ name: 'corner_lat', data: s.geo.north + s.geo.dLat / 2 });
      f.create_dataset({ name: 'corner_lon', data: s.geo.west + s.geo.dLon / 2 });
      f.create_dataset({ name: 'post_lat', data: s.geo.dLat });
      f.create_dataset({ name: 'post_lon', data: s.geo.dLon });
    } else {
      f.create_dataset({ name: 'timeseries', data: cube, shape: [n, s.height, s.width], chunks: [1, s.height, s.width] });
      f.create_dataset({ name: 'date', data: s.dates.map(compact), dtype: 'S8' });
      const attrs: Record<string, string> = {
        FILE_TYPE: 'timeseries', UNIT: 'm', LENGTH: String(s.height), WIDTH: String(s.width),
        X_FIRST: String(s.geo.west), Y_FIRST: String(s.geo.north), X_STEP: String(s.geo.dLon), Y_STEP: String(s.geo.dLat),
        X_UNIT: 'degrees', Y_UNIT: 'degrees', REF_DATE: compact(s.dates[0]!),
        START_DATE: compact(s.dates[0]!), END_DATE: compact(s.dates[n - 1]!),
        WAVELENGTH: String(s.wavelengthM ?? C_BAND_WAVELENGTH_M),
      };
      for (const [a, v] of Object.entries(attrs)) f.create_attribute(a, v);
    }
  } finally {
    f.close();
  }
  fs.renameSync(tmp, file);
}
