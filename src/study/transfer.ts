/**
 * Transfer learning as in Gaddes, Hooper & Albino 2021: a VGG16 convolutional base (ImageNet
 * weights in the tfjs layers format, or random init), the paper's two heads on the flattened
 * `block5_pool` features, and the paper's two training steps:
 *
 *   (a) bottleneck features: the frozen base runs ONCE over the training (and validation)
 *       examples; its `block5_pool` outputs (and `block4_pool`, for step b) are cached on disk as
 *       .npy chunks, and the heads are trained on them (Adam);
 *   (b) fine-tuning of block 5 at a low learning rate with blocks 1–4 frozen, heads attached.
 *       Blocks 1–4 are frozen and VGG16 has no batch norm or dropout, so their output is a constant
 *       of each example: step (b) trains block 5 + heads on the cached `block4_pool` features —
 *       exactly the same gradients as running the whole network, without the forward pass through
 *       blocks 1–4 (89 % of VGG16's multiply-adds): ~1/5 of the cost per step.
 *
 * The result is ONE tfjs LayersModel: input [H, W, C] (caldera's channels in [−1, 1]) → a fixed
 * 1×1-conv preprocessing layer (VGG16's "caffe" input, see {@link Vgg16Preprocess}) → VGG16 →
 * heads → outputs [`class` (softmax over dyke / sill / none), `box` (sigmoid; cx/W, cy/H, hw/W,
 * hh/H)], like `buildNetwork`'s models: `predict`, `saveModel`/`loadModel` work unchanged, and it
 * loads with plain `tf.loadLayersModel` (standard layers only).
 *
 * Feature cache (`cacheDir/train`, `cacheDir/val`): `index.json` + per chunk of `chunkSize`
 * examples `<layer>.<chunk>.npy` ([n, h, w, c]; float16 bits as uint16 by default —
 * `np.load(f).view(np.float16)` — or float32). A chunk is reused when the cache key (backbone,
 * input shape, preprocessing, SHA-256 of the base weights, format, chunk size) and the chunk's
 * SHA-256 of its input arrays match and its files read back with the right shape; everything is
 * written atomically (files first, index last), so a killed run resumes with the chunks it finished.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../core/rng.js';
import { ensureWritableDir, writeFileAtomicSync } from '../io/atomic.js';
import { InputError } from '../core/errors.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { saveModel } from '../engine/io-handler.js';
import { LeanAdam } from '../engine/kernels/adam-in-place.js';
import { registerMaxPoolGrad } from '../engine/kernels/max-pool-grad.js';
import { boxLoss, classLoss, type LossWeights } from '../engine/network.js';
import { CLASS_NAMES } from '../core/classes.js';
import { shuffle } from '../train/train.js';
import {
  PREPROCESS_LAYER, VGG16_LAYERS, applyVgg16Blocks, loadVgg16Weights, preprocessLayer,
  type LoadedWeightsInfo, type Vgg16Preprocess, VGG16_STRIDE,
} from './vgg16.js';

// ---------------------------------------------------------------------------------------------
// Model

/** Hidden layers of the two heads. */
export interface HeadSpec {
  /** Class head: Dense(relu) sizes; each preceded by dropout. */
  readonly classHidden: readonly number[];
  /** Box head: Dense(relu) sizes. */
  readonly boxHidden: readonly number[];
  /** Dropout rate. */
  readonly dropout: number;
  /** Dropout in the box head after this hidden layer (index; −1: none). */
  readonly boxDropoutAfter: number;
}

/**
 * The paper's heads (Gaddes et al. 2021): class Dense 256 → 128 → 3 softmax with dropout 0.2 before
 * each hidden layer; box Dense 2048 → 1024 → 512 → 128 → 4 with dropout 0.2 after the 1024 layer.
 * (The authors' public code has one more Dense 1024 in the box head and a linear box output; here
 * the box is a sigmoid of normalised coordinates, like caldera's other models.) On a 224×224 input
 * these heads have 60.5 M parameters (Dense 25088 → 2048 alone is 51.4 M), VGG16's base 14.7 M.
 */
export const PAPER_HEADS: HeadSpec = { classHidden: [256, 128], boxHidden: [2048, 1024, 512, 128], dropout: 0.2, boxDropoutAfter: 1 };

export interface TransferModelOptions {
  /** [H, W, C]: H, W multiples of 32; C 1 or 3 (1 is repeated). Default [224, 224, 3]. */
  inputShape?: [number, number, number];
  /** Default 'caffe' (what ImageNet VGG16 expects). */
  preprocess?: Vgg16Preprocess;
  heads?: HeadSpec;
  /** Seed of the initialisers (base without weights, heads). Default 1. */
  seed?: number;
  /** tfjs layers-format directory with (Keras ImageNet) VGG16 weights; random init without. */
  weightsPath?: string;
  /** caldera channel format of the inputs (e.g. 'uuu'), recorded in the metadata as `format`. */
  channelFormat?: string;
}

