/**
 * The detector: the network as every inference path sees it (`predict`, `scan`, `eval`, and later
 * the web page and queue workers). A batch of H×W×C inputs in (channels last, made by
 * `data/channels.ts`), one output per input: class probabilities in CLASS_NAMES order and the box
 * [cx, cy, halfWidth, halfHeight] / input size. Sign symmetry (run the negated phase too and
 * average) lives here, once.
 *
 * `loadDetector` gives the trained network, run by ONNX Runtime (the default engine: the network
 * exported to ONNX in memory, `engine/onnx-export.ts`) or by tfjs wasm (`engine: 'tfjs'`); a `.onnx`
 * file runs on ONNX Runtime; or the stand-in heuristic. Engines are imported lazily, so
 * `scan --model stand-in` and the scan tests never start one.
 *
 * Calibration: a model may come with a temperature T (`calibration.json` in the model directory,
 * or `NAME.calibration.json` beside `NAME.onnx`; written by `caldera eval --calibrate`,
 * evaluate/calibrate-model.ts). The detector then reports softmax(log p / T) for each forward
 * pass (the class head gives probabilities p; their logs are logits up to a per-row shift, which
 * softmax ignores), before sign symmetry averages the two passes. T > 1 softens overconfident
 * answers; the arg-max never changes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../core/errors.js';
import { oneLine, readInputTextSync } from '../io/input-file.js';
import type { ChannelFormat } from '../data/channels.js';
import { standInModel } from './stand-in.js';

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

/** Largest number of windows (inputs) per model call. */
export const MAX_BATCH_SIZE = 1024;

/** Why a batch size is not usable (a whole number 1..MAX_BATCH_SIZE), or null. */
export function batchSizeProblem(n: number | undefined): string | null {
  if (n === undefined || (Number.isInteger(n) && n >= 1 && n <= MAX_BATCH_SIZE)) return null;
  return `batch must be a whole number from 1 to ${MAX_BATCH_SIZE}, got ${n}`;
}

/** Which engine runs a trained network. */
export type EngineName = 'onnx' | 'tfjs';
export const ENGINES: readonly EngineName[] = ['onnx', 'tfjs'];

export interface LoadDetectorOptions {
  /** Default 'onnx' (ONNX Runtime, all cores); 'tfjs' is the wasm fallback. */
  readonly engine?: EngineName;
  /** ONNX Runtime threads (default: all cores). */
  readonly threads?: number;
  /** Stand-in only: the channel format to feed it (default www). */
  readonly format?: ChannelFormat | undefined;
  readonly batchSize?: number;
  /**
   * Also run every input with its phase negated and average the two answers: processors disagree
   * on the sign convention, and sources both inflate and deflate.
   */
  readonly symmetric?: boolean;
  /** Apply the model's calibration temperature when it has one (default true; false for fitting it). */
  readonly calibrated?: boolean;
}

/** A model's calibration file: `DIR/calibration.json`, or `NAME.calibration.json` beside `NAME.onnx`. */
export function calibrationFile(model: string): string {
  return model.toLowerCase().endsWith('.onnx') ? model.replace(/\.onnx$/i, '.calibration.json') : path.join(model, 'calibration.json');
}

