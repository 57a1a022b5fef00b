/**
 * Every kernel caldera registers is checked against tfjs's `cpu` backend (the reference) on random
 * shapes, strides and paddings, in the same process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend.js';
import { uniformSource } from '../helpers/files.js';

await initBackend();

const rng = (seed: number): (() => number) => uniformSource(seed, -1, 1);
function randData(r: () => number, shape: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = r();
  return d;
}
function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(((r() + 1) / 2) * (hi - lo + 1));
}

type Shape4 = [number, number, number, number];
interface In { shape: number[]; data: Float32Array }

/** Run one kernel on a backend with fresh tensors; returns its (first) output. */
async function runKernelOn(backend: 'cpu' | 'wasm', name: string, inputs: Record<string, In>, attrs: Record<string, unknown>): Promise<{ shape: number[]; data: Float32Array }> {
  await tf.setBackend(backend);
  const ts: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) ts[k] = tf.tensor(v.data, v.shape);
  const out = tf.engine().runKernel(name, ts as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap);
  const o = (Array.isArray(out) ? out[0] : out) as tf.Tensor;
  const res = { shape: o.shape.slice(), data: (await o.data()) as Float32Array };
  tf.dispose([...Object.values(ts), ...(Array.isArray(out) ? out : [out]) as tf.Tensor[]]);
  return res;
}

async function compare(name: string, inputs: Record<string, In>, attrs: Record<string, unknown>, label: string, tol = 1e-4): Promise<number> {
  const ref = await runKernelOn('cpu', name, inputs, attrs);
  const got = await runKernelOn('wasm', name, inputs, attrs);
  await tf.setBackend('wasm');
  assert.deepEqual(got.shape, ref.shape, `${label}: shape`);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.data.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(ref.data[i] - got.data[i]));
    maxRef = Math.max(maxRef, Math.abs(ref.data[i]));
  }
  assert.ok(maxDiff <= tol * Math.max(1, maxRef), `${label}: max abs diff ${maxDiff} (max |ref| ${maxRef})`);
  return maxDiff;
}

type Pad = 'same' | 'valid';

function convCases(seed: number, n: number): { x: number[]; k: number[]; stride: number; pad: Pad }[] {
  const r = rng(seed);
  const cases: { x: number[]; k: number[]; stride: number; pad: Pad }[] = [];
  // Always cover the four stride/padding combinations with odd and even sizes.
  for (const stride of [1, 2]) {
    for (const pad of ['same', 'valid'] as Pad[]) {
      for (const size of [8, 9]) cases.push({ x: [2, size, size + 1, 3], k: [3, 3, 3, 4], stride, pad });
    }
  }
  for (let i = 0; i < n; i++) {
    const kh = [1, 2, 3, 4, 5][randInt(r, 0, 4)];
    const kw = [1, 3, 5][randInt(r, 0, 2)];
    const stride = randInt(r, 1, 2);
    const pad: Pad = r() < 0 ? 'same' : 'valid';
    const h = randInt(r, Math.max(kh, 2), 17);
    const w = randInt(r, Math.max(kw, 2), 17);
    cases.push({ x: [randInt(r, 1, 3), h, w, randInt(r, 1, 6)], k: [kh, kw, 0, randInt(r, 1, 7)], stride, pad });
  }
  for (const c of cases) c.k[2] = c.x[3];
  return cases;
}

test('Conv2DBackpropFilter (wasm) matches cpu', async () => {
  const r = rng(1);
  let worst = 0;
  for (const c of convCases(11, 24)) {
    const y = tf.tidy(() => tf.conv2d(tf.zeros(c.x as Shape4) as tf.Tensor4D, tf.zeros(c.k as Shape4) as tf.Tensor4D, c.stride, c.pad));
    const dyShape = y.shape.slice();
    y.dispose();
    const label = `x=${c.x} k=${c.k} s=${c.stride} ${c.pad}`;
    worst = Math.max(worst, await compare('Conv2DBackpropFilter',
      { x: { shape: c.x, data: randData(r, c.x) }, dy: { shape: dyShape, data: randData(r, dyShape) } },
      { strides: [c.stride, c.stride], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: c.k }, label));
  }
  assert.ok(worst < 1e-4);
});

