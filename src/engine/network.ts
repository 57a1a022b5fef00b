/**
 * caldera's two-headed CNN (after Gaddes, Hooper & Albino 2021): one trunk, a `class` head
 * (softmax over dyke / sill / none) and a `box` head (centre x/W, centre y/H, half-width/W,
 * half-height/H, all in [0, 1] through a sigmoid).
 *
 * The model is built from standard tfjs-layers classes only (Conv2D, BatchNormalization, ReLU,
 * GlobalAveragePooling2D, Flatten, Dense, Dropout), so a saved model loads with plain
 * `tf.loadLayersModel` anywhere. Training goes through {@link trainStep}, which executes the same
 * graph with caldera's fused training-mode batch norm (+ReLU) op and plain convolutions (so the
 * input gradient of the stem is never computed) — ~4× faster on wasm than `model.fit`, which also
 * works (see {@link compileForFit}).
 *
 * Trunk (default, 224×224×C input; every conv is conv → BN → ReLU, no pooling layers):
 *   stem   4×4 stride 4 (patchify)  → 56×56×32
 *   3×3 stride 2 → 28×28×64
 *   3×3 stride 2 → 14×14×128, 3×3 → 14×14×128
 *   3×3 stride 2 → 7×7×256                        (receptive field 92 px; 78 M multiply-adds/img)
 * Heads:
 *   class: global average pool → Dense 128 ReLU → Dropout 0.2 → Dense 3 softmax
 *   box:   1×1 conv 32 ReLU on the 7×7 map → flatten (keeps position) → Dense 256 ReLU
 *          → Dense 64 ReLU → Dense 4 sigmoid
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormTrain } from './kernels/batch-norm-train.js';
import { CLASS_NAMES } from '../core/classes.js';

export type NetworkVariant = 'default' | 'small' | 'tiny';

/** One convolution of the trunk (each is conv → batch norm → ReLU). */
export interface ConvSpec { filters: number; kernel: number; stride: number }

/** Architecture of a network; `buildNetwork` picks one by variant, tests/benchmarks may pass their own. */
export interface ArchSpec {
  trunk: ConvSpec[];
  classHidden: number[];
  classDropout: number;
  /** Filters of the 1×1 conv that reduces the last map before it is flattened for the box head. */
  boxReduce: number;
  boxHidden: number[];
}

export const ARCHITECTURES: Record<NetworkVariant, ArchSpec> = {
  default: {
    trunk: [
      { filters: 32, kernel: 4, stride: 4 },
      { filters: 64, kernel: 3, stride: 2 },
      { filters: 128, kernel: 3, stride: 2 },
      { filters: 128, kernel: 3, stride: 1 },
      { filters: 256, kernel: 3, stride: 2 },
    ],
    classHidden: [128],
    classDropout: 0.2,
    boxReduce: 32,
    boxHidden: [256, 64],
  },
  /** The default trunk at half the width (~1/4 of the arithmetic): for studies with many runs. */
  small: {
    trunk: [
      { filters: 16, kernel: 4, stride: 4 },
      { filters: 32, kernel: 3, stride: 2 },
      { filters: 64, kernel: 3, stride: 2 },
      { filters: 64, kernel: 3, stride: 1 },
      { filters: 128, kernel: 3, stride: 2 },
    ],
    classHidden: [64],
    classDropout: 0.2,
    boxReduce: 16,
    boxHidden: [128, 32],
  },
  tiny: {
    trunk: [
      { filters: 8, kernel: 4, stride: 4 },
      { filters: 16, kernel: 3, stride: 2 },
      { filters: 16, kernel: 3, stride: 2 },
      { filters: 32, kernel: 3, stride: 2 },
    ],
    classHidden: [16],
    classDropout: 0.2,
    boxReduce: 8,
    boxHidden: [32],
  },
};

