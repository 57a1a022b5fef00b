/**
 * Labelled real interferograms (the role VolcNet plays in Gaddes et al. 2021): a folder of samples,
 * each a crop of one product's rasters with its label. Labels are in lon/lat, so they survive any
 * re-cropping or resampling:
 *
 *   DIR/samples/<id>/sample.json     label and provenance (format caldera-real/1, below)
 *   DIR/samples/<id>/unw.tif         unwrapped phase, rad (when the product had it)
 *   DIR/samples/<id>/diff_pha.tif    wrapped phase, rad (when the product had it)
 *   DIR/samples/<id>/cc.tif          coherence 0..1 (when the product had it)
 *
 * The rasters are the product's own pixels (an integer-pixel crop, float32 GeoTIFF, NaN = no
 * data, EPSG:4326), not resampled and not masked: the mask is rebuilt when read, with the
 * coherence threshold of the day. One sample per product and place: adding it again replaces it.
 *
 * For training, `loadRealTraining` cuts each sample once into a window a little larger than the
 * model input around its centre, and `next`/`epoch` give augmented examples (augment.ts) in the
 * shape `toExample` gives synthetic ones, so the two can be mixed batch by batch.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../core/rng.js';
import { InputError } from '../core/errors.js';
import { writeGeoTiff } from '../io/geotiff.js';
import { oneLine, readInputTextSync } from '../io/input-file.js';
import { ensureWritableDir, writeFileAtomicSync } from '../io/atomic.js';
import { productExtent, readProduct, type Product, type ProductFiles } from '../io/licsar.js';
import { type CentreBox } from '../core/box.js';
import { CLASS_NAMES, type ClassName } from '../core/classes.js';
import { makeChannels, type ChannelFormat } from './channels.js';
import type { Example } from './inputs.js';
import {
  augmentLayers, balancedPlan, randomAugmentation, sourceSizeFor, sourceToOutput, transformBox,
  type Augmentation, type SquareLayers,
} from './augment.js';
import { lonLatToWindow, resampleWindow, MODEL_SIZE_PX, MODEL_SPACING_M, type LonLat, type LonLatBox } from './windows.js';

export const REAL_FORMAT = 'caldera-real/1';
const KM_PER_DEG = 111.195;

export interface SampleSource {
  readonly kind: 'cli' | 'episode';
  /** Episode id and file, for labels from an episode file. */
  readonly episode?: string;
  readonly file?: string;
}

/** sample.json */
export interface RealSampleMeta {
  readonly format: typeof REAL_FORMAT;
  readonly id: string;
  /** Product id and the files it was cut from. */
  readonly product: string;
  readonly sourceFiles: Record<string, string>;
  /** Rasters of this sample, relative to its folder. */
  readonly files: { readonly unw?: string; readonly diffPha?: string; readonly cc?: string };
  readonly className: ClassName;
  /** [west, south, east, north], null for class none. */
  readonly box: LonLatBox | null;
  /** Outline of the deformation [[lon, lat], ...] when known (episode polygons), else null. */
  readonly polygon: [number, number][] | null;
  readonly dates: readonly [string, string] | null;
  readonly frame: string | null;
  readonly volcano: { readonly name: string; readonly lon: number; readonly lat: number } | null;
  /** Training windows are cut around this point [lon, lat]. */
  readonly centre: [number, number];
  /** The crop's extent. */
  readonly crop: { readonly west: number; readonly south: number; readonly east: number; readonly north: number; readonly width: number; readonly height: number };
  readonly source: SampleSource;
  readonly note?: string;
  readonly addedAt: string;
}

export interface NewLabel {
  readonly className: ClassName;
  readonly box?: LonLatBox | null;
  readonly polygon?: [number, number][] | null;
  readonly volcano?: { readonly name: string; readonly lon: number; readonly lat: number } | null;
  /** Where training windows are centred; default the volcano, else the box centre, else the product centre. */
  readonly centre?: LonLat | null;
  /** Side of the stored crop, km (default 40: room for any rotation of a 20 km window); 0 = whole product. */
  readonly cropKm?: number;
  readonly source?: SampleSource;
  readonly note?: string;
}