test('Conv2DBackpropInput (wasm) matches cpu', async () => {
  const r = rng(2);
  for (const c of convCases(12, 24)) {
    const y = tf.tidy(() => tf.conv2d(tf.zeros(c.x as Shape4) as tf.Tensor4D, tf.zeros(c.k as Shape4) as tf.Tensor4D, c.stride, c.pad));
    const dyShape = y.shape.slice();
    y.dispose();
    const label = `x=${c.x} k=${c.k} s=${c.stride} ${c.pad}`;
    await compare('Conv2DBackpropInput',
      { dy: { shape: dyShape, data: randData(r, dyShape) }, filter: { shape: c.k, data: randData(r, c.k) } },
      { strides: [c.stride, c.stride], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: c.x }, label);
  }
});

test('conv2d gradients through the engine match cpu (explicit padding too)', async () => {
  const r = rng(3);
  const xs = [2, 10, 11, 5];
  const ks = [3, 3, 5, 6];
  const xd = randData(r, xs);
  const kd = randData(r, ks);
  for (const pad of ['same', 'valid', [[0, 0], [1, 2], [2, 0], [0, 0]]] as const) {
    for (const stride of [1, 2]) {
      const grads: Float32Array[][] = [];
      for (const b of ['cpu', 'wasm'] as const) {
        await tf.setBackend(b);
        const x = tf.tensor4d(xd, xs as [number, number, number, number]);
        const k = tf.tensor4d(kd, ks as [number, number, number, number]);
        const g = tf.grads((a: tf.Tensor, w: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, stride, pad as 'same'))));
        const [gx, gk] = g([x, k]);
        grads.push([(await gx.data()) as Float32Array, (await gk.data()) as Float32Array]);
        tf.dispose([x, k, gx, gk]);
      }
      await tf.setBackend('wasm');
      for (let j = 0; j < 2; j++) {
        let m = 0;
        for (let i = 0; i < grads[0][j].length; i++) m = Math.max(m, Math.abs(grads[0][j][i] - grads[1][j][i]));
        assert.ok(m < 1e-3, `pad=${JSON.stringify(pad)} stride=${stride} grad ${j}: ${m}`);
      }
    }
  }
});

test('Sum / Mean over leading axes (wasm) match cpu; other axes fall back', async () => {
  const r = rng(4);
  for (const [shape, axis] of [
    [[4, 9, 10, 12], [0, 1, 2]], [[3, 17, 5], [0, 1]], [[70, 6], [0]], [[4, 9, 10, 12], [1, 2]], [[40, 8], 1], [[40, 8], [0, 1]],
  ] as [number[], number | number[]][]) {
    for (const name of ['Sum', 'Mean']) {
      for (const keepDims of [false, true]) {
        await compare(name, { x: { shape, data: randData(r, shape) } }, { axis, keepDims }, `${name} ${shape} axis=${axis} keep=${keepDims}`);
      }
    }
  }
});

test('DepthToSpace (wasm) matches cpu', async () => {
  const r = rng(5);
  for (const [shape, blockSize] of [[[2, 3, 4, 8], 2], [[1, 5, 3, 18], 3], [[3, 7, 7, 16], 4]] as [number[], number][]) {
    await compare('DepthToSpace', { x: { shape, data: randData(r, shape) } }, { blockSize, dataFormat: 'NHWC' }, `DepthToSpace ${shape}/${blockSize}`);
  }
});

test('FusedBatchNorm (wasm, per-channel) matches cpu', async () => {
  const r = rng(6);
  for (const shape of [[2, 5, 6, 8], [3, 7], [2, 4, 3, 5]]) {
    const C = shape[shape.length - 1];
    const pos = (d: Float32Array) => d.map((v) => Math.abs(v) + 0.1);
    for (const withAffine of [true, false]) {
      const inputs: Record<string, In> = {
        x: { shape, data: randData(r, shape) },
        mean: { shape: [C], data: randData(r, [C]) },
        variance: { shape: [C], data: pos(randData(r, [C])) },
      };
      if (withAffine) {
        inputs.offset = { shape: [C], data: randData(r, [C]) };
        inputs.scale = { shape: [C], data: randData(r, [C]) };
      }
      await compare('FusedBatchNorm', inputs, { varianceEpsilon: 1e-3 }, `FusedBatchNorm ${shape} affine=${withAffine}`);
    }
  }
});

