/**
 * The engine's backend: tfjs with the wasm backend (XNNPACK, SIMD), caldera's kernels registered.
 * Pure-JS `cpu` is ~50× slower for conv nets, so a silent fall-back to it is an error here.
 */
import * as tf from '@tensorflow/tfjs';
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { registerCalderaKernels } from './kernels/index.js';

export interface InitBackendOptions {
  /**
   * Threads for the wasm backend. tfjs disables wasm multi-threading in Node
   * (WASM_HAS_MULTITHREAD_SUPPORT is false), so one wasm instance uses one core whatever this says;
   * it is passed on for environments where threads are available. Use worker_threads (each with
   * its own instance) to use more cores.
   */
  threads?: number;
}

let initPromise: Promise<void> | null = null;

/** The directory holding the installed tfjs-backend-wasm .wasm binaries (with a trailing separator). */
export function wasmBinaryDir(): string {
  const require = createRequire(import.meta.url);
  const file = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm');
  return path.dirname(file) + path.sep;
}

async function doInit(opts: InitBackendOptions): Promise<void> {
  tfwasm.setWasmPaths(wasmBinaryDir());
  if (opts.threads != null && opts.threads > 0) tfwasm.setThreadsCount(Math.floor(opts.threads));
  let ok = false;
  let cause: unknown;
  try {
    ok = await tf.setBackend('wasm');
    await tf.ready();
  } catch (e) {
    cause = e;
  }
  if (!ok || tf.getBackend() !== 'wasm') {
    throw new Error(`caldera: the tfjs wasm backend did not start (active backend: '${tf.getBackend()}'); ` +
      'refusing to run on a slow fall-back', { cause });
  }
  // After the backend exists: its stock kernels have run their setup (wasm function bindings), so
  // the ones caldera replaces can still be called as fall-backs.
  registerCalderaKernels();
}

/**
 * Import tfjs, start the wasm backend from the installed package's binaries (works offline),
 * register caldera's kernels and make 'wasm' the active backend. Idempotent: later calls re-select
 * 'wasm' if something switched backends meanwhile. Throws when the active backend is not wasm.
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<typeof tf> {
  if (initPromise == null) {
    initPromise = doInit(opts);
    initPromise.catch(() => { initPromise = null; });
  }
  await initPromise;
  registerCalderaKernels();
  if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm');
  if (tf.getBackend() !== 'wasm') {
    throw new Error(`caldera: expected the wasm backend, got '${tf.getBackend()}'`);
  }
  return tf;
}

/** Facts about the running engine (for logs and benchmarks). */
export async function backendInfo(): Promise<{ backend: string; simd: boolean; multithread: boolean; threads: number }> {
  return {
    backend: tf.getBackend(),
    simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    multithread: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
    threads: tf.getBackend() === 'wasm' ? tfwasm.getThreadsCount() : 1,
  };
}

export { tf };
