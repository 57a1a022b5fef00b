/**
 * Export a tfjs layers model (caldera's two-headed CNN, any `ARCHITECTURES` variant) to ONNX for
 * inference with ONNX Runtime — from Node (`onnx-engine.ts`), Python (`onnxruntime`) or anything else.
 *
 * The exporter walks the Keras topology (model.json's `modelTopology`, or a live model's `toJSON`)
 * layer by layer, so it is not tied to one variant; a layer class it does not know is refused with
 * a one-line `InputError` rather than exported approximately.
 *
 * The graph:
 * - input `input` [N,H,W,C] float32 NHWC (dynamic batch N), as caldera prepares it: transposed
 *   ONCE to NCHW, the layout of ORT's fast CPU convolutions (an NHWC graph would get a transpose
 *   around every conv, or ORT's layout transformer would have to insert them).
 * - Conv2D → `Conv` (explicit TF "same" pads: the extra pixel goes at the end, as in TF/tfjs);
 *   a BatchNormalization right after a linear conv is FOLDED into the conv's weights and bias with
 *   the moving statistics (W' = W·γ/√(σ²+ε), b' = (b−μ)·γ/√(σ²+ε) + β, computed in float64):
 *   inference-only, one op fewer per block, identical up to float32 rounding. A BN elsewhere becomes
 *   an ONNX `BatchNormalization`.
 * - ReLU → `Relu`; GlobalAveragePooling2D → `GlobalAveragePool` + `Flatten`; Dense → `Gemm`
 *   (kernel [in,out] as B); Dropout → nothing (identity at inference); activations relu, sigmoid,
 *   tanh, softmax (`Softmax` over the last axis).
 * - Flatten of a feature map transposes back to NHWC first, so the flattened vector is in tfjs's
 *   (h, w, c) order and the following Dense kernel is used as saved.
 * - Outputs are named after the model's output layers: `class` [N,3] and `box` [N,4] for caldera.
 *
 * metadata_props record what a user needs to feed the model (channel format, input size and
 * layout, how each channel is prepared, class names, box encoding) and where it came from
 * (caldera version, SHA-256 of the source weights).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../io/errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readArtifacts, INTEGRITY_KEY, MODEL_JSON } from '../model/io-handler.js';
import { OnnxGraphBuilder, int, type OnnxDim } from './onnx-graph.js';

/** One weight tensor, tfjs layout (Conv2D kernel [kH,kW,Cin,Cout], Dense kernel [in,out]). */
export interface NamedWeight {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Weights keyed `<layer name>/<short name>` (`stem_conv/kernel`, `stem_bn/moving_mean`, …). */
export type NamedWeights = ReadonlyMap<string, NamedWeight>;

/** A layer entry of a Keras functional topology (snake_case config, as in model.json). */
export interface KerasLayerJson {
  readonly class_name: string;
  readonly name?: string;
  readonly config: Record<string, unknown>;
  readonly inbound_nodes: unknown[];
}

/** A Keras functional-model topology (`modelTopology` of model.json). */
export interface KerasTopology {
  readonly class_name: string;
  readonly config: {
    readonly name?: string;
    readonly layers: readonly KerasLayerJson[];
    readonly input_layers: readonly unknown[];
    readonly output_layers: readonly unknown[];
  };
}

export interface OnnxExportOptions {
  /** Where the model came from, for error messages (default 'model'). */
  readonly source?: string;
  /** model.json's `userDefinedMetadata` (caldera's `calderaModel` and integrity record are read from it). */
  readonly userMetadata?: Record<string, unknown>;
  /** SHA-256 of the source weights (default: the integrity record's, if any). */
  readonly sourceSha256?: string;
  /** caldera version to record (default: package.json's). */
  readonly calderaVersion?: string;
  /** More metadata_props entries (override the computed ones). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The layer classes the exporter understands. */
export const SUPPORTED_LAYERS = [
  'InputLayer', 'Conv2D', 'BatchNormalization', 'ReLU', 'Activation', 'GlobalAveragePooling2D', 'Flatten', 'Dense', 'Dropout',
] as const;

/** How each channel letter of a caldera channel format is made (see data/channels.ts). */
const CHANNEL_PREP: Record<string, string> = {
  w: 'wrapped phase / pi',
  u: 'unwrapped phase, min-max scaled to [-1, 1] over valid pixels',
  d: 'DEM, min-max scaled to [-1, 1] over valid pixels',
  c: '2 * coherence - 1',
};

/** A human description of how the input of a channel format is prepared (stored in metadata). */
export function describeInputPreparation(format: string): string {
  if (format === 'rid') {
    return 'channels: real and imaginary parts of (DEM-shaded amplitude * exp(i * wrapped phase)), DEM min-max to [-1, 1]; masked = 0';
  }
  const parts = [...format].map((ch, i) => `${i}: ${CHANNEL_PREP[ch] ?? `'${ch}'`}`);
  return `channel ${parts.join('; ')}; masked = 0`;
}

/** package.json's version (this file is dist/src/engine/onnx-export.js or src/engine/onnx-export.ts). */
export function calderaPackageVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const json = JSON.parse(fs.readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (json.name === 'caldera' && typeof json.version === 'string') return json.version;
    } catch { /* try the next location */ }
  }
  return 'unknown';
}

