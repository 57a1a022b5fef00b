/**
 * The detector: the network as every inference path sees it (`predict`, `scan`, `eval`, and later
 * the web page and queue workers). A batch of H×W×C inputs in (channels last, made by
 * `data/channels.ts`), one output per input: class probabilities in CLASS_NAMES order and the box
 * [cx, cy, halfWidth, halfHeight] / input size. Sign symmetry (run the negated phase too and
 * average) lives in `forward.ts`, once, with the contract (re-exported here; the web page uses it
 * without this file's file system and engines).
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
import { detectorFromForward, type Detector, type Forward } from './forward.js';

export * from './forward.js';

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