/** What a transfer model records in its userDefinedMetadata (saved into model.json by saveModel). */
export interface TransferMeta {
  backbone: 'vgg16';
  /** caldera channel format, when given. */
  format: string | null;
  vgg16: {
    inputShape: [number, number, number];
    preprocess: Vgg16Preprocess;
    heads: HeadSpec;
    /** SHA-256 of the base weights loaded, or `random-he:<seed>`. */
    weights: string;
    weightsPath: string | null;
    history?: TransferEpoch[];
  };
}

/**
 * Register the kernels the transfer path needs beyond `initBackend()`'s: a correct wasm
 * `MaxPoolGrad` (the stock one drops the gradient of all-negative windows). Idempotent; called by
 * {@link buildTransferModel} and {@link transferTrain}.
 */
export function registerTransferKernels(): void {
  registerMaxPoolGrad();
}

/** Names of the base's layers (preprocessing + VGG16) in a transfer model. */
const BASE_LAYERS = new Set<string>([PREPROCESS_LAYER, ...VGG16_LAYERS]);
const BLOCK5_CONVS = ['block5_conv1', 'block5_conv2', 'block5_conv3'];

/**
 * Build the transfer model: input → preprocessing → VGG16 base → `flatten` → heads → [`class`,
 * `box`]. Base layers are frozen (trainable = false). Weights from `weightsPath` when given.
 */
export async function buildTransferModel(opts: TransferModelOptions = {}): Promise<{ model: tf.LayersModel; weights: LoadedWeightsInfo | null }> {
  registerTransferKernels();
  const shape = opts.inputShape ?? [224, 224, 3];
  const [h, w, c] = shape;
  if (![h, w].every((v) => Number.isInteger(v) && v > 0 && v % VGG16_STRIDE === 0)) {
    throw new InputError(`VGG16 transfer model: height and width must be positive multiples of ${VGG16_STRIDE}, got ${h}×${w}`);
  }
  if (c !== 1 && c !== 3) throw new InputError(`VGG16 transfer model: 1 or 3 input channels, got ${c}`);
  const preprocess = opts.preprocess ?? 'caffe';
  if (preprocess !== 'caffe' && preprocess !== 'none') throw new InputError(`VGG16 preprocessing must be 'caffe' or 'none', got '${preprocess}'`);
  const heads = opts.heads ?? PAPER_HEADS;
  const seed0 = opts.seed ?? 1;
  const input = tf.input({ shape: [h, w, c], name: 'input' });
  const pre = preprocessLayer(input, preprocess);
  const { pools } = applyVgg16Blocks(pre, seed0, preprocess === 'caffe' ? 127.5 : 1);
  let s = seed0 + 1000;
  const he = () => tf.initializers.heNormal({ seed: s++ });
  const glorot = () => tf.initializers.glorotUniform({ seed: s++ });
  const flat = tf.layers.flatten({ name: 'flatten' }).apply(pools[4]) as tf.SymbolicTensor;
  // Dropout layers get no seed: a seeded tfjs dropout draws the same mask at every call.
  let x = flat;
  heads.classHidden.forEach((u, i) => {
    if (heads.dropout > 0) x = tf.layers.dropout({ name: `class_dropout${i + 1}`, rate: heads.dropout }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.dense({ name: `class_dense${i + 1}`, units: u, activation: 'relu', kernelInitializer: he() }).apply(x) as tf.SymbolicTensor;
  });
  const classOut = tf.layers.dense({ name: 'class', units: CLASS_NAMES.length, activation: 'softmax', kernelInitializer: glorot() })
    .apply(x) as tf.SymbolicTensor;
  x = flat;
  heads.boxHidden.forEach((u, i) => {
    x = tf.layers.dense({ name: `box_dense${i + 1}`, units: u, activation: 'relu', kernelInitializer: he() }).apply(x) as tf.SymbolicTensor;
    if (i === heads.boxDropoutAfter && heads.dropout > 0) {
      x = tf.layers.dropout({ name: 'box_dropout', rate: heads.dropout }).apply(x) as tf.SymbolicTensor;
    }
  });
  const boxOut = tf.layers.dense({ name: 'box', units: 4, activation: 'sigmoid', kernelInitializer: glorot() }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: [classOut, boxOut], name: 'caldera_vgg16' });
  let weights: LoadedWeightsInfo | null = null;
  if (opts.weightsPath != null) weights = await loadVgg16Weights(model, opts.weightsPath);
  setTrainable(model, 'heads');
  const meta: TransferMeta = {
    backbone: 'vgg16',
    format: opts.channelFormat ?? null,
    vgg16: {
      inputShape: [h, w, c], preprocess, heads,
      weights: weights ? weights.sha256 : `random-he:${seed0}`,
      weightsPath: opts.weightsPath ?? null,
    },
  };
  model.setUserDefinedMetadata(meta as unknown as Record<string, unknown> as { [k: string]: {} });
  return { model, weights };
}