export interface NetworkOptions {
  inputChannels: number;
  width?: number;
  height?: number;
  variant?: NetworkVariant;
  /** Seed for the weight initialisers (deterministic weights); random when omitted. */
  seed?: number;
  /** Override the architecture (benchmarks, experiments). */
  arch?: ArchSpec;
}

/** The total stride of an architecture's trunk (input size must be a multiple of it). */
export function trunkStride(arch: ArchSpec): number {
  return arch.trunk.reduce((s, c) => s * c.stride, 1);
}

/** Build the two-headed network. Outputs, in order: `class` [B,3] (softmax), `box` [B,4] (sigmoid). */
export function buildNetwork(opts: NetworkOptions): tf.LayersModel {
  const width = opts.width ?? 224;
  const height = opts.height ?? 224;
  const C = opts.inputChannels;
  const arch = opts.arch ?? ARCHITECTURES[opts.variant ?? 'default'];
  if (arch == null) throw new Error(`buildNetwork: unknown variant '${opts.variant}'`);
  if (!Number.isInteger(C) || C < 1) throw new Error(`buildNetwork: inputChannels must be a positive integer, got ${C}`);
  const stride = trunkStride(arch);
  if (width % stride !== 0 || height % stride !== 0) {
    throw new Error(`buildNetwork: width and height must be multiples of ${stride} (got ${width}×${height})`);
  }
  let seedCounter = opts.seed;
  const seed = (): number | undefined => (seedCounter == null ? undefined : seedCounter++);
  const he = () => tf.initializers.heNormal({ seed: seed() });
  const glorot = () => tf.initializers.glorotUniform({ seed: seed() });

  const input = tf.input({ shape: [height, width, C], name: 'input' });
  let x = input as tf.SymbolicTensor;
  arch.trunk.forEach((c, i) => {
    const p = i === 0 ? 'stem' : `conv${i}`;
    x = tf.layers.conv2d({
      name: `${p}_conv`, filters: c.filters, kernelSize: c.kernel, strides: c.stride, padding: 'same',
      useBias: false, kernelInitializer: he(),
    }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ name: `${p}_bn`, momentum: 0.99, epsilon: 1e-3 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU({ name: `${p}_relu` }).apply(x) as tf.SymbolicTensor;
  });
  const trunk = x;

  let c = tf.layers.globalAveragePooling2d({ name: 'class_pool' }).apply(trunk) as tf.SymbolicTensor;
  arch.classHidden.forEach((u, i) => {
    c = tf.layers.dense({ name: `class_dense${i}`, units: u, activation: 'relu', kernelInitializer: he() }).apply(c) as tf.SymbolicTensor;
  });
  // No seed: a seeded tfjs dropout layer draws the same mask at every step.
  if (arch.classDropout > 0) c = tf.layers.dropout({ name: 'class_dropout', rate: arch.classDropout }).apply(c) as tf.SymbolicTensor;
  const classOut = tf.layers.dense({ name: 'class', units: CLASS_NAMES.length, activation: 'softmax', kernelInitializer: glorot() })
    .apply(c) as tf.SymbolicTensor;

  let b = tf.layers.conv2d({
    name: 'box_reduce', filters: arch.boxReduce, kernelSize: 1, activation: 'relu', kernelInitializer: he(),
  }).apply(trunk) as tf.SymbolicTensor;
  b = tf.layers.flatten({ name: 'box_flatten' }).apply(b) as tf.SymbolicTensor;
  arch.boxHidden.forEach((u, i) => {
    b = tf.layers.dense({ name: `box_dense${i}`, units: u, activation: 'relu', kernelInitializer: he() }).apply(b) as tf.SymbolicTensor;
  });
  const boxOut = tf.layers.dense({ name: 'box', units: 4, activation: 'sigmoid', kernelInitializer: glorot() })
    .apply(b) as tf.SymbolicTensor;

  return tf.model({ inputs: input, outputs: [classOut, boxOut], name: `caldera_${opts.variant ?? 'default'}` });
}

// ---------------------------------------------------------------------------------------------
// Losses

/**
 * Categorical cross-entropy of softmax probabilities `yPred` [B,3] against one-hot (or soft)
 * `yTrue` [B,3], averaged over the batch (probabilities clipped to [1e-7, 1]).
 */
export function classLoss(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const p = tf.clipByValue(yPred, 1e-7, 1);
    return tf.neg(tf.mean(tf.sum(tf.mul(yTrue, tf.log(p)), -1))) as tf.Scalar;
  });
}

