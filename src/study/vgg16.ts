/**
 * The VGG16 convolutional base (Simonyan & Zisserman 2015) as Keras builds it with
 * `VGG16(include_top=False)`: 5 blocks of 3×3 'same' convolutions with ReLU (64,64 | 128,128 |
 * 256×3 | 512×3 | 512×3) and a 2×2 max-pool after each block, with Keras' layer names
 * (`block1_conv1` … `block5_pool`), so that Keras' ImageNet weights converted with the standard
 * converter (`tensorflowjs_converter --input_format keras vgg16.h5 DIR` → DIR/model.json +
 * `group*-shard*of*.bin`, the tfjs layers format) load by layer name.
 *
 * Also here: VGG16's input preprocessing for caldera's channels (see {@link preprocessVgg16}), a
 * reader that copies weights from such a directory into a model by layer name
 * ({@link loadVgg16Weights}) and a writer of the same sharded format ({@link writeLayersModelDir}).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../core/errors.js';
import { ensureWritableDir, writeFileAtomic } from '../io/atomic.js';
import { MODEL_JSON, readArtifacts } from '../engine/io-handler.js';

/** Filters of each conv layer, per block. */
export const VGG16_BLOCKS: readonly (readonly number[])[] = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]];

/** The conv layer names of the base, in order (`block1_conv1` … `block5_conv3`). */
export const VGG16_CONV_LAYERS: readonly string[] = VGG16_BLOCKS.flatMap((b, i) => b.map((_, j) => `block${i + 1}_conv${j + 1}`));

/** Every layer name of the base in order (convs and pools), as Keras names them. */
export const VGG16_LAYERS: readonly string[] = VGG16_BLOCKS.flatMap((b, i) => [...b.map((_, j) => `block${i + 1}_conv${j + 1}`), `block${i + 1}_pool`]);

/** ImageNet mean pixel in **BGR** order, as Keras' `preprocess_input(mode='caffe')` subtracts it. */
export const IMAGENET_BGR_MEAN: readonly [number, number, number] = [103.939, 116.779, 123.68];

/** Total stride of the base: inputs must be multiples of this (output is H/32 × W/32 × 512). */
export const VGG16_STRIDE = 32;

/** Name of caldera's preprocessing layer (a fixed 1×1 conv) in transfer models. */
export const PREPROCESS_LAYER = 'vgg16_preprocess';

/**
 * How caldera's inputs are mapped to VGG16's:
 * - `caffe`: as Keras' `vgg16.preprocess_input` expects (what the ImageNet weights were trained
 *   with): caldera channel values in [−1, 1] → (x + 1)·127.5 ∈ [0, 255] read as **R, G, B** (channel
 *   0 = R), reordered to B, G, R, minus the ImageNet mean [103.939, 116.779, 123.68] (BGR).
 * - `none`: the [−1, 1] values go in unchanged (what Gaddes et al.'s public code does).
 * A 1-channel input is repeated into all three channels in both modes.
 */
export type Vgg16Preprocess = 'caffe' | 'none';

export interface Vgg16BaseOptions {
  /** [H, W, C]; H and W multiples of 32; C = 3 (Keras' base). Default [224, 224, 3]. */
  inputShape?: [number, number, number];
  /** A tfjs layers-format directory (model.json + weight shards) to copy weights from by layer name. */
  weightsPath?: string;
  /** Seed of the random initialisation (He normal kernels, zero biases) used without weights. */
  seed?: number;
  /** Typical magnitude of the (preprocessed) input values, for the random init of block1_conv1 (default 127.5, caffe inputs). */
  inputScale?: number;
  /** Model name (default 'vgg16'). */
  name?: string;
}

