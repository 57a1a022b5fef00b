/**
 * Conv2DBackpropFilter for the wasm backend (stock tfjs-backend-wasm 4.22 has none, so `model.fit`
 * of any conv net fails there).
 *
 * dW[kh,kw,ci,co] = sum_{b,oh,ow} x[b, s*oh + kh - padTop, s*ow + kw - padLeft, ci] * dy[b,oh,ow,co]
 *
 * is ONE forward convolution with the batch and channel axes swapped, which runs on XNNPACK's fast
 * convolution: the input is x transposed to [Ci, H, W, B], the filter is dy transposed to
 * [Ho, Wo, B, Co], the dilation is the forward stride, the stride is 1 and the padding is the forward
 * padding on the top/left with the bottom/right chosen so that the output is exactly kh×kw (the
 * input is cropped when that would be negative, i.e. rows/columns the forward pass never read).
 * The result [Ci, kh, kw, Co] is transposed to [kh, kw, Ci, Co].
 *
 * 1×1 filters with stride 1 are one matrix product instead: dW = x^T dy.
 */
import * as tf from '@tensorflow/tfjs';
import { call, free, mark, reshape, type Info } from './util.js';

function conv2DBackpropFilterWasm(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info {
  const { inputs, backend } = args;
  const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropFilterAttrs;
  const x = inputs.x as Info;
  const dy = inputs.dy as Info;
  const B = 'wasm';
  if (attrs.dataFormat === 'NCHW') throw new Error("caldera Conv2DBackpropFilter: only dataFormat 'NHWC' is supported");
  const filterShape = attrs.filterShape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, attrs.strides, 1, attrs.pad,
    attrs.dimRoundingMode, false, 'channelsLast');
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels,
    filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;

  // 1×1, stride 1, no padding: dW = x^T · dy as a single matrix product.
  if (filterHeight === 1 && filterWidth === 1 && strideHeight === 1 && strideWidth === 1 &&
      padInfo.top === 0 && padInfo.left === 0 && outHeight === inHeight && outWidth === inWidth) {
    const n = batchSize * inHeight * inWidth;
    const a = reshape(backend, B, x, [1, n, inChannels]);
    const b = reshape(backend, B, dy, [1, n, outChannels]);
    const m = call(backend, B, 'BatchMatMul', { a, b }, { transposeA: true, transposeB: false });
    const out = reshape(backend, B, m, filterShape);
    free(backend, a, b, m);
    return out;
  }

  // Bottom/right padding that makes the output exactly kh×kw; crop the input when negative.
  const effH = (outHeight - 1) * strideHeight + 1;
  const effW = (outWidth - 1) * strideWidth + 1;
  let padBottom = filterHeight - 1 + effH - inHeight - padInfo.top;
  let padRight = filterWidth - 1 + effW - inWidth - padInfo.left;
  let xs: Info = x;
  if (padBottom < 0 || padRight < 0) {
    const h = inHeight + Math.min(0, padBottom);
    const w = inWidth + Math.min(0, padRight);
    xs = call(backend, B, 'Slice', { x }, { begin: [0, 0, 0, 0], size: [batchSize, h, w, inChannels] });
    padBottom = Math.max(0, padBottom);
    padRight = Math.max(0, padRight);
  }
  const xt = call(backend, B, 'Transpose', { x: xs }, { perm: [3, 1, 2, 0] });   // [Ci, H, W, B]
  if (xs !== x) free(backend, xs);
  const dyt = call(backend, B, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] });  // [Ho, Wo, B, Co]
  const pad: tf.backend_util.ExplicitPadding = [[0, 0], [padInfo.top, padBottom], [padInfo.left, padRight], [0, 0]];
  const conv = call(backend, B, 'Conv2D', { x: xt, filter: dyt }, {
    strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [strideHeight, strideWidth], dimRoundingMode: undefined,
  } as unknown as tf.NamedAttrMap);                                               // [Ci, kh, kw, Co]
  free(backend, xt, dyt);
  if (conv.shape[1] !== filterHeight || conv.shape[2] !== filterWidth) {
    free(backend, conv);
    throw new Error(`caldera Conv2DBackpropFilter: internal shape error ${conv.shape} vs ${filterShape}`);
  }
  if (inChannels === 1) {
    const out = reshape(backend, B, conv, filterShape);
    free(backend, conv);
    return out;
  }
  const out = call(backend, B, 'Transpose', { x: conv }, { perm: [1, 2, 0, 3] });
  free(backend, conv);
  void outChannels;
  return out;
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = mark({
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilterWasm as unknown as tf.KernelFunc,
});