/** Parse 'lon0,lat0,lon1,lat1' (any two opposite corners) into [west, south, east, north]. */
export function parseLonLatBox(s: string): LonLatBox {
  const v = s.split(',').map((t) => Number(t.trim()));
  if (v.length !== 4 || !v.every(Number.isFinite)) throw new InputError(`expected a box lon0,lat0,lon1,lat1 in degrees, got '${s}'`);
  const [a, b, c, d] = v as [number, number, number, number];
  if (Math.abs(b) > 90 || Math.abs(d) > 90) throw new InputError(`box '${s}': latitudes must be within -90..90 (order is lon,lat,lon,lat)`);
  if (a === c || b === d) throw new InputError(`box '${s}' has no area`);
  return [Math.min(a, c), Math.min(b, d), Math.max(a, c), Math.max(b, d)];
}

/** Bounding box of a lon/lat polygon. */
export function polygonBounds(poly: readonly (readonly [number, number])[]): LonLatBox {
  const lons = poly.map((p) => p[0]), lats = poly.map((p) => p[1]);
  return [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
}

function safe(s: string): string {
  return s.replace(/[\\/]+/g, '_').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '');
}

/** The folder name of a sample: product and place, so re-labelling the same thing replaces it. */
export function sampleId(productId: string, centre: LonLat, volcano: string | null): string {
  const place = volcano ? safe(volcano) : `${centre.lon.toFixed(3)}_${centre.lat.toFixed(3)}`;
  return `${safe(productId)}__${place}`;
}

/**
 * Integer-pixel crop [c0, r0, c1, r1) of a product covering `km` around a point and the box (with
 * 2 km to spare), clipped to the product.
 */
function cropWindow(p: Product, centre: LonLat, km: number, box: LonLatBox | null): [number, number, number, number] {
  if (km <= 0) return [0, 0, p.width, p.height];
  const halfLat = km / 2 / KM_PER_DEG;
  const cosLat = Math.cos((centre.lat * Math.PI) / 180);
  const halfLon = halfLat / cosLat;
  let [w, s, e, n] = [centre.lon - halfLon, centre.lat - halfLat, centre.lon + halfLon, centre.lat + halfLat];
  if (box) {
    const padLat = 2 / KM_PER_DEG, padLon = padLat / cosLat;
    [w, s, e, n] = [Math.min(w, box[0] - padLon), Math.min(s, box[1] - padLat), Math.max(e, box[2] + padLon), Math.max(n, box[3] + padLat)];
  }
  const c0 = Math.max(0, Math.floor((w - p.geo.west) / p.geo.dLon));
  const c1 = Math.min(p.width, Math.ceil((e - p.geo.west) / p.geo.dLon));
  const r0 = Math.max(0, Math.floor((n - p.geo.north) / p.geo.dLat));
  const r1 = Math.min(p.height, Math.ceil((s - p.geo.north) / p.geo.dLat));
  return [c0, r0, c1, r1];
}

function cropArray(a: Float32Array, width: number, [c0, r0, c1, r1]: [number, number, number, number]): Float32Array {
  const w = c1 - c0;
  const out = new Float32Array(w * (r1 - r0));
  for (let r = r0; r < r1; r++) out.set(a.subarray(r * width + c0, r * width + c1), (r - r0) * w);
  return out;
}

/**
 * Add one labelled sample (a crop of `p`) to the dataset in `dir`. Checks the label: dyke and sill
 * need a box inside the product, none has none. Returns the sample's metadata; `replaced` tells
 * whether a sample with the same id existed.
 */
