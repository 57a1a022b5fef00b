/**
 * Conv2DBackpropInput for the wasm backend. The stock kernel is a naive scalar loop; this one runs
 * on XNNPACK's convolution.
 *
 * The forward conv reads x[s*o + k - P]; so dx[i] = sum_{o,k: s*o+k-P=i} dy[o] W[k]^T. Writing
 * i + P = s*q + r (0 <= r < s) and k = s*t + r gives dx[i] = sum_t dy[q - t] W[s*t + r]^T: for
 * each phase r (per axis) a stride-1 convolution of dy with the sub-filter of taps k ≡ r (mod s),
 * flipped and in/out-swapped:
 *
 *   G_r[u, co, ci] = W[s*(T_r-1-u) + r, ci, co],  T_r = ceil((K - r)/s) taps,  top padding T_r-1-a
 *
 * (a = floor(P/s)). With stride 1 there is one phase: the classic flipped-filter convolution.
 * With stride s there are s×s phase convolutions doing exactly the forward multiply-adds in total
 * (no zero-stuffing of dy); their outputs are interleaved into dx with strided block copies
 * (simd.ts `scatter`), then the P mod s leading rows/columns are cropped.
 * Different strides per axis, NCHW and negative paddings fall back to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { simdKernels, type WasmMemory } from './simd.js';
import { alloc, call, f32, free, fromValues, getStock, mark, type Info } from './util.js';

interface WasmBackend extends tf.KernelBackend {
  wasm: { asm: { memory: WasmMemory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
}
const ptr = (backend: tf.KernelBackend, t: Info) => (backend as WasmBackend).dataIdMap.get(t.dataId).memoryOffset;
const simd = (backend: tf.KernelBackend) => simdKernels((backend as WasmBackend).wasm.asm.memory);

interface AxisPlan { a: number; r0: number; Q: number; padAfter: number }

function planAxis(s: number, P: number, H: number, Ho: number): AxisPlan {
  const a = Math.floor(P / s);
  const r0 = P - s * a;
  const Q = Math.ceil((H + P) / s) - a;
  const padAfter = a + Q - 1 - (Ho - 1);   // may be negative: those dy rows only reach outside dx
  return { a, r0, Q, padAfter };
}

/** Taps of phase r: k = s*t + r < K. */
function phaseTaps(K: number, s: number, r: number): number {
  return r >= K ? 0 : Math.ceil((K - r) / s);
}

/** The phase sub-filter G [Ty, Tx, Co, Ci] of the forward filter W [K, Kw, Ci, Co]. */
function phaseFilter(w: Float32Array, Kw: number, Ci: number, Co: number, s: number, ry: number, rx: number, Ty: number, Tx: number): Float32Array {
  const g = new Float32Array(Ty * Tx * Co * Ci);
  for (let uy = 0; uy < Ty; uy++) {
    const ky = s * (Ty - 1 - uy) + ry;
    for (let ux = 0; ux < Tx; ux++) {
      const kx = s * (Tx - 1 - ux) + rx;
      const src = (ky * Kw + kx) * Ci * Co;
      const dst = (uy * Tx + ux) * Co * Ci;
      for (let ci = 0; ci < Ci; ci++) {
        const srow = src + ci * Co;
        for (let co = 0; co < Co; co++) g[dst + co * Ci + ci] = w[srow + co];
      }
    }
  }
  return g;
}

function conv2DBackpropInputWasm(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }): Info {
  const { inputs, backend } = args;
  const attrs = (args.attrs ?? {}) as unknown as tf.Conv2DBackpropInputAttrs;
  const B = 'wasm';
  const dy = inputs.dy as Info;
  const filter = inputs.filter as Info;
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape as [number, number, number, number], filter.shape as [number, number, number, number],
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false,
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat));
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels,
    filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  const s = strideHeight;
  const py = planAxis(s, padInfo.top, inHeight, outHeight);
  const px = planAxis(s, padInfo.left, inWidth, outWidth);
  let negativePad = false;
  for (let r = 0; r < s; r++) {
    const ty = phaseTaps(filterHeight, s, r);
    const tx = phaseTaps(filterWidth, s, r);
    if ((ty > 0 && ty - 1 - py.a < 0) || (tx > 0 && tx - 1 - px.a < 0)) negativePad = true;
  }
  if (info.dataFormat !== 'channelsLast' || strideHeight !== strideWidth || negativePad) {
    const st = getStock('Conv2DBackpropInput', B);
    if (st == null) throw new Error('caldera Conv2DBackpropInput: unsupported configuration');
    return st.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as Info;
  }

  // Crop dy where the plan's trailing padding is negative.
  let dys: Info = dy;
  if (py.padAfter < 0 || px.padAfter < 0) {
    const h = outHeight + Math.min(0, py.padAfter);
    const w = outWidth + Math.min(0, px.padAfter);
    dys = call(backend, B, 'Slice', { x: dy }, { begin: [0, 0, 0, 0], size: [batchSize, h, w, outChannels] });
  }
  const wv = f32(backend, B, filter).slice();
  const fullShape = [batchSize, s * py.Q, s * px.Q, inChannels];
  const full = s === 1 ? null : alloc(backend, B, fullShape);
  let single: Info | null = null;
  try {
    for (let ry = 0; ry < s; ry++) {
      for (let rx = 0; rx < s; rx++) {
        const Ty = phaseTaps(filterHeight, s, ry);
        const Tx = phaseTaps(filterWidth, s, rx);
        let z: Info;
        if (Ty === 0 || Tx === 0) {
          z = fromValues(backend, B, [batchSize, py.Q, px.Q, inChannels], new Float32Array(batchSize * py.Q * px.Q * inChannels));
        } else {
          const g = fromValues(backend, B, [Ty, Tx, outChannels, inChannels],
            phaseFilter(wv, filterWidth, inChannels, outChannels, s, ry, rx, Ty, Tx));
          const pad: tf.backend_util.ExplicitPadding =
            [[0, 0], [Ty - 1 - py.a, Math.max(0, py.padAfter)], [Tx - 1 - px.a, Math.max(0, px.padAfter)], [0, 0]];
          z = call(backend, B, 'Conv2D', { x: dys, filter: g }, {
            strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined,
          } as unknown as tf.NamedAttrMap);
          free(backend, g);
          if (z.shape[1] !== py.Q || z.shape[2] !== px.Q) {
            free(backend, z);
            throw new Error(`caldera Conv2DBackpropInput: internal shape error ${z.shape}`);
          }
        }
        if (full == null) { single = z; continue; }
        // Phase (ry, rx) goes to rows s·i + ry, columns s·j + rx of dx.
        const rowBytes = s * px.Q * inChannels * 4;
        simd(backend).scatter(ptr(backend, z), batchSize * py.Q, px.Q, inChannels * 4,
          ptr(backend, full) + ry * rowBytes + rx * inChannels * 4, s * rowBytes, s * inChannels * 4);
        free(backend, z);
      }
    }
  } catch (e) {
    free(backend, full);
    throw e;
  } finally {
    if (dys !== dy) free(backend, dys);
  }
  const result = (full ?? single) as Info;
  if (py.r0 === 0 && px.r0 === 0 && result.shape[1] === inHeight && result.shape[2] === inWidth) return result;
  const out = call(backend, B, 'Slice', { x: result },
    { begin: [0, py.r0, px.r0, 0], size: [batchSize, inHeight, inWidth, inChannels] });
  free(backend, result);
  return out;
}

export const conv2DBackpropInputConfig: tf.KernelConfig = mark({
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInputWasm as unknown as tf.KernelFunc,
});
