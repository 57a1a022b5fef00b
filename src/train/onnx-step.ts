/**
 * caldera's training step as ONE ONNX graph, run by ONNX Runtime: forward in training mode
 * (batch norm with batch statistics), both losses, a hand-written backward pass and the Adam
 * update. Weights, Adam moments and BN moving statistics are graph inputs and their updated values
 * graph outputs, so one `session.run` is one optimisation step (see `onnx-trainer.ts`).
 *
 * Same arithmetic as `network.ts`'s `trainStep` with `tf.train.adam` (tested against it on the
 * `tiny` variant): class loss = −mean Σ y·log(clip(softmax, 1e-7, 1)); box loss = masked MSE
 * (mean over the 4 values, averaged over samples with hasBox = 1, 0 when none); total =
 * wc·class + wb·box; BN: biased batch variance relu(E[z²] − E[z]²), moving = m·moving + (1−m)·batch;
 * Adam: m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g², w ← w − lr·(m/(1−β1^t)) / (√(v/(1−β2^t)) + ε).
 * Dropout takes its mask as an input (0 or 1/(1−rate) per unit, drawn by the caller).
 *
 * Layout: NCHW inside (ORT's fast convolutions); the image input is NHWC [B,H,W,C] as caldera's
 * batches are. Internal parameter layouts (the trainer converts to and from tfjs'):
 *   conv kernel  [Co, Ci, kh, kw]   (tfjs [kh, kw, Ci, Co])
 *   dense kernel [in, out]          (as tfjs), except box_dense0 whose rows are in (c, h, w) order
 *                                   (tfjs flattens the NHWC map in (h, w, c) order)
 * Backward: conv input gradient by ConvTranspose (or, stride 1, a Conv with the flipped transposed
 * kernel); conv weight gradient as a Conv with batch and channel axes swapped (x → [Ci,B,H,W] as
 * the input, dy → [Co,B,Ho,Wo] as the kernel, dilation = stride), as caldera's wasm kernel does, or
 * as an im2col (strided Slices + Concat) and one MatMul — see {@link TrainGraphOptions}.
 */
import { OnnxGraphBuilder, int } from '../engine/onnx-graph.js';
import type { ArchSpec } from '../engine/network.js';

/**
 * How the graph computes what. Defaults (taps, patch-MatMul stem, ConvTranspose, Where, nchw, flat)
 * were the fastest measured on this 2-core machine (see bench/train-speed.ts); all variants are
 * tested equal to tfjs.
 */
export interface TrainGraphOptions {
  /**
   * Conv weight gradient: 'swap' (a Conv with batch/channel swapped), 'im2col' (Slices + Concat +
   * one MatMul), 'taps' (per kernel tap a strided Slice of xᵀ [Ci,B,H,W] and one Gemm dzᵀ·tapᵀ) or
   * 'pitch' (as 'taps', but the taps are contiguous runs: xᵀ is padded and, for stride 2, split into
   * its 4 phases by strided Slices; a tap is then one offset run of each (ci, b) plane, junk columns
   * included, which meet zero columns padded onto dz — a memcpy-like Slice instead of a gather).
   */
  weightGrad?: 'swap' | 'im2col' | 'taps' | 'pitch';
  /**
   * ReLU backward: dy·Cast(y > 0) ('cast', default: ~3× faster than Where in ORT 1.30 CPU, whose
   * Where is a slow single-threaded loop), Where(y > 0, dy, 0) ('where') or dy·Sign(y) ('sign').
   */
  reluGrad?: 'cast' | 'where' | 'sign';
  /** Stem (patchify, kernel = stride) as patches × MatMul instead of Conv (also gives its weight gradient as one MatMul). */
  stemMatMul?: boolean;
  /** Input gradient of stride-1 convs: 'convTranspose' or 'conv' (flipped, transposed kernel). */
  inputGradStride1?: 'convTranspose' | 'conv';
  /**
   * Trunk layout: 'nchw' (ORT Conv / ConvTranspose) or 'cnhw' (activations as [C, B·H·W]; every conv
   * is an explicit im2col (strided Slices + Concat) and Gemms: the forward's im2col is reused by the
   * weight gradient, the input gradient of a stride-2 conv runs as one Gemm over 4 shifted views of
   * dz + DepthToSpace). 'cnhw' needs a patchify stem (kernel = stride) and, for stride 2, even sizes.
   */
  layout?: 'nchw' | 'cnhw';
  /**
   * All trainable parameters, and their Adam moments, as three flat vectors `params`, `params:m`,
   * `params:v` [P] (Split at the start, gradients Concat-ed for one Adam over the whole vector):
   * ~300 fewer small nodes and 3 instead of 72 graph inputs/outputs. Default true.
   */
  flatState?: boolean;
  /** Also output every gradient (`grad:<param>`), for tests. */
  outputGradients?: boolean;
}

export interface TrainGraphSpec {
  batch: number;
  height: number;
  width: number;
  channels: number;
  arch: ArchSpec;
  /** Number of classes of the class head (3). */
  classes: number;
  bnEpsilon: number;
  bnMomentum: number;
  lossWeights: { class: number; box: number };
  adam: { beta1: number; beta2: number; epsilon: number };
  options?: TrainGraphOptions;
}

/** A trainable parameter of the graph. */
export interface ParamInfo {
  /** tfjs layer name and weight ('stem_conv', 'kernel'). */
  layer: string;
  weight: string;
  /** Graph input names: value, Adam first and second moments; outputs are `<name>:new` etc. */
  name: string;
  /** Internal shape (graph) and the tfjs shape. */
  shape: number[];
  /** Offset and length in the flat parameter vector (the order of `params`). */
  offset: number;
  size: number;
  tfjsShape: number[];
  /** How the internal layout maps to tfjs': 'same', 'conv' (OIHW ↔ HWIO), 'conv-ohwi' (OHWI ↔ HWIO) or 'flatten-chw' (rows (c,h,w) ↔ (h,w,c)). */
  layout: { kind: 'same' } | { kind: 'conv' } | { kind: 'conv-ohwi' } | { kind: 'flatten-chw'; c: number; h: number; w: number };
}

/** A batch-norm layer's moving statistics (graph inputs `<layer>/moving_mean` …, outputs with ':new'). */
export interface BnInfo { layer: string; channels: number }

