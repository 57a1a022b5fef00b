/**
 * Scanning real products: cut model-sized windows at several ground sizes (scales), around given
 * points or overlapping over a whole frame, run the network on those with enough data, and turn
 * its outputs into geo-referenced answers: a verdict, the class, probabilities, the box in window
 * pixels, product pixels and lon/lat. Detections from overlapping windows of every scale are
 * merged by non-maximum suppression in product pixels (nms.ts), ranked by calibrated probability ×
 * how central the box is in its window.
 *
 * Scales. Every window is resampled to the network's 224 × 224 input, so a window of S km has
 * pixels of S / 224 km: 10 km windows (45 m pixels) show a 2 km source 45 px across, 40 km windows
 * (180 m) show a 15 km caldera 83 px across, both sizes the network knows from training (~90 m
 * pixels, sources of 1-20 km). The resampler averages product pixels over each window pixel when
 * the window is coarser than the product (data/windows.ts `windowFootprintPx`). A scale whose
 * window pixels would be more than `maxMagnification` (3) times finer than the product's is skipped
 * with a note: it would only magnify the product, showing the network a blur it never saw.
 *
 * Abstaining. A window with more than `maxMasked` (60 %) of its pixels masked is "not enough
 * data" and not run; a deformation class below `minScore` (0.8, calibrated) is "below threshold",
 * never a detection. A product with no valid pixels after masking is reported, not scored.
 *
 * The network is injected (`Detector`), so the windowing, merging and geometry are tested with a
 * fake model and the CLI plugs in the trained one.
 */
import { InputError, isInputError } from '../core/errors.js';
import type { Shard } from '../core/shard.js';
import type { Discovery, DiscoverOptions, Product, ProductFiles, ReadProductOptions } from '../io/product.js';
import { makeChannels, type ChannelFormat } from '../data/channels.js';
import { applyPhaseCoherence, type PhaseCoherenceMode, type PhaseCoherenceOptions } from '../data/coherence-mask.js';
import { centrality, nonMaxSuppression, type Rect } from './nms.js';
import {
  containsPoint, lonLatBoxToPixels, resampleWindow, scanGrid, windowBoxCorners, windowBoxToLonLat,
  MODEL_SIZE_PX, MODEL_SPACING_M, type LonLat, type LonLatBox, type PixelBox, type Window, type WindowGrid,
} from '../data/windows.js';
import type { CentreBox } from '../core/box.js';
import type { Detector, ModelOutput } from './forward.js';
import { CLASS_NAMES, type ClassName } from '../core/classes.js';
import { argmax } from '../core/arrays.js';
import { DEFAULT_MAX_MASKED, DEFAULT_MIN_SCORE, notEnoughData, thresholdProblem, verdictOf } from './record.js';
import { M_PER_DEG } from '../physics/units.js';

/**
 * Default window ground sizes, km: 224 pixels of 45, 90 and 180 m (~10, 20 and 40 km). The middle
 * one is the training grid itself (90 m pixels, Gaddes et al. 2021).
 */
export const DEFAULT_SCALES_KM: readonly number[] = [0.5, 1, 2].map((f) => (f * MODEL_SIZE_PX * MODEL_SPACING_M) / 1000);
/** Coherence estimated from the wrapped phase masks every product by default (with a .cc: the lower of the two). */
export const DEFAULT_PHASE_COHERENCE: PhaseCoherenceMode = 'on';
/** Skip a scale whose window pixels are more than this many times finer than the product's. */
export const DEFAULT_MAX_MAGNIFICATION = 3;

export interface ScanOptions {
  /**
   * Cut windows around each point (one per scale); none = scan the whole frame. A point marked
   * `optional` (e.g. every listed volcano inside the product) whose windows are entirely masked
   * is skipped with a note instead of being reported as "not enough data".
   */
  readonly at?: readonly ScanPoint[];
  /** Window ground sizes, km (default 10, 20, 40). */
  readonly scalesKm?: readonly number[];
  /** Frame scan: overlap between neighbouring windows of one scale (default 0.5). */
  readonly overlap?: number;
  /** Windows with more than this share masked get "not enough data" and are not run (default 0.6). */
  readonly maxMasked?: number;
  /** Smallest calibrated class probability reported as a detection (default 0.8). */
  readonly minScore?: number;
  /** NMS IoU threshold (default 0.3). */
  readonly iou?: number;
  /** Skip scales whose pixels are more than this many times finer than the product's (default 3; Infinity = never). */
  readonly maxMagnification?: number;
  /** Called as windows are done (all windows of all scales, including those with not enough data). */
  readonly onProgress?: (done: number, total: number) => void;
}

