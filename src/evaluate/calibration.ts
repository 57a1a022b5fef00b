/**
 * Calibration of a classifier's probabilities: temperature scaling (Guo et al. 2017, "On
 * Calibration of Modern Neural Networks"), expected calibration error and reliability-diagram data.
 *
 * Temperature scaling divides the logits by one scalar T > 0 fitted on held-out data by minimising
 * the negative log-likelihood; it changes confidence, never the arg-max (accuracy is unchanged).
 * When only probabilities are available their logs serve as logits (softmax(log p / T) is the
 * same as with the original logits, because softmax is invariant to a per-row shift).
 *
 *   const T = fitTemperature({ logits }, labels).temperature;     // on a held-out set
 *   const calibrated = applyTemperature({ logits: testLogits }, T);
 *   expectedCalibrationError(calibrated, testLabels);             // 15 equal-width bins
 *
 * Pure: rows are plain arrays (one per sample, one value per class), labels are class indices.
 */

export type Rows = readonly (readonly number[])[];

/** Logits, or probabilities (turned into log-probabilities, clamped at 1e-12). */
export type Scores = { readonly logits: Rows } | { readonly probs: Rows };

const LOG_FLOOR = Math.log(1e-12);

function logitsOf(s: Scores): Rows {
  if ('logits' in s) return s.logits;
  return s.probs.map((row) => row.map((p) => (p > 0 ? Math.max(LOG_FLOOR, Math.log(p)) : LOG_FLOOR)));
}

/** softmax(z / T) of one row, stable (max subtracted). */
export function softmax(z: readonly number[], temperature = 1): number[] {
  let m = -Infinity;
  for (const v of z) if (v > m) m = v;
  const e = z.map((v) => Math.exp((v - m) / temperature));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

function checkLabels(rows: Rows, labels: readonly number[]): void {
  if (rows.length !== labels.length) throw new RangeError(`${rows.length} rows but ${labels.length} labels`);
  if (rows.length === 0) throw new RangeError('no samples');
  const k = rows[0]!.length;
  for (let i = 0; i < rows.length; i++) {
    if (rows[i]!.length !== k) throw new RangeError(`row ${i} has ${rows[i]!.length} classes, expected ${k}`);
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= k) throw new RangeError(`label ${i} is ${y}, expected an integer in 0..${k - 1}`);
  }
}

/** Mean negative log-likelihood of `labels` under softmax(logits / T). */
export function negativeLogLikelihood(scores: Scores, labels: readonly number[], temperature = 1): number {
  const z = logitsOf(scores);
  checkLabels(z, labels);
  let s = 0;
  for (let i = 0; i < z.length; i++) {
    const row = z[i]!;
    let m = -Infinity;
    for (const v of row) if (v > m) m = v;
    let sum = 0;
    for (const v of row) sum += Math.exp((v - m) / temperature);
    s += Math.log(sum) - (row[labels[i]!]! - m) / temperature;
  }
  return s / z.length;
}

export interface TemperatureFit {
  readonly temperature: number;
  readonly nllBefore: number;
  readonly nllAfter: number;
  readonly iterations: number;
}

export interface FitOptions {
  /** Search range for T (default [0.05, 20]). */
  readonly range?: readonly [number, number];
  /** Stop when the bracket in log T is narrower than this (default 1e-6). */
  readonly tolerance?: number;
}

/**
 * The temperature minimising the NLL, by golden-section search on log T. The NLL is convex in 1/T
 * (log-sum-exp of a linear function minus a linear term), hence unimodal in log T.
 */
export function fitTemperature(scores: Scores, labels: readonly number[], opts: FitOptions = {}): TemperatureFit {
  const z = logitsOf(scores);
  checkLabels(z, labels);
  const [lo, hi] = opts.range ?? [0.05, 20];
  if (!(lo > 0 && hi > lo)) throw new RangeError(`range must be 0 < lo < hi, got [${lo}, ${hi}]`);
  const tol = opts.tolerance ?? 1e-6;
  const f = (u: number): number => negativeLogLikelihood({ logits: z }, labels, Math.exp(u));
  const g = (Math.sqrt(5) - 1) / 2;
  let a = Math.log(lo), b = Math.log(hi);
  let c = b - g * (b - a), d = a + g * (b - a);
  let fc = f(c), fd = f(d);
  let it = 0;
  while (b - a > tol && it < 200) {
    if (fc < fd) { b = d; d = c; fd = fc; c = b - g * (b - a); fc = f(c); }
    else { a = c; c = d; fc = fd; d = a + g * (b - a); fd = f(d); }
    it++;
  }
  const temperature = Math.exp((a + b) / 2);
  return { temperature, nllBefore: f(0), nllAfter: f(Math.log(temperature)), iterations: it };
}

/** Probabilities softmax(logits / T) for every row (from probabilities: softmax(log p / T)). */
export function applyTemperature(scores: Scores, temperature: number): number[][] {
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new RangeError(`temperature must be > 0, got ${temperature}`);
  return logitsOf(scores).map((row) => softmax(row, temperature));
}

export interface ReliabilityBin {
  /** Bin edges on the max probability: (lo, hi], the first bin [0, hi]. */
  readonly lo: number;
  readonly hi: number;
  readonly count: number;
  /** Mean max probability in the bin (NaN when empty). */
  readonly confidence: number;
  /** Share of correct arg-max predictions in the bin (NaN when empty). */
  readonly accuracy: number;
}

/** Reliability-diagram data: accuracy against confidence (max probability) in `bins` equal-width bins. */
export function reliabilityDiagram(probs: Rows, labels: readonly number[], bins = 15): ReliabilityBin[] {
  checkLabels(probs, labels);
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const n = new Array<number>(bins).fill(0), conf = new Array<number>(bins).fill(0), hit = new Array<number>(bins).fill(0);
  for (let i = 0; i < probs.length; i++) {
    const row = probs[i]!;
    let k = 0;
    for (let j = 1; j < row.length; j++) if (row[j]! > row[k]!) k = j;
    const p = row[k]!;
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(p * bins) - 1));
    n[b]!++;
    conf[b]! += p;
    if (k === labels[i]) hit[b]!++;
  }
  return n.map((count, b) => ({
    lo: b / bins, hi: (b + 1) / bins, count,
    confidence: count ? conf[b]! / count : NaN, accuracy: count ? hit[b]! / count : NaN,
  }));
}

/** Expected calibration error: sum over bins of (count / N) |accuracy - confidence| (15 bins by default). */
export function expectedCalibrationError(probs: Rows, labels: readonly number[], bins = 15): number {
  const d = reliabilityDiagram(probs, labels, bins);
  let e = 0;
  for (const b of d) if (b.count) e += (b.count / probs.length) * Math.abs(b.accuracy - b.confidence);
  return e;
}