// ---------------------------------------------------------------------------------------------
// Topology parsing

interface LayerInfo {
  readonly cls: string;
  readonly name: string;
  readonly cfg: Record<string, unknown>;
  /** Names of the layers feeding this one (in order). */
  readonly inputs: readonly string[];
}

/** `['name', 0, 0, {}]` → 'name', insisting on node 0 / tensor 0 (no shared layers, single outputs). */
function refName(ref: unknown, where: string): string {
  if (!Array.isArray(ref) || typeof ref[0] !== 'string') throw new InputError(`${where}: malformed layer reference in the topology`);
  if ((ref[1] ?? 0) !== 0 || (ref[2] ?? 0) !== 0) throw new InputError(`${where}: shared layers or multi-output layers cannot be exported (${ref[0]})`);
  return ref[0];
}

function parseTopology(topology: unknown, where: string): { layers: LayerInfo[]; inputs: string[]; outputs: string[] } {
  const t = topology as Partial<KerasTopology> | null;
  if (t == null || typeof t !== 'object' || t.config == null || !Array.isArray(t.config.layers)) {
    throw new InputError(`${where}: not a Keras layers-model topology`);
  }
  if (t.class_name !== 'Model' && t.class_name !== 'Functional') {
    throw new InputError(`${where}: only functional models can be exported to ONNX (got ${String(t.class_name)})`);
  }
  const layers = t.config.layers.map((l): LayerInfo => {
    const name = String(l.config?.name ?? l.name);
    const nodes = Array.isArray(l.inbound_nodes) ? l.inbound_nodes : [];
    if (nodes.length > 1) throw new InputError(`${where}: layer '${name}' is used more than once (shared layers cannot be exported)`);
    const refs = nodes.length === 1 && Array.isArray(nodes[0]) ? (nodes[0] as unknown[]) : [];
    return { cls: l.class_name, name, cfg: l.config ?? {}, inputs: refs.map((r) => refName(r, where)) };
  });
  const inputs = (t.config.input_layers ?? []).map((r) => refName(r, where));
  const outputs = (t.config.output_layers ?? []).map((r) => refName(r, where));
  return { layers, inputs, outputs };
}

// ---------------------------------------------------------------------------------------------
// Graph construction

/** A value of the ONNX graph: its logical (Keras, batch-less) shape, stored NCHW when rank 3. */
interface Val {
  readonly name: string;
  /** Keras shape without the batch: [H,W,C] (stored as [N,C,H,W]) or [F] (stored as [N,F]). */
  readonly shape: readonly number[];
}