function checkInputShape(shape: readonly number[], who: string): [number, number, number] {
  if (shape.length !== 3 || !shape.every((v) => Number.isInteger(v) && v > 0)) {
    throw new InputError(`${who}: inputShape must be [H, W, C] positive integers, got [${shape.join(', ')}]`);
  }
  const [h, w] = shape;
  if (h % VGG16_STRIDE !== 0 || w % VGG16_STRIDE !== 0) {
    throw new InputError(`${who}: input height and width must be multiples of ${VGG16_STRIDE} (VGG16 pools 5 times), got ${h}×${w}`);
  }
  return [shape[0], shape[1], shape[2]];
}

/**
 * Apply VGG16's 13 convs and 5 pools to a symbolic tensor (the layers are new, named as Keras).
 * Returns the output of each block's pool (`pools[4]` is `block5_pool`). Random init: He-normal
 * kernels (seeded), zero biases; `block1_conv1`'s is divided by `inputScale`, the typical magnitude
 * of the input values (127.5 for caffe-preprocessed inputs), so that a randomly initialised base
 * gives O(1) features as a trained one does (He init assumes unit-scale inputs: with 0..255-scale
 * inputs the features come out ~100× too large and saturate the heads' sigmoid/softmax).
 */
export function applyVgg16Blocks(x: tf.SymbolicTensor, seed?: number, inputScale = 127.5): { pools: tf.SymbolicTensor[] } {
  let s = seed;
  const next = (): number | undefined => (s == null ? undefined : s++);
  const pools: tf.SymbolicTensor[] = [];
  VGG16_BLOCKS.forEach((filters, b) => {
    filters.forEach((f, j) => {
      const first = b === 0 && j === 0;
      x = tf.layers.conv2d({
        name: `block${b + 1}_conv${j + 1}`, filters: f, kernelSize: 3, padding: 'same', activation: 'relu',
        kernelInitializer: first && inputScale !== 1
          ? tf.initializers.varianceScaling({ scale: 2 / (inputScale * inputScale), mode: 'fanIn', distribution: 'normal', seed: next() })
          : tf.initializers.heNormal({ seed: next() }),
        biasInitializer: 'zeros',
      }).apply(x) as tf.SymbolicTensor;
    });
    x = tf.layers.maxPooling2d({ name: `block${b + 1}_pool`, poolSize: 2, strides: 2, padding: 'valid' }).apply(x) as tf.SymbolicTensor;
    pools.push(x);
  });
  return { pools };
}

/**
 * Keras' VGG16 convolutional base (`include_top=False`): input [H, W, 3] (already preprocessed
 * as VGG16 expects — see {@link preprocessVgg16}) → `block5_pool` [H/32, W/32, 512]. With
 * `weightsPath`, weights are copied in by layer name ({@link loadVgg16Weights}); without, random
 * He init (the path still runs, e.g. for tests).
 */
export async function buildVgg16Base(opts: Vgg16BaseOptions = {}): Promise<tf.LayersModel> {
  const shape = checkInputShape(opts.inputShape ?? [224, 224, 3], 'buildVgg16Base');
  const input = tf.input({ shape, name: 'vgg16_input' });
  const { pools } = applyVgg16Blocks(input, opts.seed, opts.inputScale ?? 127.5);
  const model = tf.model({ inputs: input, outputs: pools[4], name: opts.name ?? 'vgg16' });
  if (opts.weightsPath != null) await loadVgg16Weights(model, opts.weightsPath);
  return model;
}

// ---------------------------------------------------------------------------------------------
// Preprocessing

/**
 * The fixed 1×1 convolution that performs the preprocessing for a C-channel (C = 1 or 3) input:
 * kernel [1, 1, C, 3] and bias [3]. `caffe`: output channel j (B, G, R) = 127.5·x[2−j] + 127.5 −
 * mean[j] (x[0] for C = 1). `none`: identity (C = 3) or repetition (C = 1), zero bias.
 */