export type ScanPoint = LonLat & { readonly name?: string; readonly optional?: boolean };

/** Where a window is and how much of it is data. */
export interface WindowLook {
  readonly centre: LonLat;
  readonly name?: string | undefined;
  /** Index of the point it was cut around (point mode). */
  readonly point?: number;
  readonly sizeKm: number;
  readonly spacingM: number;
  readonly maskedFraction: number;
}

/** A window not run: more than maxMasked of it is masked. */
export interface NotEnoughData extends WindowLook {
  readonly verdict: 'not enough data';
}

/** One window's prediction. */
export interface WindowPrediction extends WindowLook {
  readonly verdict: 'detection' | 'below threshold' | 'none';
  readonly className: ClassName;
  readonly classIndex: number;
  /** Probabilities in CLASS_NAMES order (calibrated when the model is). */
  readonly probs: readonly number[];
  /** Probability of the class. */
  readonly score: number;
  /** Box in window pixels (null for class none). */
  readonly boxWindow: CentreBox | null;
  /** Box corners in lon/lat (NW, NE, SE, SW), null for class none. */
  readonly polygon: [number, number][] | null;
  readonly boxLonLat: LonLatBox | null;
  /** Box in the product's pixels (GDAL convention, fractional), null for class none. */
  readonly boxPixels: PixelBox | null;
}

/** A merged detection of deformation (class dyke or sill, probability >= minScore). */
export interface Detection extends WindowPrediction {
  readonly verdict: 'detection';
  readonly className: 'dyke' | 'sill';
  readonly boxWindow: CentreBox;
  readonly polygon: [number, number][];
  readonly boxLonLat: LonLatBox;
  readonly boxPixels: PixelBox;
}