export async function addSample(dir: string, p: Product, label: NewLabel): Promise<{ meta: RealSampleMeta; replaced: boolean }> {
  if (!(CLASS_NAMES as readonly string[]).includes(label.className)) {
    throw new InputError(`unknown class '${label.className}' (expected ${CLASS_NAMES.join(', ')})`);
  }
  const e = productExtent(p);
  const box = label.box ?? (label.polygon ? polygonBounds(label.polygon) : null);
  if (label.className === 'none' && box) throw new InputError('class none takes no box');
  if (label.className !== 'none') {
    if (!box) throw new InputError(`class ${label.className} needs a box (lon0,lat0,lon1,lat1)`);
    if (box[2] <= e.west || box[0] >= e.east || box[3] <= e.south || box[1] >= e.north) {
      throw new InputError(`${p.id}: box ${box.map((v) => v.toFixed(4)).join(',')} lies outside the product ` +
        `(lon ${e.west.toFixed(4)}..${e.east.toFixed(4)}, lat ${e.south.toFixed(4)}..${e.north.toFixed(4)})`);
    }
  }
  const centre: LonLat = label.centre ?? (label.volcano ? { lon: label.volcano.lon, lat: label.volcano.lat } : null) ??
    (box ? { lon: (box[0] + box[2]) / 2, lat: (box[1] + box[3]) / 2 } : { lon: (e.west + e.east) / 2, lat: (e.south + e.north) / 2 });
  if (centre.lon < e.west || centre.lon > e.east || centre.lat < e.south || centre.lat > e.north) {
    throw new InputError(`${p.id}: centre ${centre.lon.toFixed(4)}, ${centre.lat.toFixed(4)}${label.volcano ? ` (${label.volcano.name})` : ''} is outside the product`);
  }
  const cropKm = label.cropKm ?? 40;
  const win = cropWindow(p, centre, cropKm, box);
  const [c0, r0, c1, r1] = win;
  if (c1 - c0 < 2 || r1 - r0 < 2) throw new InputError(`${p.id}: the crop around ${centre.lon}, ${centre.lat} is empty`);
  const id = sampleId(p.id, centre, label.volcano?.name ?? null);
  const folder = path.join(dir, 'samples', id);
  const replaced = fs.existsSync(path.join(folder, 'sample.json'));
  ensureWritableDir(folder);
  const geo = { west: p.geo.west + c0 * p.geo.dLon, north: p.geo.north + r0 * p.geo.dLat, dLon: p.geo.dLon, dLat: p.geo.dLat };
  const w = c1 - c0, h = r1 - r0;
  const files: { unw?: string; diffPha?: string; cc?: string } = {};
  const write = async (name: string, a: Float32Array): Promise<void> => {
    await writeGeoTiff(path.join(folder, name), { width: w, height: h, data: cropArray(a, p.width, win) }, geo, { compression: 'deflate', nodata: NaN });
  };
  if (p.unwrappedRad) { await write('unw.tif', p.unwrappedRad); files.unw = 'unw.tif'; }
  if (p.files.diffPha || !p.unwrappedRad) { await write('diff_pha.tif', p.wrappedRad); files.diffPha = 'diff_pha.tif'; }
  if (p.coherence) { await write('cc.tif', p.coherence); files.cc = 'cc.tif'; }
  const sourceFiles: Record<string, string> = {};
  for (const k of ['unw', 'diffPha', 'cc', 'raster'] as const) if (p.files[k]) sourceFiles[k] = path.resolve(p.files[k]!);
  const meta: RealSampleMeta = {
    format: REAL_FORMAT, id, product: p.id, sourceFiles, files,
    className: label.className, box, polygon: label.polygon ?? null,
    dates: p.files.dates, frame: p.files.frame, volcano: label.volcano ?? null,
    centre: [centre.lon, centre.lat],
    crop: { west: geo.west, north: geo.north, east: geo.west + w * geo.dLon, south: geo.north + h * geo.dLat, width: w, height: h },
    source: label.source ?? { kind: 'cli' },
    ...(label.note ? { note: label.note } : {}),
    addedAt: new Date().toISOString(),
  };
  writeFileAtomicSync(path.join(folder, 'sample.json'), JSON.stringify(meta, null, 1) + '\n');
  return { meta, replaced };
}