export function preprocessWeights(inputChannels: number, mode: Vgg16Preprocess): { kernel: Float32Array; bias: Float32Array } {
  if (inputChannels !== 1 && inputChannels !== 3) {
    throw new InputError(`VGG16 takes 1 or 3 input channels (1 is repeated into RGB), got ${inputChannels}`);
  }
  const kernel = new Float32Array(inputChannels * 3);
  const bias = new Float32Array(3);
  for (let o = 0; o < 3; o++) {
    const src = inputChannels === 1 ? 0 : mode === 'caffe' ? 2 - o : o;
    kernel[src * 3 + o] = mode === 'caffe' ? 127.5 : 1;
    bias[o] = mode === 'caffe' ? 127.5 - IMAGENET_BGR_MEAN[o] : 0;
  }
  return { kernel, bias };
}

/**
 * Preprocess caldera inputs [B, H, W, C] (C = 1 or 3, values in [−1, 1]) for VGG16, as a plain
 * tensor op (the same arithmetic as the model's {@link PREPROCESS_LAYER}): see {@link Vgg16Preprocess}.
 */
export function preprocessVgg16(x: tf.Tensor4D, mode: Vgg16Preprocess = 'caffe'): tf.Tensor4D {
  return tf.tidy(() => {
    const c = x.shape[3];
    const { kernel, bias } = preprocessWeights(c, mode);
    return tf.add(tf.conv2d(x, tf.tensor4d(kernel, [1, 1, c, 3]), 1, 'valid'), tf.tensor1d(bias)) as tf.Tensor4D;
  });
}

/** The (non-trainable) preprocessing layer for a C-channel input, its weights set. Apply it first. */
export function preprocessLayer(x: tf.SymbolicTensor, mode: Vgg16Preprocess): tf.SymbolicTensor {
  const c = x.shape[x.shape.length - 1] as number;
  const { kernel, bias } = preprocessWeights(c, mode);
  const layer = tf.layers.conv2d({
    name: PREPROCESS_LAYER, filters: 3, kernelSize: 1, padding: 'valid', useBias: true, trainable: false,
    kernelInitializer: 'zeros', biasInitializer: 'zeros',
  });
  const y = layer.apply(x) as tf.SymbolicTensor;
  tf.tidy(() => layer.setWeights([tf.tensor4d(kernel, [1, 1, c, 3]), tf.tensor1d(bias)]));
  return y;
}

// ---------------------------------------------------------------------------------------------
// Weights in the tfjs layers format

export interface LoadedWeightsInfo {
  /** Directory the weights came from. */
  dir: string;
  /** `layer/weight` names copied into the model. */
  loaded: string[];
  /** Weight names in the file that the model has no layer for (e.g. fc1/fc2/predictions of a full VGG16). */
  unused: string[];
  /** SHA-256 of the weight bytes (identifies the weights, e.g. in a feature cache key). */
  sha256: string;
}

/**
 * Split a stored weight name into layer and kind: 'block1_conv1/kernel', 'vgg16/block1_conv1/kernel:0',
 * 'block1_conv1/kernel_1' (tfjs' de-duplication), or Keras 3's index form 'block1_conv1/vars/0'
 * (kind '0' = the layer's first weight, the kernel).
 */
function splitWeightName(name: string, layerNames: ReadonlySet<string>): { layer: string | null; kind: string } {
  const parts = name.replace(/:\d+$/, '').split('/')
    .map((p) => (p.startsWith('_') ? p.slice(1) : p))
    .filter((p) => p !== 'vars' && p !== 'layer_checkpoint_dependencies');
  const last = parts[parts.length - 1];
  const kind = /^\d+$/.test(last) ? last : last.replace(/_\d+$/, '');
  for (let i = parts.length - 2; i >= 0; i--) {
    if (layerNames.has(parts[i])) return { layer: parts[i], kind };
  }
  // tfjs can suffix duplicated layer names ('block1_conv1_1').
  for (let i = parts.length - 2; i >= 0; i--) {
    const base = parts[i].replace(/_\d+$/, '');
    if (layerNames.has(base)) return { layer: base, kind };
  }
  return { layer: null, kind };
}

