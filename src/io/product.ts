/**
 * Products without a file system: what `licsar.ts` (Node: folders and files) and the web page
 * (files dropped in a browser) share, so both pair layers, read rasters and mask them with the
 * same code. Layer names and pairing by prefix (dates and LiCSAR frame from the path), decoding a
 * layer's GeoTIFF bytes with its checks (georeference, one band, north-up), and the product from
 * its layers: one grid checked, wrapped and unwrapped phase, coherence as 0..1, the mask.
 *
 * Masking. A pixel is masked when any layer has no data there, when a phase layer or the
 * coherence is exactly 0, or when coherence < `minCoherence`. The default 0.3 is chosen for
 * Sentinel-1 interferograms multilooked to ~100 m (LiCSAR: 20 x 4 looks): the Cramer-Rao phase
 * std sqrt((1 - g^2) / (2 L g^2)) (Rodriguez & Martin 1992) is ~0.5 rad at g = 0.3 with L = 20
 * looks, and rises fast below that (0.8 rad at 0.2, near-uniform noise at 0.1); and coherence
 * estimated in small windows is biased upward, so pure noise reads 0.1-0.25 and 0.3 sits above
 * that floor. Gaddes et al. (2021) gave their network masked (not noisy) incoherent areas.
 *
 * Pure: no file system, no printing; every problem is an InputError naming the file.
 */
import { wrapPhase } from '../core/raster.js';
import { checkWavelengthM, losToPhaseArray, rescalePhaseArray, C_BAND_WAVELENGTH_M, M_PER_DEG } from '../physics/units.js';
import type { IfgLayers } from '../core/layers.js';
import { InputError } from '../core/errors.js';
import { decodeGeoTiff, type GeoReference, type GeoTiffRead, type Reprojector } from './geotiff-decode.js';
import { maxAbs } from '../core/arrays.js';
import { checkInterferogramValues } from './value-sanity.js';

/** Default coherence threshold (see the module comment for why 0.3). */
export const DEFAULT_MIN_COHERENCE = 0.3;

/** Bits of `Product.mask` (non-zero = masked). */
export const MASK_NODATA = 1;
export const MASK_INCOHERENT = 2;
export const MASK_ZERO = 4;

export type LayerKind = 'unw' | 'diff_pha' | 'cc' | 'raster';

/**
 * What the values of a plain single-band raster are: unwrapped phase in radians, or LOS
 * displacement (positive toward the satellite) in metres or millimetres (LiCSBAS works in mm).
 */
export type RasterUnits = 'rad' | 'm' | 'mm';
export const RASTER_UNITS: readonly RasterUnits[] = ['rad', 'm', 'mm'];

/**
 * A note when a raster's largest |value| looks like other units than those given (LOS metres
 * read as radians, millimetres as metres...), else null. The values are still used as told.
 */
export function unitsNote(name: string, maxAbsValue: number, units: RasterUnits): string | null {
  const big = maxAbsValue;
  if (!(big > 0)) return null;
  if (units === 'm' && big > 20) return `${name}: LOS values up to ${big.toFixed(1)} "metres"; are these millimetres or radians? (--units mm or rad)`;
  if (units === 'mm' && big < 0.5) return `${name}: LOS values only up to ${big.toPrecision(2)} "mm"; if these are metres, pass --units m`;
  if (units === 'rad' && big < 0.5) return `${name}: values only up to ${big.toPrecision(2)} rad; if this is LOS displacement in metres, pass --units m (mm: --units mm)`;
  return null;
}

/** LOS displacement in `units` ('m' or 'mm') as metres (a new array for mm). */
export function losMetres(data: Float32Array, units: 'm' | 'mm'): Float32Array {
  return units === 'mm' ? data.map((v) => v / 1000) : data;
}

/**
 * The checks of `io/value-sanity.ts` for a phase or LOS layer (InputError on values no
 * interferogram has: ±Infinity, byte-swapped or wildly scaled floats). A layer with nothing but
 * no-data is let through: masking reports it (no valid pixels).
 */