export interface TrainGraph {
  bytes: Uint8Array;
  params: ParamInfo[];
  bns: BnInfo[];
  /** Width of the dropout mask input `dropout_mask` [batch, width] (0 = no dropout input). */
  dropoutWidth: number;
  /** Parameters and moments as flat vectors (`params`, `params:m`, `params:v`; outputs with ':new'). */
  flat: boolean;
  /** Total number of trainable parameters. */
  paramCount: number;
  spec: TrainGraphSpec;
}

/** TF 'same' padding [top, left, bottom, right] and output size. */
export function samePadding(inH: number, inW: number, k: number, s: number): { pads: number[]; outH: number; outW: number } {
  const outH = Math.ceil(inH / s), outW = Math.ceil(inW / s);
  const th = Math.max((outH - 1) * s + k - inH, 0), tw = Math.max((outW - 1) * s + k - inW, 0);
  const top = Math.floor(th / 2), left = Math.floor(tw / 2);
  return { pads: [top, left, th - top, tw - left], outH, outW };
}

/** Terse wrapper over the builder: every op returns its (single) output name. */
class G {
  constructor(private readonly reluMode: 'cast' | 'where' | 'sign' = 'cast') {}
  readonly b = new OnnxGraphBuilder({ name: 'caldera_train_step', producerName: 'caldera' });
  private consts = new Map<string, string>();

  op(type: string, inputs: string[], attrs: Parameters<OnnxGraphBuilder['addNode']>[2] = {}): string {
    return this.b.addNode(type, inputs, attrs)[0]!;
  }
  /** float32 scalar constant (dims []), shared by value. */
  f(v: number): string {
    const key = `f${v}`;
    let n = this.consts.get(key);
    if (n == null) {
      n = this.b.addFloats(this.b.fresh('cf'), [v], []);
      this.consts.set(key, n);
    }
    return n;
  }
  /** float32 constant of a given shape. */
  fv(values: number[], dims: number[]): string {
    return this.b.addFloats(this.b.fresh('cfv'), values, dims);
  }
  /** int64 vector constant, shared by value. */
  i(values: number[]): string {
    const key = `i${values.join(',')}`;
    let n = this.consts.get(key);
    if (n == null) {
      n = this.b.addInt64s(this.b.fresh('ci'), values);
      this.consts.set(key, n);
    }
    return n;
  }
  add(a: string, c: string): string { return this.op('Add', [a, c]); }
  sub(a: string, c: string): string { return this.op('Sub', [a, c]); }
  mul(a: string, c: string): string { return this.op('Mul', [a, c]); }
  div(a: string, c: string): string { return this.op('Div', [a, c]); }
  reshape(a: string, shape: number[]): string { return this.op('Reshape', [a, this.i(shape)]); }
  transpose(a: string, perm: number[]): string { return this.op('Transpose', [a], { perm }); }
  /** ReduceSum over `axes` (opset 13+: axes as an input). */
  sum(a: string, axes: number[], keep = false): string { return this.op('ReduceSum', [a, this.i(axes)], { keepdims: int(keep ? 1 : 0) }); }
  mean(a: string, axes: number[], keep = false): string { return this.op('ReduceMean', [a], { axes, keepdims: int(keep ? 1 : 0) }); }
  relu(a: string): string { return this.op('Relu', [a]); }
  /** dy where y > 0, else 0 (ReLU backward from its output). */
  reluGrad(dy: string, y: string): string {
    if (this.reluMode === 'sign') return this.mul(dy, this.op('Sign', [y]));
    if (this.reluMode === 'cast') return this.mul(dy, this.op('Cast', [this.op('Greater', [y, this.f(0)])], { to: int(1) }));
    return this.op('Where', [this.op('Greater', [y, this.f(0)]), dy, this.f(0)]);
  }
}

/** Build the training-step graph for `spec`. */
export function buildTrainGraph(spec: TrainGraphSpec): TrainGraph {
  if (spec.options?.flatState === false) return buildGraph(spec, null);
  // A first pass (without encoding) lists the parameters, so the flat vector can be split up front.
  const probe = buildGraph({ ...spec, options: { ...spec.options, flatState: false } }, null, false);
  return buildGraph(spec, probe.params);
}