const ACTIVATIONS: Record<string, string | null> = { linear: null, relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', softmax: 'Softmax' };

/** TF "same" padding along one axis: [before, after] (the extra pixel at the end). */
function samePads(inSize: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function pair(v: unknown, name: string, where: string): [number, number] {
  const a = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(a) || a.length !== 2 || !a.every((x) => Number.isInteger(x) && x > 0)) {
    throw new InputError(`${where}: bad ${name} '${JSON.stringify(v)}'`);
  }
  return [a[0], a[1]];
}

class Exporter {
  readonly g = new OnnxGraphBuilder({ name: 'caldera', producerName: 'caldera' });
  private readonly values = new Map<string, Val>();

  constructor(private readonly weights: NamedWeights, private readonly where: string) {}

  weight(layer: string, short: string, shape?: readonly number[]): NamedWeight {
    const w = this.weights.get(`${layer}/${short}`);
    if (w == null) throw new InputError(`${this.where}: weight ${layer}/${short} is missing`);
    if (shape && (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i]))) {
      throw new InputError(`${this.where}: weight ${layer}/${short} has shape [${w.shape}], expected [${shape}]`);
    }
    return w;
  }

  optWeight(layer: string, short: string): NamedWeight | undefined {
    return this.weights.get(`${layer}/${short}`);
  }

  value(name: string): Val {
    const v = this.values.get(name);
    if (v == null) throw new Error(`onnx export: value of layer '${name}' not computed (graph order)`);
    return v;
  }

  set(layer: string, v: Val): void {
    this.values.set(layer, v);
  }

  has(layer: string): boolean {
    return this.values.has(layer);
  }

  node(op: string, inputs: string[], attrs: Parameters<OnnxGraphBuilder['addNode']>[2], prefix: string): string {
    return this.g.addNode(op, inputs, attrs, { outputs: [this.g.fresh(prefix)] })[0]!;
  }

  activation(x: Val, act: unknown, layer: string): Val {
    const a = act == null ? 'linear' : String(act);
    if (!(a in ACTIVATIONS)) throw new InputError(`${this.where}: layer '${layer}': activation '${a}' cannot be exported to ONNX`);
    const op = ACTIVATIONS[a];
    if (op == null) return x;
    const attrs = op === 'Softmax' ? { axis: int(x.shape.length === 3 ? 1 : -1) } : {};
    return { name: this.node(op, [x.name], attrs, `${layer}/${op.toLowerCase()}`), shape: x.shape };
  }

  /** Graph input (NHWC) → NCHW once. */
  input(layer: LayerInfo): Val {
    const bis = (layer.cfg.batch_input_shape ?? layer.cfg.batchInputShape) as (number | null)[] | undefined;
    if (!Array.isArray(bis) || bis.slice(1).some((d) => !Number.isInteger(d) || (d as number) < 1)) {
      throw new InputError(`${this.where}: input '${layer.name}' needs a fixed shape (got ${JSON.stringify(bis)})`);
    }
    const shape = bis.slice(1) as number[];
    if (shape.length !== 3 && shape.length !== 1) throw new InputError(`${this.where}: input of rank ${shape.length + 1} cannot be exported`);
    const dtype = layer.cfg.dtype ?? 'float32';
    if (dtype !== 'float32') throw new InputError(`${this.where}: input dtype '${String(dtype)}' cannot be exported (float32 only)`);
    const name = this.g.addInput('input', 'float32', ['N', ...shape]);
    if (shape.length === 1) return { name, shape };
    return { name: this.node('Transpose', [name], { perm: [0, 3, 1, 2] }, 'input_nchw'), shape };
  }

  /** Conv2D, with an optional BatchNormalization folded in (`bn` = the BN layer's name). */
  conv(layer: LayerInfo, x: Val, bn: LayerInfo | null): Val {
    const c = layer.cfg;
    const w = this.where;
    if (x.shape.length !== 3) throw new InputError(`${w}: Conv2D '${layer.name}' needs a feature map input`);
    if ((c.data_format ?? 'channels_last') !== 'channels_last') throw new InputError(`${w}: Conv2D '${layer.name}': only channels_last is supported`);
    const [kh, kw] = pair(c.kernel_size, 'kernel_size', `${w}: ${layer.name}`);
    const [sh, sw] = pair(c.strides ?? 1, 'strides', `${w}: ${layer.name}`);
    const [dh, dw] = pair(c.dilation_rate ?? 1, 'dilation_rate', `${w}: ${layer.name}`);
    if ((sh > 1 || sw > 1) && (dh > 1 || dw > 1)) throw new InputError(`${w}: Conv2D '${layer.name}': strides and dilation together are not supported`);
    const [H, W, Cin] = x.shape as [number, number, number];
    const Cout = Number(c.filters);
    const k = this.weight(layer.name, 'kernel', [kh, kw, Cin, Cout]);
    const b = c.use_bias === false ? undefined : this.weight(layer.name, 'bias', [Cout]);
    let pads: [number, number, number, number];
    let Ho: number, Wo: number;
    if (c.padding === 'same') {
      const ph = samePads(H, kh, sh, dh), pw = samePads(W, kw, sw, dw);
      pads = [ph[0], pw[0], ph[1], pw[1]];
      Ho = Math.ceil(H / sh); Wo = Math.ceil(W / sw);
    } else if (c.padding === 'valid' || c.padding == null) {
      pads = [0, 0, 0, 0];
      Ho = Math.floor((H - ((kh - 1) * dh + 1)) / sh) + 1; Wo = Math.floor((W - ((kw - 1) * dw + 1)) / sw) + 1;
    } else {
      throw new InputError(`${w}: Conv2D '${layer.name}': padding '${String(c.padding)}' is not supported`);
    }
    // Per output channel: scale and shift (identity without BN).
    const scale = new Float64Array(Cout).fill(1);
    const shift = new Float64Array(Cout);
    for (let o = 0; o < Cout; o++) shift[o] = b ? b.data[o]! : 0;
    if (bn) {
      const p = this.bnParams(bn, Cout);
      for (let o = 0; o < Cout; o++) {
        shift[o] = (shift[o]! - p.mean[o]!) * p.scale[o]! + p.beta[o]!;
        scale[o] = p.scale[o]!;
      }
    }
    // tfjs [kh,kw,ci,co] → ONNX [co,ci,kh,kw], scaled per output channel.
    const wt = new Float32Array(Cout * Cin * kh * kw);
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let ci = 0; ci < Cin; ci++) for (let o = 0; o < Cout; o++) {
      wt[((o * Cin + ci) * kh + i) * kw + j] = k.data[((i * kw + j) * Cin + ci) * Cout + o]! * scale[o]!;
    }
    const wName = this.g.addInitializer(this.g.fresh(`${layer.name}/W`), wt, [Cout, Cin, kh, kw]);
    const hasShift = bn != null || b != null;
    const inputs = [x.name, wName];
    if (hasShift) inputs.push(this.g.addInitializer(this.g.fresh(`${layer.name}/B`), Float32Array.from(shift), [Cout]));
    const y = this.node('Conv', inputs, {
      kernel_shape: [kh, kw], strides: [sh, sw], dilations: [dh, dw], pads, group: int(1),
    }, bn ? `${layer.name}+${bn.name}` : layer.name);
    return this.activation({ name: y, shape: [Ho, Wo, Cout] }, c.activation, layer.name);
  }

  /** Inference BN as per-channel scale γ/√(σ²+ε) (float64), moving mean and β. */
  bnParams(bn: LayerInfo, C: number): { scale: Float64Array; mean: Float64Array; beta: Float64Array } {
    const eps = Number(bn.cfg.epsilon ?? 1e-3);
    const gamma = bn.cfg.scale === false ? undefined : this.weight(bn.name, 'gamma', [C]);
    const beta = bn.cfg.center === false ? undefined : this.weight(bn.name, 'beta', [C]);
    const mean = this.weight(bn.name, 'moving_mean', [C]);
    const variance = this.weight(bn.name, 'moving_variance', [C]);
    const out = { scale: new Float64Array(C), mean: new Float64Array(C), beta: new Float64Array(C) };
    for (let o = 0; o < C; o++) {
      out.scale[o] = (gamma ? gamma.data[o]! : 1) / Math.sqrt(variance.data[o]! + eps);
      out.mean[o] = mean.data[o]!;
      out.beta[o] = beta ? beta.data[o]! : 0;
    }
    return out;
  }

  /** A BatchNormalization not folded into a conv: ONNX BatchNormalization (inference mode) over the channel axis. */
  batchNorm(layer: LayerInfo, x: Val): Val {
    const C = x.shape[x.shape.length - 1]!;
    const c = layer.cfg;
    const vec = (short: string, fill: number | null): string => {
      const w = fill == null ? this.weight(layer.name, short, [C]).data : new Float32Array(C).fill(fill);
      return this.g.addInitializer(this.g.fresh(`${layer.name}/${short}`), w, [C]);
    };
    const y = this.node('BatchNormalization', [
      x.name, vec('gamma', c.scale === false ? 1 : null), vec('beta', c.center === false ? 0 : null),
      vec('moving_mean', null), vec('moving_variance', null),
    ], { epsilon: Number(c.epsilon ?? 1e-3) }, layer.name);
    return { name: y, shape: x.shape };
  }

  dense(layer: LayerInfo, x: Val): Val {
    if (x.shape.length !== 1) throw new InputError(`${this.where}: Dense '${layer.name}' on a rank-${x.shape.length + 1} input cannot be exported`);
    const units = Number(layer.cfg.units);
    const k = this.weight(layer.name, 'kernel', [x.shape[0]!, units]);
    const inputs = [x.name, this.g.addInitializer(this.g.fresh(`${layer.name}/W`), k.data, [x.shape[0]!, units])];
    if (layer.cfg.use_bias !== false) {
      const b = this.weight(layer.name, 'bias', [units]);
      inputs.push(this.g.addInitializer(this.g.fresh(`${layer.name}/B`), b.data, [units]));
    }
    const y = this.node('Gemm', inputs, {}, layer.name);
    return this.activation({ name: y, shape: [units] }, layer.cfg.activation, layer.name);
  }

  relu(layer: LayerInfo, x: Val): Val {
    const c = layer.cfg;
    const plain = c.max_value == null && (c.negative_slope ?? 0) === 0 && (c.threshold ?? 0) === 0;
    if (!plain) throw new InputError(`${this.where}: ReLU '${layer.name}' with max_value/negative_slope/threshold cannot be exported`);
    return { name: this.node('Relu', [x.name], {}, layer.name), shape: x.shape };
  }

  globalAvgPool(layer: LayerInfo, x: Val): Val {
    if (x.shape.length !== 3 || (layer.cfg.data_format ?? 'channels_last') !== 'channels_last' || layer.cfg.keepdims === true) {
      throw new InputError(`${this.where}: GlobalAveragePooling2D '${layer.name}' (non-default options) cannot be exported`);
    }
    const p = this.node('GlobalAveragePool', [x.name], {}, layer.name);
    return { name: this.node('Flatten', [p], { axis: int(1) }, layer.name), shape: [x.shape[2]!] };
  }

  /** Keras Flatten of an NHWC map: transpose the stored NCHW back to NHWC, then flatten (h, w, c order). */
  flatten(layer: LayerInfo, x: Val): Val {
    if (x.shape.length === 1) return x;
    const t = this.node('Transpose', [x.name], { perm: [0, 2, 3, 1] }, `${layer.name}/nhwc`);
    return { name: this.node('Flatten', [t], { axis: int(1) }, layer.name), shape: [x.shape.reduce((a, b) => a * b, 1)] };
  }

  /** Graph output named `name`: NHWC for feature maps, Identity to pin the name. */
  output(name: string, x: Val): void {
    let v = x.name;
    const shape: OnnxDim[] = ['N', ...x.shape];
    if (x.shape.length === 3) {
      v = this.node('Transpose', [v], { perm: [0, 2, 3, 1] }, `${name}/nhwc`);
    }
    this.g.addNode('Identity', [v], {}, { outputs: [name] });
    this.g.addOutput(name, 'float32', shape);
  }
}

