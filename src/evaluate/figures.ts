/**
 * Pictures of training and evaluation (the MintPy view.py role for the model): training curves,
 * the evaluation figure (confusion matrix, centre-error histogram, accuracy on the inputs and on
 * their negatives), and one prediction drawn over the wrapped phase.
 */
import { blit, createCanvas, drawText, type Canvas } from '../io/draw.js';
import { barChart, confusionMatrix, linePlot } from '../io/plot.js';

/** Side-by-side canvases on white, with a title. */
export function row(canvases: readonly Canvas[], title?: string, pad = 8): Canvas {
  const head = title ? 28 : 0;
  const w = canvases.reduce((a, c) => a + c.width, 0) + pad * (canvases.length + 1);
  const h = Math.max(1, ...canvases.map((c) => c.height)) + 2 * pad + head;
  const out = createCanvas(w, h, '#ffffff');
  if (title) drawText(out, title, w / 2, pad, '#222222', 2, { align: 'center' });
  let x = pad;
  for (const c of canvases) {
    blit(out, c, x, pad + head);
    x += c.width + pad;
  }
  return out;
}

export interface CurvePoint {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly valLoss: number;
  readonly trainAccuracy: number;
  readonly valAccuracy: number;
  readonly valAccuracyNegated: number;
  readonly valCentreErrorMedianPx: number;
}

/** Loss, accuracy and validation centre error per epoch. */
export function curvesFigure(history: readonly CurvePoint[]): Canvas {
  const xs = history.map((h) => h.epoch);
  const loss = linePlot({
    title: 'loss', xLabel: 'epoch', yLabel: 'loss (class + weighted box)', width: 420, height: 320, logY: true,
    series: [
      { name: 'train', xs, ys: history.map((h) => h.trainLoss) },
      { name: 'validation', xs, ys: history.map((h) => h.valLoss) },
    ],
  });
  const acc = linePlot({
    title: 'class accuracy', xLabel: 'epoch', yLabel: 'accuracy', width: 420, height: 320, yMax: 1,
    series: [
      { name: 'train', xs, ys: history.map((h) => h.trainAccuracy) },
      { name: 'validation', xs, ys: history.map((h) => h.valAccuracy) },
      { name: 'validation, negated', xs, ys: history.map((h) => h.valAccuracyNegated), dashed: true },
    ],
  });
  const ce = linePlot({
    title: 'box centre error (validation)', xLabel: 'epoch', yLabel: 'median centre error (px)', width: 420, height: 320, yMin: 0,
    series: [{ name: 'median', xs, ys: history.map((h) => h.valCentreErrorMedianPx) }],
    legend: 'none',
  });
  return row([loss, acc, ce], 'caldera train');
}

export interface EvalFigureInput {
  readonly classes: readonly string[];
  readonly confusion: readonly (readonly number[])[];
  /** Counts per bin and the bin edges (px). */
  readonly centreErrorHistogram: { readonly counts: readonly number[]; readonly binPx: number; readonly maxPx: number };
  readonly accuracy: number;
  readonly accuracyNegated: number;
  readonly perClassRecall: readonly number[];
  readonly perClassRecallNegated: readonly number[];
  readonly title: string;
}

/** Confusion matrix, centre-error histogram and the sign-invariance bars. */
export function evalFigure(e: EvalFigureInput): Canvas {
  const cm = confusionMatrix({ labels: e.classes, counts: e.confusion, title: 'confusion (rows: true)', xLabel: 'predicted', yLabel: 'true' });
  const h = e.centreErrorHistogram;
  const groups = h.counts.map((_, i) => (i === h.counts.length - 1 ? `${i * h.binPx}+` : `${i * h.binPx}`));
  const hist = barChart({
    groups, bars: [{ name: 'samples', values: [...h.counts] }], title: 'box centre error (true-box samples)',
    xLabel: 'centre error, px (bin start)', yLabel: 'samples', height: 320, width: 460, yMin: 0,
  });
  const sign = barChart({
    groups: [...e.classes.map((c) => `${c} recall`), 'accuracy'],
    bars: [
      { name: 'as given', values: [...e.perClassRecall, e.accuracy] },
      { name: 'negated', values: [...e.perClassRecallNegated, e.accuracyNegated] },
    ],
    title: 'sign invariance', yLabel: 'share', yMin: 0, yMax: 1, height: 320, width: 420, valueLabels: true,
  });
  return row([cm, hist, sign], e.title);
}