function buildGraph(spec: TrainGraphSpec, flatParams: ParamInfo[] | null, encode = true): TrainGraph {
  const o: Required<TrainGraphOptions> = {
    weightGrad: 'taps', stemMatMul: true, inputGradStride1: 'convTranspose', reluGrad: 'cast', layout: 'nchw', flatState: true, outputGradients: false, ...spec.options,
  };
  const { batch: B, height: H0, width: W0, channels: C0, arch } = spec;
  const g = new G(o.reluGrad);
  const params: ParamInfo[] = [];
  const bns: BnInfo[] = [];
  const grads = new Map<string, string>();

  let offset = 0;
  const flatNames = new Map<string, string>();
  const paramCount = flatParams ? flatParams.reduce((a, p) => a + p.size, 0) : 0;
  if (flatParams) {
    g.b.addInput('params', 'float32', [paramCount]);
    const parts = g.b.addNode('Split', ['params', g.i(flatParams.map((p) => p.size))], { axis: int(0) }, { outputs: flatParams.length });
    flatParams.forEach((p, i) => flatNames.set(p.name, g.reshape(parts[i]!, p.shape)));
  }
  const addParam = (layer: string, weight: string, shape: number[], tfjsShape: number[], layout: ParamInfo['layout']): string => {
    let name = `${layer}/${weight}`;
    const size = shape.reduce((a, b) => a * b, 1);
    params.push({ layer, weight, name, shape, tfjsShape, layout, offset, size });
    offset += size;
    if (flatParams) {
      const f = flatParams[params.length - 1];
      if (f == null || f.name !== name || f.size !== size) throw new Error(`buildTrainGraph: flat parameter order mismatch at ${name}`);
      const value = flatNames.get(name)!;
      grads.set(`value:${name}`, value);
      name = value;
    } else {
      g.b.addInput(name, 'float32', shape);
    }
    return name;
  };

  // ---- inputs
  const xIn = g.b.addInput('x', 'float32', [B, H0, W0, C0]);
  const yClass = g.b.addInput('y_class', 'float32', [B, spec.classes]);
  const yBox = g.b.addInput('y_box', 'float32', [B, 5]);
  const lr = g.b.addInput('lr', 'float32', []);
  const step = g.b.addInput('step', 'float32', []);

  // ---- trunk forward
  const T = o.layout === 'cnhw' ? trunkCnhw(g, spec, xIn, addParam, bns, grads) : trunkNchw(g, spec, o, xIn, addParam, bns, grads);
  const trunk = T.trunk;
  const Ct = T.C, Ht = T.H, Wt = T.W;

  // ---- class head
  const pooled = g.mean(trunk, [2, 3]);                                   // [B, Ct]
  interface DenseRec { layer: string; w: string; b: string; x: string; y: string; relu: boolean; inDim: number; outDim: number }
  const classDense: DenseRec[] = [];
  let cx = pooled, cdim = Ct;
  arch.classHidden.forEach((u, i) => {
    const layer = `class_dense${i}`;
    const wN = addParam(layer, 'kernel', [cdim, u], [cdim, u], { kind: 'same' });
    const bN = addParam(layer, 'bias', [u], [u], { kind: 'same' });
    const y = g.relu(g.op('Gemm', [cx, wN, bN]));
    classDense.push({ layer, w: wN, b: bN, x: cx, y, relu: true, inDim: cdim, outDim: u });
    cx = y; cdim = u;
  });
  let dropoutWidth = 0;
  let dropMask = '';
  if (arch.classDropout > 0) {
    dropoutWidth = cdim;
    dropMask = g.b.addInput('dropout_mask', 'float32', [B, cdim]);
    cx = g.mul(cx, dropMask);
  }
  const wOut = addParam('class', 'kernel', [cdim, spec.classes], [cdim, spec.classes], { kind: 'same' });
  const bOut = addParam('class', 'bias', [spec.classes], [spec.classes], { kind: 'same' });
  const logits = g.op('Gemm', [cx, wOut, bOut]);
  const probs = g.op('Softmax', [logits], { axis: int(-1) });
  const classTop: DenseRec = { layer: 'class', w: wOut, b: bOut, x: cx, y: logits, relu: false, inDim: cdim, outDim: spec.classes };

  // ---- box head
  const rW = addParam('box_reduce', 'kernel', [arch.boxReduce, Ct, 1, 1], [1, 1, Ct, arch.boxReduce], { kind: 'conv' });
  const rB = addParam('box_reduce', 'bias', [arch.boxReduce], [arch.boxReduce], { kind: 'same' });
  const r = g.relu(g.op('Conv', [trunk, rW, rB], { kernel_shape: [1, 1] }));       // [B, R, Ht, Wt]
  const flatDim = arch.boxReduce * Ht * Wt;
  const flat = g.reshape(r, [B, flatDim]);                                          // (c, h, w) order
  const boxDense: DenseRec[] = [];
  let bx = flat, bdim = flatDim;
  arch.boxHidden.forEach((u, i) => {
    const layer = `box_dense${i}`;
    const layout: ParamInfo['layout'] = i === 0 ? { kind: 'flatten-chw', c: arch.boxReduce, h: Ht, w: Wt } : { kind: 'same' };
    const wN = addParam(layer, 'kernel', [bdim, u], [bdim, u], layout);
    const bN = addParam(layer, 'bias', [u], [u], { kind: 'same' });
    const y = g.relu(g.op('Gemm', [bx, wN, bN]));
    boxDense.push({ layer, w: wN, b: bN, x: bx, y, relu: true, inDim: bdim, outDim: u });
    bx = y; bdim = u;
  });
  const wBox = addParam('box', 'kernel', [bdim, 4], [bdim, 4], arch.boxHidden.length === 0 ? { kind: 'flatten-chw', c: arch.boxReduce, h: Ht, w: Wt } : { kind: 'same' });
  const bBox = addParam('box', 'bias', [4], [4], { kind: 'same' });
  const boxPre = g.op('Gemm', [bx, wBox, bBox]);
  const boxOut = g.op('Sigmoid', [boxPre]);

  // ---- losses
  const pClip = g.op('Clip', [probs, g.f(1e-7), g.f(1)]);
  const ce = g.sum(g.mul(yClass, g.op('Log', [pClip])), [1]);                       // [B]
  const classLoss = g.op('Neg', [g.mean(ce, [0])]);
  const mask = g.reshape(g.op('Slice', [yBox, g.i([4]), g.i([5]), g.i([1])]), [B]);   // [B]
  const tBox = g.op('Slice', [yBox, g.i([0]), g.i([4]), g.i([1])]);                 // [B,4]
  const diff = g.sub(boxOut, tBox);
  const perSample = g.mean(g.mul(diff, diff), [1]);                                   // [B]
  const nBox = g.op('Max', [g.sum(mask, [0]), g.f(1)]);
  const boxLoss = g.div(g.sum(g.mul(perSample, mask), [0]), nBox);
  const wc = spec.lossWeights.class, wb = spec.lossWeights.box;
  const loss = g.add(g.mul(classLoss, g.f(wc)), g.mul(boxLoss, g.f(wb)));

  // ---- backward: heads
  // class: dL/dpClip = −wc·y/(B·pClip); clip passes the gradient where 1e-7 ≤ p ≤ 1; softmax backward.
  const dpc = g.div(g.mul(yClass, g.f(-wc / B)), pClip);
  const inRange = g.op('And', [g.op('GreaterOrEqual', [probs, g.f(1e-7)]), g.op('LessOrEqual', [probs, g.f(1)])]);
  const dp = g.op('Where', [inRange, dpc, g.f(0)]);
  const dLogits = g.mul(probs, g.sub(dp, g.sum(g.mul(dp, probs), [1], true)));
  let dcx = denseBackward(g, classTop, dLogits, grads);
  if (dropMask) dcx = g.mul(dcx, dropMask);
  for (let i = classDense.length - 1; i >= 0; i--) {
    const d = classDense[i]!;
    dcx = denseBackward(g, d, g.reluGrad(dcx, d.y), grads);
  }
  const dPooled = dcx;                                                                // [B, Ct]
  // box: d/dboxOut of wb·Σ_b mask_b·mean_j (o−t)² / n = wb·2(o−t)·mask/(4n); sigmoid backward.
  const dOut = g.mul(diff, g.div(g.mul(g.reshape(mask, [B, 1]), g.f(wb * 2 / 4)), nBox));
  const dBoxPre = g.mul(dOut, g.mul(boxOut, g.sub(g.f(1), boxOut)));
  let dbx = denseBackward(g, { w: wBox, b: bBox, x: bx }, dBoxPre, grads);
  for (let i = boxDense.length - 1; i >= 0; i--) {
    const d = boxDense[i]!;
    dbx = denseBackward(g, d, g.reluGrad(dbx, d.y), grads);
  }
  const dr = g.reluGrad(g.reshape(dbx, [B, arch.boxReduce, Ht, Wt]), r);          // [B, R, Ht, Wt]
  // 1×1 conv: dW[r, c] = Σ_{b,p} dr[b,r,p]·trunk[b,c,p]; db = Σ dr; dTrunk = Wᵀ·dr.
  {
    const drT = g.reshape(g.transpose(dr, [1, 0, 2, 3]), [arch.boxReduce, B * Ht * Wt]);
    const tT = g.reshape(g.transpose(trunk, [0, 2, 3, 1]), [B * Ht * Wt, Ct]);
    grads.set(rW, g.reshape(g.op('MatMul', [drT, tT]), [arch.boxReduce, Ct, 1, 1]));
    grads.set(rB, g.sum(dr, [0, 2, 3]));
  }
  const rWt = g.transpose(rW, [1, 0, 2, 3]);                                         // [Ct, R, 1, 1]
  const dTrunkBox = g.op('Conv', [dr, rWt], { kernel_shape: [1, 1] });
  const dTrunkClass = g.reshape(g.mul(dPooled, g.f(1 / (Ht * Wt))), [B, Ct, 1, 1]);
  const dAct = g.add(dTrunkBox, dTrunkClass);                                          // [B, Ct, Ht, Wt]

  // ---- backward: trunk
  T.backward(dAct);

  // ---- Adam
  const { beta1: b1, beta2: b2, epsilon: eps } = spec.adam;
  const c1 = g.sub(g.f(1), g.op('Pow', [g.f(b1), step]));
  const c2 = g.sub(g.f(1), g.op('Pow', [g.f(b2), step]));
  const lrC = g.div(lr, c1);
  const ic2 = g.div(g.f(1), c2);
  const gradOf = (p: ParamInfo): string => {
    const grad = grads.get(flatParams ? grads.get(`value:${p.name}`)! : p.name);
    if (grad == null) throw new Error(`buildTrainGraph: no gradient for ${p.name}`);
    return grad;
  };
  if (flatParams) {
    const grad = g.op('Concat', params.map((p) => g.reshape(gradOf(p), [p.size])), { axis: int(0) });
    const P = [paramCount];
    const m = g.b.addInput('params:m', 'float32', P);
    const v = g.b.addInput('params:v', 'float32', P);
    const m1 = g.b.addNode('Add', [g.mul(m, g.f(b1)), g.mul(grad, g.f(1 - b1))], {}, { outputs: ['params:m:new'] })[0]!;
    const v1 = g.b.addNode('Add', [g.mul(v, g.f(b2)), g.mul(g.mul(grad, grad), g.f(1 - b2))], {}, { outputs: ['params:v:new'] })[0]!;
    const upd = g.div(g.mul(m1, lrC), g.add(g.op('Sqrt', [g.mul(v1, ic2)]), g.f(eps)));
    g.b.addNode('Sub', ['params', upd], {}, { outputs: ['params:new'] });
    for (const n of ['params:new', 'params:m:new', 'params:v:new']) g.b.addOutput(n, 'float32', P);
  }
  for (const p of flatParams ? [] : params) {
    const grad = gradOf(p);
    const m = g.b.addInput(`${p.name}:m`, 'float32', p.shape);
    const v = g.b.addInput(`${p.name}:v`, 'float32', p.shape);
    const m1 = g.add(g.mul(m, g.f(b1)), g.mul(grad, g.f(1 - b1)));
    const v1 = g.add(g.mul(v, g.f(b2)), g.mul(g.mul(grad, grad), g.f(1 - b2)));
    const upd = g.div(g.mul(m1, lrC), g.add(g.op('Sqrt', [g.mul(v1, ic2)]), g.f(eps)));
    g.b.addNode('Sub', [p.name, upd], {}, { outputs: [`${p.name}:new`] });
    g.b.addNode('Identity', [m1], {}, { outputs: [`${p.name}:m:new`] });
    g.b.addNode('Identity', [v1], {}, { outputs: [`${p.name}:v:new`] });
    g.b.addOutput(`${p.name}:new`, 'float32', p.shape);
    g.b.addOutput(`${p.name}:m:new`, 'float32', p.shape);
    g.b.addOutput(`${p.name}:v:new`, 'float32', p.shape);
  }
  if (o.outputGradients) {
    for (const p of params) {
      g.b.addNode('Identity', [gradOf(p)], {}, { outputs: [`grad:${p.name}`] });
      g.b.addOutput(`grad:${p.name}`, 'float32', p.shape);
    }
  }
  g.b.addNode('Identity', [loss], {}, { outputs: ['loss'] });
  g.b.addNode('Identity', [classLoss], {}, { outputs: ['class_loss'] });
  g.b.addNode('Identity', [boxLoss], {}, { outputs: ['box_loss'] });
  g.b.addNode('Identity', [probs], {}, { outputs: ['probs'] });
  g.b.addOutput('loss', 'float32', []);
  g.b.addOutput('class_loss', 'float32', []);
  g.b.addOutput('box_loss', 'float32', []);
  g.b.addOutput('probs', 'float32', [B, spec.classes]);
  return { bytes: encode ? g.b.encode() : new Uint8Array(0), params, bns, dropoutWidth, spec, flat: flatParams != null, paramCount: offset };
}