export function checkLayerValues(data: Float32Array, name: string, units: RasterUnits): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isNaN(data[i]!)) {
      checkInterferogramValues(data, name, units);
      return;
    }
  }
}

/** The files of one product, grouped by their common prefix. */
export interface ProductFiles {
  /** Short name for reports: `FRAME/YYYYMMDD_YYYYMMDD` when the path names a LiCSAR frame, else the file prefix. */
  readonly id: string;
  /** Directory + name without the layer suffix. */
  readonly prefix: string;
  readonly unw?: string;
  readonly diffPha?: string;
  readonly cc?: string;
  /** A single-band raster without a LiCSAR layer suffix (LOS metres or phase radians by `units`). */
  readonly raster?: string;
  /**
   * A MintPy (`velocity.h5`, `timeseries.h5`) or LiCSBAS (`cum.h5`, `cum_filt.h5`) file: a product
   * by itself (`io/hdf5.ts`), its dates read from the file (null until then).
   */
  readonly hdf5?: string;
  /** Primary and secondary acquisition dates (ISO yyyy-mm-dd) from the name, when it has them. */
  readonly dates: readonly [string, string] | null;
  /** LiCSAR frame id (e.g. 083D_12636_131313) when the path has one. */
  readonly frame: string | null;
}

export interface DiscoveryProblem {
  readonly path: string;
  readonly message: string;
}

export interface Discovery {
  readonly products: ProductFiles[];
  /** Paths that do not exist or cannot be used (the scan reports them as failures). */
  readonly problems: DiscoveryProblem[];
  /** Files seen in folders but not used (other LiCSAR layers, previews), for a verbose listing. */
  readonly ignored: string[];
}

export interface DiscoverOptions {
  /**
   * 'm': single-band rasters without a LiCSAR suffix are LOS displacement in metres and are picked
   * up from folders too. 'rad' (default): such rasters are unwrapped phase, used only when named
   * explicitly (a LiCSAR folder also holds DEMs and LOS-vector layers that are not interferograms).
   */
  readonly units?: RasterUnits;
  /**
   * HDF5 files (`.h5`, `.hdf5`, `.he5`: MintPy / LiCSBAS, `io/hdf5.ts`) are products too, named or
   * found in folders (`scan`; default false: `monitor` watches them as time series of their own).
   */
  readonly hdf5?: boolean;
}

const LAYER_SUFFIX: readonly [RegExp, LayerKind][] = [
  [/\.(?:geo\.)?unw\.tiff?$/i, 'unw'],
  [/\.(?:geo\.)?diff_pha\.tiff?$/i, 'diff_pha'],
  [/\.(?:geo\.)?cc\.tiff?$/i, 'cc'],
];

/** LiCSAR layers that are not interferograms (heights, LOS unit vectors, amplitude, unfiltered phase...). */
const OTHER_LICSAR = /\.geo\.[a-z_]+\.tiff?$/i;

/** Classify a file name: a LiCSAR layer, another LiCSAR layer (null), or a plain raster. */
export function layerOf(fileName: string): { kind: LayerKind; prefix: string } | { kind: null; reason: string } {
  for (const [re, kind] of LAYER_SUFFIX) {
    const m = re.exec(fileName);
    if (m) return { kind, prefix: fileName.slice(0, m.index) };
  }
  if (OTHER_LICSAR.test(fileName)) {
    return { kind: null, reason: 'a LiCSAR layer that is not an interferogram (expected .geo.unw/.diff_pha/.cc.tif)' };
  }
  if (/\.tiff?$/i.test(fileName)) return { kind: 'raster', prefix: fileName.replace(/\.tiff?$/i, '') };
  return { kind: null, reason: 'not a GeoTIFF (.tif)' };
}

