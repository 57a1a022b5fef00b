/**
 * A memory-lean Adam for models with very large weight matrices (the paper's VGG16 box head has a
 * Dense 25088 → 2048, 51 M weights = 205 MB). tfjs' `AdamOptimizer` builds ~12 temporaries the
 * size of each variable inside its update (m·β1, g·(1−β1), their sum, g², …, the bias-corrected
 * moments, the new value): for that one kernel ~2.5 GB at once, which with the weights, moments and
 * gradients overflows the wasm heap ("memory access out of bounds").
 *
 * Here each variable's update is one pass over memory: the moments m and v (private to the
 * optimiser, never seen by any other op or by XNNPACK's packed-weight caches) are updated in place
 * on the wasm heap, and only the new value is a new tensor (it must be: XNNPACK caches packed
 * weights by tensor id, so a variable's data must never change in place). Gradients are disposed
 * as soon as they are applied. Peak extra memory: one variable's size.
 *
 * Same arithmetic as tfjs' `tf.train.adam(lr, beta1, beta2, epsilon)`:
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,
 *   x ← x − lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε)      (t = 1, 2, …; ε defaults to 1e-7)
 * On backends other than wasm the same update runs as tfjs ops.
 */
import * as tf from '@tensorflow/tfjs';
import { alloc, f32, type Info } from './util.js';

export class LeanAdam {
  private readonly m = new Map<string, tf.Tensor>();
  private readonly v = new Map<string, tf.Tensor>();
  private t = 0;
  readonly epsilon: number;

  constructor(readonly learningRate: number, readonly beta1 = 0.9, readonly beta2 = 0.999, epsilon?: number) {
    this.epsilon = epsilon ?? tf.backend().epsilon();
  }

  /** Steps taken. */
  get iterations(): number {
    return this.t;
  }

  /**
   * Apply `grads` (by variable name, as `tf.variableGrads` returns them) to `vars`. Disposes the
   * gradients (all of them, also those of variables not in `vars`).
   */
  applyGradients(vars: readonly tf.Variable[], grads: tf.NamedTensorMap): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    try {
      for (const x of vars) {
        const g = grads[x.name];
        if (g == null) continue;
        if (g.dtype !== 'float32' || x.dtype !== 'float32') throw new Error(`LeanAdam: ${x.name} is not float32`);
        let m = this.m.get(x.name);
        let v = this.v.get(x.name);
        if (m == null || v == null) {
          m = tf.zeros(x.shape);
          v = tf.zeros(x.shape);
          this.m.set(x.name, m);
          this.v.set(x.name, v);
        }
        if (tf.getBackend() === 'wasm') this.stepWasm(x, g, m, v, c1, c2);
        else this.stepOps(x, g, c1, c2);
        g.dispose();
        delete grads[x.name];
      }
    } finally {
      tf.dispose(Object.values(grads));
    }
  }

  private stepWasm(x: tf.Variable, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, c1: number, c2: number): void {
    const backend = tf.backend();
    const out = alloc(backend, 'wasm', x.shape);
    // Heap views after the allocation (it may grow the heap).
    const xv = f32(backend, 'wasm', x as unknown as Info);
    const gv = f32(backend, 'wasm', g as unknown as Info);
    const mv = f32(backend, 'wasm', m as unknown as Info);
    const vv = f32(backend, 'wasm', v as unknown as Info);
    const ov = f32(backend, 'wasm', out);
    const { beta1: b1, beta2: b2, epsilon: eps } = this;
    const a1 = 1 - b1;
    const a2 = 1 - b2;
    const lr1 = this.learningRate / c1;
    const ic2 = 1 / c2;
    for (let i = 0; i < xv.length; i++) {
      const gi = gv[i];
      const mi = b1 * mv[i] + a1 * gi;
      const vi = b2 * vv[i] + a2 * gi * gi;
      mv[i] = mi;
      vv[i] = vi;
      ov[i] = xv[i] - (lr1 * mi) / (Math.sqrt(vi * ic2) + eps);
    }
    const next = tf.engine().makeTensorFromTensorInfo(out);
    x.assign(next);
    next.dispose();
  }

  private stepOps(x: tf.Variable, g: tf.Tensor, c1: number, c2: number): void {
    const name = x.name;
    tf.tidy(() => {
      const m = tf.add(tf.mul(this.m.get(name)!, this.beta1), tf.mul(g, 1 - this.beta1));
      const v = tf.add(tf.mul(this.v.get(name)!, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
      const step = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), this.epsilon));
      x.assign(tf.sub(x, tf.mul(step, this.learningRate)));
      this.m.get(name)!.dispose();
      this.v.get(name)!.dispose();
      this.m.set(name, tf.keep(m));
      this.v.set(name, tf.keep(v));
    });
  }

  dispose(): void {
    tf.dispose([...this.m.values(), ...this.v.values()]);
    this.m.clear();
    this.v.clear();
  }
}
