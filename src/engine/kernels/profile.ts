/**
 * A kernel profiler for benchmarks: wraps every kernel of a backend so that the self time (time
 * not spent in nested kernels) and call count of each kernel name are accumulated. The wasm
 * backend is synchronous, so wall time around a kernel function is its cost.
 */
import * as tf from '@tensorflow/tfjs';

export interface KernelStat { name: string; ms: number; calls: number }

/** With `detail`, stats are keyed by kernel name and input shapes. */
let detailed = false;

let active: Map<string, KernelStat> | null = null;
const originals = new Map<string, tf.KernelConfig>();
let depthChild = 0;

/** Start profiling the kernels of `backendName` (wraps them; call {@link stopKernelProfile} to undo). */
export function startKernelProfile(backendName = 'wasm', detail = false): void {
  if (active) throw new Error('kernel profile already running');
  detailed = detail;
  active = new Map();
  for (const cfg of tf.getKernelsForBackend(backendName)) {
    const orig = cfg;
    originals.set(cfg.kernelName, orig);
    const wrapped: tf.KernelConfig = {
      ...orig,
      setupFunc: undefined,
      kernelFunc: (args) => {
        const stats = active;
        const saved = depthChild;
        depthChild = 0;
        const t0 = performance.now();
        try {
          return orig.kernelFunc(args);
        } finally {
          const dt = performance.now() - t0;
          const self = dt - depthChild;
          depthChild = saved + dt;
          if (stats) {
            const key = detailed
              ? `${orig.kernelName} ${Object.values(args.inputs).map((t) => (t == null ? '-' : `[${t.shape}]`)).join(' ')}`
              : orig.kernelName;
            const s = stats.get(key) ?? { name: key, ms: 0, calls: 0 };
            s.ms += self;
            s.calls += 1;
            stats.set(key, s);
          }
        }
      },
    };
    if ((orig as { caldera?: boolean }).caldera) (wrapped as { caldera?: boolean }).caldera = true;
    tf.unregisterKernel(cfg.kernelName, backendName);
    tf.registerKernel(wrapped);
  }
}

/** Stop profiling, restore the kernels and return the stats, most expensive first. */
export function stopKernelProfile(backendName = 'wasm'): KernelStat[] {
  if (!active) return [];
  const stats = [...active.values()].sort((a, b) => b.ms - a.ms);
  active = null;
  for (const [name, cfg] of originals) {
    tf.unregisterKernel(name, backendName);
    tf.registerKernel(cfg);
  }
  originals.clear();
  return stats;
}