/** The transfer metadata of a model built by {@link buildTransferModel} (or loaded from one), else null. */
export function transferMeta(model: tf.LayersModel): TransferMeta | null {
  const m = model.getUserDefinedMetadata() as Partial<TransferMeta> | undefined;
  return m?.backbone === 'vgg16' && m.vgg16 != null ? (m as TransferMeta) : null;
}

/**
 * Set which layers train: 'heads' — only the heads; 'block5' — block 5 and the heads (blocks 1–4
 * and the preprocessing stay frozen).
 */
export function setTrainable(model: tf.LayersModel, what: 'heads' | 'block5'): void {
  for (const l of model.layers) {
    if (l.getClassName() === 'InputLayer') continue;
    if (!BASE_LAYERS.has(l.name)) l.trainable = true;
    else l.trainable = what === 'block5' && BLOCK5_CONVS.includes(l.name);
  }
}

/** The trainable variables of a model's layers (per their `trainable` flags). */
function trainableVars(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * Run `model` from the output of layer `startLayer` (given as `x`) to its outputs, layer by layer
 * (`training` switches dropout on). Layers upstream of `startLayer` are not run. Call inside a tidy
 * or gradient scope.
 */
export function runFrom(model: tf.LayersModel, startLayer: string, x: tf.Tensor, training: boolean): tf.Tensor[] {
  const start = model.getLayer(startLayer);
  const values = new Map<number, tf.Tensor>();
  values.set((start.output as tf.SymbolicTensor).id, x);
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    if (layer.inboundNodes.length !== 1) throw new Error(`runFrom: layer ${layer.name} is used more than once`);
    const node = layer.inboundNodes[0];
    if (node.outputTensors.every((t) => values.has(t.id))) continue;
    const ins = node.inputTensors.map((t) => values.get(t.id));
    if (ins.some((v) => v == null)) continue;
    const r = layer.apply(ins.length === 1 ? ins[0]! : (ins as tf.Tensor[]), { training });
    const outs = Array.isArray(r) ? r : [r];
    node.outputTensors.forEach((t, i) => values.set(t.id, outs[i] as tf.Tensor));
  }
  return model.outputs.map((t) => {
    const v = values.get(t.id);
    if (v == null) throw new Error(`runFrom: output ${t.name} is not downstream of ${startLayer}`);
    return v;
  });
}

/**
 * Inference with a transfer model (or any caldera model): `x` a [B, H, W, C] tensor, one image
 * (Float32Array of H·W·C) or several; returns class probabilities [B, 3] and boxes [B, 4]
 * (normalised cx, cy, half-width, half-height). Arrays go through in batches of `batch`.
 */
export function vgg16Predict(model: tf.LayersModel, x: tf.Tensor4D | Float32Array | readonly Float32Array[], batch = 8): { classProbs: tf.Tensor2D; box: tf.Tensor2D } {
  if (x instanceof tf.Tensor) {
    const [c, b] = model.apply(x, { training: false }) as tf.Tensor[];
    return { classProbs: c as tf.Tensor2D, box: b as tf.Tensor2D };
  }
  const list = x instanceof Float32Array ? [x] : x;
  const [h, w, ch] = (model.inputs[0].shape.slice(1) as number[]);
  const per = h * w * ch;
  const cs: tf.Tensor[] = [];
  const bs: tf.Tensor[] = [];
  for (let i = 0; i < list.length; i += batch) {
    const part = list.slice(i, i + batch);
    const buf = new Float32Array(part.length * per);
    part.forEach((a, j) => {
      if (a.length !== per) throw new InputError(`vgg16Predict: image ${i + j} has ${a.length} values, the model takes ${h}×${w}×${ch} = ${per}`);
      buf.set(a, j * per);
    });
    const [c, b] = tf.tidy(() => model.apply(tf.tensor4d(buf, [part.length, h, w, ch]), { training: false }) as tf.Tensor[]);
    cs.push(c);
    bs.push(b);
  }
  if (cs.length === 1) return { classProbs: cs[0] as tf.Tensor2D, box: bs[0] as tf.Tensor2D };
  const out = { classProbs: tf.concat(cs) as tf.Tensor2D, box: tf.concat(bs) as tf.Tensor2D };
  tf.dispose([...cs, ...bs]);
  return out;
}

/** Save a transfer model with io-handler's `saveModel` (its metadata — backbone, format, vgg16 — included). */
export async function saveTransferModel(model: tf.LayersModel, dir: string, extraMeta?: Record<string, unknown>): Promise<tf.io.SaveResult> {
  if (transferMeta(model) == null) throw new Error('saveTransferModel: not a VGG16 transfer model (no backbone metadata)');
  return saveModel(model, dir, extraMeta);
}