/** True when `layer` is a Conv2D whose output feeds exactly one layer, a foldable BatchNormalization (channel axis last). */
function foldableBn(layer: LayerInfo, consumers: ReadonlyMap<string, LayerInfo[]>, outputs: readonly string[]): LayerInfo | null {
  if (layer.cls !== 'Conv2D' || outputs.includes(layer.name)) return null;
  if (layer.cfg.activation != null && layer.cfg.activation !== 'linear') return null;
  const next = consumers.get(layer.name) ?? [];
  if (next.length !== 1) return null;
  const bn = next[0]!;
  if (bn.cls !== 'BatchNormalization' || bn.inputs.length !== 1) return null;
  const axis = bn.cfg.axis;
  const ax = Array.isArray(axis) ? (axis.length === 1 ? axis[0] : null) : axis;
  return ax === -1 || ax === 3 ? bn : null;
}

/**
 * The ONNX model (bytes of a .onnx file) of a Keras functional topology and its weights.
 * Pure: no tfjs, no files. Throws InputError for a layer class or option it cannot export.
 */
export function topologyToOnnx(topology: unknown, weights: NamedWeights, opts: OnnxExportOptions = {}): Uint8Array {
  const where = opts.source ?? 'model';
  const { layers, inputs, outputs } = parseTopology(topology, where);
  if (inputs.length !== 1) throw new InputError(`${where}: only single-input models can be exported (got ${inputs.length} inputs)`);
  const byName = new Map(layers.map((l) => [l.name, l]));
  for (const l of layers) {
    if (!(SUPPORTED_LAYERS as readonly string[]).includes(l.cls)) {
      throw new InputError(`${where}: layer '${l.name}' of class ${l.cls} cannot be exported to ONNX (supported: ${SUPPORTED_LAYERS.join(', ')})`);
    }
  }
  const consumers = new Map<string, LayerInfo[]>();
  for (const l of layers) for (const i of l.inputs) consumers.set(i, [...(consumers.get(i) ?? []), l]);

  const ex = new Exporter(weights, where);
  const folded = new Set<string>();
  const pending = [...layers];
  // Layers are listed in topological order in model.json, but do not rely on it.
  while (pending.length > 0) {
    const idx = pending.findIndex((l) => l.inputs.every((i) => ex.has(i)));
    if (idx < 0) throw new InputError(`${where}: the topology has unreachable or cyclic layers (${pending.map((l) => l.name).join(', ')})`);
    const l = pending.splice(idx, 1)[0]!;
    if (l.cls === 'InputLayer') {
      if (l.name !== inputs[0]) throw new InputError(`${where}: unexpected input layer '${l.name}'`);
      ex.set(l.name, ex.input(l));
      continue;
    }
    if (l.inputs.length !== 1) throw new InputError(`${where}: layer '${l.name}' has ${l.inputs.length} inputs (only single-input layers can be exported)`);
    const x = ex.value(l.inputs[0]!);
    if (folded.has(l.name)) { ex.set(l.name, x); continue; }
    switch (l.cls) {
      case 'Conv2D': {
        const bn = foldableBn(l, consumers, outputs);
        if (bn) folded.add(bn.name);
        ex.set(l.name, ex.conv(l, x, bn));
        break;
      }
      case 'BatchNormalization': {
        const ax = l.cfg.axis;
        if (!(ax === -1 || ax === x.shape.length || (Array.isArray(ax) && ax.length === 1 && (ax[0] === -1 || ax[0] === x.shape.length)))) {
          throw new InputError(`${where}: BatchNormalization '${l.name}' over axis ${JSON.stringify(ax)} cannot be exported (channel axis only)`);
        }
        ex.set(l.name, ex.batchNorm(l, x));
        break;
      }
      case 'ReLU': ex.set(l.name, ex.relu(l, x)); break;
      case 'Activation': ex.set(l.name, ex.activation(x, l.cfg.activation, l.name)); break;
      case 'GlobalAveragePooling2D': ex.set(l.name, ex.globalAvgPool(l, x)); break;
      case 'Flatten': ex.set(l.name, ex.flatten(l, x)); break;
      case 'Dense': ex.set(l.name, ex.dense(l, x)); break;
      case 'Dropout': ex.set(l.name, x); break;
      default: throw new InputError(`${where}: layer '${l.name}' of class ${l.cls} cannot be exported to ONNX`);
    }
  }
  for (const o of outputs) {
    if (!byName.has(o)) throw new InputError(`${where}: output layer '${o}' is not in the topology`);
    ex.output(o, ex.value(o));
  }
  for (const [k, v] of Object.entries(onnxMetadata(topology, opts))) ex.g.setMetadata(k, v);
  return ex.g.encode();
}