function isoDate(s: string): string | null {
  const y = Number(s.slice(0, 4)), m = Number(s.slice(4, 6)), d = Number(s.slice(6, 8));
  if (y < 1990 || y > 2100 || m < 1 || m > 12 || d < 1 || d > 31) return null;
  const t = new Date(Date.UTC(y, m - 1, d));
  if (t.getUTCMonth() !== m - 1 || t.getUTCDate() !== d) return null;
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`;
}

/** Acquisition dates `YYYYMMDD_YYYYMMDD` from a path (the file name first, then its folders), in time order. */
export function datesFromName(p: string): [string, string] | null {
  const parts = p.split(/[\\/]/).reverse();
  for (const part of parts) {
    const re = /(?<!\d)(\d{8})[_-](\d{8})(?!\d)/g;
    for (let m = re.exec(part); m; m = re.exec(part)) {
      const a = isoDate(m[1]!), b = isoDate(m[2]!);
      if (a && b) return a <= b ? [a, b] : [b, a];
    }
  }
  return null;
}

/** LiCSAR frame id (track, burst id, swaths: e.g. 083D_12636_131313) in a path, or null. */
export function frameFromPath(p: string): string | null {
  const m = /(?<![0-9A-Za-z])(\d{3}[AD]_\d{5}_\d{6})(?![0-9])/.exec(p);
  return m ? m[1]! : null;
}

/**
 * The path operations pairing needs: Node's `path` module for files on disk (`licsar.ts`), or
 * `namePaths` for the '/'-separated names of files dropped in a browser.
 */
export interface PathOps {
  basename(p: string): string;
  dirname(p: string): string;
  join(...parts: string[]): string;
  /** A key that is the same for two spellings of one path. */
  resolve(p: string): string;
  /** A short name for a prefix, when two products would share an id. */
  relative(from: string, to: string): string;
}

/** Path operations on '/'-separated relative names (a browser's files and folders). */
export const namePaths: PathOps = {
  basename: (p) => p.slice(p.lastIndexOf('/') + 1),
  dirname: (p) => (p.lastIndexOf('/') > 0 ? p.slice(0, p.lastIndexOf('/')) : p.startsWith('/') ? '/' : '.'),
  join: (...parts) => parts.filter((q) => q !== '' && q !== '.').join('/').replace(/\/{2,}/g, '/') || '.',
  resolve: (p) => p.split('/').filter((q) => q !== '' && q !== '.').join('/'),
  relative: (_from, to) => to,
};

/**
 * Pairing layers into products by their common prefix: files are added one by one (`explicit`:
 * named by the user, rather than found in a folder), then `products()` groups them. A product may
 * have any subset of unw / diff_pha / cc, but at least one phase layer; coherence-only groups,
 * second files of one layer and explicit files that are not interferogram layers are `problems`;
 * other files found in folders are `ignored`.
 */
export class ProductPairing {
  readonly problems: DiscoveryProblem[] = [];
  readonly ignored: string[] = [];
  private readonly groups = new Map<string, { unw?: string; diffPha?: string; cc?: string; raster?: string; hdf5?: string }>();
  private readonly units: RasterUnits;

  constructor(private readonly paths: PathOps = namePaths, opts: DiscoverOptions = {}) {
    this.units = opts.units ?? 'rad';
  }

  add(file: string, explicit: boolean): void {
    const path = this.paths;
    const base = path.basename(file);
    const l = layerOf(base);
    if (l.kind === null) {
      if (explicit) this.problems.push({ path: file, message: `${base}: ${l.reason}` });
      else this.ignored.push(file);
      return;
    }
    if (l.kind === 'raster' && !explicit && this.units === 'rad') {
      this.ignored.push(file);
      return;
    }
    const prefix = path.join(path.dirname(file), l.prefix);
    const key = path.resolve(prefix) + (l.kind === 'raster' ? '#raster' : '');
    const g = this.groups.get(key) ?? {};
    const slot = l.kind === 'diff_pha' ? 'diffPha' : l.kind;
    if (g[slot] && path.resolve(g[slot]!) !== path.resolve(file)) {
      this.problems.push({ path: file, message: `${base}: a second ${l.kind} file for ${l.prefix} (also ${g[slot]})` });
      return;
    }
    g[slot] = file;
    this.groups.set(key, g);
  }

  /** An HDF5 file (MintPy / LiCSBAS, `io/hdf5.ts`): a product by itself, its dates in the file. */
  addHdf5(file: string): void {
    this.groups.set(`${this.paths.resolve(file)}#hdf5`, { hdf5: file });
  }

  /** The products (sorted by id; ids made unique), after every file was added. */
  products(cwd = '.'): ProductFiles[] {
    const path = this.paths;
    const products: ProductFiles[] = [];
    for (const [key, g] of this.groups) {
      if (g.hdf5) {
        // Id: the file's name (cum.h5, velocity.h5), under its LiCSAR frame when the path names one.
        const frame = frameFromPath(g.hdf5);
        const name = path.basename(g.hdf5);
        products.push({ id: frame ? `${frame}/${name}` : name, prefix: g.hdf5, hdf5: g.hdf5, dates: null, frame });
        continue;
      }
      const prefix = key.replace(/#raster$/, '');
      const first = g.unw ?? g.diffPha ?? g.raster ?? g.cc!;
      if (!g.unw && !g.diffPha && !g.raster) {
        this.problems.push({ path: first, message: `${path.basename(first)}: coherence only; no .unw.tif or .diff_pha.tif with the same prefix` });
        continue;
      }
      const dates = datesFromName(first);
      const frame = frameFromPath(first);
      const name = path.basename(prefix).replace(/\.geo$/i, '');
      const id = frame && !name.includes(frame) ? `${frame}/${name}` : name;
      products.push({ id, prefix, ...g, dates, frame });
    }
    // Ids must be unique in a report: fall back to the relative path where two share one.
    const count = new Map<string, number>();
    for (const p of products) count.set(p.id, (count.get(p.id) ?? 0) + 1);
    const unique = products.map((p) => (count.get(p.id)! > 1 ? { ...p, id: path.relative(cwd, p.prefix) || p.id } : p));
    unique.sort((a, b) => a.id.localeCompare(b.id));
    return unique;
  }
}

