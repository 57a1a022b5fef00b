/**
 * Scores of a classifier-and-box model, as small pure functions over plain arrays: the confusion
 * matrix and per-class precision / recall / F1, summary statistics (mean, median, 90th percentile),
 * and the box scores (IoU and centre error in pixels) over the samples that have a true box.
 *
 *   const cm = confusion([0, 1, 2, 2], [0, 1, 1, 2], 3);   // cm[true][predicted]
 *   classReport(cm, ['dyke', 'sill', 'none']).accuracy   // 0.75
 */
import { boxIoU, centreError, type CentreBox } from '../core/box.js';

/** counts[trueClass][predictedClass]. */
export type ConfusionMatrix = number[][];

export function confusion(trueIdx: ArrayLike<number>, predIdx: ArrayLike<number>, k: number): ConfusionMatrix {
  if (trueIdx.length !== predIdx.length) throw new RangeError(`confusion: ${trueIdx.length} labels but ${predIdx.length} predictions`);
  const cm = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < trueIdx.length; i++) {
    const t = trueIdx[i]!, p = predIdx[i]!;
    if (!(t >= 0 && t < k && p >= 0 && p < k)) throw new RangeError(`confusion: class index out of range at ${i} (${t}, ${p})`);
    cm[t]![p]!++;
  }
  return cm;
}

export interface ClassScores {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Samples of this true class. */
  readonly support: number;
}

export interface ClassReport {
  readonly n: number;
  readonly accuracy: number;
  readonly perClass: Readonly<Record<string, ClassScores>>;
  /** Unweighted mean of the per-class F1. */
  readonly macroF1: number;
}

/** Accuracy and per-class precision / recall / F1 from a confusion matrix (0 where undefined). */
export function classReport(cm: ConfusionMatrix, names: readonly string[]): ClassReport {
  const k = cm.length;
  if (names.length !== k) throw new RangeError(`classReport: ${names.length} names for a ${k}x${k} matrix`);
  let n = 0, correct = 0;
  const perClass: Record<string, ClassScores> = {};
  let f1Sum = 0;
  for (let c = 0; c < k; c++) {
    const tp = cm[c]![c]!;
    let rowSum = 0, colSum = 0;
    for (let j = 0; j < k; j++) { rowSum += cm[c]![j]!; colSum += cm[j]![c]!; }
    n += rowSum;
    correct += tp;
    const precision = colSum > 0 ? tp / colSum : 0;
    const recall = rowSum > 0 ? tp / rowSum : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass[names[c]!] = { precision, recall, f1, support: rowSum };
    f1Sum += f1;
  }
  return { n, accuracy: n > 0 ? correct / n : 0, perClass, macroF1: k > 0 ? f1Sum / k : 0 };
}

/** The q-quantile (0..1) of sorted values, linearly interpolated (numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = Math.min(1, Math.max(0, q)) * (n - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface Summary {
  readonly n: number;
  readonly mean: number;
  readonly median: number;
  readonly p90: number;
}

/** n, mean, median and 90th percentile (NaN when empty). */
export function summarise(values: ArrayLike<number>): Summary {
  const s = Float64Array.from(values as ArrayLike<number>).sort();
  let sum = 0;
  for (const v of s) sum += v;
  return { n: s.length, mean: s.length ? sum / s.length : NaN, median: quantileSorted(s, 0.5), p90: quantileSorted(s, 0.9) };
}

/** One sample's truth and prediction, boxes in pixels (null = no box). */
export interface ScoredSample {
  readonly trueClass: number;
  readonly predictedClass: number;
  readonly trueBox: CentreBox | null;
  readonly predictedBox: CentreBox;
}

export interface BoxReport {
  /** Over true-box samples predicted as having a box (class not `none`). */
  readonly detected: { readonly iou: Summary; readonly centreErrorPx: Summary };
  /** Over every true-box sample, whatever its predicted class. */
  readonly all: { readonly iou: Summary; readonly centreErrorPx: Summary };
}

/** Box IoU and centre error over the samples with a true box; `noneClass` marks "no box" predictions. */
export function boxReport(samples: readonly ScoredSample[], noneClass: number): BoxReport {
  const iouD: number[] = [], ceD: number[] = [], iouA: number[] = [], ceA: number[] = [];
  for (const s of samples) {
    if (!s.trueBox) continue;
    const iou = boxIoU(s.trueBox, s.predictedBox);
    const ce = centreError(s.trueBox, s.predictedBox);
    iouA.push(iou); ceA.push(ce);
    if (s.predictedClass !== noneClass) { iouD.push(iou); ceD.push(ce); }
  }
  return {
    detected: { iou: summarise(iouD), centreErrorPx: summarise(ceD) },
    all: { iou: summarise(iouA), centreErrorPx: summarise(ceA) },
  };
}

/** A histogram: `bins` equal bins over [lo, hi); values past hi go in the last bin. */
export function histogram(values: ArrayLike<number>, lo: number, hi: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  const w = (hi - lo) / bins;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v) || v < lo) continue;
    counts[Math.min(bins - 1, Math.floor((v - lo) / w))]!++;
  }
  return counts;
}

/** A normalised box [cx/W, cy/H, hw/W, hh/H] in pixels of a W×H image. */
export function denormaliseBox(b: ArrayLike<number>, width: number, height: number): CentreBox {
  return { x: b[0]! * width, y: b[1]! * height, halfWidth: b[2]! * width, halfHeight: b[3]! * height };
}