test('caldera batch-norm kernels: wasm (SIMD) match cpu (JS)', async () => {
  const r = rng(7);
  for (const shape of [[2, 5, 7, 16], [3, 300, 8], [2, 3, 3, 6], [1000, 4]]) {
    const C = shape[shape.length - 1];
    const t = (s: number[]) => ({ shape: s, data: randData(r, s) });
    await compare('CalderaChannelMoments', { x: t(shape) }, {}, `moments ${shape}`);
    for (const relu of [false, true]) {
      await compare('CalderaBnGradReduce', { dy: t(shape), y: t(shape), x: t(shape) }, { relu }, `gradReduce ${shape} relu=${relu}`);
      await compare('CalderaChannelAffine', { x: t(shape), a: t([C]), b: t([C]) }, { relu }, `affine ${shape} relu=${relu}`);
      await compare('CalderaBnGradApply', { dy: t(shape), y: t(shape), x: t(shape), k1: t([C]), k2: t([C]), k3: t([C]) }, { relu },
        `gradApply ${shape} relu=${relu}`);
    }
  }
});

test('batchNormTrain: values and gradients equal tfjs moments+batchNorm(+relu) on cpu', async () => {
  const { batchNormTrain } = await import('../../src/engine/kernels/batch-norm-train.js');
  const r = rng(8);
  for (const shape of [[4, 6, 5, 8], [16, 12], [3, 4, 4, 5]]) {
    const C = shape[shape.length - 1];
    const xd = randData(r, shape).map((v) => v * 2 + 0.5);
    const gd = randData(r, [C]);
    const bd = randData(r, [C]);
    const wd = randData(r, shape);
    for (const relu of [false, true]) {
      const results: Float32Array[][] = [];
      for (const [backend, mode] of [['cpu', 'ref'], ['cpu', 'caldera'], ['wasm', 'caldera']] as const) {
        await tf.setBackend(backend);
        const x = tf.tensor(xd, shape);
        const g = tf.tensor1d(gd);
        const b = tf.tensor1d(bd);
        const w = tf.tensor(wd, shape);
        const axes = shape.slice(0, -1).map((_, i) => i);
        let stats: tf.Tensor[] = [];
        const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor): tf.Scalar => {
          let y: tf.Tensor;
          if (mode === 'ref') {
            const m = tf.moments(xx, axes);
            y = tf.batchNorm(xx, m.mean, m.variance, bb as tf.Tensor1D, gg as tf.Tensor1D, 1e-3);
            stats = [tf.keep(m.mean), tf.keep(m.variance)];
          } else {
            const res = batchNormTrain(xx, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-3, relu);
            y = res.y;
            stats = [res.mean, res.variance];
          }
          if (relu && mode === 'ref') y = tf.relu(y);
          return tf.sum(tf.mul(y, w)) as tf.Scalar;
        };
        const { value, grads } = tf.valueAndGrads(f)([x, g, b]);
        results.push([await value.data(), ...(await Promise.all(grads.map((t) => t.data()))), ...(await Promise.all(stats.map((t) => t.data())))] as Float32Array[]);
        tf.dispose([x, g, b, w, value, ...grads, ...stats]);
      }
      await tf.setBackend('wasm');
      const names = ['value', 'dx', 'dgamma', 'dbeta', 'mean', 'variance'];
      for (let k = 1; k < results.length; k++) {
        for (let j = 0; j < names.length; j++) {
          let m = 0;
          let ref = 0;
          for (let i = 0; i < results[0][j].length; i++) {
            m = Math.max(m, Math.abs(results[0][j][i] - results[k][j][i]));
            ref = Math.max(ref, Math.abs(results[0][j][i]));
          }
          assert.ok(m <= 2e-4 * Math.max(1, ref), `shape ${shape} relu=${relu} run ${k} ${names[j]}: diff ${m} (ref ${ref})`);
        }
      }
    }
  }
});

test('BatchMatMul with transposeA (wasm) matches cpu', async () => {
  const r = rng(9);
  for (const [as, bs, ta, tb] of [
    [[1, 40, 7], [1, 40, 9], true, false], [[3, 5, 6], [3, 5, 4], true, false], [[2, 6, 5], [2, 4, 6], true, true], [[1, 7, 8], [1, 8, 3], false, false],
  ] as [number[], number[], boolean, boolean][]) {
    await compare('BatchMatMul', { a: { shape: as, data: randData(r, as) }, b: { shape: bs, data: randData(r, bs) } },
      { transposeA: ta, transposeB: tb }, `BatchMatMul ${as} ${bs} ${ta} ${tb}`);
  }
});
