/**
 * caldera's kernels for the tfjs wasm backend (see ../README.md). `registerCalderaKernels()` puts
 * them in tfjs's kernel registry, replacing stock kernels where caldera has a faster one (the stock
 * configs are kept for fall-backs and tests); it is idempotent.
 */
import * as tf from '@tensorflow/tfjs';
import { batchNormKernelConfigs } from './batch-norm-kernels.js';
import { batchMatMulConfig } from './batch-mat-mul.js';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { depthToSpaceConfig } from './depth-to-space.js';
import { fusedBatchNormConfig } from './fused-batch-norm.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { meanConfig, sumConfig } from './sum.js';
import { saveStock } from './util.js';

/** Every kernel config caldera registers. */
export const calderaKernelConfigs: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthToSpaceConfig,
  fusedBatchNormConfig,
  sumConfig,
  meanConfig,
  batchMatMulConfig,
  // The stock wasm MaxPoolGrad drops the gradient of windows whose values are all negative.
  maxPoolGradConfig,
  ...batchNormKernelConfigs,
];

/**
 * Register (or re-register) all of caldera's kernels. Safe to call many times. Must run after the
 * wasm backend was initialised (stock kernels bind their wasm functions in their setup then).
 */
export function registerCalderaKernels(): void {
  if (tf.findBackend('wasm') == null) {
    throw new Error('caldera: start the wasm backend before registering kernels (use initBackend())');
  }
  for (const cfg of calderaKernelConfigs) {
    const current = tf.getKernel(cfg.kernelName, cfg.backendName);
    if (current === cfg) continue;
    saveStock(cfg.kernelName, cfg.backendName);
    if (current != null) tf.unregisterKernel(cfg.kernelName, cfg.backendName);
    tf.registerKernel(cfg);
  }
}

export { getStock } from './util.js';
export { batchNormTrain, channelAffine, channelMoments, type BatchNormTrainResult } from './batch-norm-train.js';