/** Pair named files (all `explicit`, e.g. files a user dropped) into products: `discoverProducts` without a file system. */
export function pairFiles(files: readonly { name: string; explicit?: boolean }[], opts: DiscoverOptions = {}): Discovery {
  const pairing = new ProductPairing(namePaths, opts);
  for (const f of files) pairing.add(f.name, f.explicit ?? true);
  const products = pairing.products();
  return { products, problems: pairing.problems, ignored: pairing.ignored };
}

export interface ReadProductOptions {
  /** Units of a plain single-band raster: 'rad' unwrapped phase (default), 'm' or 'mm' LOS displacement. */
  readonly units?: RasterUnits;
  /** Pixels with coherence below this are masked (default DEFAULT_MIN_COHERENCE = 0.3). */
  readonly minCoherence?: number;
  /**
   * Radar wavelength (m) of the product's phase (default Sentinel-1 C band). The product's phase
   * layers are always C-band phase, what the network and the training scenes use: unwrapped phase
   * of another wavelength (L band: ALOS-2, NISAR) is rescaled through LOS (phi_C = phi lambda /
   * lambda_C) and the wrapped phase made from it; wrapped phase alone cannot be rescaled and is
   * refused. LOS rasters (units m, mm) do not depend on it.
   */
  readonly wavelengthM?: number;
  /**
   * Return a product whose every pixel is masked instead of failing (default false): a scan
   * reports such a product as having no valid pixels rather than as a bad file.
   */
  readonly allowEmpty?: boolean;
}

/** One interferogram in memory, on its own lon/lat grid. */
/**
 * A real product's layers (`core/layers.ts`): wrapped phase (diff_pha, or the unwrapped phase
 * wrapped), unwrapped phase (LiCSAR sign; null when only wrapped phase is given), coherence (null
 * without a cc layer), mask bits MASK_NODATA | MASK_INCOHERENT | MASK_ZERO.
 */
