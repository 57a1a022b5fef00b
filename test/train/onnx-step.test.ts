/** The ONNX Runtime training step against caldera's tfjs `trainStep` (tiny variant, identical weights and batches). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/core/rng.js';
import {
  ARCHITECTURES, boxLoss, buildNetwork, classLoss, forwardTrain, trainStep, type ArchSpec,
} from '../../src/engine/network.js';
import { OnnxTrainer, archOfModel, toInternal, toTfjs } from '../../src/train/onnx-trainer.js';
import { buildTrainGraph, samePadding } from '../../src/train/onnx-step.js';

await initBackend();

const noDropout: ArchSpec = { ...ARCHITECTURES.tiny, classDropout: 0 };
const B = 4, S = 64, C = 3;
const W = { class: 1, box: 10 };

function batch(seed: number): { x: Float32Array; cls: number[]; yc: Float32Array; yb: Float32Array } {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: B * S * S * C }, () => rng.uniform(-1, 1));
  const cls = [0, 1, 2, seed % 3];
  const yc = new Float32Array(B * 3);
  cls.forEach((c, i) => { yc[i * 3 + c] = 1; });
  const yb = new Float32Array(B * 5);
  cls.forEach((c, i) => {
    if (c === 2) return;
    yb.set([rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.3), 1], i * 5);
  });
  return { x, cls, yc, yb };
}

/** max |a−b| / max(max|a|, floor). */
function relDiff(a: Float32Array, b: Float32Array, floor = 1e-6): number {
  let m = 0, s = floor;
  for (let i = 0; i < a.length; i++) { m = Math.max(m, Math.abs(a[i]! - b[i]!)); s = Math.max(s, Math.abs(a[i]!)); }
  return m / s;
}

function tfjsWeights(model: tf.LayersModel): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const l of model.layers) {
    const vals = l.getWeights();
    l.weights.forEach((w, i) => out.set(`${l.name}/${w.originalName.slice(w.originalName.lastIndexOf('/') + 1)}`, vals[i]!.dataSync() as Float32Array));
  }
  return out;
}

test('layout conversions round-trip and samePadding follows TF', () => {
  const model = buildNetwork({ inputChannels: C, width: S, height: S, arch: noDropout, seed: 5 });
  const a = archOfModel(model);
  assert.deepEqual(a.arch, noDropout);
  const spec = { batch: B, height: S, width: S, channels: C, arch: a.arch, classes: 3, bnEpsilon: 1e-3, bnMomentum: 0.99, lossWeights: { class: 1, box: 1 }, adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } };
  const params = [...buildTrainGraph(spec).params, ...buildTrainGraph({ ...spec, options: { layout: 'cnhw' } }).params];
  assert.ok(params.some((p) => p.layout.kind === 'conv-ohwi') && params.some((p) => p.layout.kind === 'flatten-chw'));
  for (const p of params) {
    const n = p.shape.reduce((x, y) => x * y, 1);
    const d = Float32Array.from({ length: n }, (_, i) => i);
    assert.deepEqual(toTfjs(p, toInternal(p, d)), d, p.name);
  }
  assert.deepEqual(samePadding(56, 56, 3, 2), { pads: [0, 0, 1, 1], outH: 28, outW: 28 });
  assert.deepEqual(samePadding(14, 14, 3, 1), { pads: [1, 1, 1, 1], outH: 14, outW: 14 });
  assert.deepEqual(samePadding(224, 224, 4, 4), { pads: [0, 0, 0, 0], outH: 56, outW: 56 });
  model.dispose();
});

