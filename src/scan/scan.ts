/**
 * Scanning real products: cut model-sized windows (around given points, or overlapping windows
 * over a whole frame), run the two-headed network on them, and turn its outputs into
 * geo-referenced detections: class, probabilities, the box in window pixels, product pixels and
 * lon/lat. Overlapping windows are merged by non-maximum suppression (data/nms.ts).
 *
 * The network is injected as one function (`ScanModel`), so the windowing, merging and geometry
 * are tested with a fake model and the CLI plugs in the trained one (model-adapter.ts).
 */
import { InputError, isInputError } from '../core/errors.js';
import { discoverProducts, readProduct, type DiscoverOptions, type Product, type ReadProductOptions } from '../io/licsar.js';
import { makeChannels, type ChannelFormat } from '../data/channels.js';
import { centrality, nonMaxSuppression, type Rect } from './nms.js';
import {
  cutWindow, lonLatBoxToPixels, resampleWindow, scanGrid, windowBoxCorners, windowBoxToLonLat,
  DEFAULT_WINDOW_KM, MODEL_SIZE_PX, type LonLat, type LonLatBox, type PixelBox, type Window,
} from '../data/windows.js';
import type { CentreBox } from '../core/box.js';
import type { Detector, ModelOutput } from './detector.js';
import { CLASS_NAMES, NONE_CLASS, type ClassName } from '../core/classes.js';
import { argmax } from '../core/arrays.js';

export interface ScanOptions {
  /**
   * Cut one window around each point; none = scan the whole frame. A point marked `optional`
   * (e.g. every listed volcano inside the product) whose window is entirely masked is skipped
   * instead of failing the product.
   */
  readonly at?: readonly ScanPoint[];
  /** Window ground size, km (default 20.16 = 224 x 90 m). */
  readonly sizeKm?: number;
  /** Frame scan: overlap between neighbouring windows (default 0.5). */
  readonly overlap?: number;
  /** Frame scan: skip windows with less than this share of valid pixels (default 0.2). */
  readonly minValid?: number;
  /** Frame scan: keep detections whose class probability is at least this (default 0.5). */
  readonly minScore?: number;
  /** NMS IoU threshold (default 0.3). */
  readonly iou?: number;
  /** Called after each batch of windows. */
  readonly onProgress?: (done: number, total: number) => void;
}

export type ScanPoint = LonLat & { readonly name?: string; readonly optional?: boolean };

/** One window's prediction. */
export interface WindowPrediction {
  readonly centre: LonLat;
  readonly name?: string | undefined;
  readonly spacingM: number;
  readonly maskedFraction: number;
  readonly className: ClassName;
  readonly classIndex: number;
  /** Probabilities in CLASS_NAMES order. */
  readonly probs: readonly number[];
  /** Box in window pixels (null for class none). */
  readonly boxWindow: CentreBox | null;
  /** Box corners in lon/lat (NW, NE, SE, SW), null for class none. */
  readonly polygon: [number, number][] | null;
  readonly boxLonLat: LonLatBox | null;
  /** Box in the product's pixels (GDAL convention, fractional), null for class none. */
  readonly boxPixels: PixelBox | null;
}

/** A merged detection of deformation (class dyke or sill). */
export interface Detection extends WindowPrediction {
  readonly className: 'dyke' | 'sill';
  readonly boxWindow: CentreBox;
  readonly polygon: [number, number][];
  readonly boxLonLat: LonLatBox;
  readonly boxPixels: PixelBox;
  /** Probability of the detected class. */
  readonly score: number;
}

export interface SceneResult {
  readonly product: Product;
  readonly mode: 'point' | 'frame';
  readonly model: string;
  readonly format: ChannelFormat;
  readonly sizeKm: number;
  /** Windows run through the model. */
  readonly windowCount: number;
  /** Frame mode: windows skipped as mostly masked. */
  readonly skippedWindows: number;
  /** Point mode: one per point. Frame mode: every window (for pictures and debugging). */
  readonly predictions: WindowPrediction[];
  /** Deformation found: point-mode predictions that are not `none`, or frame detections after NMS. */
  readonly detections: Detection[];
  /** Windows themselves, point mode only (for the picture). */
  readonly windows: Window[];
  /** Things the user should know (points skipped...). */
  readonly notes: string[];
}

