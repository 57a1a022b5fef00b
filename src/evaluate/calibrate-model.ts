/**
 * Calibrating a model: fit the temperature of its class probabilities on a labelled dataset
 * (evaluate/calibration.ts, temperature scaling) and write it where the detector reads it
 * (`calibration.json` in the model directory, or `NAME.calibration.json` beside `NAME.onnx`;
 * scan/detector.ts applies it to every forward pass).
 *
 * The expected calibration error (15 bins) is reported before and after on the fitting data, and
 * also out of sample by two-fold cross-fitting (T fitted on the even-indexed samples and scored on
 * the odd ones, and the other way round): fitting and scoring on the same samples flatters the
 * "after". Fit on held-out data the network never trained on (e.g. `caldera synth --seed 999` on
 * unseen volcanoes), and check on another such set with `caldera eval` (which reports the ECE).
 */
import { writeFileAtomicSync } from '../io/atomic.js';
import { InputError } from '../core/errors.js';
import { calibrationFile, type Detector } from '../scan/detector.js';
import { applyTemperature, expectedCalibrationError, fitTemperature } from './calibration.js';
import { evaluateDataset, type EvalRow, type EvaluateOptions } from './evaluate.js';

/** What `calibration.json` holds. */
export interface ModelCalibration {
  /** Divide the log-probabilities by this before the softmax. */
  readonly temperature: number;
  readonly method: 'temperature scaling (Guo et al. 2017) on log-probabilities, NLL minimised';
  /** Samples it was fitted on, and where they came from. */
  readonly n: number;
  readonly data: string | null;
  readonly eceBefore: number;
  readonly eceAfter: number;
  readonly nllBefore: number;
  readonly nllAfter: number;
  /** Two-fold cross-fitted ECE (out of sample), before and after. */
  readonly heldOut: { readonly eceBefore: number; readonly eceAfter: number; readonly temperatures: readonly [number, number] };
  readonly bins: number;
  readonly createdAt: string;
}

const BINS = 15;

/**
 * Fit the temperature on evaluated rows (uncalibrated probabilities: evaluate with a detector loaded
 * with `calibrated: false`). Pure apart from the date.
 */
export function calibrationFromRows(rows: readonly EvalRow[], data: string | null = null): ModelCalibration {
  if (rows.length < 2) throw new InputError(`calibration needs at least 2 labelled samples, got ${rows.length}`);
  const probs = rows.map((r) => [...r.probabilities]);
  const labels = rows.map((r) => r.trueClass);
  const fit = fitTemperature({ probs }, labels);
  const after = applyTemperature({ probs }, fit.temperature);
  // Two-fold cross-fitting: each half scored with the temperature of the other.
  const half = (k: 0 | 1): number[] => rows.map((_, i) => i).filter((i) => i % 2 === k);
  const folds = [half(0), half(1)] as const;
  const tOf = (idx: number[]): number => fitTemperature({ probs: idx.map((i) => probs[i]!) }, idx.map((i) => labels[i]!)).temperature;
  const temps: [number, number] = [tOf(folds[1]), tOf(folds[0])]; // temps[k] scores fold k
  const crossed: number[][] = new Array(rows.length);
  folds.forEach((idx, k) => {
    const scaled = applyTemperature({ probs: idx.map((i) => probs[i]!) }, temps[k]!);
    idx.forEach((i, j) => { crossed[i] = scaled[j]!; });
  });
  const eceBefore = expectedCalibrationError(probs, labels, BINS);
  return {
    temperature: fit.temperature,
    method: 'temperature scaling (Guo et al. 2017) on log-probabilities, NLL minimised',
    n: rows.length, data,
    eceBefore, eceAfter: expectedCalibrationError(after, labels, BINS),
    nllBefore: fit.nllBefore, nllAfter: fit.nllAfter,
    heldOut: { eceBefore, eceAfter: expectedCalibrationError(crossed, labels, BINS), temperatures: temps },
    bins: BINS,
    createdAt: new Date().toISOString(),
  };
}

/** Evaluate `detector` (uncalibrated) on dataset `dataDir` and fit its temperature. */
export async function calibrateModel(detector: Detector, dataDir: string, opts: EvaluateOptions = {}): Promise<{ calibration: ModelCalibration; rows: EvalRow[] }> {
  if (detector.temperature !== undefined) {
    throw new Error('calibrateModel needs the uncalibrated detector (loadDetector(..., { calibrated: false }))');
  }
  const rows = await evaluateDataset(detector, dataDir, opts);
  return { calibration: calibrationFromRows(rows, dataDir), rows };
}

/** Write the calibration where the detector of `model` (a directory or a .onnx file) reads it; returns the path. */
export function writeCalibration(model: string, c: ModelCalibration): string {
  const f = calibrationFile(model);
  writeFileAtomicSync(f, JSON.stringify(c, null, 1) + '\n');
  return f;
}

/** One line for people. */
export function calibrationText(c: ModelCalibration): string {
  const pct = (v: number): string => `${(v * 100).toFixed(1)} %`;
  return `temperature ${c.temperature.toFixed(3)} on ${c.n} samples: ECE ${pct(c.eceBefore)} -> ${pct(c.eceAfter)} ` +
    `(two-fold held out: ${pct(c.heldOut.eceBefore)} -> ${pct(c.heldOut.eceAfter)}), NLL ${c.nllBefore.toFixed(3)} -> ${c.nllAfter.toFixed(3)}`;
}