for (const graph of [
  {},
  { flatState: false, weightGrad: 'swap', stemMatMul: false, reluGrad: 'where' },
  { weightGrad: 'im2col', stemMatMul: false, inputGradStride1: 'conv' },
  { reluGrad: 'sign', inputGradStride1: 'conv' },
  { weightGrad: 'pitch' },
  { weightGrad: 'pitch', stemMatMul: false },
  { layout: 'cnhw' },
] as const) {
  test(`ORT step = tfjs trainStep on tiny: gradients, losses, Adam-updated weights, BN statistics (${JSON.stringify(graph)})`, async () => {
    const ref = buildNetwork({ inputChannels: C, width: S, height: S, arch: noDropout, seed: 5 });
    const lr = 1e-3;
    const trainer = await OnnxTrainer.create(ref, { batch: B, lr, lossWeights: W, graph: { ...graph, outputGradients: true } });
    const opt = tf.train.adam(lr);
    for (let s = 0; s < 3; s++) {
      const b = batch(100 + s);
      const x = tf.tensor4d(b.x, [B, S, S, C]);
      const yc = tf.tensor2d(b.yc, [B, 3]);
      const yb = tf.tensor2d(b.yb, [B, 5]);
      // Reference gradients (before the update).
      const vars = ref.trainableWeights.map((w) => w.read() as tf.Variable);
      let upd: { mean: tf.Tensor; variance: tf.Tensor }[] = [];
      const rg = tf.variableGrads(() => {
        const r = forwardTrain(ref, x);
        upd = r.bnUpdates;
        return tf.add(tf.mul(classLoss(yc, r.outputs[0]!), W.class), tf.mul(boxLoss(yb, r.outputs[1]!), W.box)) as tf.Scalar;
      }, vars);
      const refGrads = new Map(vars.map((v) => [v.name.replace(/_\d+$/, ''), rg.grads[v.name]!.dataSync() as Float32Array]));
      tf.dispose([rg.value, ...Object.values(rg.grads), ...upd.flatMap((u) => [u.mean, u.variance])]);

      const r = await trainer.step(b.x, b.yc, b.yb);
      const t = trainStep(ref, opt, x, yc, yb, W);
      tf.dispose([x, yc, yb]);
      assert.ok(Math.abs(r.loss - t.loss) <= 1e-4 * Math.abs(t.loss), `step ${s}: loss ${r.loss} vs ${t.loss}`);
      assert.ok(Math.abs(r.classLoss - t.classLoss) <= 1e-4 * Math.abs(t.classLoss), `class loss ${r.classLoss} vs ${t.classLoss}`);
      assert.ok(Math.abs(r.boxLoss - t.boxLoss) <= 1e-4 * Math.abs(t.boxLoss) + 1e-7, `box loss ${r.boxLoss} vs ${t.boxLoss}`);
      assert.deepEqual([...r.predictedClass], [...t.predictedClass]);
      let worstGrad = 0;
      for (const p of trainer.graph.params) {
        const rgd = refGrads.get(p.name);
        assert.ok(rgd, `reference gradient for ${p.name}`);
        const d = relDiff(rgd, trainer.lastGradient(p.name));
        worstGrad = Math.max(worstGrad, d);
        assert.ok(d < 1e-4, `step ${s} ${p.name}: gradient rel diff ${d}`);
      }
      // Updated weights and BN statistics.
      const tw = tfjsWeights(ref);
      let worstW = 0;
      for (const w of trainer.weights()) {
        const a = tw.get(`${w.layer}/${w.weight}`);
        assert.ok(a, `${w.layer}/${w.weight}`);
        const d = relDiff(a, w.data);
        worstW = Math.max(worstW, d);
        assert.ok(d < 1e-4, `step ${s} ${w.layer}/${w.weight}: weight rel diff ${d}`);
      }
      if (process.env.ORT_TRAIN_VERBOSE) console.log(JSON.stringify({ step: s, loss: [r.loss, t.loss], worstGrad, worstW }));
    }
    // writeTo puts the same values into a fresh tfjs model.
    const other = buildNetwork({ inputChannels: C, width: S, height: S, arch: noDropout, seed: 99 });
    trainer.writeTo(other, tf);
    const a = tfjsWeights(ref), bw = tfjsWeights(other);
    for (const [k, v] of a) assert.ok(relDiff(v, bw.get(k)!) < 1e-4, k);
    other.dispose();
    ref.dispose();
    opt.dispose();
    await trainer.release();
  });
}

