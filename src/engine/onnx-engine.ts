/**
 * Inference with ONNX Runtime (onnxruntime-node, CPU) on a caldera network exported by
 * `onnx-export.ts`: `class` [N,3] probabilities and `box` [N,4] from an NHWC float32 batch.
 *
 * Why: tfjs's wasm backend runs one core per instance and has no FMA; ORT's native MLAS kernels
 * use every core (intra-op threads) and AVX2/FMA, so the same graph runs several times faster
 * (numbers in bench/onnx-infer.ts). tfjs stays the reference and the fall-back; the outputs agree
 * within 1e-4 (tested).
 *
 * Errors about the model file or the data are one-line `InputError`s: a corrupt .onnx, a file ORT
 * cannot load, a model without the `input` / `class` / `box` values, a batch whose size or shape
 * does not match the model.
 */
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import { InputError } from '../core/errors.js';
import { readInputFile } from '../io/input-file.js';
import { decodeModel } from './onnx-graph.js';
import { exportOnnxFromDir } from './onnx-export.js';

export interface OnnxEngineOptions {
  /** Threads of one operator (default: all cores, `os.availableParallelism()`). */
  readonly intraOpThreads?: number;
  /** ORT graph optimisation level (default 'all': fuses Conv+Relu, Gemm+activation, …). */
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Let idle intra-op threads spin between operators (ORT's default, true). Spinning threads
   * waste a core that other processes on a shared machine could use; false makes them sleep.
   */
  readonly allowSpinning?: boolean;
  /** Name of the model in error messages (default: the path, or 'ONNX model'). */
  readonly source?: string;
}

/** Outputs of one batch: row-major [n,3] class probabilities and [n,4] boxes. */
export interface OnnxInferenceResult {
  readonly classProbs: Float32Array;
  readonly box: Float32Array;
}

/** The first line of an error's message (ORT messages can span lines). */
function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n').find((l) => l.trim() !== '') ?? msg).trim();
}

/** The ONNX model's metadata_props (and validity check: throws InputError on bytes that are not an ONNX model). */
function readOnnxMetadata(bytes: Uint8Array, source: string): Record<string, string> {
  let m;
  try {
    m = decodeModel(bytes);
  } catch (e) {
    throw new InputError(`${source}: corrupt ONNX model (${oneLine(e)})`, { cause: e });
  }
  if (m.graph == null || (m.graph.node ?? []).length === 0) throw new InputError(`${source}: corrupt ONNX model (no graph)`);
  return Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
}

/** An open ORT session on a caldera network. Call {@link release} when done. */
export class OnnxEngine {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** [N,H,W,C] as declared by the model (N usually the symbolic 'N'). */
    readonly inputShape: readonly (number | string)[],
    /** The model's metadata_props (channel_format, class_names, input_size, …). */
    readonly metadata: Readonly<Record<string, string>>,
    readonly source: string,
    /** Intra-op threads of the session. */
    readonly threads: number,
  ) {}

  /** Open a session on .onnx bytes. InputError when the bytes are not a loadable caldera network. */
  static async fromBytes(bytes: Uint8Array, opts: OnnxEngineOptions = {}): Promise<OnnxEngine> {
    const source = opts.source ?? 'ONNX model';
    const metadata = readOnnxMetadata(bytes, source);
    const threads = Math.max(1, Math.floor(opts.intraOpThreads ?? os.availableParallelism()));
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
        logSeverityLevel: 3,
        ...(opts.allowSpinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {}),
      });
    } catch (e) {
      throw new InputError(`${source}: ONNX Runtime cannot load the model (${oneLine(e)})`, { cause: e });
    }
    const input = session.inputMetadata.find((v) => v.name === 'input');
    const fail = async (why: string): Promise<never> => {
      await session.release();
      throw new InputError(`${source}: not a caldera network (${why})`);
    };
    if (input == null || !input.isTensor || input.type !== 'float32') return fail(`needs a float32 input 'input', has ${session.inputNames.join(', ')}`);
    if (input.shape.length !== 4 || input.shape.slice(1).some((d) => typeof d !== 'number' || d < 1)) {
      return fail(`input must be [N,H,W,C] with fixed H, W, C, is [${input.shape.join(',')}]`);
    }
    for (const o of ['class', 'box']) if (!session.outputNames.includes(o)) return fail(`no output '${o}', has ${session.outputNames.join(', ')}`);
    return new OnnxEngine(session, input.shape, metadata, source, threads);
  }

  /** Open a .onnx file. InputError when it cannot be read or loaded. */
  static async fromFile(file: string, opts: OnnxEngineOptions = {}): Promise<OnnxEngine> {
    // A regular file only (a FIFO would block forever), read non-blocking; InputError otherwise.
    const bytes = new Uint8Array(await readInputFile(file));
    return OnnxEngine.fromBytes(bytes, { ...opts, source: opts.source ?? file });
  }

  /** Model input height, width, channels. */
  get inputSize(): { height: number; width: number; channels: number } {
    const [, h, w, c] = this.inputShape as [unknown, number, number, number];
    return { height: h, width: w, channels: c };
  }

  /**
   * Run a batch: `batch` holds n·h·w·c float32 values, NHWC (prepared as the model's metadata
   * says). InputError when the sizes do not match the model or each other.
   */
  async run(batch: Float32Array, n: number, h: number, w: number, c: number): Promise<OnnxInferenceResult> {
    const want = this.inputSize;
    if (!Number.isInteger(n) || n < 1) throw new InputError(`${this.source}: batch size must be a positive integer, got ${n}`);
    if (h !== want.height || w !== want.width || c !== want.channels) {
      throw new InputError(`${this.source}: input is ${h}×${w}×${c}, the model takes ${want.height}×${want.width}×${want.channels}`);
    }
    if (batch.length !== n * h * w * c) {
      throw new InputError(`${this.source}: ${batch.length} values for a batch of ${n}×${h}×${w}×${c} (${n * h * w * c})`);
    }
    const input = new ort.Tensor('float32', batch, [n, h, w, c]);
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await this.session.run({ input });
    } catch (e) {
      throw new InputError(`${this.source}: ONNX Runtime failed to run (${oneLine(e)})`, { cause: e });
    } finally {
      input.dispose();
    }
    const cls = out.class, box = out.box;
    if (cls == null || box == null || cls.type !== 'float32' || box.type !== 'float32' || cls.size !== n * 3 || box.size !== n * 4) {
      throw new InputError(`${this.source}: unexpected outputs (class [${cls?.dims}], box [${box?.dims}] for a batch of ${n})`);
    }
    return { classProbs: cls.data as Float32Array, box: box.data as Float32Array };
  }

  /** Free the native session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Open an engine on .onnx bytes or a .onnx path. */
export function openOnnxEngine(model: Uint8Array | string, opts: OnnxEngineOptions = {}): Promise<OnnxEngine> {
  return typeof model === 'string' ? OnnxEngine.fromFile(model, opts) : OnnxEngine.fromBytes(model, opts);
}

/**
 * An engine on a saved tfjs model directory (model.json + weights.bin): exported to ONNX in
 * memory, then opened — so predict/scan/eval can use ORT on any caldera model without an export step.
 * Needs no tfjs backend. InputError for a bad directory or a network the exporter does not know.
 */
export async function onnxEngineFromModelDir(dir: string, opts: OnnxEngineOptions = {}): Promise<OnnxEngine> {
  const bytes = await exportOnnxFromDir(dir);
  return OnnxEngine.fromBytes(bytes, { ...opts, source: opts.source ?? `${dir} (exported to ONNX)` });
}
