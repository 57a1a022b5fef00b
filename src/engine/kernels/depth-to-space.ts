/**
 * DepthToSpace (NHWC) for the wasm backend as reshape + 6-D transpose + reshape: the stock kernel
 * is a scalar loop (~280 ms for a 32×56×56×64 input against ~4 ms here). It is used by caldera's
 * Conv2DBackpropInput for strided convolutions. NCHW goes to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { call, free, getStock, mark, reshape, type Info } from './util.js';

function depthToSpaceWasm(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info {
  const { inputs, backend } = args;
  const x = inputs.x as Info;
  const { blockSize, dataFormat } = (args.attrs ?? {}) as unknown as tf.DepthToSpaceAttrs;
  if (dataFormat !== 'NHWC' || x.shape.length !== 4) {
    const st = getStock('DepthToSpace', 'wasm');
    if (st == null) throw new Error('caldera DepthToSpace: no stock kernel');
    return st.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as Info;
  }
  const [b, h, w, c] = x.shape;
  const s = blockSize;
  const d = c / (s * s);
  const x6 = reshape(backend, 'wasm', x, [b, h, w, s, s, d]);
  const t = call(backend, 'wasm', 'Transpose', { x: x6 }, { perm: [0, 1, 3, 2, 4, 5] });
  free(backend, x6);
  const out = reshape(backend, 'wasm', t, [b, h * s, w * s, d]);
  free(backend, t);
  return out;
}

export const depthToSpaceConfig: tf.KernelConfig = mark({
  kernelName: 'DepthToSpace', backendName: 'wasm', kernelFunc: depthToSpaceWasm as unknown as tf.KernelFunc,
});