/** Why a product cannot feed a model of this channel format, or null when it can. */
export function formatProblem(p: Product, format: ChannelFormat): string | null {
  if (format.includes('u') && !p.unwrappedRad) {
    return `the model takes unwrapped phase (channel format ${format}) but ${p.id} has only wrapped phase ` +
      '(.diff_pha.tif); give its .unw.tif or use a model trained on wrapped phase (www)';
  }
  if (format.includes('d') || format === 'rid') {
    return `the model takes a DEM channel (format ${format}); scanning with a DEM is not supported yet, use a www or uuu model`;
  }
  if (format.includes('c') && !p.coherence) {
    return `the model takes coherence (format ${format}) but ${p.id} has no .cc.tif`;
  }
  return null;
}

/** The network input for a window (H x W x C, channels last). */
export function windowInput(w: Window, format: ChannelFormat): Float32Array {
  return makeChannels({
    width: w.size, height: w.size,
    phaseRad: w.unwrappedRad ?? w.wrappedRad,
    coherence: w.coherence ?? undefined,
    mask: w.mask,
  }, format);
}

/** Turn a model output on a window into a geo-referenced prediction. */
export function toPrediction(p: Product, w: Window, out: ModelOutput): WindowPrediction {
  if (out.probs.length !== CLASS_NAMES.length || out.box.length !== 4) {
    throw new Error(`model returned ${out.probs.length} probabilities and ${out.box.length} box values; expected 3 and 4`);
  }
  const classIndex = argmax(out.probs);
  const base = {
    centre: w.centre, name: w.name, spacingM: w.spacingM, maskedFraction: w.maskedFraction,
    className: CLASS_NAMES[classIndex]!, classIndex, probs: [...out.probs],
  };
  if (classIndex === NONE_CLASS) return { ...base, boxWindow: null, polygon: null, boxLonLat: null, boxPixels: null };
  const [cx, cy, hw, hh] = out.box;
  const boxWindow: CentreBox = { x: cx * w.size, y: cy * w.size, halfWidth: hw * w.size, halfHeight: hh * w.size };
  const boxLonLat = windowBoxToLonLat(w, boxWindow);
  return { ...base, boxWindow, polygon: windowBoxCorners(w, boxWindow), boxLonLat, boxPixels: lonLatBoxToPixels(p, boxLonLat) };
}

async function runBatches(model: Detector, inputs: Float32Array[], onDone: (n: number) => void): Promise<ModelOutput[]> {
  const bs = Math.max(1, model.batchSize ?? 16);
  const out: ModelOutput[] = [];
  for (let i = 0; i < inputs.length; i += bs) {
    const batch = inputs.slice(i, i + bs);
    const res = await model.run(batch);
    if (res.length !== batch.length) throw new Error(`model returned ${res.length} outputs for ${batch.length} inputs`);
    out.push(...res);
    onDone(out.length);
  }
  return out;
}

function isDetection(p: WindowPrediction): p is Detection {
  return p.className !== 'none' && p.boxWindow !== null;
}

/**
 * Scan one product. Point mode (`at` given): one window per point, every prediction reported.
 * Frame mode: overlapping windows over the product, windows with too little data skipped,
 * detections with class probability >= minScore merged by NMS (ranked by probability x how
 * central the box is in its window).
 */