/** Every sample's metadata in `dir`, sorted by id. InputError when the folder holds no dataset. */
export function listSamples(dir: string): RealSampleMeta[] {
  const root = path.join(dir, 'samples');
  if (!fs.existsSync(root)) throw new InputError(`${dir}: not a labelled real dataset (no samples/ folder; add samples with caldera label)`);
  const out: RealSampleMeta[] = [];
  for (const id of fs.readdirSync(root).sort()) {
    const f = path.join(root, id, 'sample.json');
    if (!fs.existsSync(f)) continue;
    let m: RealSampleMeta;
    try {
      m = JSON.parse(readInputTextSync(f, { maxBytes: 16 << 20 })) as RealSampleMeta;
    } catch (e) {
      throw new InputError(`${f}: corrupt (${oneLine((e as Error).message)})`, { cause: e });
    }
    if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new InputError(`${f}: corrupt (not a JSON object)`);
    if (m.format !== REAL_FORMAT) throw new InputError(`${f}: format '${String(m.format)}', expected ${REAL_FORMAT}`);
    out.push(m);
  }
  return out;
}

/** Read a sample's rasters back as a product (mask rebuilt with `minCoherence`). */
export async function readSample(dir: string, m: RealSampleMeta, minCoherence?: number): Promise<Product> {
  const folder = path.join(dir, 'samples', m.id);
  const f = (k: 'unw' | 'diffPha' | 'cc') => (m.files[k] ? { [k]: path.join(folder, m.files[k]!) } : {});
  const files: ProductFiles = { id: m.id, prefix: folder, ...f('unw'), ...f('diffPha'), ...f('cc'), dates: m.dates, frame: m.frame };
  return readProduct(files, minCoherence === undefined ? {} : { minCoherence });
}

// ---------------------------------------------------------------------------------------------
// Training examples

/** A sample cut once into a source window for augmentation. */
export interface PreparedSample {
  readonly meta: RealSampleMeta;
  readonly classIndex: number;
  /** Source window (side sourceSizeFor(size)) around the sample centre, at the model's pixel size. */
  readonly layers: SquareLayers;
  /** Box and outline in source-window pixels, null for class none. */
  readonly box: CentreBox | null;
  readonly outline: [number, number][] | null;
}

export interface RealTrainingOptions {
  readonly format: ChannelFormat;
  /** Model input side (default 224) and pixel size (default 90 m). */
  readonly size?: number;
  readonly spacingM?: number;
  readonly minCoherence?: number;
  /** Largest translation, pixels (default 20). */
  readonly maxShift?: number;
  /**
   * Flip the phase sign of half the augmented examples (default true), as the synthetic feeder
   * does: processors disagree on the sign, and sources inflate and deflate.
   */
  readonly randomSign?: boolean;
}

export interface RealTrainingSet {
  readonly samples: readonly PreparedSample[];
  /** Samples per class, in CLASS_NAMES order. */
  readonly counts: readonly number[];
  /** One augmented example of a class-balanced random sample. */
  next(rng: Rng): Example;
  /**
   * Example number `i` of stream `seed`: the same (seed, i) always gives the same sample and
   * augmentation (Rng.stream), whatever was drawn before - for request-driven feeders and resumes.
   */
  exampleAt(seed: number, i: number): Example & { readonly sampleId: string };
  /** A class-balanced epoch: round(factor x largest class) augmented examples per class, shuffled (the paper: ~89 per sample). */
  epoch(rng: Rng, factor: number): Generator<Example>;
  /** One example of sample `k` with a given augmentation and phase sign (for tests and pictures). */
  example(k: number, a: Augmentation, sign?: 1 | -1): Example;
}

function toSource(m: RealSampleMeta, g: { centre: LonLat; size: number; spacingM: number }): { box: CentreBox | null; outline: [number, number][] | null } {
  if (!m.box) return { box: null, outline: null };
  const [w, s, e, n] = m.box;
  const [x0, y0] = lonLatToWindow(g, w, n);
  const [x1, y1] = lonLatToWindow(g, e, s);
  const box: CentreBox = { x: (x0 + x1) / 2, y: (y0 + y1) / 2, halfWidth: Math.abs(x1 - x0) / 2, halfHeight: Math.abs(y1 - y0) / 2 };
  const outline = m.polygon ? m.polygon.map(([lon, lat]) => lonLatToWindow(g, lon, lat)) : null;
  return { box, outline };
}

/**
 * Why the samples of a labelled real dataset cannot feed channel format `format`, or null: real
 * samples carry no DEM (formats with a DEM channel), some may have only wrapped phase (formats
 * with unwrapped phase) or no coherence. Reads only the samples' metadata, so a long job (a
 * study, a training run) can check this before it starts.
 */