// ---------------------------------------------------------------------------------------------
// float16

const F16_MAX = 65504;
const cvtF32 = new Float32Array(1);
const cvtU32 = new Uint32Array(cvtF32.buffer);

/** IEEE half-precision bits of `v` (round to nearest even; beyond ±65504 → ±Infinity, NaN kept). */
export function toFloat16Bits(v: number): number {
  cvtF32[0] = v;
  const x = cvtU32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 112;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) !== 0)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) !== 0)) half++;
  return sign | half;
}

let f16Table: Float32Array | null = null;
/** float32 value of every half-precision bit pattern. */
function float16Table(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    t[h] = exp === 0 ? sign * mant * 2 ** -24
      : exp === 0x1f ? (mant !== 0 ? NaN : sign * Infinity)
        : sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  f16Table = t;
  return t;
}

/** float32 value of half-precision bits. */
export function fromFloat16Bits(h: number): number {
  return float16Table()[h & 0xffff];
}

/** Encode to float16 bits, clamping to ±65504 (returns the count of clamped values). */
function encodeF16(src: Float32Array, dst: Uint16Array, at: number): number {
  let clamped = 0;
  for (let i = 0; i < src.length; i++) {
    let v = src[i];
    if (v > F16_MAX) { v = F16_MAX; clamped++; } else if (v < -F16_MAX) { v = -F16_MAX; clamped++; }
    dst[at + i] = toFloat16Bits(v);
  }
  return clamped;
}

// ---------------------------------------------------------------------------------------------
// Examples and the bottleneck feature cache

/** One training example: caldera channels (H·W·C, HWC order, values in [−1, 1]) and its labels. */
export interface TransferExample {
  readonly x: Float32Array;
  /** 0 dyke, 1 sill, 2 none (CLASS_NAMES order). */
  readonly classIndex: number;
  /** [cx/W, cy/H, halfWidth/W, halfHeight/H]; ignored when !hasBox. */
  readonly box: ArrayLike<number>;
  readonly hasBox: boolean;
}

export type ExampleSource = Iterable<TransferExample> | AsyncIterable<TransferExample>;

export type FeatureFormat = 'float16' | 'float32';

interface CacheKey {
  version: number;
  backbone: 'vgg16';
  inputShape: number[];
  preprocess: Vgg16Preprocess;
  weights: string;
  format: FeatureFormat;
  chunkSize: number;
}

interface ChunkEntry { count: number; sha256: string; layers: string[] }
interface CacheIndex { key: CacheKey; chunks: (ChunkEntry | null)[] }

const CACHE_VERSION = 1;
const INDEX_JSON = 'index.json';

/** Features of one layer for every example, chunked as cached. */
interface LayerFeatures {
  /** Per-example shape, e.g. [7, 7, 512]. */
  shape: number[];
  size: number;
  chunks: (Uint16Array | Float32Array)[];
}

/** Cached features + labels of a set of examples. */
export interface FeatureSet {
  n: number;
  chunkSize: number;
  classIndex: Int32Array;
  /** [n, 5]: cx, cy, hw, hh, hasBox. */
  box: Float32Array;
  layers: Map<string, LayerFeatures>;
}

export interface FeatureStats {
  examples: number;
  chunks: number;
  chunksReused: number;
  chunksComputed: number;
  /** Batches run through the VGG16 base (0 when everything came from the cache). */
  baseBatches: number;
  baseExamples: number;
  baseSeconds: number;
  /** Feature values clamped to ±65504 for float16. */
  clamped: number;
}

function sameKey(a: CacheKey | undefined, b: CacheKey): boolean {
  return a != null && JSON.stringify(a) === JSON.stringify(b);
}

function readIndex(dir: string): CacheIndex | null {
  try {
    const j = JSON.parse(fs.readFileSync(path.join(dir, INDEX_JSON), 'utf8')) as CacheIndex;
    return j != null && typeof j === 'object' && Array.isArray(j.chunks) ? j : null;
  } catch {
    return null;
  }
}

function writeIndex(dir: string, index: CacheIndex): void {
  writeFileAtomicSync(path.join(dir, INDEX_JSON), JSON.stringify(index, null, 1));
}

function chunkFile(dir: string, layer: string, chunk: number): string {
  return path.join(dir, `${layer}.${String(chunk).padStart(5, '0')}.npy`);
}

function checkExample(ex: TransferExample, i: number, per: number, shape: readonly number[]): void {
  if (!(ex.x instanceof Float32Array) || ex.x.length !== per) {
    throw new InputError(`example ${i}: x must be a Float32Array of ${shape.join('×')} = ${per} values, got ${ex.x?.length}`);
  }
  if (!Number.isInteger(ex.classIndex) || ex.classIndex < 0 || ex.classIndex >= CLASS_NAMES.length) {
    throw new InputError(`example ${i}: classIndex must be 0..${CLASS_NAMES.length - 1}, got ${ex.classIndex}`);
  }
  if (ex.hasBox && (ex.box == null || ex.box.length < 4)) throw new InputError(`example ${i}: hasBox but box has fewer than 4 values`);
}