type AddParam = (layer: string, weight: string, shape: number[], tfjsShape: number[], layout: ParamInfo['layout']) => string;
interface TrunkOut { trunk: string; C: number; H: number; W: number; backward: (dTrunk: string) => void }
interface BnRec { layer: string; mean: string; rstd: string; scale: string; gamma: string; beta: string; n: number; axes: number[] }

/** The trunk in NCHW with ORT's Conv / ConvTranspose. */
function trunkNchw(
  g: G, spec: TrainGraphSpec, o: Required<TrainGraphOptions>, xIn: string, addParam: AddParam, bns: BnInfo[], grads: Map<string, string>,
): TrunkOut {
  const { batch: B, height: H0, width: W0, channels: C0, arch } = spec;
  interface ConvRec {
    layer: string; w: string; k: number; s: number; pads: number[];
    inH: number; inW: number; outH: number; outW: number; ci: number; co: number;
    xIn: string; stem: boolean; z: string; a: string; bn: BnRec; patches?: string;
  }
  const convs: ConvRec[] = [];
  let h = H0, w = W0, ci = C0;
  let act = '';
  arch.trunk.forEach((c, idx) => {
    const p = idx === 0 ? 'stem' : `conv${idx}`;
    const { pads, outH, outW } = samePadding(h, w, c.kernel, c.stride);
    const wName = addParam(`${p}_conv`, 'kernel', [c.filters, ci, c.kernel, c.kernel], [c.kernel, c.kernel, ci, c.filters], { kind: 'conv' });
    let z: string;
    let patches: string | undefined;
    let xNchw = act;
    const patchify = idx === 0 && o.stemMatMul && c.kernel === c.stride && pads.every((v) => v === 0) && h % c.stride === 0 && w % c.stride === 0;
    if (patchify) {
      // x [B,H,W,C] → patches [B·Ho·Wo, k·k·C] in (kh, kw, c) order; z = patches · Wᵀ.
      const k = c.kernel;
      // (kw, c) is contiguous in NHWC: a 5-D transpose moves blocks of k·C floats
      const x5 = g.reshape(xIn, [B * outH, k, outW, k * ci]);
      patches = g.reshape(g.transpose(x5, [0, 2, 1, 3]), [B * outH * outW, k * k * ci]);
      // W [Co, Ci, k, k] → [k, k, Ci, Co] → [k·k·Ci, Co]
      const wm = g.reshape(g.transpose(wName, [2, 3, 1, 0]), [k * k * ci, c.filters]);
      const zm = g.op('MatMul', [patches, wm]);                       // [B·Ho·Wo, Co]
      z = g.transpose(g.reshape(zm, [B, outH, outW, c.filters]), [0, 3, 1, 2]);
    } else {
      if (idx === 0) xNchw = g.transpose(xIn, [0, 3, 1, 2]);
      z = g.op('Conv', [xNchw, wName], { kernel_shape: [c.kernel, c.kernel], strides: [c.stride, c.stride], pads });
    }
    const bn = batchNormForward(g, `${p}_bn`, z, c.filters, B * outH * outW, spec, addParam, bns);
    const a = g.relu(bn.y);
    convs.push({ layer: `${p}_conv`, w: wName, k: c.kernel, s: c.stride, pads, inH: h, inW: w, outH, outW, ci, co: c.filters,
      xIn: idx === 0 ? xNchw : act, stem: idx === 0, z, a, bn: bn.rec, ...(patches ? { patches } : {}) });
    act = a;
    h = outH; w = outW; ci = c.filters;
  });
  return {
    trunk: act, C: ci, H: h, W: w,
    backward: (dTrunk: string): void => {
      let dAct = dTrunk;
      for (let i = convs.length - 1; i >= 0; i--) {
        const c = convs[i]!;
        const dz = batchNormBackward(g, c.bn, dAct, c.z, c.a, grads);
        grads.set(c.w, convWeightGrad(g, c, dz, B, o, xIn));
        if (i > 0) dAct = convInputGrad(g, c, dz, o);
      }
    },
  };
}