/**
 * The per-sample mask of a box target: a [B,5] target carries it in its last column
 * ([cx, cy, hw, hh, hasBox]); in a [B,4] target a negative centre x (e.g. all −1) means "no box".
 */
export function boxMask(yTrue: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const cols = yTrue.shape[1];
    if (cols === 5) return tf.reshape(tf.slice(yTrue, [0, 4], [-1, 1]), [-1]) as tf.Tensor1D;
    if (cols === 4) return tf.cast(tf.greaterEqual(tf.reshape(tf.slice(yTrue, [0, 0], [-1, 1]), [-1]), 0), 'float32') as tf.Tensor1D;
    throw new Error(`box target must be [B,4] or [B,5], got [${yTrue.shape}]`);
  });
}

/**
 * MASKED box loss: mean squared error over the 4 box values, averaged over the samples that have a
 * box (mask from {@link boxMask}); samples without one (class `none`) contribute nothing, and a
 * batch without any box gives 0. `yTrue` is [B,5] (last column hasBox) or [B,4] (−1 = no box);
 * `yPred` is [B,4]. Works as a `model.compile` loss for the [B,4] encoding.
 */
export function boxLoss(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const mask = boxMask(yTrue);
    const t = tf.slice(yTrue, [0, 0], [-1, 4]);
    const perSample = tf.mean(tf.square(tf.sub(yPred, t)), -1);
    const n = tf.maximum(tf.sum(mask), 1);
    return tf.div(tf.sum(tf.mul(perSample, mask)), n) as tf.Scalar;
  });
}

export interface LossWeights {
  /** Weight of the classification loss (default 1). */
  class?: number;
  /** Weight of the box loss (default 1). */
  box?: number;
}

/**
 * Compile `model` for `model.fit` with the same losses (class: cross-entropy; box: masked MSE with
 * the [B,4], −1 = no box, encoding). Slower than {@link trainStep} (stock batch-norm gradient).
 */
export function compileForFit(model: tf.LayersModel, optimizer: tf.Optimizer, weights: LossWeights = {}): void {
  const wc = weights.class ?? 1;
  const wb = weights.box ?? 1;
  const lc = (t: tf.Tensor, p: tf.Tensor) => (wc === 1 ? classLoss(t, p) : tf.tidy(() => tf.mul(classLoss(t, p), wc) as tf.Scalar));
  const lb = (t: tf.Tensor, p: tf.Tensor) => (wb === 1 ? boxLoss(t, p) : tf.tidy(() => tf.mul(boxLoss(t, p), wb) as tf.Scalar));
  model.compile({ optimizer, loss: [lc, lb] as unknown as string[] });
}

// ---------------------------------------------------------------------------------------------
// Fast training-mode execution of the graph

type Layer = tf.layers.Layer;

function className(l: Layer): string {
  return l.getClassName();
}

function isRelu(l: Layer): boolean {
  const cfg = l.getConfig() as Record<string, unknown>;
  if (className(l) === 'ReLU') return cfg.maxValue == null;
  if (className(l) === 'Activation') return cfg.activation === 'relu';
  return false;
}

/** A layer's weight variable by its short name ('kernel', 'gamma', 'moving_mean', …). */
function layerVariable(l: Layer, name: string) {
  const short = (n: string) => n.slice(n.lastIndexOf('/') + 1).replace(/_\d+$/, '');
  return l.weights.find((v) => short(v.originalName) === name) ?? l.weights.find((v) => short(v.name) === name);
}