interface ExtractOptions {
  dir: string;
  key: CacheKey;
  layers: string[];
  inputShape: [number, number, number];
  featureBatch: number;
  onChunk?: (e: { chunk: number; examples: number; reused: boolean }) => void;
}

/**
 * Run the frozen base over `source` (or take the features from the cache in `dir`): returns the
 * features of `layers` and the labels of every example.
 */
async function extractFeatures(model: tf.LayersModel, source: ExampleSource, o: ExtractOptions): Promise<{ set: FeatureSet; stats: FeatureStats }> {
  ensureWritableDir(o.dir);
  let index = readIndex(o.dir);
  if (index == null || !sameKey(index.key, o.key)) {
    index = { key: o.key, chunks: [] };
    writeIndex(o.dir, index);
  }
  const per = o.inputShape[0] * o.inputShape[1] * o.inputShape[2];
  const outShapes = o.layers.map((n) => (model.getLayer(n).outputShape as number[]).slice(1));
  const outSizes = outShapes.map((s) => s.reduce((a, b) => a * b, 1));
  let featureModel: tf.LayersModel | null = null;
  const stats: FeatureStats = { examples: 0, chunks: 0, chunksReused: 0, chunksComputed: 0, baseBatches: 0, baseExamples: 0, baseSeconds: 0, clamped: 0 };
  const layerChunks: (Uint16Array | Float32Array)[][] = o.layers.map(() => []);
  const classIdx: number[] = [];
  const boxes: number[] = [];
  const f16 = o.key.format === 'float16';

  const tryReuse = (ci: number, count: number, sha: string): (Uint16Array | Float32Array)[] | null => {
    const e = index!.chunks[ci];
    if (e == null || e.count !== count || e.sha256 !== sha || !o.layers.every((l) => e.layers.includes(l))) return null;
    const out: (Uint16Array | Float32Array)[] = [];
    for (let k = 0; k < o.layers.length; k++) {
      try {
        const a = readNpy(chunkFile(o.dir, o.layers[k], ci));
        const want = [count, ...outShapes[k]];
        if (a.shape.length !== want.length || a.shape.some((d, i) => d !== want[i])) return null;
        if (f16 ? !(a.data instanceof Uint16Array) : !(a.data instanceof Float32Array)) return null;
        out.push(a.data as Uint16Array | Float32Array);
      } catch {
        return null;
      }
    }
    return out;
  };

  const compute = (ci: number, exs: TransferExample[], sha: string): (Uint16Array | Float32Array)[] => {
    if (featureModel == null) {
      featureModel = tf.model({ inputs: model.inputs, outputs: o.layers.map((n) => model.getLayer(n).output as tf.SymbolicTensor) });
    }
    const n = exs.length;
    const out = outSizes.map((s) => (f16 ? new Uint16Array(n * s) : new Float32Array(n * s)));
    const t0 = performance.now();
    for (let i = 0; i < n; i += o.featureBatch) {
      const part = exs.slice(i, i + o.featureBatch);
      const buf = new Float32Array(part.length * per);
      part.forEach((e, j) => buf.set(e.x, j * per));
      const ys = tf.tidy(() => {
        const r = featureModel!.apply(tf.tensor4d(buf, [part.length, ...o.inputShape]), { training: false }) as tf.Tensor | tf.Tensor[];
        return Array.isArray(r) ? r : [r];
      });
      ys.forEach((y, k) => {
        const v = y.dataSync() as Float32Array;
        if (f16) stats.clamped += encodeF16(v, out[k] as Uint16Array, i * outSizes[k]);
        else (out[k] as Float32Array).set(v, i * outSizes[k]);
      });
      tf.dispose(ys);
      stats.baseBatches++;
      stats.baseExamples += part.length;
    }
    stats.baseSeconds += (performance.now() - t0) / 1000;
    o.layers.forEach((l, k) => writeNpy(chunkFile(o.dir, l, ci), { data: out[k], shape: [n, ...outShapes[k]] }));
    index!.chunks[ci] = { count: n, sha256: sha, layers: [...o.layers] };
    writeIndex(o.dir, index!);
    return out;
  };

  let pending: TransferExample[] = [];
  let chunk = 0;
  const flush = (): void => {
    const exs = pending;
    pending = [];
    const h = createHash('sha256');
    h.update(JSON.stringify(o.inputShape));
    for (const e of exs) h.update(new Uint8Array(e.x.buffer, e.x.byteOffset, e.x.byteLength));
    const sha = h.digest('hex');
    let data = tryReuse(chunk, exs.length, sha);
    const reused = data != null;
    if (data == null) data = compute(chunk, exs, sha);
    data.forEach((d, k) => layerChunks[k].push(d));
    if (reused) stats.chunksReused++; else stats.chunksComputed++;
    stats.chunks++;
    o.onChunk?.({ chunk, examples: stats.examples, reused });
    chunk++;
  };
  for await (const ex of source) {
    checkExample(ex, stats.examples, per, o.inputShape);
    pending.push(ex);
    classIdx.push(ex.classIndex);
    if (ex.hasBox) boxes.push(ex.box[0], ex.box[1], ex.box[2], ex.box[3], 1);
    else boxes.push(0, 0, 0, 0, 0);
    stats.examples++;
    if (pending.length === o.key.chunkSize) flush();
  }
  if (pending.length > 0) flush();
  if (index.chunks.length > chunk) {
    index.chunks.length = chunk;
    writeIndex(o.dir, index);
  }
  const layers = new Map<string, LayerFeatures>();
  o.layers.forEach((l, k) => layers.set(l, { shape: outShapes[k], size: outSizes[k], chunks: layerChunks[k] }));
  return {
    set: { n: stats.examples, chunkSize: o.key.chunkSize, classIndex: Int32Array.from(classIdx), box: Float32Array.from(boxes), layers },
    stats,
  };
}

