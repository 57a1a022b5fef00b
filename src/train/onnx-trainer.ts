/**
 * `OnnxTrainer`: trains caldera's network with ONNX Runtime, one `session.run` per step (the graph
 * of `onnx-step.ts`: forward, losses, backward and Adam). It starts from a tfjs model's weights and
 * writes its weights back into a tfjs model (`writeTo`), so saving and checkpoints stay in the
 * standard tfjs layers format.
 *
 * ```ts
 * const trainer = await OnnxTrainer.create(model, { batch: 16, threads: 2, lossWeights: { class: 1, box: 10 } });
 * const r = await trainer.step(x, yClass, yBox, { lr: 1e-3 });   // x NHWC Float32Array, yClass one-hot [B·3] or indices, yBox [B·5]
 * trainer.writeTo(model);                                       // weights + BN moving statistics into the tfjs model
 * ```
 * Adam state (`adamState()` / `setAdamState()`) is in tfjs layouts, keyed by `layer/weight`.
 */
import * as ort from 'onnxruntime-node';
import type * as tfTypes from '@tensorflow/tfjs';
import { Rng } from '../core/rng.js';
import type { ArchSpec } from '../engine/network.js';
import { buildTrainGraph, type ParamInfo, type TrainGraph, type TrainGraphOptions } from './onnx-step.js';

export interface OnnxTrainerOptions {
  batch: number;
  /** Learning rate when `step` is given none (default 1e-3). */
  lr?: number;
  lossWeights?: { class?: number; box?: number };
  /** ORT intra-op threads (default 1). */
  threads?: number;
  adam?: { beta1?: number; beta2?: number; epsilon?: number };
  graph?: TrainGraphOptions;
  /** ORT graph optimisation level (default 'all'). */
  optimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Dropout masks: step t uses Rng(seed ^ t) unless `step` is given a `dropoutSeed`. */
  seed?: number;
  enableProfiling?: boolean;
  profileFilePrefix?: string;
  /** Spin-wait in ORT's thread pool between ops (default true: faster when the cores are free; set false on a busy machine). */
  spinning?: boolean;
  /** Further ORT session options (merged last). */
  sessionOptions?: ort.InferenceSession.SessionOptions;
}

export interface OnnxStepResult {
  loss: number;
  classLoss: number;
  boxLoss: number;
  /** Predicted class per sample (training mode, before the update). */
  predictedClass: Int32Array;
}

/** A weight in tfjs layout. */
export interface NamedWeight { layer: string; weight: string; shape: number[]; data: Float32Array }

function shortName(n: string): string {
  return n.slice(n.lastIndexOf('/') + 1).replace(/_\d+$/, '').replace(/:\d+$/, '');
}

/** The architecture of a caldera network, read from its layers (names as `buildNetwork` gives them). */
export function archOfModel(model: tfTypes.LayersModel): { arch: ArchSpec; height: number; width: number; channels: number; classes: number; bnEpsilon: number; bnMomentum: number } {
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const cfg = (name: string): Record<string, unknown> | null => (byName.has(name) ? byName.get(name)!.getConfig() as Record<string, unknown> : null);
  const trunk: ArchSpec['trunk'] = [];
  for (let i = 0; ; i++) {
    const c = cfg(i === 0 ? 'stem_conv' : `conv${i}_conv`);
    if (c == null) break;
    const ks = c.kernelSize as number[], st = c.strides as number[];
    if (ks[0] !== ks[1] || st[0] !== st[1] || c.padding !== 'same' || c.useBias) throw new Error('OnnxTrainer: unsupported trunk conv');
    trunk.push({ filters: c.filters as number, kernel: ks[0]!, stride: st[0]! });
  }
  const hidden = (prefix: string): number[] => {
    const out: number[] = [];
    for (let i = 0; cfg(`${prefix}${i}`) != null; i++) out.push(cfg(`${prefix}${i}`)!.units as number);
    return out;
  };
  const drop = cfg('class_dropout');
  const reduce = cfg('box_reduce');
  const bn = cfg('stem_bn');
  const classLayer = cfg('class');
  if (trunk.length === 0 || reduce == null || bn == null || classLayer == null || cfg('box') == null) throw new Error('OnnxTrainer: not a caldera network');
  const shape = model.inputs[0]!.shape;
  return {
    arch: { trunk, classHidden: hidden('class_dense'), classDropout: drop ? (drop.rate as number) : 0, boxReduce: reduce.filters as number, boxHidden: hidden('box_dense') },
    height: shape[1]!, width: shape[2]!, channels: shape[3]!, classes: classLayer.units as number,
    bnEpsilon: bn.epsilon as number, bnMomentum: bn.momentum as number,
  };
}

