/**
 * MaxPoolGrad for the wasm backend. The stock tfjs-backend-wasm 4.22 kernel is registered but
 * WRONG: a pooling window whose values are all negative gets no gradient at all (its running
 * maximum does not start at −∞), so e.g. a 1×4×4×1 input gives the cpu backend's gradient in only
 * 3 of the 4 windows. (After a ReLU the window values are ≥ 0 and the loss of gradient only hits
 * all-zero windows, whose gradient the ReLU then zeroes anyway — but any pool not after a ReLU,
 * and every test against cpu, sees it.)
 *
 * This one follows tfjs-backend-cpu exactly: each output's gradient goes to the FIRST maximum of
 * its window in row-major order (strict `>` from −∞), accumulated when windows overlap. NHWC,
 * any filter size, stride and padding ('valid', 'same', explicit), dilation 1. It is a JS loop over
 * the wasm heap with channels innermost (contiguous): one pass over x, one over dy.
 */
import * as tf from '@tensorflow/tfjs';
import { alloc, f32, mark, saveStock, type Info } from './util.js';

function maxPoolGradWasm(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info {
  const { inputs, backend } = args;
  const { filterSize, strides, pad, dimRoundingMode } = (args.attrs ?? {}) as unknown as tf.MaxPoolGradAttrs;
  const x = inputs.input as Info;
  const dy = inputs.dy as Info;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth, strideHeight, strideWidth,
    effectiveFilterHeight: fh, effectiveFilterWidth: fw, padInfo } = info;
  const dx = alloc(backend, 'wasm', x.shape);
  // Views after the allocation (the heap may have grown).
  const xv = f32(backend, 'wasm', x);
  const dyv = f32(backend, 'wasm', dy);
  const dxv = f32(backend, 'wasm', dx);
  dxv.fill(0);
  const best = new Float32Array(C);
  const bestAt = new Int32Array(C);
  const rowStride = inWidth * C;
  for (let b = 0; b < batchSize; b++) {
    const xb = b * inHeight * rowStride;
    for (let oy = 0; oy < outHeight; oy++) {
      const r0 = oy * strideHeight - padInfo.top;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(inHeight, r0 + fh);
      for (let ox = 0; ox < outWidth; ox++) {
        const c0 = ox * strideWidth - padInfo.left;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(inWidth, c0 + fw);
        best.fill(-Infinity);
        bestAt.fill(-1);
        for (let r = rMin; r < rMax; r++) {
          for (let col = cMin; col < cMax; col++) {
            const p = xb + r * rowStride + col * C;
            for (let c = 0; c < C; c++) {
              const v = xv[p + c];
              if (v > best[c]) { best[c] = v; bestAt[c] = p + c; }
            }
          }
        }
        const q = ((b * outHeight + oy) * outWidth + ox) * C;
        for (let c = 0; c < C; c++) {
          const at = bestAt[c];
          if (at >= 0) dxv[at] += dyv[q + c];
        }
      }
    }
  }
  return dx;
}

export const maxPoolGradConfig: tf.KernelConfig = mark({
  kernelName: 'MaxPoolGrad', backendName: 'wasm', kernelFunc: maxPoolGradWasm as unknown as tf.KernelFunc,
});

/** Register caldera's MaxPoolGrad for wasm in place of the stock one (kept for comparison). Idempotent. */
export function registerMaxPoolGrad(): void {
  const current = tf.getKernel('MaxPoolGrad', 'wasm');
  if (current === maxPoolGradConfig) return;
  saveStock('MaxPoolGrad', 'wasm');
  if (current != null) tf.unregisterKernel('MaxPoolGrad', 'wasm');
  tf.registerKernel(maxPoolGradConfig);
}