function shortName(v: tf.LayerVariable): string {
  const n = v.originalName ?? v.name;
  return n.slice(n.lastIndexOf('/') + 1).replace(/_\d+$/, '');
}

function resolveWeightsDir(p: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch (e) {
    throw new InputError(`${p}: VGG16 weights not found (give a directory with ${MODEL_JSON} and its weight shards)`, { cause: e });
  }
  if (st.isDirectory()) return p;
  if (path.basename(p) === MODEL_JSON) return path.dirname(p);
  throw new InputError(`${p}: expected a directory holding ${MODEL_JSON} (tfjs layers format) or that ${MODEL_JSON} itself`);
}

/**
 * Copy weights from a tfjs layers-format directory (`model.json` + any number of weight groups and
 * shards, e.g. `group1-shard1of15.bin` … as `tensorflowjs_converter --input_format keras` writes
 * them; quantised weights are dequantised) into the layers of `model` with the same names. Only the
 * VGG16 conv layers (`block1_conv1` … `block5_conv3`) that `model` has are required; every one must be
 * in the file with the model's shapes, else an InputError lists the missing and mismatched weights.
 * Weights of other layers in the file (e.g. the classifier of a full VGG16) are reported as unused.
 */
export async function loadVgg16Weights(model: tf.LayersModel, weightsPath: string): Promise<LoadedWeightsInfo> {
  const dir = resolveWeightsDir(weightsPath);
  const artifacts = await readArtifacts(dir);
  const specs = artifacts.weightSpecs ?? [];
  const data = artifacts.weightData;
  const bytes = data == null ? new Uint8Array(0)
    : new Uint8Array(Array.isArray(data) ? tf.io.CompositeArrayBuffer.join(data) : data);
  const sha256 = createHash('sha256').update(bytes).digest('hex');

  const targets = model.layers.filter((l) => VGG16_CONV_LAYERS.includes(l.name));
  if (targets.length === 0) throw new Error('loadVgg16Weights: the model has no VGG16 conv layers (block1_conv1 …)');
  const layerNames = new Set(targets.map((l) => l.name));
  // Which stored weight goes where (by name), before decoding anything.
  const wanted = new Map<string, { layer: string; kind: string }>();
  const unused: string[] = [];
  for (const s of specs) {
    const { layer, kind } = splitWeightName(s.name, layerNames);
    if (layer == null) unused.push(s.name);
    else wanted.set(s.name, { layer, kind });
  }
  const byName = new Map(targets.map((l) => [l.name, l]));
  const found = new Map<string, { spec: tf.io.WeightsManifestEntry }>();
  for (const s of specs) {
    const w = wanted.get(s.name);
    if (w == null) continue;
    let kind = w.kind;
    if (/^\d+$/.test(kind)) {
      const v = byName.get(w.layer)!.weights[Number(kind)];
      if (v == null) { unused.push(s.name); continue; }
      kind = shortName(v);
    }
    found.set(`${w.layer}/${kind}`, { spec: s });
  }
  const missing: string[] = [];
  const mismatched: string[] = [];
  for (const l of targets) {
    for (const v of l.weights) {
      const key = `${l.name}/${shortName(v)}`;
      const f = found.get(key);
      if (f == null) missing.push(key);
      else if (f.spec.shape.length !== v.shape.length || f.spec.shape.some((d, i) => d !== v.shape[i])) {
        mismatched.push(`${key}: file [${f.spec.shape.join(',')}] vs model [${v.shape.join(',')}]`);
      }
    }
  }
  if (missing.length > 0 || mismatched.length > 0) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing ${missing.length}: ${missing.join(', ')}`);
    if (mismatched.length) parts.push(`shape mismatch ${mismatched.length}: ${mismatched.join('; ')}`);
    throw new InputError(`${path.join(dir, MODEL_JSON)}: weights do not fit the VGG16 base (${parts.join('; ')})` +
      (unused.length ? `; the file has ${unused.length} other weights, e.g. ${unused.slice(0, 3).join(', ')}` : ''));
  }
  let tensors: tf.NamedTensorMap;
  try {
    tensors = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), specs);
  } catch (e) {
    throw new InputError(`${path.join(dir, MODEL_JSON)}: cannot decode the weights (${(e as Error).message})`, { cause: e });
  }
  const loaded: string[] = [];
  try {
    for (const l of targets) {
      for (const v of l.weights) {
        const key = `${l.name}/${shortName(v)}`;
        const spec = found.get(key)!.spec;
        const t = tensors[spec.name];
        tf.tidy(() => { v.write(t.dtype === 'float32' ? t : tf.cast(t, 'float32')); });
        loaded.push(key);
      }
    }
  } finally {
    tf.dispose(Object.values(tensors));
  }
  return { dir, loaded, unused, sha256 };
}

export interface WriteLayersModelOptions {
  /** Bytes per shard file (the converter's default is 4 MiB). */
  shardBytes?: number;
  /** 'one': one weight group; 'layer': one group per layer (as the Keras converter writes them). */
  groups?: 'one' | 'layer';
}

/**
 * Write `model` as a tfjs layers-format directory the way `tensorflowjs_converter` does:
 * `model.json` (topology + weightsManifest) and weight shards `group<g>-shard<i>of<n>.bin`, weights
 * named `<layer>/<kind>`. Shards first, model.json last (each atomically). Loadable by
 * {@link loadVgg16Weights} and by `tf.loadLayersModel`.
 */
export async function writeLayersModelDir(model: tf.LayersModel, dir: string, opts: WriteLayersModelOptions = {}): Promise<void> {
  const shardBytes = Math.max(4, Math.floor(opts.shardBytes ?? 4 * 1024 * 1024));
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save({ save: async (a) => { artifacts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; } });
  if (artifacts == null) throw new Error('writeLayersModelDir: model.save gave no artifacts');
  const specs = artifacts.weightSpecs ?? [];
  const data = artifacts.weightData;
  const all = data == null ? new Uint8Array(0) : new Uint8Array(Array.isArray(data) ? tf.io.CompositeArrayBuffer.join(data) : data);
  // Group the specs.
  const groups: { specs: tf.io.WeightsManifestEntry[]; start: number; end: number }[] = [];
  let off = 0;
  const size = (s: tf.io.WeightsManifestEntry) => s.shape.reduce((a, b) => a * b, 1) * 4;
  for (const s of specs) {
    const layer = s.name.split('/')[0];
    const last = groups[groups.length - 1];
    const n = size(s);
    if (last != null && (opts.groups !== 'layer' || last.specs[0].name.split('/')[0] === layer)) {
      last.specs.push(s);
      last.end += n;
    } else {
      groups.push({ specs: [s], start: off, end: off + n });
    }
    off += n;
  }
  ensureWritableDir(dir);
  const manifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] = [];
  for (let g = 0; g < groups.length; g++) {
    const { specs: gs, start, end } = groups[g];
    const n = Math.max(1, Math.ceil((end - start) / shardBytes));
    const paths: string[] = [];
    for (let i = 0; i < n; i++) {
      const name = `group${g + 1}-shard${i + 1}of${n}.bin`;
      await writeFileAtomic(path.join(dir, name), all.subarray(start + i * shardBytes, Math.min(end, start + (i + 1) * shardBytes)));
      paths.push(name);
    }
    manifest.push({ paths, weights: gs });
  }
  const json = {
    format: 'layers-model',
    generatedBy: `caldera writeLayersModelDir (tfjs ${tf.version.tfjs})`,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: manifest,
  };
  await writeFileAtomic(path.join(dir, MODEL_JSON), JSON.stringify(json));
}