export async function scanProduct(p: Product, model: Detector, opts: ScanOptions = {}): Promise<SceneResult> {
  const problem = formatProblem(p, model.format);
  if (problem) throw new InputError(problem);
  const sizeKm = opts.sizeKm ?? DEFAULT_WINDOW_KM;
  const size = model.size ?? MODEL_SIZE_PX;
  const common = { product: p, model: model.name, format: model.format, sizeKm };
  if (opts.at && opts.at.length > 0) {
    const notes: string[] = [];
    const windows = opts.at
      .map((pt) => cutWindow(p, pt, { size, sizeKm, requireData: !pt.optional, ...(pt.name ? { name: pt.name } : {}) }))
      .filter((w) => {
        if (w.maskedFraction < 1) return true;
        notes.push(`${w.name ?? `${w.centre.lon.toFixed(4)}, ${w.centre.lat.toFixed(4)}`}: window entirely masked, skipped`);
        return false;
      });
    if (windows.length === 0) throw new InputError(`${p.id}: every window around the given points is entirely masked`);
    const outs = await runBatches(model, windows.map((w) => windowInput(w, model.format)), (d) => opts.onProgress?.(d, windows.length));
    const predictions = windows.map((w, i) => toPrediction(p, w, outs[i]!));
    const detections = predictions.filter(isDetection).map((d) => ({ ...d, score: d.probs[d.classIndex]! }));
    return { ...common, mode: 'point', windowCount: windows.length, skippedWindows: notes.length, predictions, detections, windows, notes };
  }
  const minValid = opts.minValid ?? 0.2;
  const centres = scanGrid(p, { sizeKm, ...(opts.overlap !== undefined ? { overlap: opts.overlap } : {}) });
  const spacingM = (sizeKm * 1000) / size;
  const windows: Window[] = [];
  let skipped = 0;
  for (const c of centres) {
    const w = resampleWindow(p, { centre: c, size, spacingM });
    if (1 - w.maskedFraction < minValid) skipped++;
    else windows.push(w);
  }
  if (windows.length === 0) {
    throw new InputError(`${p.id}: no window has ${Math.round(minValid * 100)} % valid pixels ` +
      `(${centres.length} windows of ${sizeKm.toFixed(1)} km; ${Math.round(p.maskedFraction * 100)} % of the product is masked)`);
  }
  const predictions: WindowPrediction[] = [];
  // Inputs are made batch by batch: a frame can have hundreds of windows.
  const bs = Math.max(1, model.batchSize ?? 16);
  for (let i = 0; i < windows.length; i += bs) {
    const batch = windows.slice(i, i + bs);
    const outs = await runBatches({ ...model, batchSize: bs }, batch.map((w) => windowInput(w, model.format)), () => {});
    batch.forEach((w, j) => predictions.push(toPrediction(p, w, outs[j]!)));
    opts.onProgress?.(predictions.length, windows.length);
  }
  const minScore = opts.minScore ?? 0.5;
  const candidates = predictions.filter(isDetection)
    .map((d) => ({ ...d, score: d.probs[d.classIndex]! }))
    .filter((d) => d.score >= minScore)
    .map((d) => ({ det: d, rect: d.boxPixels as Rect, score: d.score * centrality(d.boxWindow.x, d.boxWindow.y, size) }));
  const kept = nonMaxSuppression(candidates, { iou: opts.iou ?? 0.3 });
  return {
    ...common, mode: 'frame', windowCount: windows.length, skippedWindows: skipped,
    predictions, detections: kept.map((k) => k.det), windows: [], notes: [],
  };
}

// ---------------------------------------------------------------------------------------------
// Many products

export interface ScanFailure {
  readonly path: string;
  readonly message: string;
}

export interface ScanAllOptions {
  readonly discover?: DiscoverOptions;
  readonly read?: ReadProductOptions;
  readonly scan?: Omit<ScanOptions, 'onProgress' | 'at'>;
  /** Points for every product; a function picks them per product (e.g. the volcanoes inside it). */
  readonly at?: readonly ScanPoint[] | ((p: Product) => ScanPoint[]);
  /** Called with each finished scene (write its outputs here; the scene is not kept). */
  readonly onScene?: (s: SceneResult) => Promise<void> | void;
  /** Called when a product fails (it is skipped; the scan goes on). */
  readonly onFailure?: (f: ScanFailure) => void;
  /** Progress over products (and over windows within a product). */
  readonly onProgress?: (productsDone: number, products: number, windowsDone: number, windows: number) => void;
}

export interface ScanAllResult {
  readonly products: number;
  readonly scanned: number;
  readonly failures: ScanFailure[];
  /** Files in the folders that were not used (other LiCSAR layers, plain rasters without --units m). */
  readonly ignored: string[];
}

/**
 * Find every product under `paths`, read and scan each; a bad product is reported and skipped.
 * Products are read one at a time, so memory stays bounded on a folder of hundreds.
 */
export async function scanAll(paths: readonly string[], model: Detector, opts: ScanAllOptions = {}): Promise<ScanAllResult> {
  const found = discoverProducts(paths, opts.discover);
  const failures: ScanFailure[] = [];
  const fail = (f: ScanFailure): void => {
    failures.push(f);
    opts.onFailure?.(f);
  };
  found.problems.forEach(fail);
  const total = found.products.length;
  let scanned = 0;
  for (let k = 0; k < total; k++) {
    const files = found.products[k]!;
    try {
      const p = await readProduct(files, opts.read);
      const at = typeof opts.at === 'function' ? opts.at(p) : opts.at;
      const s = await scanProduct(p, model, {
        ...opts.scan, ...(at ? { at } : {}),
        onProgress: (d, n) => opts.onProgress?.(k, total, d, n),
      });
      await opts.onScene?.(s);
      scanned++;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      fail({ path: files.unw ?? files.diffPha ?? files.raster ?? files.prefix, message: isInputError(e) ? msg : `${files.id}: internal error: ${msg}` });
    }
    opts.onProgress?.(k + 1, total, 0, 0);
  }
  return { products: total, scanned, failures, ignored: found.ignored };
}
