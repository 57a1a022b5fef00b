/**
 * FusedBatchNorm (inference-time batch normalisation, y = (x - mean)·scale/sqrt(var + eps) + offset)
 * for the wasm backend, when mean/variance/offset/scale are per-channel (size = last dimension):
 * the per-channel factor and shift are folded in JS and applied by ONE XNNPACK 1×1 depthwise
 * convolution with bias (the stock kernel is a scalar loop, ~8× slower). Other cases go to the
 * stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { call, f32, free, fromValues, getStock, mark, reshape, type Info } from './util.js';

function fusedBatchNormWasm(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info {
  const { inputs, backend } = args;
  const { x, mean, variance, offset, scale } = inputs as unknown as Record<string, Info | undefined>;
  const eps = ((args.attrs ?? {}) as unknown as tf.FusedBatchNormAttrs).varianceEpsilon;
  const C = x!.shape[x!.shape.length - 1];
  const size = (t?: Info) => (t == null ? C : tf.util.sizeFromShape(t.shape));
  const perChannel = x!.dtype === 'float32' && x!.shape.length >= 2 && x!.shape.length <= 4 &&
    [mean, variance, offset, scale].every((t) => size(t) === C && (t == null || t.dtype === 'float32'));
  if (!perChannel) {
    const st = getStock('FusedBatchNorm', 'wasm');
    if (st == null) throw new Error('caldera FusedBatchNorm: no stock kernel');
    return st.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as Info;
  }
  const m = f32(backend, 'wasm', mean!).slice();
  const v = f32(backend, 'wasm', variance!).slice();
  const o = offset ? f32(backend, 'wasm', offset).slice() : null;
  const s = scale ? f32(backend, 'wasm', scale).slice() : null;
  const a = new Float32Array(C);
  const b = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    a[c] = (s ? s[c] : 1) / Math.sqrt(v[c] + eps);
    b[c] = (o ? o[c] : 0) - m[c] * a[c];
  }
  const filter = fromValues(backend, 'wasm', [1, 1, C, 1], a);
  const bias = fromValues(backend, 'wasm', [C], b);
  const rows = x!.shape.slice(0, -1).reduce((p, q) => p * q, 1);
  const x4 = reshape(backend, 'wasm', x!, [1, 1, rows, C]);
  const y = call(backend, 'wasm', 'FusedDepthwiseConv2D', { x: x4, filter, bias }, {
    strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined, activation: 'linear',
  } as unknown as tf.NamedAttrMap);
  free(backend, filter, bias, x4);
  const out = reshape(backend, 'wasm', y, x!.shape);
  free(backend, y);
  return out;
}

export const fusedBatchNormConfig: tf.KernelConfig = mark({
  kernelName: 'FusedBatchNorm', backendName: 'wasm', kernelFunc: fusedBatchNormWasm as unknown as tf.KernelFunc,
});
