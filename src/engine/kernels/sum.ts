/**
 * Sum and Mean over LEADING axes for the wasm backend (e.g. over batch, rows and columns of an
 * NHWC tensor: bias and batch-norm gradients, batch statistics). The stock kernels transpose the
 * reduced axes to the end first, which costs more than the reduction; here the reduction is one
 * matrix-vector product ones[1, rows] · x[rows, cols] on XNNPACK (≈15× faster at 32×112×112×16).
 * Other reductions go to the stock kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { call, free, fromValues, getStock, mark, reshape, type Info } from './util.js';

const MIN_ROWS = 32;

/** Cached constant row vectors on the wasm backend, by `${rows}/${value}`. */
const constRows = new WeakMap<object, Map<string, Info>>();

function rowOf(backend: tf.KernelBackend, rows: number, value: number): Info {
  let m = constRows.get(backend);
  if (!m) { m = new Map(); constRows.set(backend, m); }
  const key = `${rows}/${value}`;
  let v = m.get(key);
  if (!v) {
    if (m.size > 64) { for (const i of m.values()) free(backend, i); m.clear(); }
    v = fromValues(backend, 'wasm', [1, 1, rows], new Float32Array(rows).fill(value));
    m.set(key, v);
  }
  return v;
}

/** The number of leading axes reduced, or 0 when `axis` is not exactly the first k axes (k < rank). */
export function leadingAxes(shape: number[], axis: number | number[] | undefined): number {
  const rank = shape.length;
  const axes = tf.util.parseAxisParam(axis ?? null as unknown as number[], shape).slice().sort((a, b) => a - b);
  if (axes.length === 0 || axes.length >= rank) return 0;
  for (let i = 0; i < axes.length; i++) if (axes[i] !== i) return 0;
  return axes.length;
}

function makeReduce(kernelName: 'Sum' | 'Mean') {
  return (args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info => {
    const { inputs, backend } = args;
    const x = inputs.x as Info;
    const { axis, keepDims } = (args.attrs ?? {}) as unknown as { axis: number | number[]; keepDims: boolean };
    const k = x.dtype === 'float32' ? leadingAxes(x.shape, axis) : 0;
    const rows = x.shape.slice(0, k).reduce((a, b) => a * b, 1);
    if (k === 0 || rows < MIN_ROWS) {
      const st = getStock(kernelName, 'wasm');
      if (st == null) throw new Error(`caldera ${kernelName}: no stock kernel`);
      return st.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as Info;
    }
    const rest = x.shape.slice(k);
    const cols = rest.reduce((a, b) => a * b, 1);
    const a = rowOf(backend, rows, kernelName === 'Mean' ? 1 / rows : 1);
    const b = reshape(backend, 'wasm', x, [1, rows, cols]);
    const m = call(backend, 'wasm', 'BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
    free(backend, b);
    const outShape = keepDims ? [...x.shape.slice(0, k).map(() => 1), ...rest] : rest;
    const out = reshape(backend, 'wasm', m, outShape);
    free(backend, m);
    return out;
  };
}

export const sumConfig: tf.KernelConfig = mark({
  kernelName: 'Sum', backendName: 'wasm', kernelFunc: makeReduce('Sum') as unknown as tf.KernelFunc,
});
export const meanConfig: tf.KernelConfig = mark({
  kernelName: 'Mean', backendName: 'wasm', kernelFunc: makeReduce('Mean') as unknown as tf.KernelFunc,
});
