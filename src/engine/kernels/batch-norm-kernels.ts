/**
 * caldera's per-channel kernels for training-mode batch norm (see batch-norm-train.ts). Channels
 * are the last axis; every other axis is a "row". Registered for `wasm` (SIMD loops of simd.ts on
 * the tensors in place; channel counts that are not a multiple of 4 use the JS loops) and for `cpu`
 * (the JS loops), so the same op runs, and is tested, on both.
 *
 *   CalderaChannelMoments {x}                      → [2,C]: Σx, Σx²          (summed in float64 blocks)
 *   CalderaBnGradReduce   {dy, y, x}  attrs {relu} → [2,C]: Σg, Σg·x,  g = dy·[y>0] with relu, else dy
 *   CalderaChannelAffine  {x, a, b}   attrs {relu} → a·x + b per channel (then ReLU)
 *   CalderaBnGradApply    {dy, y, x, k1, k2, k3} attrs {relu} → k1·g + k2·x + k3
 */
import * as tf from '@tensorflow/tfjs';
import { simdKernels, type SimdKernels, type WasmMemory } from './simd.js';
import { alloc, f32, fromValues, mark, type Info } from './util.js';

export const CHANNEL_MOMENTS = 'CalderaChannelMoments';
export const BN_GRAD_REDUCE = 'CalderaBnGradReduce';
export const CHANNEL_AFFINE = 'CalderaChannelAffine';
export const BN_GRAD_APPLY = 'CalderaBnGradApply';

/** Rows per block of the float32 partial sums (then added in float64). */
const BLOCK = 256;

// ------------------------------------------------------------------------------------------
// Reference JS loops (cpu backend; wasm fall-back)

function momentsJs(x: Float32Array, rows: number, C: number): Float64Array {
  const acc = new Float64Array(2 * C);
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    for (let c = 0; c < C; c++) {
      const v = x[o + c];
      acc[c] += v;
      acc[C + c] += v * v;
    }
  }
  return acc;
}

function gradReduceJs(dy: Float32Array, y: Float32Array, x: Float32Array, rows: number, C: number, relu: boolean): Float64Array {
  const acc = new Float64Array(2 * C);
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    for (let c = 0; c < C; c++) {
      const g = relu && !(y[o + c] > 0) ? 0 : dy[o + c];
      acc[c] += g;
      acc[C + c] += g * x[o + c];
    }
  }
  return acc;
}

function affineJs(x: Float32Array, a: Float32Array, b: Float32Array, out: Float32Array, rows: number, C: number, relu: boolean): void {
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    for (let c = 0; c < C; c++) {
      const v = a[c] * x[o + c] + b[c];
      out[o + c] = relu ? (v > 0 ? v : 0) : v;
    }
  }
}

function gradApplyJs(dy: Float32Array, y: Float32Array, x: Float32Array, k1: Float32Array, k2: Float32Array, k3: Float32Array,
  out: Float32Array, rows: number, C: number, relu: boolean): void {
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    for (let c = 0; c < C; c++) {
      const g = relu && !(y[o + c] > 0) ? 0 : dy[o + c];
      out[o + c] = k1[c] * g + k2[c] * x[o + c] + k3[c];
    }
  }
}

// ------------------------------------------------------------------------------------------
// wasm plumbing

interface WasmBackend extends tf.KernelBackend {
  wasm: { asm: { memory: WasmMemory }; _malloc(n: number): number; _free(p: number): void };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
}

function ptr(backend: tf.KernelBackend, info: Info): number {
  return (backend as WasmBackend).dataIdMap.get(info.dataId).memoryOffset;
}
function simd(backend: tf.KernelBackend): SimdKernels {
  return simdKernels((backend as WasmBackend).wasm.asm.memory);
}

/** Run a row-blocked float32 reduction into float64 sums (2C values). */
function reduceWasm(backend: tf.KernelBackend, rows: number, C: number, run: (rowStart: number, n: number, acc: number) => void): Float64Array {
  const w = (backend as WasmBackend).wasm;
  const acc = w._malloc(2 * C * 4);
  const sums = new Float64Array(2 * C);
  try {
    const view = new Float32Array(w.asm.memory.buffer, acc, 2 * C);
    for (let r = 0; r < rows; r += BLOCK) {
      const n = Math.min(BLOCK, rows - r);
      view.fill(0);
      run(r, n, acc);
      for (let i = 0; i < 2 * C; i++) sums[i] += view[i];
    }
  } finally {
    w._free(acc);
  }
  return sums;
}

