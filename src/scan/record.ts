/**
 * What a prediction says, the same way in `predict` and `scan` output: a verdict (abstaining
 * where the data or the confidence is not enough), the class, its probability, all three
 * probabilities by name, and one box object (product / input pixels, lon/lat when known, the
 * network window's own pixels). The schema is documented in src/scan/README.md.
 */
import { CLASS_NAMES, type ClassName } from '../core/classes.js';

/** Smallest calibrated class probability reported as a detection (see the README for why 0.8). */
export const DEFAULT_MIN_SCORE = 0.8;
/** A window (or predict input) with more than this share of masked pixels gets no verdict. */
export const DEFAULT_MAX_MASKED = 0.6;

/**
 * - `detection`: deformation (dyke or sill) with probability >= minScore;
 * - `below threshold`: the network's class is dyke or sill but its probability is < minScore;
 * - `none`: the network's class is none;
 * - `not enough data`: more than maxMasked of the window is masked, so the network was not asked;
 * - `nothing found`: a frame scan with no detection (one record per product);
 * - `no valid pixels`: every pixel of the product is masked; it was not scored.
 */
export type Verdict = 'detection' | 'below threshold' | 'none' | 'not enough data' | 'nothing found' | 'no valid pixels';

export interface Thresholds {
  readonly minScore?: number;
  readonly maxMasked?: number;
}

/** Check thresholds once (InputError-free: callers wrap). */
export function thresholdProblem(t: Thresholds): string | null {
  if (t.minScore !== undefined && !(t.minScore >= 0 && t.minScore <= 1)) return `min score must be within 0..1, got ${t.minScore}`;
  if (t.maxMasked !== undefined && !(t.maxMasked >= 0 && t.maxMasked <= 1)) return `max masked must be within 0..1, got ${t.maxMasked}`;
  return null;
}

/** True when a window with this masked share is too masked to judge. */
export function notEnoughData(maskedFraction: number, t: Thresholds = {}): boolean {
  return maskedFraction > (t.maxMasked ?? DEFAULT_MAX_MASKED);
}

/** The verdict of a network answer (class and its probability) on a window that had enough data. */
export function verdictOf(className: ClassName, score: number, t: Thresholds = {}): 'detection' | 'below threshold' | 'none' {
  if (className === 'none') return 'none';
  return score >= (t.minScore ?? DEFAULT_MIN_SCORE) ? 'detection' : 'below threshold';
}

/** The box in every frame a user needs. */
export interface BoxRecord {
  /** [x0, y0, x1, y1] in the product's (scan) or input raster's (predict) pixels, GDAL convention: the first pixel covers 0..1. */
  readonly pixels: number[];
  /** [west, south, east, north], degrees; null when the input is not on a lon/lat grid. */
  readonly lonLat: number[] | null;
  /** Corners [lon, lat] NW, NE, SE, SW; null when the input is not on a lon/lat grid. */
  readonly polygon: number[][] | null;
  /** [cx, cy, halfWidth, halfHeight] in the network input's pixels (the scan window, or predict's fitted square). */
  readonly window: number[];
}

/** The fields every predict and scan record shares. */
export interface PredictionFields {
  readonly verdict: Verdict;
  /** The network's class; null when it was not asked (not enough data, no valid pixels, nothing found). */
  readonly class: ClassName | null;
  /** Probability of `class` (calibrated when the model is), null with `class`. */
  readonly probability: number | null;
  readonly probabilities: { readonly dyke: number; readonly sill: number; readonly none: number } | null;
  /** Null for class none and when the network was not asked. */
  readonly box: BoxRecord | null;
}

const r4 = (v: number): number => Math.round(v * 1e4) / 1e4;
const r6 = (v: number): number => Math.round(v * 1e6) / 1e6;
const r2 = (v: number): number => Math.round(v * 100) / 100;

/** A box record from its parts (rounded: pixels to 0.01, degrees to 1e-6). */
export function boxRecord(pixels: readonly number[], window: readonly number[], lonLat: readonly number[] | null, polygon: readonly (readonly number[])[] | null): BoxRecord {
  return {
    pixels: pixels.map(r2),
    lonLat: lonLat ? lonLat.map(r6) : null,
    polygon: polygon ? polygon.map((c) => c.map(r6)) : null,
    window: window.map(r2),
  };
}

/** The shared fields of an answer (probabilities in CLASS_NAMES order). */
export function predictionFields(verdict: Verdict, probs: readonly number[] | null, box: BoxRecord | null): PredictionFields {
  if (!probs) return { verdict, class: null, probability: null, probabilities: null, box: null };
  let k = 0;
  for (let j = 1; j < CLASS_NAMES.length; j++) if (probs[j]! > probs[k]!) k = j;
  const className = CLASS_NAMES[k]!;
  return {
    verdict, class: className, probability: r4(probs[k]!),
    probabilities: { dyke: r4(probs[0]!), sill: r4(probs[1]!), none: r4(probs[2]!) },
    box: className === 'none' ? null : box,
  };
}