/**
 * The trunk in CNHW: activations [C, B, H, W] (as [1, C, B·H·W] for the BN ops), weights OHWI
 * [Co, kh, kw, Ci] so that a conv is Gemm(W [Co, k·k·Ci], col [k·k·Ci, B·Ho·Wo]). Returns the
 * trunk output transposed to NCHW for the heads.
 */
function trunkCnhw(
  g: G, spec: TrainGraphSpec, xIn: string, addParam: AddParam, bns: BnInfo[], grads: Map<string, string>,
): TrunkOut {
  const { batch: B, height: H0, width: W0, channels: C0, arch } = spec;
  interface L { w: string; k: number; s: number; pads: number[]; inH: number; inW: number; outH: number; outW: number; ci: number; co: number;
    col: string; z: string; a: string; bn: BnRec }
  const layers: L[] = [];
  let h = H0, w = W0, ci = C0;
  let act = '';                                                             // [Ci, B, H, W]
  arch.trunk.forEach((c, idx) => {
    const p = idx === 0 ? 'stem' : `conv${idx}`;
    const k = c.kernel, s = c.stride;
    const { pads, outH, outW } = samePadding(h, w, k, s);
    const wName = addParam(`${p}_conv`, 'kernel', [c.filters, k, k, ci], [k, k, ci, c.filters], { kind: 'conv-ohwi' });
    const wm = g.reshape(wName, [c.filters, k * k * ci]);
    const N = B * outH * outW;
    let col: string;
    let z: string;
    if (idx === 0) {
      if (k !== s || pads.some((v) => v > 0) || h % s !== 0 || w % s !== 0) throw new Error("layout 'cnhw' needs a patchify stem (kernel = stride, sizes multiples of it)");
      // patches [B·Ho·Wo, k·k·C] in (kh, kw, c) order; z = W · patchesᵀ → [Co, B·Ho·Wo]
      col = g.reshape(g.transpose(g.reshape(xIn, [B * outH, k, outW, k * ci]), [0, 2, 1, 3]), [N, k * k * ci]);
      z = g.op('Gemm', [wm, col], { transB: int(1) });
    } else {
      if (s !== 1 && !(s === 2 && k === 3 && h % 2 === 0 && w % 2 === 0 && pads.join() === '0,0,1,1')) {
        throw new Error(`layout 'cnhw': unsupported conv geometry (k ${k}, s ${s}, ${h}×${w})`);
      }
      col = im2colCnhw(g, act, ci, B, pads, k, s, outH, outW);                // [k·k·Ci, N]
      z = g.op('MatMul', [wm, col]);                                          // [Co, N]
    }
    const z3 = g.reshape(z, [1, c.filters, N]);
    const bn = batchNormForward(g, `${p}_bn`, z3, c.filters, N, spec, addParam, bns, [0, 2]);
    const a3 = g.relu(bn.y);
    layers.push({ w: wName, k, s, pads, inH: h, inW: w, outH, outW, ci, co: c.filters, col, z: z3, a: a3, bn: bn.rec });
    act = g.reshape(a3, [c.filters, B, outH, outW]);
    h = outH; w = outW; ci = c.filters;
  });
  return {
    trunk: g.transpose(act, [1, 0, 2, 3]), C: ci, H: h, W: w,
    backward: (dTrunk: string): void => {
      let dAct = g.reshape(g.transpose(dTrunk, [1, 0, 2, 3]), [1, ci, B * h * w]);
      for (let i = layers.length - 1; i >= 0; i--) {
        const l = layers[i]!;
        const N = B * l.outH * l.outW;
        const dz3 = batchNormBackward(g, l.bn, dAct, l.z, l.a, grads);
        const dz = g.reshape(dz3, [l.co, N]);
        // dW [Co, k·k·Ci] = dz · colᵀ  (stem: col is [N, k·k·C])
        const dw = i === 0 ? g.op('MatMul', [dz, l.col]) : g.op('Gemm', [dz, l.col], { transB: int(1) });
        grads.set(l.w, g.reshape(dw, [l.co, l.k, l.k, l.ci]));
        if (i === 0) break;
        const dx = l.s === 1 ? inputGradCnhwStride1(g, l, dz, B) : inputGradCnhwStride2(g, l, dz, B);   // [Ci, B·H·W]
        dAct = g.reshape(dx, [1, l.ci, B * l.inH * l.inW]);
      }
    },
  };
}