/** The temperature of a model's calibration file, or null when it has none. InputError when the file is bad. */
export function readCalibrationTemperature(model: string): number | null {
  const f = calibrationFile(model);
  if (!fs.existsSync(f)) return null;
  let t: unknown;
  try {
    t = (JSON.parse(readInputTextSync(f, { maxBytes: 1 << 20 })) as { temperature?: unknown } | null)?.temperature;
  } catch (e) {
    throw new InputError(`${f}: cannot read the calibration (${oneLine((e as Error).message)})`, { cause: e });
  }
  if (typeof t !== 'number' || !(t > 0) || !Number.isFinite(t)) throw new InputError(`${f}: temperature must be a number > 0, got ${JSON.stringify(t)}`);
  return t;
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

/**
 * 'stand-in' gives the heuristic stand-in; a path ending in .onnx an exported network; otherwise a
 * directory saved by `caldera train` (default models/default), on `opts.engine` (default onnx).
 */
export async function loadDetector(spec: string | undefined, opts: LoadDetectorOptions = {}): Promise<Detector> {
  const bp = batchSizeProblem(opts.batchSize);
  if (bp) throw new InputError(bp);
  if (spec === 'stand-in') return standInModel(opts.format ?? 'www');
  if (opts.format) throw new InputError('format is for the stand-in model; a trained model records its own channel format');
  const engine = opts.engine ?? 'onnx';
  if (!ENGINES.includes(engine)) throw new InputError(`engine must be one of ${ENGINES.join(', ')}, got '${String(engine)}'`);
  if (spec?.toLowerCase().endsWith('.onnx')) {
    if (opts.engine === 'tfjs') throw new InputError(`${spec}: an .onnx file runs on the onnx engine, not tfjs`);
    return onnxFileDetector(spec, opts);
  }
  const { DEFAULT_MODEL_DIR, loadTrainedModel, readTrainedModelMeta } = await import('../engine/trained-model.js');
  const dir = spec ?? DEFAULT_MODEL_DIR;
  try {
    const t = temperatureOf(dir, opts);
    if (engine === 'tfjs') return await trainedDetector(await loadTrainedModel(dir), { ...opts, calibrated: false }, t);
    const { format, size } = await readTrainedModelMeta(dir);
    const { onnxEngineFromModelDir } = await importOnnxEngine();
    const ort = await onnxEngineFromModelDir(dir, onnxOptions(opts));
    return onnxDetector(ort, { format, size, name: modelName(dir, opts), ...t }, opts);
  } catch (e) {
    if (spec === undefined) {
      throw new InputError(`no model given and the default model cannot be loaded (${(e as Error).message}); ` +
        'train one (caldera train) and pass its directory, or try the pipeline with the stand-in', { cause: e });
    }
    throw e;
  }
}

const modelName = (dir: string, opts: LoadDetectorOptions): string => `${dir.replace(/[\\/]+$/, '')}${opts.symmetric ? ' (sign-symmetric)' : ''}`;
/** `{ temperature }` from the model's calibration file, when it has one and calibration is wanted. */
function temperatureOf(model: string, opts: LoadDetectorOptions): { temperature?: number } {
  if (opts.calibrated === false) return {};
  const t = readCalibrationTemperature(model);
  return t === null ? {} : { temperature: t };
}
const onnxOptions = (opts: LoadDetectorOptions): { intraOpThreads?: number } => (opts.threads !== undefined ? { intraOpThreads: opts.threads } : {});

type OnnxEngine = import('../engine/onnx-engine.js').OnnxEngine;

/** The ONNX Runtime engine module; a one-line InputError when ONNX Runtime cannot load here. */
export async function importOnnxEngine(): Promise<typeof import('../engine/onnx-engine.js')> {
  try {
    return await import('../engine/onnx-engine.js');
  } catch (e) {
    const why = ((e as Error).message ?? String(e)).split('\n')[0];
    throw new InputError(`ONNX Runtime cannot be loaded on this machine (${why}); use the tfjs engine (--engine tfjs)`, { cause: e });
  }
}

/** A detector on an open ONNX Runtime session. */
function onnxDetector(ort: OnnxEngine, spec: { format: ChannelFormat; size: number; name: string; temperature?: number }, opts: LoadDetectorOptions): Detector {
  const C = spec.format.length;
  const forward: Forward = async (inputs) => {
    const px = spec.size * spec.size * C;
    const flat = new Float32Array(inputs.length * px);
    inputs.forEach((x, i) => flat.set(x, i * px));
    const r = await ort.run(flat, inputs.length, spec.size, spec.size, C);
    return { probs: r.classProbs, boxes: r.box };
  };
  return detectorFromForward(forward, { ...spec, batchSize: opts.batchSize ?? 16 }, opts.symmetric ?? false);
}

/** A detector on a .onnx file written by `caldera export` (channel format and size from its metadata). */
async function onnxFileDetector(file: string, opts: LoadDetectorOptions): Promise<Detector> {
  const [{ OnnxEngine }, { parseChannelFormat }] = await Promise.all([importOnnxEngine(), import('../data/channels.js')]);
  const ort = await OnnxEngine.fromFile(file, onnxOptions(opts));
  let format: ChannelFormat;
  try {
    format = parseChannelFormat(String(ort.metadata.channel_format));
  } catch (e) {
    await ort.release();
    throw new InputError(`${file}: not a caldera export (${(e as Error).message})`);
  }
  const { height, width, channels } = ort.inputSize;
  if (height !== width || channels !== format.length) {
    await ort.release();
    throw new InputError(`${file}: input ${height}×${width}×${channels} does not match its channel format '${format}'`);
  }
  return onnxDetector(ort, { format, size: height, name: modelName(file, opts), ...temperatureOf(file, opts) }, opts);
}

/**
 * The detector of a loaded trained model (tfjs forward passes), calibrated by the model
 * directory's calibration file unless `opts.calibrated` is false or `calibration` is given.
 */
export async function trainedDetector(tm: import('../engine/trained-model.js').TrainedModel, opts: LoadDetectorOptions = {},
  calibration: { temperature?: number } = temperatureOf(tm.dir, opts)): Promise<Detector> {
  const [{ predict }, { tf }] = await Promise.all([import('../engine/network.js'), import('../engine/backend.js')]);
  const { size, format } = tm;
  const C = format.length;
  const forward: Forward = (inputs) => {
    const px = size * size * C;
    const flat = new Float32Array(inputs.length * px);
    inputs.forEach((x, i) => flat.set(x, i * px));
    const x = tf.tensor4d(flat, [inputs.length, size, size, C]);
    const { classProbs, box } = predict(tm.model, x);
    const probs = classProbs.dataSync() as Float32Array;
    const boxes = box.dataSync() as Float32Array;
    tf.dispose([x, classProbs, box]);
    return { probs, boxes };
  };
  return detectorFromForward(forward, { format, size, batchSize: opts.batchSize ?? 16, name: modelName(tm.dir, opts), ...calibration }, opts.symmetric ?? false);
}