/**
 * Where each value of a parameter in tfjs layout goes in the internal layout: index k of the
 * tfjs array is index map[k] of the internal one (null: the same layout). One permutation serves
 * both directions.
 */
function layoutMap(p: ParamInfo): Int32Array | null {
  const l = p.layout;
  if (l.kind === 'same') return null;
  const map = new Int32Array(p.tfjsShape.reduce((a, v) => a * v, 1));
  if (l.kind === 'conv' || l.kind === 'conv-ohwi') {
    const [kh, kw, ci, co] = p.tfjsShape as [number, number, number, number];
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let c = 0; c < ci; c++) {
      const src = ((i * kw + j) * ci + c) * co;
      for (let o = 0; o < co; o++) {
        map[src + o] = l.kind === 'conv' ? ((o * ci + c) * kh + i) * kw + j : ((o * kh + i) * kw + j) * ci + c;
      }
    }
    return map;
  }
  const U = p.tfjsShape[1]!;
  for (let hh = 0; hh < l.h; hh++) for (let ww = 0; ww < l.w; ww++) for (let c = 0; c < l.c; c++) {
    const rt = (hh * l.w + ww) * l.c + c, ri = (c * l.h + hh) * l.w + ww;
    for (let u = 0; u < U; u++) map[rt * U + u] = ri * U + u;
  }
  return map;
}

/** tfjs layout → internal layout. */
export function toInternal(p: ParamInfo, data: Float32Array): Float32Array {
  const map = layoutMap(p);
  if (!map) return Float32Array.from(data);
  const out = new Float32Array(data.length);
  for (let k = 0; k < map.length; k++) out[map[k]!] = data[k]!;
  return out;
}

/** Internal layout → tfjs layout. */
export function toTfjs(p: ParamInfo, data: Float32Array): Float32Array {
  const map = layoutMap(p);
  if (!map) return Float32Array.from(data);
  const out = new Float32Array(data.length);
  for (let k = 0; k < map.length; k++) out[k] = data[map[k]!]!;
  return out;
}

export class OnnxTrainer {
  /** Parameters and Adam moments as flat vectors in internal layouts (ParamInfo.offset/size). */
  private flatP: Float32Array;
  private flatM: Float32Array;
  private flatV: Float32Array;
  /** Spare buffers for the next step's outputs (ORT writes the new parameters and moments into them). */
  private spare: [Float32Array, Float32Array, Float32Array] | null = null;
  /** BN moving statistics by graph input name. */
  private readonly bnState = new Map<string, Float32Array>();
  private t = 0;
  private readonly rate: number;

  private constructor(
    readonly session: ort.InferenceSession,
    readonly graph: TrainGraph,
    private readonly opts: OnnxTrainerOptions,
  ) {
    this.rate = graph.spec.arch.classDropout;
    this.flatP = new Float32Array(graph.paramCount);
    this.flatM = new Float32Array(graph.paramCount);
    this.flatV = new Float32Array(graph.paramCount);
  }

  private view(a: Float32Array, p: ParamInfo): Float32Array {
    return a.subarray(p.offset, p.offset + p.size);
  }

