/**
 * `caldera eval`: score a trained model on a labelled dataset — accuracy, per-class precision /
 * recall / F1, the confusion matrix, box IoU and centre error in pixels (over true-box samples
 * predicted as having a box, and over all true-box samples), and sign invariance (the same scores
 * on the negated interferograms, and how often the two answers agree). Inputs come from the feeder
 * (`toExample`, sign +1, masked pixels 0), exactly as in training and prediction.
 */
import { readManifest } from '../data/dataset.js';
import { InputError } from '../core/errors.js';
import type { Canvas } from '../io/draw.js';
import { type CentreBox } from '../core/box.js';
import { Feeder, prefetch, type BatchRequest } from '../data/feeder.js';
import { evalFigure } from './figures.js';
import { boxReport, classReport, confusion, denormaliseBox, histogram, type BoxReport, type ClassReport, type ConfusionMatrix, type ScoredSample, type Summary } from './metrics.js';
import { CLASS_NAMES, NONE_CLASS } from '../core/classes.js';
import type { Detector } from '../scan/detector.js';
import { argmax } from '../core/arrays.js';

/** One evaluated sample. */
export interface EvalRow {
  readonly index: number;
  readonly terrain: string;
  readonly trueClass: number;
  readonly predictedClass: number;
  /** Predicted class of the negated input. */
  readonly predictedClassNegated: number;
  readonly probabilities: readonly number[];
  readonly trueBox: CentreBox | null;
  readonly predictedBox: CentreBox;
}

export interface EvalReport {
  readonly n: number;
  readonly classes: readonly string[];
  readonly accuracy: number;
  readonly macroF1: number;
  readonly perClass: ClassReport['perClass'];
  /** counts[true][predicted]. */
  readonly confusion: ConfusionMatrix;
  readonly box: BoxReport;
  /** Centre error (px) of detected true-box samples, per true class. */
  readonly centreErrorByClass: Readonly<Record<string, Summary>>;
  readonly signInvariance: {
    readonly accuracyNegated: number;
    readonly perClassRecallNegated: Readonly<Record<string, number>>;
    /** Share of samples with the same predicted class for the input and its negative. */
    readonly agreement: number;
    readonly confusionNegated: ConfusionMatrix;
  };
  /** Accuracy per terrain (DEM region) of the samples. */
  readonly byTerrain: Readonly<Record<string, { readonly n: number; readonly accuracy: number }>>;
}

/** Scores from evaluated rows (pure). */
export function scoreRows(rows: readonly EvalRow[], classes: readonly string[] = CLASS_NAMES, noneClass = NONE_CLASS): EvalReport {
  const k = classes.length;
  const cm = confusion(rows.map((r) => r.trueClass), rows.map((r) => r.predictedClass), k);
  const cmNeg = confusion(rows.map((r) => r.trueClass), rows.map((r) => r.predictedClassNegated), k);
  const rep = classReport(cm, classes);
  const repNeg = classReport(cmNeg, classes);
  const scored: ScoredSample[] = rows.map((r) => ({ trueClass: r.trueClass, predictedClass: r.predictedClass, trueBox: r.trueBox, predictedBox: r.predictedBox }));
  const byTerrain: Record<string, { n: number; accuracy: number }> = {};
  const groups = new Map<string, { n: number; ok: number }>();
  for (const r of rows) {
    const key = r.terrain.replace(/ \(land\)$/, '') || 'unknown';
    const g = groups.get(key) ?? { n: 0, ok: 0 };
    g.n++;
    if (r.trueClass === r.predictedClass) g.ok++;
    groups.set(key, g);
  }
  for (const [key, g] of [...groups].sort((a, b) => a[0].localeCompare(b[0]))) byTerrain[key] = { n: g.n, accuracy: g.ok / g.n };
  return {
    n: rows.length, classes: [...classes], accuracy: rep.accuracy, macroF1: rep.macroF1, perClass: rep.perClass, confusion: cm,
    box: boxReport(scored, noneClass),
    centreErrorByClass: Object.fromEntries(classes.map((c, k) => [c, boxReport(scored.filter((r) => r.trueClass === k), noneClass).detected.centreErrorPx]).filter(([, v]) => (v as Summary).n > 0)),
    signInvariance: {
      accuracyNegated: repNeg.accuracy,
      perClassRecallNegated: Object.fromEntries(classes.map((c) => [c, repNeg.perClass[c]!.recall])),
      agreement: rows.length ? rows.filter((r) => r.predictedClass === r.predictedClassNegated).length / rows.length : NaN,
      confusionNegated: cmNeg,
    },
    byTerrain,
  };
}

