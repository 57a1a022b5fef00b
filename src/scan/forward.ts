/**
 * The detector's contract and what every engine shares, without a file system or an engine (the
 * web page runs it too): a batch of H×W×C inputs in, one output per input (class probabilities in
 * CLASS_NAMES order and the box [cx, cy, halfWidth, halfHeight] / input size); `detectorFromForward`
 * turns an engine's raw forward pass into a `Detector` with batching checks, the calibration
 * temperature (softmax(log p / T) on each pass) and sign symmetry (run the negated phase too and
 * average). `detector.ts` re-exports it and loads the engines.
 */
import type { ChannelFormat } from '../data/channels.js';

/** One answer: class probabilities and the box [cx, cy, halfWidth, halfHeight] / input size. */
export interface ModelOutput {
  readonly probs: readonly number[];
  readonly box: readonly [number, number, number, number];
  /** With sign symmetry: the answer on the negated input alone (`probs`/`box` average both). */
  readonly negated?: { readonly probs: readonly number[]; readonly box: readonly [number, number, number, number] };
}

/** A batch of H×W×C inputs in, one output per input. */
export type RunBatch = (inputs: Float32Array[]) => Promise<ModelOutput[]>;

/** A network ready to be fed: how to run it and what it takes. */
export interface Detector {
  readonly run: RunBatch;
  readonly format: ChannelFormat;
  /** Input side in pixels (224). */
  readonly size: number;
  /** Shown in reports: the model directory, or a note that it is a stand-in. */
  readonly name: string;
  readonly batchSize?: number;
  /** The calibration temperature applied to the class probabilities (absent: uncalibrated). */
  readonly temperature?: number;
}

const LOG_FLOOR = Math.log(1e-12);

/**
 * softmax(log p / T) of one row of probabilities (as evaluate/calibration.ts applyTemperature
 * with probabilities: logs clamped at 1e-12). T = 1 returns the row renormalised.
 */
export function temperatureScale(probs: readonly number[], temperature: number): number[] {
  const z = probs.map((p) => (p > 0 ? Math.max(LOG_FLOOR, Math.log(p)) : LOG_FLOOR) / temperature);
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Negate the phase channels (u, w) of an H×W×C input; rescaled u and wrapped/π w are odd in the phase. */
export function negatePhase(x: Float32Array, format: ChannelFormat): Float32Array {
  const C = format.length;
  const phaseCh = [...format].map((ch) => ch === 'u' || ch === 'w');
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = phaseCh[i % C] ? -x[i]! : x[i]!;
  return out;
}

/** Raw forward pass over a batch: probabilities [n×3] and boxes [n×4]. */
export type Forward = (inputs: Float32Array[]) => Promise<ForwardResult> | ForwardResult;
export interface ForwardResult { readonly probs: Float32Array; readonly boxes: Float32Array }

/**
 * A detector from a forward pass: batching checks, the calibration temperature (`spec.temperature`,
 * applied to each pass) and optional sign symmetry.
 */
export function detectorFromForward(forward: Forward, spec: Omit<Detector, 'run'>, symmetric = false): Detector {
  const C = spec.format.length;
  const px = spec.size * spec.size * C;
  const T = spec.temperature;
  if (T !== undefined && !(T > 0 && Number.isFinite(T))) throw new RangeError(`temperature must be > 0, got ${T}`);
  const pick = (a: ForwardResult, i: number): { probs: number[]; box: [number, number, number, number] } => {
    const raw = [0, 1, 2].map((j) => a.probs[i * 3 + j]!);
    return {
      probs: T === undefined ? raw : temperatureScale(raw, T),
      box: [0, 1, 2, 3].map((j) => a.boxes[i * 4 + j]!) as [number, number, number, number],
    };
  };
  return {
    ...spec,
    run: async (inputs: Float32Array[]): Promise<ModelOutput[]> => {
      inputs.forEach((x, i) => {
        if (x.length !== px) throw new Error(`input ${i} has ${x.length} values, expected ${spec.size}x${spec.size}x${C}`);
      });
      const a = await forward(inputs);
      if (!symmetric) return inputs.map((_, i) => pick(a, i));
      const b = await forward(inputs.map((x) => negatePhase(x, spec.format)));
      return inputs.map((_, i) => {
        const pa = pick(a, i), pb = pick(b, i);
        return {
          probs: pa.probs.map((v, j) => (v + pb.probs[j]!) / 2),
          box: pa.box.map((v, j) => (v + pb.box[j]!) / 2) as unknown as [number, number, number, number],
          negated: pb,
        };
      });
    },
  };
}