/** metadata_props of an exported model (caldera's facts when the metadata has them). */
export function onnxMetadata(topology: unknown, opts: OnnxExportOptions): Record<string, string> {
  const meta = opts.userMetadata ?? {};
  const cm = (meta.calderaModel ?? {}) as Record<string, unknown>;
  const integrity = (meta[INTEGRITY_KEY] ?? {}) as Record<string, unknown>;
  const out: Record<string, string> = {
    producer: 'caldera',
    caldera_version: opts.calderaVersion ?? calderaPackageVersion(),
    input_layout: 'NHWC float32 [N, height, width, channels]',
    batch_norm: 'folded into the preceding convolutions (inference statistics)',
  };
  const inputLayer = (topology as KerasTopology).config.layers.find((l) => l.class_name === 'InputLayer');
  const bis = inputLayer?.config.batch_input_shape as (number | null)[] | undefined;
  if (Array.isArray(bis) && bis.length === 4) out.input_layout = `NHWC float32 [N, ${bis[1]}, ${bis[2]}, ${bis[3]}]`;
  if (typeof cm.channelFormat === 'string') {
    out.channel_format = cm.channelFormat;
    out.input_preparation = describeInputPreparation(cm.channelFormat);
  }
  if (cm.inputSize != null) out.input_size = String(cm.inputSize);
  if (Array.isArray(cm.classes)) out.class_names = JSON.stringify(cm.classes);
  if (typeof cm.box === 'string') out.box_encoding = `${cm.box} (normalised centre x, centre y, half-width, half-height)`;
  if (typeof cm.arch === 'string') out.architecture = cm.arch;
  const sha = opts.sourceSha256 ?? (typeof integrity.weightsSha256 === 'string' ? integrity.weightsSha256 : undefined);
  if (sha) out.source_weights_sha256 = sha;
  return { ...out, ...(opts.metadata ?? {}) };
}