export interface SceneResult {
  readonly product: Product;
  /** 'no valid pixels': every pixel masked, nothing was run. */
  readonly status: 'scanned' | 'no valid pixels';
  readonly mode: 'point' | 'frame';
  readonly model: string;
  readonly format: ChannelFormat;
  /** The calibration temperature the detector applied (null: uncalibrated). */
  readonly temperature: number | null;
  /** Scales looked at (after skipping magnifying ones), km. */
  readonly scalesKm: readonly number[];
  /** Network input size, pixels. */
  readonly size: number;
  readonly minScore: number;
  readonly maxMasked: number;
  /** Windows run through the model. */
  readonly windowCount: number;
  /** Windows not run: too masked. */
  readonly notEnoughData: NotEnoughData[];
  /** Every window run (point mode: one per point and scale). */
  readonly predictions: WindowPrediction[];
  /** Detections after NMS across windows and scales, best first. */
  readonly detections: Detection[];
  /** Windows themselves, point mode only (for the picture). */
  readonly windows: Window[];
  /** Things the user should know (scales or points skipped...). */
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

function lookOf(w: Window, sizeKm: number, point?: number): WindowLook {
  return { centre: w.centre, name: w.name, sizeKm, spacingM: w.spacingM, maskedFraction: w.maskedFraction, ...(point !== undefined ? { point } : {}) };
}

/** Turn a model output on a window into a geo-referenced prediction with its verdict. */
export function toPrediction(p: Product, w: Window, out: ModelOutput, look: WindowLook = lookOf(w, (w.size * w.spacingM) / 1000),
  minScore = DEFAULT_MIN_SCORE): WindowPrediction {
  if (out.probs.length !== CLASS_NAMES.length || out.box.length !== 4) {
    throw new Error(`model returned ${out.probs.length} probabilities and ${out.box.length} box values; expected 3 and 4`);
  }
  const classIndex = argmax(out.probs);
  const className = CLASS_NAMES[classIndex]!;
  const score = out.probs[classIndex]!;
  const base = { ...look, verdict: verdictOf(className, score, { minScore }), className, classIndex, probs: [...out.probs], score };
  if (className === 'none') return { ...base, boxWindow: null, polygon: null, boxLonLat: null, boxPixels: null };
  const [cx, cy, hw, hh] = out.box;
  const boxWindow: CentreBox = { x: cx * w.size, y: cy * w.size, halfWidth: hw * w.size, halfHeight: hh * w.size };
  const boxLonLat = windowBoxToLonLat(w, boxWindow);
  return { ...base, boxWindow, polygon: windowBoxCorners(w, boxWindow), boxLonLat, boxPixels: lonLatBoxToPixels(p, boxLonLat) };
}

function isDetection(p: WindowPrediction): p is Detection {
  return p.verdict === 'detection' && p.boxWindow !== null;
}

/** The product's pixel size in metres (geometric mean of east and north) at its centre. */
export function productSpacingM(p: Pick<Product, 'geo' | 'height'>): number {
  const lat = p.geo.north + (p.height / 2) * p.geo.dLat;
  return M_PER_DEG * Math.sqrt(Math.abs(p.geo.dLon) * Math.cos((lat * Math.PI) / 180) * Math.abs(p.geo.dLat));
}

/** Window sizes a scan accepts, km (224 px of 2 m to 2 km). */
export const MIN_SCALE_KM = 0.5;
export const MAX_SCALE_KM = 500;

/** Why a window scale (km) is not usable, or null. */
export function scaleProblem(s: number): string | null {
  if (s >= MIN_SCALE_KM && s <= MAX_SCALE_KM) return null;
  return `window sizes must be within ${MIN_SCALE_KM}..${MAX_SCALE_KM} km, got ${s}`;
}

/** Check and sort scales (km). */
export function checkScales(scalesKm: readonly number[]): number[] {
  if (scalesKm.length === 0) throw new InputError('give at least one window scale (km)');
  for (const s of scalesKm) {
    const problem = scaleProblem(s);
    if (problem) throw new InputError(problem);
  }
  return [...new Set(scalesKm)].sort((a, b) => a - b);
}

/**
 * Why scan options cannot be used, or null: scales (MIN_SCALE_KM..MAX_SCALE_KM), overlap
 * (0..0.95), IoU (0..1), min score and max masked (0..1). Checked once before a scan writes
 * anything, and again by `scanProduct`.
 */
export function scanOptionsProblem(o: Pick<ScanOptions, 'scalesKm' | 'overlap' | 'iou' | 'minScore' | 'maxMasked'>): string | null {
  if (o.scalesKm !== undefined) {
    if (o.scalesKm.length === 0) return 'give at least one window scale (km)';
    for (const s of o.scalesKm) {
      const problem = scaleProblem(s);
      if (problem) return problem;
    }
  }
  if (o.overlap !== undefined && !(o.overlap >= 0 && o.overlap <= 0.95)) return `overlap must be within 0..0.95, got ${o.overlap}`;
  if (o.iou !== undefined && !(o.iou >= 0 && o.iou <= 1)) return `IoU must be within 0..1, got ${o.iou}`;
  return thresholdProblem(o);
}

/** Scales the product can show without magnifying more than `maxMagnification`, and notes on those skipped. */
export function usableScales(p: Product, scalesKm: readonly number[], size: number, maxMagnification = DEFAULT_MAX_MAGNIFICATION): { scales: number[]; notes: string[] } {
  const px = productSpacingM(p);
  const scales: number[] = [], notes: string[] = [];
  for (const s of checkScales(scalesKm)) {
    const spacing = (s * 1000) / size;
    if (px / spacing > maxMagnification) notes.push(`${s} km windows skipped: their ${Math.round(spacing)} m pixels would magnify the product's ${Math.round(px)} m pixels ${(px / spacing).toFixed(1)}×`);
    else scales.push(s);
  }
  if (scales.length === 0) {
    // Never skip everything: keep the coarsest scale.
    const s = Math.max(...scalesKm);
    notes.push(`kept ${s} km windows although they magnify the product (every scale asked for does)`);
    scales.push(s);
  }
  return { scales, notes };
}

interface Job {
  readonly grid: WindowGrid;
  readonly sizeKm: number;
  readonly name?: string;
  readonly point?: number;
  readonly optional?: boolean;
}

/**
 * Scan one product (already masked: `applyPhaseCoherence` is the caller's). Point mode (`at`
 * given): one window per point and scale, every answer reported. Frame mode: overlapping windows
 * of every scale over the product. Both merge detections across windows and scales by NMS.
 */
export async function scanProduct(p: Product, model: Detector, opts: ScanOptions = {}): Promise<SceneResult> {
  const problem = formatProblem(p, model.format);
  if (problem) throw new InputError(problem);
  const op = scanOptionsProblem(opts);
  if (op) throw new InputError(op);
  const minScore = opts.minScore ?? DEFAULT_MIN_SCORE;
  const maxMasked = opts.maxMasked ?? DEFAULT_MAX_MASKED;
  const size = model.size ?? MODEL_SIZE_PX;
  const mode: SceneResult['mode'] = opts.at && opts.at.length > 0 ? 'point' : 'frame';
  const notes: string[] = [];
  const { scales, notes: scaleNotes } = usableScales(p, opts.scalesKm ?? DEFAULT_SCALES_KM, size, opts.maxMagnification);
  notes.push(...scaleNotes);
  const common = {
    product: p, mode, model: model.name, format: model.format, temperature: model.temperature ?? null,
    scalesKm: scales, size, minScore, maxMasked,
  };
  if (p.maskedFraction >= 1) {
    return { ...common, status: 'no valid pixels', windowCount: 0, notEnoughData: [], predictions: [], detections: [], windows: [], notes };
  }

  // Every window of every scale, known before any is cut (progress over the whole scan).
  const jobs: Job[] = [];
  for (const sizeKm of scales) {
    const spacingM = (sizeKm * 1000) / size;
    if (mode === 'point') {
      opts.at!.forEach((pt, point) => {
        if (!containsPoint(p, pt.lon, pt.lat)) {
          const label = pt.name ? `${pt.name} (${pt.lon.toFixed(4)}, ${pt.lat.toFixed(4)})` : `point (${pt.lon.toFixed(4)}, ${pt.lat.toFixed(4)})`;
          throw new InputError(`${p.id}: ${label} is outside the product`);
        }
        jobs.push({ grid: { centre: { lon: pt.lon, lat: pt.lat }, size, spacingM }, sizeKm, point, ...(pt.name ? { name: pt.name } : {}), ...(pt.optional ? { optional: true } : {}) });
      });
    } else {
      const overlap = opts.overlap ?? 0.5;
      for (const c of scanGrid(p, { sizeKm, overlap })) jobs.push({ grid: { centre: c, size, spacingM }, sizeKm });
    }
  }

  const predictions: WindowPrediction[] = [];
  const skipped: NotEnoughData[] = [];
  const windows: Window[] = [];
  const bs = Math.max(1, model.batchSize ?? 16);
  let done = 0;
  let batch: { w: Window; look: WindowLook }[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const outs = await model.run(batch.map((b) => windowInput(b.w, model.format)));
    if (outs.length !== batch.length) throw new Error(`model returned ${outs.length} outputs for ${batch.length} inputs`);
    batch.forEach((b, j) => predictions.push(toPrediction(p, b.w, outs[j]!, b.look, minScore)));
    done += batch.length;
    batch = [];
    opts.onProgress?.(done, jobs.length);
  };
  for (const job of jobs) {
    const w = resampleWindow(p, job.grid, job.name);
    const look = lookOf(w, job.sizeKm, job.point);
    if (notEnoughData(w.maskedFraction, { maxMasked })) {
      if (job.optional && w.maskedFraction >= 1) {
        notes.push(`${job.name ?? `${job.grid.centre.lon.toFixed(4)}, ${job.grid.centre.lat.toFixed(4)}`}: ${job.sizeKm} km window entirely masked, skipped`);
      } else {
        skipped.push({ ...look, verdict: 'not enough data' });
        if (mode === 'point') windows.push(w);
      }
      done++;
      if (done % bs === 0) opts.onProgress?.(done, jobs.length);
      continue;
    }
    if (mode === 'point') windows.push(w);
    batch.push({ w, look });
    if (batch.length >= bs) await flush();
  }
  await flush();
  opts.onProgress?.(done, jobs.length);

  const candidates = predictions.filter(isDetection)
    .map((d) => ({ det: d, rect: d.boxPixels as Rect, score: d.score * centrality(d.boxWindow.x, d.boxWindow.y, size) }));
  const kept = nonMaxSuppression(candidates, { iou: opts.iou ?? 0.3 });
  return {
    ...common, status: 'scanned', windowCount: predictions.length, notEnoughData: skipped,
    predictions, detections: kept.map((k) => k.det), windows, notes,
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
  /** Products already found (`discoverProducts`), e.g. to refuse an empty input before writing anything. */
  readonly found?: Discovery;
  readonly read?: Omit<ReadProductOptions, 'allowEmpty'>;
  /** Coherence estimated from the wrapped phase: 'on' (every product, the default: the lower of it and the .cc masks), 'auto' (products without a .cc), 'off'. */
  readonly phaseCoherence?: PhaseCoherenceMode;
  readonly phaseCoherenceOptions?: PhaseCoherenceOptions;
  readonly scan?: Omit<ScanOptions, 'onProgress' | 'at'>;
  /** Points for every product; a function picks them per product (e.g. the volcanoes inside it). */
  readonly at?: readonly ScanPoint[] | ((p: Product) => ScanPoint[]);
  /** Called with each finished scene (write its outputs here; the scene is not kept). */
  readonly onScene?: (s: SceneResult) => Promise<void> | void;
  /** Called when a product fails (it is skipped; the scan goes on). */
  readonly onFailure?: (f: ScanFailure) => void;
  /** Progress over products (and over windows within a product). */
  readonly onProgress?: (productsDone: number, products: number, windowsDone: number, windows: number) => void;
  /**
   * Array jobs (`scanAll`, scan-all.ts): scan only shard K of N, a contiguous block of the products
   * found (in their order); problems found while looking for products are reported by shard 0 alone.
   */
  readonly shard?: Shard;
}

export interface ScanAllResult {
  readonly products: number;
  /** Products read and reported (including those with no valid pixels). */
  readonly scanned: number;
  /** Products reported with no valid pixels after masking (not scored). */
  readonly empty: number;
  readonly failures: ScanFailure[];
  /** Files in the folders that were not used (other LiCSAR layers, plain rasters without --units m). */
  readonly ignored: string[];
}

/** Reads one product's layers (Node: its files, `io/licsar.ts` readProduct; a browser: dropped files). */
export type ProductReader = (files: ProductFiles, opts: ReadProductOptions) => Promise<Product>;

/**
 * Read, mask (the .cc file, and the phase-derived coherence per `phaseCoherence`) and scan each
 * product found (`found.problems` are failures); a bad product is reported and skipped. Products
 * are read one at a time, so memory stays bounded on a folder of hundreds. `scanAll` (scan-all.ts)
 * is this on files and folders; the web page runs it on dropped files.
 */
export async function scanFound(found: Pick<Discovery, 'products' | 'problems'>, read: ProductReader, model: Detector,
  opts: Omit<ScanAllOptions, 'discover' | 'found'> = {}): Promise<Omit<ScanAllResult, 'ignored'>> {
  const failures: ScanFailure[] = [];
  const fail = (f: ScanFailure): void => {
    failures.push(f);
    opts.onFailure?.(f);
  };
  found.problems.forEach(fail);
  const total = found.products.length;
  let scanned = 0, empty = 0;
  for (let k = 0; k < total; k++) {
    const files = found.products[k]!;
    try {
      const got = await read(files, { ...opts.read, allowEmpty: true });
      const p = applyPhaseCoherence(got, opts.phaseCoherence ?? DEFAULT_PHASE_COHERENCE, opts.phaseCoherenceOptions);
      const at = p.maskedFraction >= 1 ? undefined : typeof opts.at === 'function' ? opts.at(p) : opts.at;
      const s = await scanProduct(p, model, {
        ...opts.scan, ...(at ? { at } : {}),
        onProgress: (d, n) => opts.onProgress?.(k, total, d, n),
      });
      await opts.onScene?.(s);
      scanned++;
      if (s.status === 'no valid pixels') empty++;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      fail({ path: files.unw ?? files.diffPha ?? files.raster ?? files.hdf5 ?? files.prefix, message: isInputError(e) ? msg : `${files.id}: internal error: ${msg}` });
    }
    opts.onProgress?.(k + 1, total, 0, 0);
  }
  return { products: total, scanned, empty, failures };
}

/** Why a scene has no valid pixels, for people. */
export function noValidPixelsText(s: SceneResult): string {
  const p = s.product;
  const by = p.coherenceSource === 'phase' ? 'no data, zero, or phase-derived coherence'
    : p.coherenceSource === 'file+phase' ? 'no data, zero, or coherence (.cc and phase-derived)'
      : p.coherence ? 'no data, zero, or coherence' : 'no data or zero';
  return `no valid pixels after masking (${by}${p.coherence || p.coherenceSource === 'phase' ? ` below ${p.minCoherence}` : ''}): not scored`;
}