/** im2col of x [Ci, B, H, W]: [k·k·Ci, B·Ho·Wo] in (kh, kw, ci) row order. */
function im2colCnhw(g: G, x: string, ci: number, B: number, pads: number[], k: number, s: number, outH: number, outW: number): string {
  const xp = pads.some((v) => v > 0) ? g.op('Pad', [x, g.i([0, 0, pads[0]!, pads[1]!, 0, 0, pads[2]!, pads[3]!])]) : x;
  const taps: string[] = [];
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      taps.push(g.op('Slice', [xp, g.i([i, j]), g.i([i + s * (outH - 1) + 1, j + s * (outW - 1) + 1]), g.i([2, 3]), g.i([s, s])]));
    }
  }
  const cat = taps.length === 1 ? taps[0]! : g.op('Concat', taps, { axis: int(0) });
  return g.reshape(cat, [k * k * ci, B * outH * outW]);
}

/** Stride-1 input gradient: dx = conv(dz, flipped Wᵀ) as im2col(dz) and one MatMul. */
function inputGradCnhwStride1(
  g: G, l: { w: string; k: number; pads: number[]; inH: number; inW: number; outH: number; outW: number; ci: number; co: number }, dz: string, B: number,
): string {
  const k = l.k;
  // Wf [Ci, (i, j, co)] = W[co, k−1−i, k−1−j, ci]
  const flipped = g.op('Slice', [l.w, g.i([-1, -1]), g.i([-(k + 1), -(k + 1)]), g.i([1, 2]), g.i([-1, -1])]);
  const wf = g.reshape(g.transpose(flipped, [3, 1, 2, 0]), [l.ci, k * k * l.co]);
  const pads = [k - 1 - l.pads[0]!, k - 1 - l.pads[1]!, k - 1 - l.pads[2]!, k - 1 - l.pads[3]!];
  const col = im2colCnhw(g, g.reshape(dz, [l.co, B, l.outH, l.outW]), l.co, B, pads, k, 1, l.inH, l.inW);
  return g.op('MatMul', [wf, col]);
}

/**
 * Stride-2, 3×3, pads [0,0,1,1], even input: dx row 2m takes taps i=0 (dz row m) and i=2 (dz row
 * m−1), row 2m+1 tap i=1 (dz row m); likewise for columns. So the four output phases are one Gemm
 * of a [4Ci, 4Co] block weight (9 of 16 blocks non-zero) with the four shifted views of dz
 * (shifts 0/−1 in each direction), interleaved by DepthToSpace.
 */
function inputGradCnhwStride2(
  g: G, l: { w: string; inH: number; inW: number; outH: number; outW: number; ci: number; co: number }, dz: string, B: number,
): string {
  const M = l.inH / 2, Mw = l.inW / 2;                                        // = outH, outW
  const dz4 = g.reshape(dz, [l.co, B, l.outH, l.outW]);
  const dzp = g.op('Pad', [dz4, g.i([0, 0, 1, 1, 0, 0, 0, 0])]);               // [Co, B, Ho+1, Wo+1]
  // views V(dr, dc) = dz[m + dr, n + dc], dr, dc ∈ {0, −1}; order: V(0,0), V(0,−1), V(−1,0), V(−1,−1)
  const shifts: [number, number][] = [[0, 0], [0, -1], [-1, 0], [-1, -1]];
  const views = shifts.map(([dr, dc]) => g.op('Slice', [dzp, g.i([1 + dr, 1 + dc]), g.i([1 + dr + M, 1 + dc + Mw]), g.i([2, 3])]));
  const dzcol = g.reshape(g.op('Concat', views, { axis: int(0) }), [4 * l.co, B * M * Mw]);
  // block weight: phase (a, b) row block, view column block; tap i for row phase a and shift dr:
  // a=0: (i=0, dr=0), (i=2, dr=−1); a=1: (i=1, dr=0)
  const tapsOf = (a: number): [number, number][] => (a === 0 ? [[0, 0], [2, -1]] : [[1, 0]]);
  const wT = g.transpose(l.w, [1, 2, 3, 0]);                                   // [kh, kw, Ci, Co]
  const zero = g.mul(g.op('Slice', [wT, g.i([0, 0]), g.i([1, 1]), g.i([0, 1])]), g.f(0)); // [1, 1, Ci, Co] zeros
  const zeroBlock = g.reshape(zero, [l.ci, l.co]);
  const rows: string[] = [];
  for (const a of [0, 1]) {
    for (const b of [0, 1]) {
      const blocks: string[] = [];
      for (const [dr, dc] of shifts) {
        const ti = tapsOf(a).find((t) => t[1] === dr);
        const tj = tapsOf(b).find((t) => t[1] === dc);
        if (ti && tj) blocks.push(g.reshape(g.op('Slice', [wT, g.i([ti[0], tj[0]]), g.i([ti[0] + 1, tj[0] + 1]), g.i([0, 1])]), [l.ci, l.co]));
        else blocks.push(zeroBlock);
      }
      rows.push(g.op('Concat', blocks, { axis: int(1) }));                    // [Ci, 4Co]
    }
  }
  const wph = g.op('Concat', rows, { axis: int(0) });                         // [4Ci, 4Co]
  const ph = g.op('MatMul', [wph, dzcol]);                                    // [4Ci, B·M·Mw] rows (a, b, ci)
  const d2s = g.op('DepthToSpace', [g.reshape(ph, [1, 4 * l.ci * B, M, Mw])], { blocksize: int(2), mode: 'DCR' });
  return g.reshape(d2s, [l.ci, B * l.inH * l.inW]);
}