function dims(x: Info): { rows: number; C: number } {
  const C = x.shape[x.shape.length - 1];
  return { rows: C === 0 ? 0 : tf.util.sizeFromShape(x.shape) / C, C };
}

type Args = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };

function useSimd(backendName: string, C: number): boolean {
  return backendName === 'wasm' && C % 4 === 0 && C > 0;
}

// ------------------------------------------------------------------------------------------
// Kernels

function moments(backendName: string) {
  return ({ inputs, backend }: Args): Info => {
    const x = inputs.x as Info;
    const { rows, C } = dims(x);
    let sums: Float64Array;
    if (useSimd(backendName, C)) {
      const k = simd(backend);
      const px = ptr(backend, x);
      sums = reduceWasm(backend, rows, C, (r, n, acc) => k.moments(px + r * C * 4, n, C, acc));
    } else {
      sums = momentsJs(f32(backend, backendName, x), rows, C);
    }
    return fromValues(backend, backendName, [2, C], Float32Array.from(sums));
  };
}

function gradReduce(backendName: string) {
  return ({ inputs, backend, attrs }: Args): Info => {
    const { dy, y, x } = inputs as Record<string, Info>;
    const relu = Boolean(attrs?.relu);
    const { rows, C } = dims(x);
    let sums: Float64Array;
    if (useSimd(backendName, C)) {
      const k = simd(backend);
      const [pdy, py, px] = [ptr(backend, dy), ptr(backend, y), ptr(backend, x)];
      const fn = relu ? k.gradReduceRelu : k.gradReduce;
      sums = reduceWasm(backend, rows, C, (r, n, acc) => fn(pdy + r * C * 4, py + r * C * 4, px + r * C * 4, n, C, acc));
    } else {
      sums = gradReduceJs(f32(backend, backendName, dy), f32(backend, backendName, y), f32(backend, backendName, x), rows, C, relu);
    }
    return fromValues(backend, backendName, [2, C], Float32Array.from(sums));
  };
}

function affine(backendName: string) {
  return ({ inputs, backend, attrs }: Args): Info => {
    const { x, a, b } = inputs as Record<string, Info>;
    const relu = Boolean(attrs?.relu);
    const { rows, C } = dims(x);
    const out = alloc(backend, backendName, x.shape);
    if (useSimd(backendName, C)) {
      (relu ? simd(backend).affineRelu : simd(backend).affine)(ptr(backend, x), rows, C, ptr(backend, a), ptr(backend, b), ptr(backend, out));
    } else {
      affineJs(f32(backend, backendName, x), f32(backend, backendName, a), f32(backend, backendName, b),
        f32(backend, backendName, out), rows, C, relu);
    }
    return out;
  };
}

function gradApply(backendName: string) {
  return ({ inputs, backend, attrs }: Args): Info => {
    const { dy, y, x, k1, k2, k3 } = inputs as Record<string, Info>;
    const relu = Boolean(attrs?.relu);
    const { rows, C } = dims(x);
    const out = alloc(backend, backendName, x.shape);
    if (useSimd(backendName, C)) {
      const p = (t: Info) => ptr(backend, t);
      (relu ? simd(backend).gradApplyRelu : simd(backend).gradApply)(p(dy), p(y), p(x), rows, C, p(k1), p(k2), p(k3), p(out));
    } else {
      const v = (t: Info) => f32(backend, backendName, t);
      gradApplyJs(v(dy), v(y), v(x), v(k1), v(k2), v(k3), v(out), rows, C, relu);
    }
    return out;
  };
}

function configs(backendName: string): tf.KernelConfig[] {
  return [
    { kernelName: CHANNEL_MOMENTS, backendName, kernelFunc: moments(backendName) as unknown as tf.KernelFunc },
    { kernelName: BN_GRAD_REDUCE, backendName, kernelFunc: gradReduce(backendName) as unknown as tf.KernelFunc },
    { kernelName: CHANNEL_AFFINE, backendName, kernelFunc: affine(backendName) as unknown as tf.KernelFunc },
    { kernelName: BN_GRAD_APPLY, backendName, kernelFunc: gradApply(backendName) as unknown as tf.KernelFunc },
  ].map(mark);
}

export const batchNormKernelConfigs: tf.KernelConfig[] = [...configs('wasm'), ...configs('cpu')];