/** Features of examples `idx` of one layer as a [B, ...shape] tensor. */
function featureBatch(set: FeatureSet, layer: string, idx: readonly number[]): tf.Tensor {
  const lf = set.layers.get(layer);
  if (lf == null) throw new Error(`no cached features for ${layer}`);
  const out = new Float32Array(idx.length * lf.size);
  const table = float16Table();
  idx.forEach((g, j) => {
    const c = lf.chunks[Math.floor(g / set.chunkSize)];
    const off = (g % set.chunkSize) * lf.size;
    if (c instanceof Float32Array) out.set(c.subarray(off, off + lf.size), j * lf.size);
    else {
      const base = j * lf.size;
      for (let i = 0; i < lf.size; i++) out[base + i] = table[c[off + i]];
    }
  });
  return tf.tensor(out, [idx.length, ...lf.shape]);
}

function labelBatch(set: FeatureSet, idx: readonly number[]): { yClass: tf.Tensor2D; yBox: tf.Tensor2D } {
  const k = CLASS_NAMES.length;
  const c = new Float32Array(idx.length * k);
  const b = new Float32Array(idx.length * 5);
  idx.forEach((g, j) => {
    c[j * k + set.classIndex[g]] = 1;
    b.set(set.box.subarray(g * 5, g * 5 + 5), j * 5);
  });
  return { yClass: tf.tensor2d(c, [idx.length, k]), yBox: tf.tensor2d(b, [idx.length, 5]) };
}

// ---------------------------------------------------------------------------------------------
// Training

export type TransferPhase = 'heads' | 'finetune';

export interface TransferEpoch {
  phase: TransferPhase;
  /** 1-based within the phase. */
  epoch: number;
  lr: number;
  loss: number;
  classLoss: number;
  boxLoss: number;
  accuracy: number;
  valLoss: number | null;
  valClassLoss: number | null;
  valBoxLoss: number | null;
  valAccuracy: number | null;
  seconds: number;
  imgPerS: number;
}

export type TransferEvent =
  | { type: 'features'; split: 'train' | 'val'; chunk: number; examples: number; reused: boolean }
  | { type: 'step'; phase: TransferPhase; epoch: number; step: number; steps: number; loss: number }
  | { type: 'epoch'; record: TransferEpoch };

export interface TransferTrainOptions {
  /** Training examples (read once; arrays, generators and async iterables all work). */
  examples: ExampleSource;
  valExamples?: ExampleSource;
  /** Bottleneck feature cache (train/ and val/ under it); reused when it matches. */
  cacheDir: string;
  /** tfjs layers-format directory with VGG16 weights (Keras ImageNet converted); random init without. */
  weightsPath?: string;
  /** [H, W, C], default [224, 224, 3]. */
  inputShape?: [number, number, number];
  preprocess?: Vgg16Preprocess;
  heads?: HeadSpec;
  /** Epochs of step (a), heads on cached block5_pool features. */
  headEpochs: number;
  /** Epochs of step (b), block 5 + heads on cached block4_pool features (0: skip, and block4 is not cached). */
  fineTuneEpochs: number;
  /** Training batch (default 16). */
  batch?: number;
  /** Batch of the base's forward pass when caching (default 8). */
  featureBatch?: number;
  /** Adam learning rate of step (a) (default 1e-4). */
  lr?: number;
  /** Adam learning rate of step (b) (default 1e-5). */
  fineTuneLr?: number;
  /** Loss = class·CE + box·masked MSE (default class 1, box 10, as caldera's train). */
  lossWeights?: LossWeights;
  /** Seeds the initialisers and the example order (default 1). */
  seed?: number;
  /** Cached feature precision (default float16: half the disk and memory). */
  featureFormat?: FeatureFormat;
  /** Examples per cache chunk (default 64). */
  chunkSize?: number;
  channelFormat?: string;
  onProgress?: (e: TransferEvent) => void;
}