// ---------------------------------------------------------------------------------------------
// Sources: a saved model directory, or a live tfjs LayersModel

/**
 * Float32 weights of a tfjs weights manifest, keyed by name. Other dtypes / quantised weights
 * are refused (caldera saves float32 only).
 */
export function decodeFloat32Weights(specs: readonly { name: string; shape: number[]; dtype: string; quantization?: unknown }[],
  data: ArrayBuffer, where: string): Map<string, NamedWeight> {
  const out = new Map<string, NamedWeight>();
  let off = 0;
  for (const s of specs) {
    if (s.dtype !== 'float32' || s.quantization != null) throw new InputError(`${where}: weight ${s.name} is ${s.dtype}${s.quantization ? ' (quantised)' : ''}; only float32 weights can be exported`);
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (off + n * 4 > data.byteLength) throw new InputError(`${where}: weights end before ${s.name}`);
    out.set(s.name, { data: new Float32Array(data.slice(off, off + n * 4)), shape: s.shape });
    off += n * 4;
  }
  return out;
}

/**
 * Export a saved model directory (model.json + weights.bin, checked like `loadModel` does) to
 * ONNX bytes. Needs no tfjs backend.
 */
export async function exportOnnxFromDir(modelDir: string, opts: Omit<OnnxExportOptions, 'userMetadata' | 'source'> = {}): Promise<Uint8Array> {
  const art = await readArtifacts(modelDir);
  const where = path.join(modelDir, MODEL_JSON);
  const data = art.weightData as ArrayBuffer;
  const weights = decodeFloat32Weights(art.weightSpecs ?? [], data, where);
  const sha = opts.sourceSha256 ?? createHash('sha256').update(new Uint8Array(data)).digest('hex');
  return topologyToOnnx(art.modelTopology, weights, { ...opts, source: where, userMetadata: art.userDefinedMetadata, sourceSha256: sha });
}