export function realFormatProblem(metas: readonly RealSampleMeta[], format: ChannelFormat): string | null {
  if (format.includes('d') || format === 'rid') return `channel format ${format} needs a DEM; real samples carry none yet`;
  const wrappedOnly = metas.find((m) => !m.files.unw);
  if (format.includes('u') && wrappedOnly) return `${wrappedOnly.id}: has only wrapped phase; channel format ${format} needs unwrapped phase`;
  const noCoherence = metas.find((m) => !m.files.cc);
  if (format.includes('c') && noCoherence) return `${noCoherence.id}: has no coherence; channel format ${format} needs it`;
  return null;
}

/** Cut every sample of `dir` for augmentation. InputError when a sample cannot feed `format`. */
export async function loadRealTraining(dir: string, opts: RealTrainingOptions): Promise<RealTrainingSet> {
  const size = opts.size ?? MODEL_SIZE_PX;
  const spacingM = opts.spacingM ?? MODEL_SPACING_M;
  const maxShift = opts.maxShift ?? 20;
  const srcSize = sourceSizeFor(size, maxShift);
  const metas = listSamples(dir);
  if (metas.length === 0) throw new InputError(`${dir}: the labelled real dataset has no samples`);
  const samples: PreparedSample[] = [];
  const problem = realFormatProblem(metas, opts.format);
  if (problem) throw new InputError(problem);
  for (const m of metas) {
    const p = await readSample(dir, m, opts.minCoherence);
    const g = { centre: { lon: m.centre[0], lat: m.centre[1] }, size: srcSize, spacingM };
    const w = resampleWindow(p, g);
    samples.push({
      meta: m, classIndex: CLASS_NAMES.indexOf(m.className),
      layers: { width: srcSize, height: srcSize, wrappedRad: w.wrappedRad, unwrappedRad: w.unwrappedRad, coherence: w.coherence, mask: w.mask },
      ...toSource(m, g),
    });
  }
  const counts = CLASS_NAMES.map((c) => samples.filter((s) => s.meta.className === c).length);
  const example = (k: number, a: Augmentation, sign: 1 | -1 = 1): Example => {
    const s = samples[k]!;
    const l = augmentLayers(s.layers, a, size);
    const x = makeChannels({ width: size, height: size, phaseRad: l.unwrappedRad ?? l.wrappedRad, coherence: l.coherence ?? undefined, mask: l.mask }, opts.format, { sign });
    if (!s.box) return { x, classIndex: s.classIndex, box: [0, 0, 0, 0], hasBox: false };
    const outline = s.outline ? s.outline.map(([px, py]) => [px - (srcSize - size) / 2, py - (srcSize - size) / 2] as [number, number]) : undefined;
    const b = transformBox(a, size, sourceToOutput(s.box, srcSize, size), outline);
    return { x, classIndex: s.classIndex, box: [b.x / size, b.y / size, b.halfWidth / size, b.halfHeight / size], hasBox: true };
  };
  const byClass = CLASS_NAMES.map((c) => samples.map((s, i) => [s, i] as const).filter(([s]) => s.meta.className === c).map(([, i]) => i));
  const present = byClass.filter((v) => v.length > 0);
  const randomSign = opts.randomSign ?? true;
  const draw = (rng: Rng, k: number): Example => {
    const a = randomAugmentation(rng, { maxShift });
    return example(k, a, randomSign && rng.chance(0.5) ? -1 : 1);
  };
  return {
    samples, counts,
    example: (k, a, sign) => example(k, a, sign ?? 1),
    next: (rng) => draw(rng, rng.pick(rng.pick(present))),
    exampleAt: (seed, i) => {
      const rng = Rng.stream(seed, i);
      const k = rng.pick(rng.pick(present));
      return { ...draw(rng, k), sampleId: samples[k]!.meta.id };
    },
    epoch: function* (rng, factor) {
      for (const k of balancedPlan(samples.map((s) => s.meta.className), factor, rng)) yield draw(rng, k);
    },
  };
}