export interface TransferTrainResult {
  /** input → preprocessing → VGG16 → heads → [class, box]; block5 + heads trainable, the rest frozen. */
  model: tf.LayersModel;
  history: TransferEpoch[];
  features: { train: FeatureStats; val: FeatureStats | null };
  weights: LoadedWeightsInfo | null;
}

interface EvalResult { loss: number; classLoss: number; boxLoss: number; accuracy: number }

function evaluateFrom(model: tf.LayersModel, start: string, set: FeatureSet, batch: number, wc: number, wb: number): EvalResult {
  let cl = 0;
  let bl = 0;
  let nBox = 0;
  let correct = 0;
  for (let i = 0; i < set.n; i += batch) {
    const idx = Array.from({ length: Math.min(batch, set.n - i) }, (_, j) => i + j);
    const r = tf.tidy(() => {
      const x = featureBatch(set, start, idx);
      const { yClass, yBox } = labelBatch(set, idx);
      const [pc, pb] = runFrom(model, start, x, false);
      return [classLoss(yClass, pc), boxLoss(yBox, pb), tf.argMax(pc, -1)];
    });
    const [c, b, am] = r.map((t) => t.dataSync());
    tf.dispose(r);
    const boxes = idx.reduce((a, g) => a + set.box[g * 5 + 4], 0);
    cl += c[0] * idx.length;
    bl += b[0] * boxes;
    nBox += boxes;
    idx.forEach((g, j) => { if (am[j] === set.classIndex[g]) correct++; });
  }
  const classL = set.n > 0 ? cl / set.n : 0;
  const boxL = nBox > 0 ? bl / nBox : 0;
  return { loss: wc * classL + wb * boxL, classLoss: classL, boxLoss: boxL, accuracy: set.n > 0 ? correct / set.n : 0 };
}

interface PhaseOptions {
  phase: TransferPhase;
  start: string;
  epochs: number;
  lr: number;
  batch: number;
  wc: number;
  wb: number;
  seed: number;
  train: FeatureSet;
  val: FeatureSet | null;
  history: TransferEpoch[];
  onProgress?: (e: TransferEvent) => void;
}

function trainPhase(model: tf.LayersModel, o: PhaseOptions): void {
  const vars = trainableVars(model);
  // tfjs' Adam needs ~12 temporaries the size of each variable: ~2.5 GB for the paper's Dense 25088→2048.
  const optimizer = new LeanAdam(o.lr);
  const steps = Math.ceil(o.train.n / o.batch);
  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const t0 = performance.now();
      const order = shuffle(new Rng(o.seed * 7919 + epoch * 104729 + (o.phase === 'finetune' ? 1 : 0)), Array.from({ length: o.train.n }, (_, i) => i));
      let cl = 0;
      let bl = 0;
      let nBox = 0;
      let correct = 0;
      let total = 0;
      for (let s = 0; s < steps; s++) {
        const idx = order.slice(s * o.batch, (s + 1) * o.batch);
        const x = featureBatch(o.train, o.start, idx);
        const { yClass, yBox } = labelBatch(o.train, idx);
        let parts: tf.Tensor[] = [];
        const { value, grads } = tf.variableGrads(() => {
          const [pc, pb] = runFrom(model, o.start, x, true);
          const lc = classLoss(yClass, pc);
          const lb = boxLoss(yBox, pb);
          parts = [tf.keep(lc), tf.keep(lb), tf.keep(tf.argMax(pc, -1))];
          return tf.add(tf.mul(lc, o.wc), tf.mul(lb, o.wb)) as tf.Scalar;
        }, vars);
        optimizer.applyGradients(vars, grads); // disposes the gradients
        const loss = value.dataSync()[0];
        const c = parts[0].dataSync()[0];
        const b = parts[1].dataSync()[0];
        const am = parts[2].dataSync();
        tf.dispose([value, x, yClass, yBox, ...parts]);
        if (!Number.isFinite(loss)) throw new Error(`transfer ${o.phase}: loss is ${loss} at epoch ${epoch}, step ${s + 1} (lower the learning rate?)`);
        const boxes = idx.reduce((a, g) => a + o.train.box[g * 5 + 4], 0);
        cl += c * idx.length;
        bl += b * boxes;
        nBox += boxes;
        total += idx.length;
        idx.forEach((g, j) => { if (am[j] === o.train.classIndex[g]) correct++; });
        o.onProgress?.({ type: 'step', phase: o.phase, epoch, step: s + 1, steps, loss });
      }
      const seconds = (performance.now() - t0) / 1000;
      const v = o.val && o.val.n > 0 ? evaluateFrom(model, o.start, o.val, o.batch, o.wc, o.wb) : null;
      const classL = total > 0 ? cl / total : 0;
      const boxL = nBox > 0 ? bl / nBox : 0;
      const record: TransferEpoch = {
        phase: o.phase, epoch, lr: o.lr,
        loss: o.wc * classL + o.wb * boxL, classLoss: classL, boxLoss: boxL, accuracy: total > 0 ? correct / total : 0,
        valLoss: v?.loss ?? null, valClassLoss: v?.classLoss ?? null, valBoxLoss: v?.boxLoss ?? null, valAccuracy: v?.accuracy ?? null,
        seconds, imgPerS: seconds > 0 ? total / seconds : 0,
      };
      o.history.push(record);
      o.onProgress?.({ type: 'epoch', record });
    }
  } finally {
    optimizer.dispose();
  }
}

