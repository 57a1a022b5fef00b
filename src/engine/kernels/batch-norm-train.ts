/**
 * Training-mode batch normalisation (+ optional ReLU) as ONE op with a hand-written gradient.
 *
 * tfjs-layers' BatchNormalization in training mode is moments() + batchNorm(), whose gradient is
 * ~25 full-size element-wise passes (with Tile to full size and transposing reductions). This op
 * makes 2 passes over the activations forward and 2 backward, with caldera's per-channel kernels
 * (batch-norm-kernels.ts; SIMD on wasm):
 *
 *   forward:  Σx, Σx² (one pass)  →  mean, var = Σx²/N − mean²,  a = γ/√(var+ε),  b = β − mean·a
 *             y = relu(a·x + b)   (one pass)
 *   backward: g = dy·[y > 0];  Σg, Σg·x (one pass)  →  dβ = Σg,  dγ = rstd·(Σg·x − mean·Σg)
 *             dx = a·g + k2·x + k3 (one pass),  k2 = −a·rstd·dγ/N,  k3 = −a·Σg/N − k2·mean
 *
 * The batch mean and (biased) variance are returned for the moving averages. It runs on any
 * backend with the kernels registered (wasm, cpu) and is tested against tfjs's own
 * moments + batchNorm (values and gradients).
 */
import * as tf from '@tensorflow/tfjs';
import { BN_GRAD_APPLY, BN_GRAD_REDUCE, CHANNEL_AFFINE, CHANNEL_MOMENTS } from './batch-norm-kernels.js';

export interface BatchNormTrainResult {
  y: tf.Tensor;
  /** Batch mean per channel (kept: the caller disposes it). */
  mean: tf.Tensor1D;
  /** Biased batch variance per channel (kept: the caller disposes it). */
  variance: tf.Tensor1D;
}

function run(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}): tf.Tensor {
  return tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;
}

/** a·x + b per channel (last axis), then ReLU when `relu`. Not differentiable (a building block). */
export function channelAffine(x: tf.Tensor, a: tf.Tensor1D, b: tf.Tensor1D, relu: boolean): tf.Tensor {
  return run(CHANNEL_AFFINE, { x, a, b }, { relu });
}

/** Per-channel Σx and Σx² over all axes but the last, as a [2, C] tensor. */
export function channelMoments(x: tf.Tensor): tf.Tensor2D {
  return run(CHANNEL_MOMENTS, { x }) as tf.Tensor2D;
}

/**
 * Batch-normalise `x` over all axes but the last with batch statistics, scale by `gamma`, shift by
 * `beta`, and apply ReLU when `relu`. Differentiable in x, gamma and beta.
 */
export function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number, relu: boolean): BatchNormTrainResult {
  const C = x.shape[x.rank - 1];
  const N = x.size / C;
  let mean: tf.Tensor1D | null = null;
  let variance: tf.Tensor1D | null = null;
  const op = tf.customGrad(((xx: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const [s1, s2] = tf.unstack(channelMoments(xx)) as tf.Tensor1D[];
    const m = tf.div(s1, N) as tf.Tensor1D;
    const v = tf.relu(tf.sub(tf.div(s2, N), tf.square(m))) as tf.Tensor1D;
    const rstd = tf.rsqrt(tf.add(v, epsilon)) as tf.Tensor1D;
    const a = tf.mul(g, rstd) as tf.Tensor1D;
    const shift = tf.sub(b, tf.mul(m, a)) as tf.Tensor1D;
    const y = channelAffine(xx, a, shift, relu);
    mean = tf.keep(m);
    variance = tf.keep(v);
    save([xx, y, a, m, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
        const [sx, sy, sa, sm, sr] = saved as [tf.Tensor, tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        const yy = relu ? sy : sx;
        const [sg, sgx] = tf.unstack(run(BN_GRAD_REDUCE, { dy, y: yy, x: sx }, { relu })) as tf.Tensor1D[];
        const dgamma = tf.mul(sr, tf.sub(sgx, tf.mul(sm, sg))) as tf.Tensor1D;
        const k2 = tf.neg(tf.div(tf.mul(tf.mul(sa, sr), dgamma), N)) as tf.Tensor1D;
        const k3 = tf.sub(tf.neg(tf.div(tf.mul(sa, sg), N)), tf.mul(k2, sm)) as tf.Tensor1D;
        const dx = run(BN_GRAD_APPLY, { dy, y: yy, x: sx, k1: sa, k2, k3 }, { relu });
        return [dx, dgamma, sg];
      }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...args: tf.Tensor[]) => tf.Tensor;
  const y = op(x, gamma, beta);
  return { y, mean: mean!, variance: variance! };
}