test('dropout: a mask of ones is the no-dropout graph; a zero mask cuts the class head', async () => {
  const m = buildNetwork({ inputChannels: C, width: S, height: S, variant: 'tiny', seed: 5 });
  const n = buildNetwork({ inputChannels: C, width: S, height: S, arch: noDropout, seed: 5 });
  const a = await OnnxTrainer.create(m, { batch: B, lossWeights: W });
  const b = await OnnxTrainer.create(n, { batch: B, lossWeights: W });
  assert.equal(a.graph.dropoutWidth, ARCHITECTURES.tiny.classHidden.at(-1));
  const d = batch(7);
  const ra = await a.step(d.x, d.cls, d.yb, { dropoutMask: new Float32Array(B * a.graph.dropoutWidth).fill(1) });
  const rb = await b.step(d.x, d.cls, d.yb);
  assert.ok(Math.abs(ra.loss - rb.loss) < 1e-6 * Math.abs(rb.loss));
  const c = await OnnxTrainer.create(m, { batch: B, lossWeights: W });
  const rc = await c.step(d.x, d.cls, d.yb, { dropoutMask: new Float32Array(B * a.graph.dropoutWidth) });
  // With the hidden units dropped, the logits are the class bias (zeros at init): uniform probabilities.
  assert.ok(Math.abs(rc.classLoss - Math.log(3)) < 1e-5, `${rc.classLoss}`);
  await Promise.all([a.release(), b.release(), c.release()]);
  m.dispose(); n.dispose();
});

test('Adam state moves between OnnxTrainer and tf.train.adam (checkpoint interop): the next step agrees', async () => {
  const lr = 2e-3;
  const m0 = buildNetwork({ inputChannels: C, width: S, height: S, arch: noDropout, seed: 8 });
  const trainer = await OnnxTrainer.create(m0, { batch: B, lr, lossWeights: W });
  for (let s = 0; s < 2; s++) { const b = batch(200 + s); await trainer.step(b.x, b.yc, b.yb); }
  // Hand the state to tfjs (weights + Adam), take step 3 there and in ORT.
  const ref = buildNetwork({ inputChannels: C, width: S, height: S, arch: noDropout, seed: 99 });
  trainer.writeTo(ref, tf);
  const opt = tf.train.adam(lr);
  await trainer.writeAdamTo(opt, ref, tf);
  // And back: a fresh trainer reading the tfjs state continues identically.
  const again = await OnnxTrainer.create(ref, { batch: B, lr, lossWeights: W });
  await again.readAdamFrom(opt, ref);
  assert.equal(again.iterations, 2);
  const b = batch(202);
  const x = tf.tensor4d(b.x, [B, S, S, C]), yc = tf.tensor2d(b.yc, [B, 3]), yb = tf.tensor2d(b.yb, [B, 5]);
  const t = trainStep(ref, opt, x, yc, yb, W);
  const r = await trainer.step(b.x, b.yc, b.yb);
  const r2 = await again.step(b.x, b.yc, b.yb);
  assert.ok(Math.abs(r.loss - t.loss) <= 1e-4 * t.loss && Math.abs(r2.loss - t.loss) <= 1e-4 * t.loss);
  const tw = tfjsWeights(ref);
  for (const tr of [trainer, again]) {
    for (const w of tr.weights()) assert.ok(relDiff(tw.get(`${w.layer}/${w.weight}`)!, w.data) < 1e-4, `${w.layer}/${w.weight}`);
  }
  tf.dispose([x, yc, yb]);
  await Promise.all([trainer.release(), again.release()]);
  opt.dispose(); m0.dispose(); ref.dispose();
});