/**
 * The paper's transfer learning: build the model ({@link buildTransferModel}), cache the frozen
 * base's bottleneck features of the examples (reusing a matching cache), (a) train the heads on
 * them for `headEpochs`, (b) fine-tune block 5 + heads for `fineTuneEpochs` at `fineTuneLr`.
 * The returned model is complete (one forward pass from caldera inputs to [class, box]); its
 * metadata records the backbone, format and history — save it with `saveModel`/{@link saveTransferModel}.
 */
export async function transferTrain(o: TransferTrainOptions): Promise<TransferTrainResult> {
  const inputShape = o.inputShape ?? [224, 224, 3];
  const batch = o.batch ?? 16;
  const seed = o.seed ?? 1;
  const format = o.featureFormat ?? 'float16';
  const chunkSize = o.chunkSize ?? 64;
  const wc = o.lossWeights?.class ?? 1;
  const wb = o.lossWeights?.box ?? 10;
  for (const [k, v] of Object.entries({ headEpochs: o.headEpochs, fineTuneEpochs: o.fineTuneEpochs })) {
    if (!Number.isInteger(v) || v < 0) throw new InputError(`transferTrain: ${k} must be a non-negative integer, got ${v}`);
  }
  if (!Number.isInteger(batch) || batch < 1) throw new InputError(`transferTrain: batch must be a positive integer, got ${batch}`);
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new InputError(`transferTrain: chunkSize must be a positive integer, got ${chunkSize}`);
  if (format !== 'float16' && format !== 'float32') throw new InputError(`transferTrain: featureFormat must be float16 or float32, got ${format}`);

  const { model, weights } = await buildTransferModel({
    inputShape, preprocess: o.preprocess, heads: o.heads, seed, weightsPath: o.weightsPath, channelFormat: o.channelFormat,
  });
  const meta = transferMeta(model)!;
  const key: CacheKey = {
    version: CACHE_VERSION, backbone: 'vgg16', inputShape, preprocess: meta.vgg16.preprocess,
    weights: meta.vgg16.weights, format, chunkSize,
  };
  const layers = o.fineTuneEpochs > 0 ? ['block4_pool', 'block5_pool'] : ['block5_pool'];
  const featureBatchSize = o.featureBatch ?? 8;
  const train = await extractFeatures(model, o.examples, {
    dir: path.join(o.cacheDir, 'train'), key, layers, inputShape, featureBatch: featureBatchSize,
    onChunk: (e) => o.onProgress?.({ type: 'features', split: 'train', ...e }),
  });
  if (train.set.n === 0) throw new InputError('transferTrain: no training examples');
  const val = o.valExamples == null ? null : await extractFeatures(model, o.valExamples, {
    dir: path.join(o.cacheDir, 'val'), key, layers, inputShape, featureBatch: featureBatchSize,
    onChunk: (e) => o.onProgress?.({ type: 'features', split: 'val', ...e }),
  });

  const history: TransferEpoch[] = [];
  const common = { batch, wc, wb, seed, train: train.set, val: val?.set ?? null, history, onProgress: o.onProgress };
  setTrainable(model, 'heads');
  trainPhase(model, { ...common, phase: 'heads', start: 'block5_pool', epochs: o.headEpochs, lr: o.lr ?? 1e-4 });
  if (o.fineTuneEpochs > 0) {
    setTrainable(model, 'block5');
    trainPhase(model, { ...common, phase: 'finetune', start: 'block4_pool', epochs: o.fineTuneEpochs, lr: o.fineTuneLr ?? 1e-5 });
  }
  model.setUserDefinedMetadata({ ...meta, vgg16: { ...meta.vgg16, history } } as unknown as { [k: string]: {} });
  return { model, history, features: { train: train.stats, val: val?.stats ?? null }, weights };
}