/** The evaluation figure of a report (and its rows, for the centre-error histogram). */
export function reportFigure(report: EvalReport, rows: readonly EvalRow[], title: string, binPx = 2, maxPx = 30): Canvas {
  const errors = rows.filter((r) => r.trueBox).map((r) => Math.hypot(r.trueBox!.x - r.predictedBox.x, r.trueBox!.y - r.predictedBox.y));
  return evalFigure({
    classes: report.classes, confusion: report.confusion,
    centreErrorHistogram: { counts: histogram(errors, 0, maxPx + binPx, Math.round(maxPx / binPx) + 1), binPx, maxPx },
    accuracy: report.accuracy, accuracyNegated: report.signInvariance.accuracyNegated,
    perClassRecall: report.classes.map((c) => report.perClass[c]!.recall),
    perClassRecallNegated: report.classes.map((c) => report.signInvariance.perClassRecallNegated[c]!),
    title,
  });
}

export interface EvaluateOptions {
  readonly batch?: number;
  /** Feeder threads (0 = inline). */
  readonly workers?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Run detector `d` (the one inference path, `scan/detector.ts`) over every sample of dataset `dataDir`, each as given and negated. */
export async function evaluateDataset(d: Detector, dataDir: string, o: EvaluateOptions = {}): Promise<EvalRow[]> {
  const m = readManifest(dataDir);
  if (m.settings.size !== d.size) throw new InputError(`${dataDir}: samples are ${m.settings.size} px, the model takes ${d.size}`);
  const indices = m.shards.flatMap((s) => Array.from({ length: s.count }, (_, j) => s.start + j));
  if (indices.length === 0) throw new InputError(`${dataDir}: the dataset has no samples yet`);
  const batch = o.batch ?? 32;
  const reqs: BatchRequest[] = [];
  for (let i = 0; i < indices.length; i += batch) reqs.push({ indices: indices.slice(i, i + batch), augmentSeed: null, withNegated: true });
  const feeder = await Feeder.start({ source: { kind: 'dataset', dir: dataDir }, format: d.format }, o.workers ?? 1);
  const rows: EvalRow[] = [];
  o.onProgress?.(0, indices.length);
  try {
    for await (const b of prefetch(feeder, reqs, 2)) {
      const px = b.size * b.size * b.channels;
      const split = (x: Float32Array): Float32Array[] => Array.from({ length: b.n }, (_, j) => x.subarray(j * px, (j + 1) * px));
      const outs = await d.run(split(b.x));
      const negs = await d.run(split(b.xNeg!));
      for (let j = 0; j < b.n; j++) {
        const out = outs[j]!;
        rows.push({
          index: b.indices[j]!, terrain: b.terrain[j]!, trueClass: b.classIndex[j]!,
          predictedClass: argmax(out.probs), predictedClassNegated: argmax(negs[j]!.probs),
          probabilities: [...out.probs],
          trueBox: b.boxesPx[j] ?? null, predictedBox: denormaliseBox(out.box, b.size, b.size),
        });
      }
      o.onProgress?.(rows.length, indices.length);
    }
  } finally {
    await feeder.close();
  }
  return rows;
}

/** A few lines for people: accuracy, per-class scores, box errors, sign invariance. */
export function reportText(r: EvalReport): string {
  const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
  const px = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '-');
  const lines = [`${r.n} samples: accuracy ${pct(r.accuracy)}, macro F1 ${r.macroF1.toFixed(3)}`];
  for (const c of r.classes) {
    const s = r.perClass[c]!;
    lines.push(`  ${c.padEnd(5)} precision ${pct(s.precision)}  recall ${pct(s.recall)}  F1 ${s.f1.toFixed(3)}  (n ${s.support})`);
  }
  lines.push(`confusion (rows true, columns predicted; ${r.classes.join(', ')}): ${r.confusion.map((row) => `[${row.join(' ')}]`).join(' ')}`);
  for (const [name, b] of [['detected', r.box.detected], ['all true-box', r.box.all]] as const) {
    lines.push(`box, ${name} (${b.centreErrorPx.n}): centre error mean ${px(b.centreErrorPx.mean)} / median ${px(b.centreErrorPx.median)} / p90 ${px(b.centreErrorPx.p90)} px; IoU mean ${b.iou.mean.toFixed(3)}, median ${b.iou.median.toFixed(3)}`);
  }
  lines.push(`median centre error by class: ${Object.entries(r.centreErrorByClass).map(([c, v]) => `${c} ${px(v.median)} px`).join(', ')}`);
  lines.push(`negated inputs: accuracy ${pct(r.signInvariance.accuracyNegated)}; same class for both signs ${pct(r.signInvariance.agreement)}`);
  return lines.join('\n');
}