/**
 * Export a saved model directory to `outPath` (.onnx), written atomically. Returns the byte
 * count and SHA-256 of the file (for the CLI's report). This is what `caldera export --onnx` calls.
 */
export async function exportOnnxFile(modelDir: string, outPath: string): Promise<{ bytes: number; sha256: string }> {
  const bytes = await exportOnnxFromDir(modelDir);
  await writeFileAtomic(outPath, bytes);
  return { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The structural subset of a tfjs LayersModel the exporter needs (keeps this module free of a tfjs import). */
export interface LayersModelLike {
  toJSON(unused?: unknown, returnString?: boolean): unknown;
  readonly layers: readonly {
    readonly name: string;
    readonly weights: readonly { readonly originalName: string; readonly name: string; read(): { dataSync(): ArrayLike<number>; readonly shape: number[] } }[];
  }[];
}

/** `<layer>/<short>` weights of a live tfjs model (reads them once from the backend). */
export function layersModelWeights(model: LayersModelLike): Map<string, NamedWeight> {
  const out = new Map<string, NamedWeight>();
  const short = (n: string): string => n.slice(n.lastIndexOf('/') + 1).replace(/_\d+$/, '');
  for (const l of model.layers) {
    for (const v of l.weights) {
      const t = v.read();
      out.set(`${l.name}/${short(v.originalName || v.name)}`, { data: Float32Array.from(t.dataSync()), shape: [...t.shape] });
    }
  }
  return out;
}

/**
 * Export a live tfjs LayersModel (e.g. freshly built or loaded) to ONNX bytes. `userMetadata`
 * defaults to the model's own (`getUserDefinedMetadata`, set when loaded from a directory).
 */
export function layersModelToOnnx(model: LayersModelLike & { getUserDefinedMetadata?(): unknown }, opts: OnnxExportOptions = {}): Uint8Array {
  const topology = model.toJSON(undefined, false);
  const userMetadata = opts.userMetadata ?? (model.getUserDefinedMetadata?.() as Record<string, unknown> | undefined);
  return topologyToOnnx(topology, layersModelWeights(model), { ...opts, ...(userMetadata ? { userMetadata } : {}) });
}