  /** Build the step graph for `model` (a caldera network) and load its current weights. */
  static async create(model: tfTypes.LayersModel, opts: OnnxTrainerOptions): Promise<OnnxTrainer> {
    const a = archOfModel(model);
    const graph = buildTrainGraph({
      batch: opts.batch, height: a.height, width: a.width, channels: a.channels, arch: a.arch, classes: a.classes,
      bnEpsilon: a.bnEpsilon, bnMomentum: a.bnMomentum,
      lossWeights: { class: opts.lossWeights?.class ?? 1, box: opts.lossWeights?.box ?? 1 },
      adam: { beta1: opts.adam?.beta1 ?? 0.9, beta2: opts.adam?.beta2 ?? 0.999, epsilon: opts.adam?.epsilon ?? 1e-7 },
      ...(opts.graph ? { options: opts.graph } : {}),
    });
    const session = await ort.InferenceSession.create(graph.bytes, {
      intraOpNumThreads: opts.threads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: opts.optimizationLevel ?? 'all',
      ...(opts.enableProfiling ? { enableProfiling: true, profileFilePrefix: opts.profileFilePrefix ?? 'ort-train-profile' } : {}),
      ...(opts.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
      ...opts.sessionOptions,
    });
    const trainer = new OnnxTrainer(session, graph, opts);
    trainer.readFrom(model);
    return trainer;
  }

  /** Steps taken (Adam's t). */
  get iterations(): number {
    return this.t;
  }

  /** Load weights and BN moving statistics from a tfjs model (Adam state is kept). */
  readFrom(model: tfTypes.LayersModel): void {
    const byLayer = new Map<string, Map<string, Float32Array>>();
    for (const l of model.layers) {
      const vals = l.getWeights();
      const m = new Map<string, Float32Array>();
      l.weights.forEach((w, i) => m.set(shortName(w.originalName ?? w.name), vals[i]!.dataSync() as Float32Array));
      byLayer.set(l.name, m);
    }
    const get = (layer: string, weight: string): Float32Array => {
      const d = byLayer.get(layer)?.get(weight);
      if (d == null) throw new Error(`OnnxTrainer: model has no ${layer}/${weight}`);
      return d;
    };
    for (const p of this.graph.params) this.flatP.set(toInternal(p, get(p.layer, p.weight)), p.offset);
    for (const b of this.graph.bns) {
      this.bnState.set(`${b.layer}/moving_mean`, Float32Array.from(get(b.layer, 'moving_mean')));
      this.bnState.set(`${b.layer}/moving_variance`, Float32Array.from(get(b.layer, 'moving_variance')));
    }
  }

  /** Every weight (trainable and BN moving statistics) in tfjs layout. */
  weights(): NamedWeight[] {
    const out: NamedWeight[] = [];
    for (const p of this.graph.params) out.push({ layer: p.layer, weight: p.weight, shape: p.tfjsShape, data: toTfjs(p, this.view(this.flatP, p)) });
    for (const b of this.graph.bns) {
      out.push({ layer: b.layer, weight: 'moving_mean', shape: [b.channels], data: Float32Array.from(this.bnState.get(`${b.layer}/moving_mean`)!) });
      out.push({ layer: b.layer, weight: 'moving_variance', shape: [b.channels], data: Float32Array.from(this.bnState.get(`${b.layer}/moving_variance`)!) });
    }
    return out;
  }

  /** Write the weights into a tfjs model of the same architecture (`layer.setWeights`). */
  writeTo(model: tfTypes.LayersModel, tf: typeof tfTypes): void {
    const by = new Map<string, NamedWeight>();
    for (const w of this.weights()) by.set(`${w.layer}/${w.weight}`, w);
    for (const l of model.layers) {
      if (l.weights.length === 0) continue;
      const names = l.weights.map((w) => shortName(w.originalName ?? w.name));
      if (!names.every((n) => by.has(`${l.name}/${n}`))) continue;
      const ts = names.map((n) => { const w = by.get(`${l.name}/${n}`)!; return tf.tensor(w.data, w.shape); });
      l.setWeights(ts);
      tf.dispose(ts);
    }
  }

  /** Adam state in tfjs layouts (moments keyed by `layer/weight`). */
  adamState(): { iterations: number; m: Map<string, Float32Array>; v: Map<string, Float32Array> } {
    const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
    for (const p of this.graph.params) {
      m.set(p.name, toTfjs(p, this.view(this.flatM, p)));
      v.set(p.name, toTfjs(p, this.view(this.flatV, p)));
    }
    return { iterations: this.t, m, v };
  }

  setAdamState(s: { iterations: number; m: Map<string, Float32Array>; v: Map<string, Float32Array> }): void {
    for (const p of this.graph.params) {
      const m = s.m.get(p.name), v = s.v.get(p.name);
      if (m == null || v == null) throw new Error(`OnnxTrainer.setAdamState: no moments for ${p.name}`);
      this.flatM.set(toInternal(p, m), p.offset);
      this.flatV.set(toInternal(p, v), p.offset);
    }
    this.t = s.iterations;
  }

  /** `layer/weight` of each of `model.trainableWeights`, in order (the order tfjs' Adam keeps its moments in). */
  private trainableKeys(model: tfTypes.LayersModel): string[] {
    const owner = new Map<unknown, string>();
    for (const l of model.layers) for (const w of l.trainableWeights) owner.set(w, `${l.name}/${shortName(w.originalName ?? w.name)}`);
    return model.trainableWeights.map((w) => {
      const k = owner.get(w);
      if (k == null) throw new Error(`OnnxTrainer: no layer owns ${w.name}`);
      return k;
    });
  }

  /**
   * Put the Adam state into a tfjs `tf.train.adam` optimizer as if it had run `trainStep` on
   * `model` for the same steps (iteration count, then first and second moments in
   * `model.trainableWeights` order): `saveCheckpoint(dir, model, optimizer, …)` then writes the
   * standard checkpoint, and tfjs training can continue from it.
   */
  async writeAdamTo(optimizer: tfTypes.Optimizer, model: tfTypes.LayersModel, tf: typeof tfTypes): Promise<void> {
    const s = this.adamState();
    const keys = this.trainableKeys(model);
    const shapes = model.trainableWeights.map((w) => w.shape as number[]);
    const moment = (which: 'm' | 'v') => keys.map((k, i) => ({
      name: `${model.trainableWeights[i]!.name}/${which}`,
      tensor: tf.tensor((which === 'm' ? s.m : s.v).get(k)!, shapes[i]),
    }));
    const iter = { name: 'iter', tensor: tf.scalar(this.t, 'int32') };
    const ws = [iter, ...moment('m'), ...moment('v')];
    await optimizer.setWeights(ws);
    tf.dispose(ws.map((w) => w.tensor));   // setWeights made variables of them
  }

  /** Load the Adam state from a tfjs Adam optimizer of `model` (e.g. after `restoreOptimizer` of a checkpoint). */
  async readAdamFrom(optimizer: tfTypes.Optimizer, model: tfTypes.LayersModel): Promise<void> {
    const ws = await optimizer.getWeights();
    const keys = this.trainableKeys(model);
    const iterations = ws.length > 0 ? (await ws[0]!.tensor.data())[0]! : 0;
    const n = (ws.length - 1) / 2;
    const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
    if (ws.length <= 1) {
      for (const p of this.graph.params) { m.set(p.name, new Float32Array(p.size)); v.set(p.name, new Float32Array(p.size)); }
    } else {
      if (n !== keys.length) throw new Error(`OnnxTrainer.readAdamFrom: ${n} moments for ${keys.length} trainable weights`);
      for (let i = 0; i < n; i++) {
        m.set(keys[i]!, (await ws[1 + i]!.tensor.data()) as Float32Array);
        v.set(keys[i]!, (await ws[1 + n + i]!.tensor.data()) as Float32Array);
      }
    }
    this.setAdamState({ iterations, m, v });
  }

  /** The dropout mask of step `seed`: 1/(1−rate) with probability 1−rate, else 0. */
  private dropoutMask(seed: number): Float32Array {
    const B = this.graph.spec.batch, n = this.graph.dropoutWidth;
    const rng = new Rng(seed);
    const keep = 1 / (1 - this.rate);
    const m = new Float32Array(B * n);
    for (let i = 0; i < m.length; i++) m[i] = rng.next() >= this.rate ? keep : 0;
    return m;
  }

  /**
   * One Adam step on a batch: `x` [B,H,W,C] (NHWC), `yClass` one-hot [B·classes] (or class indices
   * [B]), `yBox` [B·5] ([cx, cy, hw, hh, hasBox]). Options: `lr`, `dropoutMask` (explicit mask,
   * [B·width]), `dropoutSeed`. Returns the losses before the update.
   */
  async step(
    x: Float32Array, yClass: Float32Array | Int32Array | readonly number[], yBox: Float32Array,
    o: { lr?: number; dropoutMask?: Float32Array; dropoutSeed?: number } = {},
  ): Promise<OnnxStepResult> {
    const s = this.graph.spec;
    const B = s.batch, K = s.classes;
    if (x.length !== B * s.height * s.width * s.channels) throw new Error(`OnnxTrainer.step: x has ${x.length} values, expected ${B}×${s.height}×${s.width}×${s.channels}`);
    let yc: Float32Array;
    if (yClass.length === B * K && yClass instanceof Float32Array) yc = yClass;
    else if (yClass.length === B) {
      yc = new Float32Array(B * K);
      for (let i = 0; i < B; i++) yc[i * K + (yClass[i] as number)] = 1;
    } else throw new Error('OnnxTrainer.step: yClass must be one-hot [B·classes] (Float32Array) or indices [B]');
    if (yBox.length !== B * 5) throw new Error('OnnxTrainer.step: yBox must be [B·5]');
    this.t++;
    const feeds: Record<string, ort.Tensor> = {
      x: new ort.Tensor('float32', x, [B, s.height, s.width, s.channels]),
      y_class: new ort.Tensor('float32', yc, [B, K]),
      y_box: new ort.Tensor('float32', yBox, [B, 5]),
      lr: new ort.Tensor('float32', new Float32Array([o.lr ?? this.opts.lr ?? 1e-3]), []),
      step: new ort.Tensor('float32', new Float32Array([this.t]), []),
    };
    if (this.graph.dropoutWidth > 0) {
      const mask = o.dropoutMask ?? this.dropoutMask(o.dropoutSeed ?? (((this.opts.seed ?? 1) * 0x9e3779b1) ^ this.t) >>> 0);
      feeds.dropout_mask = new ort.Tensor('float32', mask, [B, this.graph.dropoutWidth]);
    }
    if (this.graph.flat) {
      const P = [this.graph.paramCount];
      feeds.params = new ort.Tensor('float32', this.flatP, P);
      feeds['params:m'] = new ort.Tensor('float32', this.flatM, P);
      feeds['params:v'] = new ort.Tensor('float32', this.flatV, P);
    } else {
      for (const p of this.graph.params) {
        feeds[p.name] = new ort.Tensor('float32', this.view(this.flatP, p).slice(), p.shape);
        feeds[`${p.name}:m`] = new ort.Tensor('float32', this.view(this.flatM, p).slice(), p.shape);
        feeds[`${p.name}:v`] = new ort.Tensor('float32', this.view(this.flatV, p).slice(), p.shape);
      }
    }
    for (const b of this.graph.bns) {
      feeds[`${b.layer}/moving_mean`] = new ort.Tensor('float32', this.bnState.get(`${b.layer}/moving_mean`)!, [b.channels]);
      feeds[`${b.layer}/moving_variance`] = new ort.Tensor('float32', this.bnState.get(`${b.layer}/moving_variance`)!, [b.channels]);
    }
    let out: ort.InferenceSession.OnnxValueMapType;
    let fetches: Record<string, ort.Tensor | null> | null = null;
    if (this.graph.flat) {
      // Pre-allocated outputs (ping-pong with the input buffers): no 12 MB of new buffers per step.
      const P = [this.graph.paramCount];
      this.spare ??= [new Float32Array(P[0]!), new Float32Array(P[0]!), new Float32Array(P[0]!)];
      fetches = {};
      for (const n of this.session.outputNames) fetches[n] = null;
      fetches['params:new'] = new ort.Tensor('float32', this.spare[0], P);
      fetches['params:m:new'] = new ort.Tensor('float32', this.spare[1], P);
      fetches['params:v:new'] = new ort.Tensor('float32', this.spare[2], P);
    }
    try {
      out = fetches ? await this.session.run(feeds, fetches as unknown as ort.InferenceSession.FetchesType) : await this.session.run(feeds);
    } catch (e) {
      this.t--;
      throw e;
    }
    const data = (name: string): Float32Array => (out[name] as ort.Tensor).data as Float32Array;
    if (this.graph.flat) {
      const [p, m, v] = this.spare!;
      this.spare = [this.flatP, this.flatM, this.flatV];
      this.flatP = p;
      this.flatM = m;
      this.flatV = v;
    } else {
      for (const p of this.graph.params) {
        this.flatP.set(data(`${p.name}:new`), p.offset);
        this.flatM.set(data(`${p.name}:m:new`), p.offset);
        this.flatV.set(data(`${p.name}:v:new`), p.offset);
      }
    }
    for (const b of this.graph.bns) {
      this.bnState.set(`${b.layer}/moving_mean`, data(`${b.layer}/moving_mean:new`));
      this.bnState.set(`${b.layer}/moving_variance`, data(`${b.layer}/moving_variance:new`));
    }
    const probs = (out.probs as ort.Tensor).data as Float32Array;
    const pred = new Int32Array(B);
    for (let i = 0; i < B; i++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (probs[i * K + k]! > probs[i * K + best]!) best = k;
      pred[i] = best;
    }
    this.lastOutputs = out;
    return {
      loss: ((out.loss as ort.Tensor).data as Float32Array)[0]!,
      classLoss: ((out.class_loss as ort.Tensor).data as Float32Array)[0]!,
      boxLoss: ((out.box_loss as ort.Tensor).data as Float32Array)[0]!,
      predictedClass: pred,
    };
  }

  /** The raw outputs of the last step (gradients when built with `graph.outputGradients`). */
  lastOutputs: ort.InferenceSession.OnnxValueMapType | null = null;

  /** Gradient of the last step for a parameter, in tfjs layout (needs `graph.outputGradients`). */
  lastGradient(name: string): Float32Array {
    const p = this.graph.params.find((q) => q.name === name);
    const t = this.lastOutputs?.[`grad:${name}`] as ort.Tensor | undefined;
    if (p == null || t == null) throw new Error(`OnnxTrainer.lastGradient: no gradient for ${name}`);
    return toTfjs(p, t.data as Float32Array);
  }

  /** Stop profiling (when enabled) and return the profile file name. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