function weightByName(l: Layer, name: string): tf.Tensor | null {
  const w = layerVariable(l, name);
  return w ? w.read() : null;
}

interface BnUpdate { layer: Layer; mean: tf.Tensor1D; variance: tf.Tensor1D }

/**
 * Run `model` in training mode on `x` with caldera's fast ops: Conv2D without bias/activation as a
 * plain convolution (input gradient computed only when needed), BatchNormalization (+ a following
 * ReLU) as one fused op, everything else through the layer itself (`training: true`, so dropout
 * is active). Returns the model outputs and the batch statistics for the BN moving averages
 * (apply them with {@link applyBatchNormUpdates}). Call inside a tidy/gradient scope.
 */
export function forwardTrain(model: tf.LayersModel, x: tf.Tensor): { outputs: tf.Tensor[]; bnUpdates: BnUpdate[] } {
  const values = new Map<number, tf.Tensor>();
  if (model.inputs.length !== 1) throw new Error('forwardTrain: expected a single-input model');
  values.set(model.inputs[0].id, x);
  const consumers = new Map<number, Layer[]>();
  for (const l of model.layers) {
    for (const node of l.inboundNodes) {
      for (const s of node.inputTensors) {
        const list = consumers.get(s.id) ?? [];
        list.push(l);
        consumers.set(s.id, list);
      }
    }
  }
  const done = new Set<Layer>();
  const bnUpdates: BnUpdate[] = [];
  for (const layer of model.layers) {
    const cls = className(layer);
    if (cls === 'InputLayer' || done.has(layer)) continue;
    if (layer.inboundNodes.length !== 1) throw new Error(`forwardTrain: layer ${layer.name} is used more than once`);
    const node = layer.inboundNodes[0];
    const ins = node.inputTensors.map((s) => {
      const v = values.get(s.id);
      if (v == null) throw new Error(`forwardTrain: input of ${layer.name} not computed (graph order)`);
      return v;
    });
    let out: tf.Tensor;
    const cfg = layer.getConfig() as Record<string, unknown>;
    if (cls === 'Conv2D' && !cfg.useBias && (cfg.activation === 'linear' || cfg.activation == null) &&
        (cfg.dataFormat ?? 'channelsLast') === 'channelsLast') {
      const k = weightByName(layer, 'kernel') as tf.Tensor4D;
      out = tf.conv2d(ins[0] as tf.Tensor4D, k, cfg.strides as [number, number], cfg.padding as 'same' | 'valid',
        'NHWC', cfg.dilationRate as [number, number]);
    } else if (cls === 'BatchNormalization' && ins[0].rank >= 2 && (cfg.axis === -1 || cfg.axis === ins[0].rank - 1) &&
        cfg.center !== false && cfg.scale !== false) {
      const outs = consumers.get(node.outputTensors[0].id) ?? [];
      const fuseRelu = outs.length === 1 && isRelu(outs[0]) && outs[0].inboundNodes.length === 1;
      const r = batchNormTrain(ins[0], weightByName(layer, 'gamma') as tf.Tensor1D, weightByName(layer, 'beta') as tf.Tensor1D,
        cfg.epsilon as number, fuseRelu);
      bnUpdates.push({ layer, mean: r.mean, variance: r.variance });
      out = r.y;
      if (fuseRelu) {
        values.set(outs[0].inboundNodes[0].outputTensors[0].id, out);
        done.add(outs[0]);
      }
    } else {
      const r = layer.apply(ins.length === 1 ? ins[0] : ins, { training: true });
      if (Array.isArray(r)) {
        node.outputTensors.forEach((s, i) => values.set(s.id, r[i] as tf.Tensor));
        continue;
      }
      out = r as tf.Tensor;
    }
    values.set(node.outputTensors[0].id, out);
  }
  const outputs = model.outputs.map((s) => {
    const v = values.get(s.id);
    if (v == null) throw new Error('forwardTrain: an output was not computed');
    return v;
  });
  return { outputs, bnUpdates };
}

