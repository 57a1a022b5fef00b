/**
 * A model card (card.json): how a model was trained (command, data, epochs, images seen, time,
 * speed) and how it scores on a held-out test set, against the targets.
 */
import type { EvalReport } from '../evaluate/evaluate.js';
import type { TrainState } from './train.js';
import { median } from '../core/arrays.js';

/** One training run (a later stage starts from the previous stage's model with --init). */
export interface TrainStage {
  readonly command: string;
  readonly state: TrainState;
  /** Why the stage ended early or what it changed, for people. */
  readonly note?: string;
}

export interface CardInput {
  readonly name: string;
  /** In order; the last stage made the released model. */
  readonly stages: readonly TrainStage[];
  readonly params: number;
  readonly weightsBytes: number;
  readonly test: { readonly synthCommand: string; readonly evalCommand: string; readonly volcanoes: readonly string[]; readonly report: EvalReport };
  readonly targets?: { readonly accuracy: number; readonly medianCentreErrorPx: number };
  /** How the machine trained it (default: the tfjs wasm description of the first bundled model). */
  readonly machine?: string;
  /** Extra sections kept as given: calibration, real-world figures, the previous model's card. */
  readonly extra?: Record<string, unknown>;
}

const r3 = (v: number): number => Math.round(v * 1000) / 1000;
const r2 = (v: number): number => Math.round(v * 100) / 100;

function stageRecord(st: TrainStage): Record<string, unknown> {
  const { state } = st;
  const cfg = state.config;
  const last = state.history[state.history.length - 1];
  return {
    command: st.command,
    ...(st.note ? { note: st.note } : {}),
    data: cfg.source,
    ...(cfg.init ? { init: cfg.init } : {}),
    epochs: state.epoch,
    plannedEpochs: cfg.epochs,
    batch: cfg.batch,
    imagesSeen: state.imagesSeen,
    minutes: r2(state.elapsedSeconds / 60),
    trainImgPerSecondMedian: r2(median(state.history.map((h) => h.trainImgPerS))),
    optimizer: { name: 'adam', peakLr: cfg.lr, schedule: cfg.lrSchedule, warmupSteps: cfg.warmupSteps },
    lossWeights: { class: cfg.classWeight, box: cfg.boxWeight },
    augmentation: { randomSign: true, incoherentRandom: cfg.incoherentRandom },
    lastValidation: last ? {
      accuracy: r3(last.valAccuracy), accuracyNegated: r3(last.valAccuracyNegated), medianCentreErrorPx: r2(last.valCentreErrorMedianPx), iouMean: r3(last.valIoUMean),
    } : null,
  };
}

export function modelCard(c: CardInput): Record<string, unknown> {
  const { test } = c;
  if (c.stages.length === 0) throw new RangeError('modelCard: no training stage');
  const state = c.stages[c.stages.length - 1]!.state;
  const cfg = state.config;
  const rep = test.report;
  const targets = c.targets ?? { accuracy: 0.95, medianCentreErrorPx: 6 };
  const ce = rep.box.detected.centreErrorPx;
  return {
    name: c.name,
    createdAt: new Date().toISOString(),
    task: 'class (dyke / sill / none) and box of volcanic deformation in one 224×224 interferogram (Gaddes, Hooper & Albino 2021)',
    model: {
      arch: cfg.arch, parameters: c.params, weightsBytes: c.weightsBytes, channelFormat: cfg.format, inputSize: cfg.size,
      input: 'wrapped phase / π, masked pixels 0 (from unwrapped phase in rad, or LOS metres with --units m)',
      box: 'centre x, centre y, half-width, half-height; predict maps it to the input pixels',
    },
    training: {
      epochs: c.stages.reduce((a, st) => a + st.state.epoch, 0),
      imagesSeen: c.stages.reduce((a, st) => a + st.state.imagesSeen, 0),
      minutes: r2(c.stages.reduce((a, st) => a + st.state.elapsedSeconds, 0) / 60),
      machine: c.machine ?? '2 CPU cores shared with other jobs; tfjs wasm backend (one core trains, a worker thread makes the data)',
      stages: c.stages.map(stageRecord),
    },
    heldOut: {
      synthCommand: test.synthCommand,
      evalCommand: test.evalCommand,
      volcanoes: test.volcanoes,
      n: rep.n,
      accuracy: r3(rep.accuracy),
      macroF1: r3(rep.macroF1),
      perClass: Object.fromEntries(Object.entries(rep.perClass).map(([k, v]) => [k, { precision: r3(v.precision), recall: r3(v.recall), f1: r3(v.f1), support: v.support }])),
      confusion: { classes: rep.classes, counts: rep.confusion },
      centreErrorPx: { over: 'true-box samples predicted as having one', n: ce.n, mean: r2(ce.mean), median: r2(ce.median), p90: r2(ce.p90) },
      centreErrorPxAllTrueBoxes: { n: rep.box.all.centreErrorPx.n, mean: r2(rep.box.all.centreErrorPx.mean), median: r2(rep.box.all.centreErrorPx.median), p90: r2(rep.box.all.centreErrorPx.p90) },
      iou: { mean: r3(rep.box.detected.iou.mean), median: r3(rep.box.detected.iou.median) },
      centreErrorPxByClass: Object.fromEntries(Object.entries(rep.centreErrorByClass).map(([k, v]) => [k, { n: v.n, mean: r2(v.mean), median: r2(v.median), p90: r2(v.p90) }])),
      signInvariance: { accuracyNegated: r3(rep.signInvariance.accuracyNegated), agreement: r3(rep.signInvariance.agreement) },
      byTerrain: rep.byTerrain,
    },
    targets: {
      accuracy: targets.accuracy, medianCentreErrorPx: targets.medianCentreErrorPx,
      met: rep.accuracy >= targets.accuracy && ce.median <= targets.medianCentreErrorPx,
    },
    ...(c.extra ?? {}),
  };
}
