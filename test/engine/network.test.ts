/** The two-headed network, its losses and the fast training step (on wasm with caldera's kernels). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend.js';
import {
  ARCHITECTURES, boxLoss, buildNetwork, classLoss, compileForFit, forwardMacs, forwardTrain, trainStep, type ArchSpec,
} from '../../src/engine/network.js';

await initBackend();

test('initBackend is idempotent and restores wasm', async () => {
  await tf.setBackend('cpu');
  const t = await initBackend();
  assert.equal(t.getBackend(), 'wasm');
  assert.equal((await initBackend()).getBackend(), 'wasm');
});

test('default network: shapes, ~1M parameters, named outputs', () => {
  const model = buildNetwork({ inputChannels: 3, seed: 1 });
  assert.deepEqual(model.inputs[0].shape, [null, 224, 224, 3]);
  assert.deepEqual(model.outputNames, ['class', 'box']);
  assert.deepEqual(model.outputs.map((o) => o.shape), [[null, 3], [null, 4]]);
  const n = model.countParams();
  assert.ok(n > 500_000 && n < 1_500_000, `params ${n}`);
  assert.ok(forwardMacs(model) > 1e7);
  for (const l of model.layers) assert.ok(!/Pool/.test(l.getClassName()) || l.getClassName() === 'GlobalAveragePooling2D', l.getClassName());
  model.dispose();
  assert.throws(() => buildNetwork({ inputChannels: 2, width: 100, height: 224 }), /multiples of/);
});

test('seeded builds are identical; outputs are probabilities and boxes in [0,1]', () => {
  const a = buildNetwork({ inputChannels: 2, width: 64, height: 64, variant: 'tiny', seed: 5 });
  const b = buildNetwork({ inputChannels: 2, width: 64, height: 64, variant: 'tiny', seed: 5 });
  const wa = a.getWeights();
  const wb = b.getWeights();
  assert.equal(wa.length, wb.length);
  for (let i = 0; i < wa.length; i++) assert.deepEqual(wa[i].dataSync(), wb[i].dataSync());
  const x = tf.randomNormal([3, 64, 64, 2]);
  const [c, box] = a.predict(x) as tf.Tensor[];
  const sums = tf.sum(c, 1).dataSync();
  for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-5);
  for (const v of box.dataSync()) assert.ok(v >= 0 && v <= 1);
  tf.dispose([x, c, box]);
  a.dispose();
  b.dispose();
});

test('box loss is masked: none samples are ignored; both target encodings agree', () => {
  const pred = tf.tensor2d([[0.5, 0.5, 0.1, 0.1], [0.9, 0.9, 0.4, 0.4], [0.2, 0.3, 0.1, 0.2]]);
  const t5 = tf.tensor2d([[0.5, 0.5, 0.1, 0.1, 1], [0.1, 0.1, 0.1, 0.1, 0], [0.2, 0.3, 0.3, 0.2, 1]]);
  const t4 = tf.tensor2d([[0.5, 0.5, 0.1, 0.1], [-1, -1, -1, -1], [0.2, 0.3, 0.3, 0.2]]);
  const expected = (0 + 0.04 / 4) / 2;
  assert.ok(Math.abs(boxLoss(t5, pred).dataSync()[0] - expected) < 1e-7);
  assert.ok(Math.abs(boxLoss(t4, pred).dataSync()[0] - expected) < 1e-7);
  const none = tf.tensor2d([[0, 0, 0, 0, 0]]);
  assert.equal(boxLoss(none, tf.tensor2d([[0.3, 0.3, 0.3, 0.3]])).dataSync()[0], 0);
  const ce = classLoss(tf.tensor2d([[0, 1, 0]]), tf.tensor2d([[0.25, 0.5, 0.25]])).dataSync()[0];
  assert.ok(Math.abs(ce - Math.log(2)) < 1e-6);
});

const noDropout: ArchSpec = { ...ARCHITECTURES.tiny, classDropout: 0 };

test('forwardTrain matches model.apply(training) and its gradients match the layers path', () => {
  const model = buildNetwork({ inputChannels: 2, width: 64, height: 64, arch: noDropout, seed: 11 });
  const x = tf.randomNormal([4, 64, 64, 2], 0, 1, 'float32', 2);
  const yc = tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3).toFloat();
  const yb = tf.tensor2d([[0.5, 0.5, 0.2, 0.1, 1], [0.3, 0.6, 0.1, 0.1, 1], [0, 0, 0, 0, 0], [0.7, 0.2, 0.05, 0.3, 1]]);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const lossOf = (outs: tf.Tensor[]) => tf.add(classLoss(yc, outs[0]), boxLoss(yb, outs[1])) as tf.Scalar;
  const ref = tf.variableGrads(() => lossOf(model.apply(x, { training: true }) as tf.Tensor[]), vars);
  let upd: { mean: tf.Tensor; variance: tf.Tensor }[] = [];
  const fast = tf.variableGrads(() => {
    const r = forwardTrain(model, x);
    upd = r.bnUpdates;
    return lossOf(r.outputs);
  }, vars);
  assert.ok(Math.abs(ref.value.dataSync()[0] - fast.value.dataSync()[0]) < 1e-4);
  for (const v of vars) {
    const a = ref.grads[v.name].dataSync();
    const b = fast.grads[v.name].dataSync();
    let m = 0;
    let s = 0;
    for (let i = 0; i < a.length; i++) { m = Math.max(m, Math.abs(a[i] - b[i])); s = Math.max(s, Math.abs(a[i])); }
    assert.ok(m <= 1e-3 * Math.max(1, s), `${v.name}: grad diff ${m} (max ${s})`);
  }
  tf.dispose([x, yc, yb, ref.value, fast.value, ...Object.values(ref.grads), ...Object.values(fast.grads),
    ...upd.flatMap((u) => [u.mean, u.variance])]);
  model.dispose();
});

test('trainStep learns a toy task on wasm, updates BN statistics and leaks no tensors', () => {
  const model = buildNetwork({ inputChannels: 1, width: 32, height: 32, variant: 'tiny', seed: 3 });
  const opt = tf.train.adam(3e-3);
  // Class = which quadrant is bright; box = that quadrant.
  const B = 12;
  const cls = Array.from({ length: B }, (_, i) => i % 3);
  const x = tf.tidy(() => tf.stack(cls.map((c) => {
    const img = tf.buffer([32, 32, 1]);
    for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) img.set(1, i + (c === 1 ? 16 : 0), j + (c === 0 ? 16 : 0), 0);
    return c === 2 ? tf.zeros([32, 32, 1]) : img.toTensor();
  })));
  const yc = tf.oneHot(tf.tensor1d(cls, 'int32'), 3).toFloat();
  const yb = tf.tensor2d(cls.map((c) => (c === 0 ? [0.75, 0.25, 0.25, 0.25, 1] : c === 1 ? [0.25, 0.75, 0.25, 0.25, 1] : [0, 0, 0, 0, 0])));
  const bn = model.layers.find((l) => l.getClassName() === 'BatchNormalization')!;
  const mm0 = bn.getWeights()[2].dataSync().slice();
  const first = trainStep(model, opt, x, yc, yb);
  const n0 = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 40; i++) last = trainStep(model, opt, x, yc, yb, { class: 1, box: 2 });
  assert.equal(tf.memory().numTensors, n0, 'tensor leak');
  assert.ok(last.classLoss < first.classLoss * 0.5, `class loss ${first.classLoss} → ${last.classLoss}`);
  assert.ok(last.boxLoss < first.boxLoss, `box loss ${first.boxLoss} → ${last.boxLoss}`);
  assert.ok(Math.abs(last.loss - (last.classLoss + 2 * last.boxLoss)) < 1e-4);
  const mm1 = bn.getWeights()[2].dataSync();
  assert.ok(mm1.some((v, i) => v !== mm0[i]), 'moving mean was not updated');
  tf.dispose([x, yc, yb]);
  model.dispose();
});

test('model.fit works on wasm with the compiled losses ([B,4] box targets, −1 = none)', async () => {
  const model = buildNetwork({ inputChannels: 1, width: 32, height: 32, variant: 'tiny', seed: 4 });
  compileForFit(model, tf.train.adam(1e-3), { class: 1, box: 1 });
  const x = tf.randomNormal([6, 32, 32, 1]);
  const yc = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3).toFloat();
  const yb = tf.tensor2d([[0.5, 0.5, 0.1, 0.1], [0.2, 0.2, 0.1, 0.1], [-1, -1, -1, -1], [0.5, 0.5, 0.1, 0.1], [0.2, 0.2, 0.1, 0.1], [-1, -1, -1, -1]]);
  const h = await model.fit(x, [yc, yb], { epochs: 2, batchSize: 3, verbose: 0 });
  assert.equal(h.history.loss.length, 2);
  assert.ok(Number.isFinite(h.history.loss[1] as number));
  tf.dispose([x, yc, yb]);
  model.dispose();
});