/** Training-mode BN forward (biased batch variance); registers gamma/beta and moving-stat I/O. */
function batchNormForward(
  g: G, layer: string, z: string, C: number, n: number, spec: TrainGraphSpec,
  addParam: (layer: string, weight: string, shape: number[], tfjsShape: number[], layout: ParamInfo['layout']) => string,
  bns: BnInfo[], axes: number[] = [0, 2, 3],
): { y: string; rec: BnRec } {
  const gamma = addParam(layer, 'gamma', [C], [C], { kind: 'same' });
  const beta = addParam(layer, 'beta', [C], [C], { kind: 'same' });
  const mean = g.mean(z, axes);                                                       // [C]
  const meanSq = g.div(g.op('ReduceSumSquare', [z], { axes, keepdims: int(0) }), g.f(n));
  const variance = g.relu(g.sub(meanSq, g.mul(mean, mean)));
  const rstd = g.div(g.f(1), g.op('Sqrt', [g.add(variance, g.f(spec.bnEpsilon))]));
  const scale = g.mul(gamma, rstd);                                                   // a = γ·rstd
  const y = g.op('BatchNormalization', [z, gamma, beta, mean, variance], { epsilon: spec.bnEpsilon });
  // moving statistics
  const mom = spec.bnMomentum;
  const mm = g.b.addInput(`${layer}/moving_mean`, 'float32', [C]);
  const mv = g.b.addInput(`${layer}/moving_variance`, 'float32', [C]);
  g.b.addNode('Add', [g.mul(mm, g.f(mom)), g.mul(mean, g.f(1 - mom))], {}, { outputs: [`${layer}/moving_mean:new`] });
  g.b.addNode('Add', [g.mul(mv, g.f(mom)), g.mul(variance, g.f(1 - mom))], {}, { outputs: [`${layer}/moving_variance:new`] });
  g.b.addOutput(`${layer}/moving_mean:new`, 'float32', [C]);
  g.b.addOutput(`${layer}/moving_variance:new`, 'float32', [C]);
  bns.push({ layer, channels: C });
  return { y, rec: { layer, mean, rstd, scale, gamma, beta, n, axes } };
}

/**
 * BN(+ReLU) backward. With a = γ·rstd, g = dy·[y > 0]:
 *   dβ = Σg, dγ = rstd·(Σ g·z − mean·Σg), dz = a·g + k2·z + k3,
 *   k2 = −a·rstd·dγ/N, k3 = −a·Σg/N − k2·mean.
 * The two per-channel affine maps run as inference BatchNormalization ops (mean 0, var 1, ε 0).
 */
function batchNormBackward(
  g: G, bn: BnRec, dy: string, z: string, y: string,
  grads: Map<string, string>,
): string {
  const gr = g.reluGrad(dy, y);
  const sg = g.sum(gr, bn.axes);
  const sgz = g.sum(g.mul(gr, z), bn.axes);
  const dGamma = g.mul(bn.rstd, g.sub(sgz, g.mul(bn.mean, sg)));
  grads.set(bn.gamma, dGamma);
  grads.set(bn.beta, sg);
  const invN = g.f(1 / bn.n);
  const k2 = g.op('Neg', [g.mul(g.mul(g.mul(bn.scale, bn.rstd), dGamma), invN)]);
  const k3 = g.sub(g.op('Neg', [g.mul(g.mul(bn.scale, sg), invN)]), g.mul(k2, bn.mean));
  const zeros = g.mul(sg, g.f(0));
  const ones = g.add(zeros, g.f(1));
  const t1 = g.op('BatchNormalization', [gr, bn.scale, zeros, zeros, ones], { epsilon: 0 });
  const t2 = g.op('BatchNormalization', [z, k2, k3, zeros, ones], { epsilon: 0 });
  return g.add(t1, t2);
}

/** Dense backward: sets dW = xᵀ·dy and db = Σ dy; returns dx = dy·Wᵀ. */
function denseBackward(
  g: G, d: { w: string; b: string; x: string }, dy: string, grads: Map<string, string>,
): string {
  grads.set(d.w, g.op('Gemm', [d.x, dy], { transA: int(1) }));
  grads.set(d.b, g.sum(dy, [0]));
  return g.op('Gemm', [dy, d.w], { transB: int(1) });
}

interface ConvGeom { w: string; k: number; s: number; pads: number[]; inH: number; inW: number; outH: number; outW: number; ci: number; co: number; xIn: string; stem: boolean; patches?: string }