export interface Product extends IfgLayers {
  readonly id: string;
  readonly files: ProductFiles;
  readonly geo: GeoReference;
  readonly maskedFraction: number;
  readonly minCoherence: number;
  /**
   * What masked low coherence: the .cc file, the coherence estimated from the wrapped phase
   * (data/coherence-mask.ts), both, or nothing. Absent: 'file' when `coherence` is set, else 'none'.
   */
  readonly coherenceSource?: 'file' | 'phase' | 'file+phase' | 'none';
  /** What the phase came from. */
  readonly source: 'licsar' | 'los-metres' | 'phase-radians';
  /** Things a user should know (coherence rescaled, values that look like the wrong units...). */
  readonly notes: string[];
}

function sameGrid(a: GeoTiffRead, b: GeoTiffRead): boolean {
  if (a.raster.width !== b.raster.width || a.raster.height !== b.raster.height) return false;
  const ga = a.geo!, gb = b.geo!;
  const tol = 0.01; // of a pixel
  return Math.abs(ga.west - gb.west) <= tol * Math.abs(ga.dLon) && Math.abs(ga.north - gb.north) <= tol * Math.abs(ga.dLat) &&
    Math.abs(ga.dLon - gb.dLon) <= 1e-6 * Math.abs(ga.dLon) && Math.abs(ga.dLat - gb.dLat) <= 1e-6 * Math.abs(ga.dLat);
}

function describeGrid(r: GeoTiffRead): string {
  const g = r.geo!;
  return `${r.raster.width}x${r.raster.height} from (${g.west.toFixed(5)}, ${g.north.toFixed(5)}) step ${g.dLon.toPrecision(6)}`;
}

/**
 * Decode one layer's GeoTIFF bytes (`name` for messages): single band, georeferenced, on a
 * geographic, north-up grid; InputError otherwise. With a `reprojector` (Node: `geotiff.ts`'s,
 * proj4), a projected grid it knows (WGS84 UTM, Web Mercator) is reprojected to lon/lat instead.
 */
export async function decodeLayer(bytes: Uint8Array, name: string, reprojector?: Reprojector): Promise<GeoTiffRead> {
  let r: GeoTiffRead;
  try {
    r = await decodeGeoTiff(bytes, name, { reproject: reprojector !== undefined }, reprojector);
  } catch (e) {
    const msg = (e as Error).message;
    if (/has no georeference/.test(msg)) {
      throw new InputError(`${name}: has no georeference (no geotransform); boxes cannot be placed on the map. ` +
        'Export it as a GeoTIFF on a lon/lat grid (EPSG:4326)', { cause: e });
    }
    const m = /has (\d+) bands/.exec(msg);
    if (!m) throw e;
    throw new InputError(`${name}: has ${m[1]} bands; products are single-band rasters ` +
      '(extract the band you mean, e.g. gdal_translate -b 1 in.tif out.tif)', { cause: e });
  }
  const g = r.geo!;
  if (g.dLon < 0 || g.dLat > 0) {
    throw new InputError(`${name}: grid is not north-up (pixel ${g.dLon} x ${g.dLat}); warp it to a north-up EPSG:4326 grid`);
  }
  return r;
}

function maxFinite(a: Float32Array): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i]! > m) m = a[i]!;
  return m;
}

/** Coherence as 0..1: uint8 (or values above 1) are read as 0..255. */
function normaliseCoherence(r: GeoTiffRead, name: string, notes: string[]): Float32Array {
  const d = r.raster.data;
  const max = maxFinite(d);
  let min = Infinity;
  for (let i = 0; i < d.length; i++) if (d[i]! < min) min = d[i]!;
  if (min < -1e-6) throw new InputError(`${name}: coherence has negative values (down to ${min}); expected 0..1 or 0..255`);
  const bytes = (r.sampleFormat !== 'float' && r.bitsPerSample === 8) || max > 1.0001;
  if (!bytes) return d;
  if (max > 255.0001) throw new InputError(`${name}: coherence values up to ${max}; expected 0..1 or 0..255`);
  notes.push(`${name}: coherence stored as 0..255, divided by 255`);
  const out = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = d[i]! / 255;
  return out;
}

/** The coherence threshold of `opts` (default 0.3), checked: InputError unless within 0..1. */
export function minCoherenceOf(opts: ReadProductOptions): number {
  const minCoherence = opts.minCoherence ?? DEFAULT_MIN_COHERENCE;
  if (!(minCoherence >= 0 && minCoherence <= 1)) throw new InputError(`min coherence must be within 0..1, got ${minCoherence}`);
  return minCoherence;
}

