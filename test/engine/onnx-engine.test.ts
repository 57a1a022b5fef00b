/** The ONNX Runtime engine: same outputs as tfjs, one-line InputErrors for bad models and data. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/model/backend.js';
import { buildNetwork, predict } from '../../src/model/network.js';
import { DEFAULT_MODEL_DIR, loadTrainedModel } from '../../src/model/predict.js';
import { isInputError } from '../../src/io/errors.js';
import { OnnxGraphBuilder } from '../../src/engine/onnx-graph.js';
import { exportOnnxFromDir, layersModelToOnnx } from '../../src/engine/onnx-export.js';
import { OnnxEngine, onnxEngineFromModelDir, openOnnxEngine } from '../../src/engine/onnx-engine.js';

await initBackend();

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296) * 2 - 1;
  };
}

/** Rejects with a one-line InputError whose message matches `re`. */
async function rejectsInput(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isInputError(e), `not an InputError: ${String(e)}`);
    const msg = (e as Error).message;
    assert.ok(!msg.includes('\n'), `multi-line message: ${msg}`);
    assert.match(msg, re);
    return true;
  });
}

function maxAbsDiff(a: Float32Array, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

test('bundled model through onnxEngineFromModelDir: tfjs outputs within 1e-4, metadata, threads', async (ctx) => {
  const eng = await onnxEngineFromModelDir(DEFAULT_MODEL_DIR, { intraOpThreads: 2 });
  try {
    assert.deepEqual(eng.inputShape, ['N', 224, 224, 1]);
    assert.deepEqual(eng.inputSize, { height: 224, width: 224, channels: 1 });
    assert.equal(eng.threads, 2);
    assert.equal(eng.metadata.channel_format, 'w');
    const tm = await loadTrainedModel(DEFAULT_MODEL_DIR);
    const n = 4, S = 224;
    const r = seeded(1);
    // Wrapped phase / π of a ramp + concentric fringes + noise, with a masked band (0).
    const x = new Float32Array(n * S * S);
    for (let b = 0; b < n; b++) for (let y = 0; y < S; y++) for (let xx = 0; xx < S; xx++) {
      const ph = 0.05 * b * xx + (b + 1) * 12 / (1 + ((xx - 80 - 20 * b) ** 2 + (y - 120) ** 2) / 900) + 0.4 * r();
      const wrapped = Math.atan2(Math.sin(ph), Math.cos(ph)) / Math.PI;
      x[(b * S + y) * S + xx] = y > 200 && b % 2 === 1 ? 0 : wrapped;
    }
    const out = await eng.run(x, n, S, S, 1);
    assert.equal(out.classProbs.length, n * 3);
    assert.equal(out.box.length, n * 4);
    const t = tf.tensor4d(x, [n, S, S, 1]);
    const ref = predict(tm.model, t);
    const dc = maxAbsDiff(out.classProbs, ref.classProbs.dataSync());
    const db = maxAbsDiff(out.box, ref.box.dataSync());
    ctx.diagnostic(`max |ORT − tfjs|: class ${dc.toExponential(2)}, box ${db.toExponential(2)}`);
    assert.ok(dc < 1e-4 && db < 1e-4, `class ${dc}, box ${db}`);
    tf.dispose([t, ref.classProbs, ref.box]);
    tm.model.dispose();
    // Batch 1 and a batch of a different size on the same session (dynamic N).
    const one = await eng.run(x.subarray(0, S * S), 1, S, S, 1);
    assert.ok(maxAbsDiff(one.classProbs, out.classProbs.subarray(0, 3)) < 1e-5);
  } finally {
    await eng.release();
  }
});

test('tiny variant with random weights: engine = tfjs; from a file path too', async () => {
  const h = 64, w = 96, c = 2, n = 5;
  const model = buildNetwork({ inputChannels: c, width: w, height: h, variant: 'tiny', seed: 9 });
  const bytes = layersModelToOnnx(model, { calderaVersion: 'test' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-ort-'));
  try {
    const file = path.join(dir, 'tiny.onnx');
    fs.writeFileSync(file, bytes);
    const eng = await openOnnxEngine(file, { intraOpThreads: 1 });
    const r = seeded(4);
    const x = Float32Array.from({ length: n * h * w * c }, r);
    const out = await eng.run(x, n, h, w, c);
    const t = tf.tensor4d(x, [n, h, w, c]);
    const ref = predict(model, t);
    assert.ok(maxAbsDiff(out.classProbs, ref.classProbs.dataSync()) < 1e-4);
    assert.ok(maxAbsDiff(out.box, ref.box.dataSync()) < 1e-4);
    tf.dispose([t, ref.classProbs, ref.box]);
    // Shape mismatches: one-line InputErrors.
    await rejectsInput(eng.run(x, n, w, h, c), /input is 96×64×2, the model takes 64×96×2$/);
    await rejectsInput(eng.run(x, n, h, w, 3), /the model takes 64×96×2/);
    await rejectsInput(eng.run(x.subarray(1), n, h, w, c), /values for a batch of 5×64×96×2/);
    await rejectsInput(eng.run(x, 0, h, w, c), /batch size must be a positive integer/);
    await eng.release();
    // Non-spinning thread pool: same answers.
    const calm = await openOnnxEngine(bytes, { intraOpThreads: 2, allowSpinning: false });
    assert.ok(maxAbsDiff((await calm.run(x, n, h, w, c)).classProbs, out.classProbs) < 1e-5);
    await calm.release();
    await rejectsInput(openOnnxEngine(path.join(dir, 'missing.onnx')), /missing\.onnx: cannot read/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    model.dispose();
  }
});

test('corrupt, truncated, unloadable and foreign .onnx bytes: one-line InputErrors', async () => {
  const good = await exportOnnxFromDir(DEFAULT_MODEL_DIR);
  const r = seeded(7);
  const junk = Uint8Array.from({ length: 4096 }, () => (r() + 1) * 127.5);
  await rejectsInput(OnnxEngine.fromBytes(junk, { source: 'junk.onnx' }), /^junk\.onnx: (corrupt ONNX model|ONNX Runtime cannot load)/);
  await rejectsInput(OnnxEngine.fromBytes(good.subarray(0, good.length >> 1), { source: 'half.onnx' }), /^half\.onnx: corrupt ONNX model/);
  await rejectsInput(OnnxEngine.fromBytes(new TextEncoder().encode('{"modelTopology": {}}')), /^ONNX model: (corrupt ONNX model|ONNX Runtime cannot load)/);
  // Valid protobuf, but an operator ORT does not know.
  const g = new OnnxGraphBuilder();
  g.addInput('input', 'float32', ['N', 8, 8, 1]);
  g.addNode('NoSuchOp', ['input'], {}, { outputs: ['class'] });
  g.addOutput('class', 'float32', null);
  await rejectsInput(OnnxEngine.fromBytes(g.encode(), { source: 'odd.onnx' }), /^odd\.onnx: ONNX Runtime cannot load the model/);
  // Loads, but is not a caldera network.
  const f = new OnnxGraphBuilder();
  f.addInput('x', 'float32', ['N', 3]);
  f.addNode('Relu', ['x'], {}, { outputs: ['y'] });
  f.addOutput('y', 'float32', ['N', 3]);
  await rejectsInput(OnnxEngine.fromBytes(f.encode(), { source: 'relu.onnx' }), /^relu\.onnx: not a caldera network/);
});