/** Conv weight gradient dW [Co, Ci, k, k] from the layer input x (NCHW, or the NHWC graph input for the stem) and dz. */
function convWeightGrad(g: G, c: ConvGeom, dz: string, B: number, o: Required<TrainGraphOptions>, xNhwc: string): string {
  const { k, s, pads } = c;
  if (c.patches) {
    // patches [B·P, k·k·Ci] (kh, kw, ci); dW = dzᵀ · patches → [Co, k, k, Ci] → [Co, Ci, k, k]
    const dzT = g.reshape(g.transpose(dz, [1, 0, 2, 3]), [c.co, B * c.outH * c.outW]);
    const m = g.op('MatMul', [dzT, c.patches]);
    return g.transpose(g.reshape(m, [c.co, k, k, c.ci]), [0, 3, 1, 2]);
  }
  if (o.weightGrad === 'im2col') {
    const x = c.xIn;
    const xp = pads.some((v) => v > 0) ? g.op('Pad', [x, g.i([0, 0, pads[0]!, pads[1]!, 0, 0, pads[2]!, pads[3]!])]) : x;
    const taps: string[] = [];
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        taps.push(g.op('Slice', [xp, g.i([i, j]), g.i([i + s * (c.outH - 1) + 1, j + s * (c.outW - 1) + 1]), g.i([2, 3]), g.i([s, s])]));
      }
    }
    const P = c.outH * c.outW;
    const cat = taps.length === 1 ? taps[0]! : g.op('Concat', taps, { axis: int(1) });        // [B, k²·Ci, Ho, Wo] (tap, ci)
    const colT = g.reshape(g.transpose(cat, [0, 2, 3, 1]), [B * P, k * k * c.ci]);
    const dzT = g.reshape(g.transpose(dz, [1, 0, 2, 3]), [c.co, B * P]);
    const m = g.op('MatMul', [dzT, colT]);                                                  // [Co, k²·Ci]
    return g.transpose(g.reshape(m, [c.co, k, k, c.ci]), [0, 3, 1, 2]);
  }
  if (o.weightGrad === 'pitch' && (s === 1 || s === 2)) {
    // phase planes Hq × Wq: room for the largest tap offset plus one spare row (a run that starts
    // at column c0 > 0 ends c0 elements into the row after its last)
    const Hq = Math.floor((k - 1) / s) + c.outH + 1, Wq = Math.floor((k - 1) / s) + c.outW;
    const Hp = s * Hq, Wp = s * Wq;
    const pb = Hp - pads[0]! - c.inH, pr = Wp - pads[1]! - c.inW;
    if (pb >= 0 && pr >= 0) {
      let xt = c.stem ? g.transpose(xNhwc, [3, 0, 1, 2]) : g.transpose(c.xIn, [1, 0, 2, 3]);    // [Ci, B, H, W]
      if (pads[0]! > 0 || pads[1]! > 0 || pb > 0 || pr > 0) xt = g.op('Pad', [xt, g.i([0, 0, pads[0]!, pads[1]!, 0, 0, pb, pr])]);
      // phase (a, b) [Ci, B, Hq·Wq]: row q = padded row s·q + a (a strided Slice each; ORT's
      // SpaceToDepth is slower than these four gathers)
      const phases: string[] = [];
      for (let a = 0; a < s; a++) {
        for (let b = 0; b < s; b++) {
          const ph = s === 1 ? xt : g.op('Slice', [xt, g.i([a, b]), g.i([Hp, Wp]), g.i([2, 3]), g.i([s, s])]);
          phases.push(g.reshape(ph, [c.ci, B, Hq * Wq]));
        }
      }
      const dzT = g.transpose(dz, [1, 0, 2, 3]);                                                 // [Co, B, Ho, Wo]
      const dzp = g.reshape(Wq > c.outW ? g.op('Pad', [dzT, g.i([0, 0, 0, 0, 0, 0, 0, Wq - c.outW])]) : dzT, [c.co, B * c.outH * Wq]);
      const L = c.outH * Wq;
      const outs: string[] = [];
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          const ph = (i % s) * s + (j % s);
          const off = Math.floor(i / s) * Wq + Math.floor(j / s);
          const tap = g.op('Slice', [phases[ph]!, g.i([off]), g.i([off + L]), g.i([2])]);                 // [Ci, B, L]
          outs.push(g.op('Gemm', [dzp, g.reshape(tap, [c.ci, B * L])], { transB: int(1) }));
        }
      }
      const stacked = g.op('Concat', outs.map((t) => g.op('Unsqueeze', [t, g.i([0])])), { axis: int(0) });
      return g.reshape(g.transpose(stacked, [1, 2, 0]), [c.co, c.ci, k, k]);
    }
  }
  if (o.weightGrad === 'taps' || o.weightGrad === 'pitch') {
    // dW[:, :, i, j] = dzᵀ [Co, B·P] · (tap (i, j) of xᵀ [Ci, B·P])ᵀ
    let xt = c.stem ? g.transpose(xNhwc, [3, 0, 1, 2]) : g.transpose(c.xIn, [1, 0, 2, 3]);
    if (pads.some((v) => v > 0)) xt = g.op('Pad', [xt, g.i([0, 0, pads[0]!, pads[1]!, 0, 0, pads[2]!, pads[3]!])]);
    const P = c.outH * c.outW;
    const dzT = g.reshape(g.transpose(dz, [1, 0, 2, 3]), [c.co, B * P]);
    const outs: string[] = [];
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const tap = g.op('Slice', [xt, g.i([i, j]), g.i([i + s * (c.outH - 1) + 1, j + s * (c.outW - 1) + 1]), g.i([2, 3]), g.i([s, s])]);
        outs.push(g.op('Gemm', [dzT, g.reshape(tap, [c.ci, B * P])], { transB: int(1) }));
      }
    }
    // Stack the taps on a new leading axis (contiguous blocks; a concat on the last axis is slow) → [k², Co, Ci] → [Co, Ci, k, k]
    const stacked = g.op('Concat', outs.map((t) => g.op('Unsqueeze', [t, g.i([0])])), { axis: int(0) });
    return g.reshape(g.transpose(stacked, [1, 2, 0]), [c.co, c.ci, k, k]);
  }
  // 'swap': Conv(xᵀ [Ci,B,H,W], dzᵀ [Co,B,Ho,Wo], dilation s) → [Ci, Co, k, k]
  let xt = c.stem ? g.transpose(xNhwc, [3, 0, 1, 2]) : g.transpose(c.xIn, [1, 0, 2, 3]);
  const effH = (c.outH - 1) * s + 1, effW = (c.outW - 1) * s + 1;
  let pb = k - 1 + effH - c.inH - pads[0]!;
  let pr = k - 1 + effW - c.inW - pads[1]!;
  if (pb < 0 || pr < 0) {
    xt = g.op('Slice', [xt, g.i([0, 0]), g.i([c.inH + Math.min(0, pb), c.inW + Math.min(0, pr)]), g.i([2, 3])]);
    pb = Math.max(0, pb); pr = Math.max(0, pr);
  }
  const dzt = g.transpose(dz, [1, 0, 2, 3]);
  const conv = g.op('Conv', [xt, dzt], { kernel_shape: [c.outH, c.outW], dilations: [s, s], pads: [pads[0]!, pads[1]!, pb, pr] });
  return g.transpose(conv, [1, 0, 2, 3]);
}

/** Conv input gradient dx [B, Ci, H, W] from dz. */
function convInputGrad(g: G, c: ConvGeom, dz: string, o: Required<TrainGraphOptions>): string {
  const { k, s, pads } = c;
  if (s === 1 && o.inputGradStride1 === 'conv') {
    // dx = conv(dz, flip(Wᵀ)) with the mirrored padding
    const wt = g.transpose(c.w, [1, 0, 2, 3]);
    const wf = g.op('Slice', [wt, g.i([-1, -1]), g.i([-(k + 1), -(k + 1)]), g.i([2, 3]), g.i([-1, -1])]);
    return g.op('Conv', [dz, wf], { kernel_shape: [k, k], pads: [k - 1 - pads[0]!, k - 1 - pads[1]!, k - 1 - pads[2]!, k - 1 - pads[3]!] });
  }
  const natH = s * (c.outH - 1) + k - pads[0]! - pads[2]!;
  const natW = s * (c.outW - 1) + k - pads[1]! - pads[3]!;
  const opH = c.inH - natH, opW = c.inW - natW;
  if (opH < 0 || opW < 0) throw new Error('convInputGrad: unexpected geometry');
  return g.op('ConvTranspose', [dz, c.w], {
    kernel_shape: [k, k], strides: [s, s], pads,
    ...(opH > 0 || opW > 0 ? { output_padding: [opH, opW] } : {}),
  });
}
