/**
 * The trained network as a scan model: `loadTrainedModel` (predict.ts: model directory, channel
 * format and input size from its metadata) plus batched forward passes (`network.predict`) over
 * the windows `scan` cuts. tfjs is imported lazily, so `scan --model stand-in` and the scan tests
 * never start it.
 */
import { InputError } from '../core/errors.js';
import type { ChannelFormat } from '../data/channels.js';
import type { ModelOutput, ModelSpec } from './scan.js';
import { standInModel } from './stand-in.js';

export interface LoadScanModelOptions {
  /** Stand-in only: the channel format to feed it (default www). */
  readonly format?: ChannelFormat | undefined;
  readonly batchSize?: number;
  /**
   * Also run every window with its phase negated and average the two answers: processors disagree
   * on the sign convention, and sources both inflate and deflate (as `caldera predict --sign`).
   */
  readonly symmetric?: boolean;
}

/** Negate the phase channels (u, w) of an H x W x C input; rescaled u and wrapped/pi w are odd in the phase. */
export function negatePhase(x: Float32Array, format: ChannelFormat): Float32Array {
  const C = format.length;
  const phaseCh = [...format].map((ch) => ch === 'u' || ch === 'w');
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = phaseCh[i % C] ? -x[i]! : x[i]!;
  return out;
}

/** 'stand-in' gives the heuristic stand-in; otherwise a directory saved by `caldera train` (default models/default). */
export async function loadScanModel(spec: string | undefined, opts: LoadScanModelOptions = {}): Promise<ModelSpec> {
  if (spec === 'stand-in') return standInModel(opts.format ?? 'www');
  if (opts.format) throw new InputError('--format is for the stand-in model; a trained model records its own channel format');
  const [{ DEFAULT_MODEL_DIR, loadTrainedModel }, { predict }, { tf }] = await Promise.all([
    import('./predict.js'), import('../engine/network.js'), import('../engine/backend.js'),
  ]);
  const dir = spec ?? DEFAULT_MODEL_DIR;
  let tm: Awaited<ReturnType<typeof loadTrainedModel>>;
  try {
    tm = await loadTrainedModel(dir);
  } catch (e) {
    if (spec === undefined) {
      throw new InputError(`no --model given and the default model cannot be loaded (${(e as Error).message}); ` +
        'train one (caldera train) and pass --model DIR, or try the pipeline with --model stand-in', { cause: e });
    }
    throw e;
  }
  const { size, format } = tm;
  const C = format.length;
  const forward = (inputs: Float32Array[]): { probs: Float32Array; boxes: Float32Array } => {
    const px = size * size * C;
    const flat = new Float32Array(inputs.length * px);
    inputs.forEach((x, i) => {
      if (x.length !== px) throw new Error(`input ${i} has ${x.length} values, expected ${size}x${size}x${C}`);
      flat.set(x, i * px);
    });
    const x = tf.tensor4d(flat, [inputs.length, size, size, C]);
    const { classProbs, box } = predict(tm.model, x);
    const probs = classProbs.dataSync() as Float32Array;
    const boxes = box.dataSync() as Float32Array;
    tf.dispose([x, classProbs, box]);
    return { probs, boxes };
  };
  return {
    format, size, batchSize: opts.batchSize ?? 16,
    name: `${tm.dir.replace(/[\\/]+$/, '')}${opts.symmetric ? ' (sign-symmetric)' : ''}`,
    run: async (inputs: Float32Array[]): Promise<ModelOutput[]> => {
      const a = forward(inputs);
      const b = opts.symmetric ? forward(inputs.map((x) => negatePhase(x, format))) : null;
      return inputs.map((_, i) => {
        const p = [0, 1, 2].map((j) => (b ? (a.probs[i * 3 + j]! + b.probs[i * 3 + j]!) / 2 : a.probs[i * 3 + j]!));
        const box = [0, 1, 2, 3].map((j) => (b ? (a.boxes[i * 4 + j]! + b.boxes[i * 4 + j]!) / 2 : a.boxes[i * 4 + j]!));
        return { probs: p, box: box as unknown as [number, number, number, number] };
      });
    },
  };
}