/** Update BN moving mean/variance like tfjs-layers does (moving = moving·m + batch·(1−m)); disposes the batch stats. */
export function applyBatchNormUpdates(updates: BnUpdate[]): void {
  for (const u of updates) {
    const momentum = (u.layer.getConfig() as { momentum?: number }).momentum ?? 0.99;
    const mm = layerVariable(u.layer, 'moving_mean');
    const mv = layerVariable(u.layer, 'moving_variance');
    tf.tidy(() => {
      if (mm) mm.write(tf.add(tf.mul(mm.read(), momentum), tf.mul(u.mean, 1 - momentum)));
      if (mv) mv.write(tf.add(tf.mul(mv.read(), momentum), tf.mul(u.variance, 1 - momentum)));
    });
    u.mean.dispose();
    u.variance.dispose();
  }
}

export interface TrainStepResult {
  /** Weighted total loss. */
  loss: number;
  classLoss: number;
  boxLoss: number;
  /** Predicted class index per sample (training mode, before the update), for running accuracy. */
  predictedClass: Int32Array;
}

/**
 * One optimisation step on a batch, with the fused training ops (see {@link forwardTrain}).
 * `xBatch` [B,H,W,C]; `yClass` [B,3] one-hot; `yBox` [B,5] ([cx, cy, hw, hh, hasBox]) or [B,4]
 * (−1 for samples without a box). Loss = weights.class·classLoss + weights.box·boxLoss (box loss
 * masked, see {@link boxLoss}). Updates the trainable weights and the BN moving statistics;
 * returns the loss values. Leaks no tensors.
 */
export function trainStep(
  model: tf.LayersModel, optimizer: tf.Optimizer, xBatch: tf.Tensor, yClass: tf.Tensor, yBox: tf.Tensor,
  weights: LossWeights = {},
): TrainStepResult {
  const wc = weights.class ?? 1;
  const wb = weights.box ?? 1;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let parts: tf.Tensor[] = [];
  let bnUpdates: BnUpdate[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const r = forwardTrain(model, xBatch);
    bnUpdates = r.bnUpdates;
    const [pc, pb] = r.outputs;
    const lc = classLoss(yClass, pc);
    const lb = boxLoss(yBox, pb);
    parts = [tf.keep(lc), tf.keep(lb), tf.keep(tf.argMax(pc, -1))];
    return tf.add(tf.mul(lc, wc), tf.mul(lb, wb)) as tf.Scalar;
  }, vars);
  optimizer.applyGradients(grads);
  applyBatchNormUpdates(bnUpdates);
  const result = {
    loss: value.dataSync()[0],
    classLoss: parts[0].dataSync()[0],
    boxLoss: parts[1].dataSync()[0],
    predictedClass: Int32Array.from(parts[2].dataSync()),
  };
  tf.dispose([value, ...Object.values(grads), ...parts]);
  return result;
}

/** Inference: class probabilities [B,3] and boxes [B,4] (normalised centre x, centre y, half-width, half-height). */
export function predict(model: tf.LayersModel, x: tf.Tensor): { classProbs: tf.Tensor2D; box: tf.Tensor2D } {
  // model.apply on a concrete batch runs the graph directly (model.predict copies the input into
  // batch slices first).
  const [c, b] = model.apply(x, { training: false }) as tf.Tensor[];
  return { classProbs: c as tf.Tensor2D, box: b as tf.Tensor2D };
}

/** Multiply-accumulates of one forward pass for one image (convolutions and dense layers). */
export function forwardMacs(model: tf.LayersModel): number {
  let macs = 0;
  for (const l of model.layers) {
    const cls = className(l);
    if (cls !== 'Conv2D' && cls !== 'Dense') continue;
    const out = l.outputShape as (number | null)[];
    const k = weightByName(l, 'kernel');
    if (!k) continue;
    const spatial = out.slice(1, -1).reduce<number>((a, b) => a * (b ?? 1), 1);
    macs += spatial * k.size;
  }
  return macs;
}