/**
 * The options of `opts` checked before any file is read (InputError): the coherence threshold,
 * the units and the wavelength.
 */
export function checkReadOptions(opts: ReadProductOptions): { minCoherence: number; units: RasterUnits; wavelengthM: number } {
  const minCoherence = minCoherenceOf(opts);
  const units = opts.units ?? 'rad';
  if (!(RASTER_UNITS as readonly string[]).includes(units)) throw new InputError(`units must be rad, m or mm, got '${String(units)}'`);
  const wavelengthM = checkWavelengthM(opts.wavelengthM ?? C_BAND_WAVELENGTH_M);
  return { minCoherence, units, wavelengthM };
}

/** A product's decoded layers (`decodeLayer`), by kind. */
export interface ProductLayers {
  readonly unw?: GeoTiffRead;
  readonly diffPha?: GeoTiffRead;
  readonly cc?: GeoTiffRead;
  readonly raster?: GeoTiffRead;
}

/**
 * A product from its decoded layers (`files` names them, `paths.basename` shortens the names in
 * messages): check they share one grid, and build its mask. InputError when the layers are on
 * different grids, or every pixel is masked (unless `allowEmpty`).
 */
export function productFromLayers(files: ProductFiles, read: ProductLayers, opts: ReadProductOptions = {}, paths: Pick<PathOps, 'basename'> = namePaths): Product {
  const { minCoherence, units, wavelengthM } = checkReadOptions(opts);
  const otherBand = Math.abs(wavelengthM - C_BAND_WAVELENGTH_M) > 1e-9;
  const notes: string[] = [];
  const layers: [string, GeoTiffRead][] = [];
  const take = (f: string | undefined, r: GeoTiffRead | undefined): GeoTiffRead | null => {
    if (!f) return null;
    if (!r) throw new Error(`${paths.basename(f)}: layer not decoded`);
    layers.push([f, r]);
    return r;
  };
  const unw = take(files.unw, read.unw);
  const pha = take(files.diffPha, read.diffPha);
  const cc = take(files.cc, read.cc);
  const plain = take(files.raster, read.raster);
  if (layers.length === 0) throw new InputError(`${files.id}: no layer to read`);
  for (const [f, r] of layers) {
    if (r.reprojectedFrom) {
      const m = Math.abs(r.geo!.dLat) * M_PER_DEG;
      notes.push(`${paths.basename(f)}: ${r.reprojectedFrom} grid reprojected to lon/lat (nearest neighbour, ${m.toFixed(0)} m pixels)`);
    }
  }
  // Values no interferogram has (±Infinity, byte-swapped or ×1e30 floats) are refused in one line.
  if (unw) checkLayerValues(unw.raster.data, paths.basename(files.unw!), 'rad');
  if (pha) checkLayerValues(pha.raster.data, paths.basename(files.diffPha!), 'rad');
  if (plain) checkLayerValues(plain.raster.data, paths.basename(files.raster!), units);
  if (otherBand && pha && !unw && !(plain && units === 'rad')) {
    throw new InputError(`${paths.basename(files.diffPha!)}: wrapped phase at wavelength ${wavelengthM} m cannot be rescaled to the C-band phase ` +
      'the network knows; give the unwrapped phase (.unw.tif) too');
  }
  const [firstFile, first] = layers[0]!;
  for (const [f, r] of layers.slice(1)) {
    if (!sameGrid(first, r)) {
      throw new InputError(`${paths.basename(f)}: grid ${describeGrid(r)} differs from ${paths.basename(firstFile)} (${describeGrid(first)}); ` +
        'resample the layers to one grid');
    }
  }
  const { width, height } = first.raster;
  const n = width * height;
  const geo = first.geo!;

  let unwrapped: Float32Array | null = null;
  let wrapped: Float32Array;
  let source: Product['source'] = 'licsar';
  if (plain) {
    const name = paths.basename(files.raster!);
    const d = plain.raster.data;
    const big = maxAbs(d);
    const note = unitsNote(name, big, units);
    if (note) notes.push(note);
    if (units !== 'rad') {
      source = 'los-metres';
      // LOS does not depend on the wavelength: straight to the C-band phase the network knows.
      unwrapped = losToPhaseArray(losMetres(d, units), { wavelengthM: C_BAND_WAVELENGTH_M });
    } else {
      source = 'phase-radians';
      unwrapped = rescalePhaseArray(d, wavelengthM);
    }
  } else if (unw) {
    unwrapped = rescalePhaseArray(unw.raster.data, wavelengthM);
  }
  if (otherBand && unwrapped) notes.push(`phase at wavelength ${wavelengthM} m rescaled to C-band phase (x${(wavelengthM / C_BAND_WAVELENGTH_M).toFixed(3)}), what the network was trained on`);
  if (pha && otherBand) {
    notes.push(`${paths.basename(files.diffPha!)}: wrapped phase not used (it cannot be rescaled to C band); wrapped from the rescaled unwrapped phase`);
    wrapped = new Float32Array(n);
    for (let i = 0; i < n; i++) wrapped[i] = wrapPhase(unwrapped![i]!);
  } else if (pha) {
    wrapped = pha.raster.data;
    const big = maxAbs(wrapped);
    if (big > Math.PI + 0.01) notes.push(`${paths.basename(files.diffPha!)}: wrapped phase reaches ${big.toFixed(2)} rad (> pi); wrapped again`);
    if (big > Math.PI + 0.01) wrapped = wrapped.map((v) => wrapPhase(v));
  } else {
    wrapped = new Float32Array(n);
    for (let i = 0; i < n; i++) wrapped[i] = wrapPhase(unwrapped![i]!);
  }
  const coherence = cc ? normaliseCoherence(cc, paths.basename(files.cc!), notes) : null;

  const mask = new Uint8Array(n);
  let masked = 0;
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (const [, r] of layers) if (Number.isNaN(r.raster.data[i]!)) m |= MASK_NODATA;
    if ((pha && pha.raster.data[i] === 0) || (unwrapped && unwrapped[i] === 0)) m |= MASK_ZERO;
    if (coherence) {
      const c = coherence[i]!;
      if (c === 0) m |= MASK_ZERO;
      else if (c < minCoherence) m |= MASK_INCOHERENT;
    }
    mask[i] = m;
    if (m) masked++;
  }
  const what = [files.unw, files.diffPha, files.cc, files.raster].filter(Boolean).map((f) => paths.basename(f!)).join(', ');
  if (masked === n && !opts.allowEmpty) {
    const why = coherence ? `no data, zero, or coherence below ${minCoherence}` : 'no data or zero';
    throw new InputError(`${files.id} (${what}): every pixel is masked (${why})`);
  }
  return {
    id: files.id, files, width, height, geo,
    wrappedRad: wrapped, unwrappedRad: unwrapped, coherence, mask,
    maskedFraction: masked / n, minCoherence, coherenceSource: coherence ? 'file' : 'none', source, notes,
  };
}

/** Lon/lat of the product's outer corners and its centre. */
export function productExtent(p: Pick<Product, 'width' | 'height' | 'geo'>): { west: number; east: number; south: number; north: number } {
  const { west, north, dLon, dLat } = p.geo;
  return { west, north, east: west + p.width * dLon, south: north + p.height * dLat };
}

/** Product pixel (col, row) (fractional, 0.5 = centre of the first pixel) of a lon/lat point. */
export function lonLatToPixel(p: Pick<Product, 'geo'>, lon: number, lat: number): [number, number] {
  return [(lon - p.geo.west) / p.geo.dLon, (lat - p.geo.north) / p.geo.dLat];
}

/** Lon/lat of a product pixel position (fractional, as `lonLatToPixel`). */
export function pixelToLonLat(p: Pick<Product, 'geo'>, col: number, row: number): [number, number] {
  return [p.geo.west + col * p.geo.dLon, p.geo.north + row * p.geo.dLat];
}
