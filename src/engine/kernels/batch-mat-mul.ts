/**
 * BatchMatMul for the wasm backend with `transposeA`: the stock kernel handles a transposed left
 * operand on a slow path (≈20 ms for the 1568×32ᵀ·1568×256 weight gradient of a dense layer); here
 * A is transposed explicitly (fast Transpose kernel) and the stock XNNPACK path does the product.
 * Dense and 1×1-conv weight gradients (xᵀ·dy) take this path. Other cases go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { call, free, getStock, mark, type Info } from './util.js';

function batchMatMulWasm(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info {
  const { inputs, backend } = args;
  const attrs = (args.attrs ?? {}) as unknown as tf.BatchMatMulAttrs;
  const stock = getStock('BatchMatMul', 'wasm');
  if (stock == null) throw new Error('caldera BatchMatMul: no stock kernel');
  const a = inputs.a as Info;
  if (!attrs.transposeA || a.dtype !== 'float32' || a.shape.length < 2) {
    return stock.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as Info;
  }
  const r = a.shape.length;
  const perm = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
  const at = call(backend, 'wasm', 'Transpose', { x: a }, { perm });
  try {
    return stock.kernelFunc({ inputs: { a: at, b: inputs.b }, backend, attrs: { ...attrs, transposeA: false } as unknown as tf.NamedAttrMap }) as Info;
  } finally {
    free(backend, at);
  }
}

export const batchMatMulConfig: tf.KernelConfig = mark({
  kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: batchMatMulWasm as unknown as tf.KernelFunc,
});
