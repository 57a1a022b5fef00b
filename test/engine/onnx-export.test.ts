/** ONNX export: the exported graph run by ONNX Runtime gives tfjs's outputs (within 1e-4). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend.js';
import { buildNetwork, predict, type NetworkVariant } from '../../src/engine/network.js';
import { DEFAULT_MODEL_DIR, loadTrainedModel } from '../../src/engine/trained-model.js';
import { prepareInput } from '../../src/scan/predict.js';
import { isInputError } from '../../src/core/errors.js';
import { decodeModel, onnx } from '../../src/engine/onnx-graph.js';
import {
  describeInputPreparation, exportOnnxFile, exportOnnxFromDir, layersModelToOnnx, topologyToOnnx,
} from '../../src/engine/onnx-export.js';
import { uniformSource } from '../helpers/files.js';

await initBackend();

const uniform = (seed: number): (() => number) => uniformSource(seed, -1, 1);

function randomBatch(n: number, h: number, w: number, c: number, seed: number): Float32Array {
  const r = uniform(seed);
  return Float32Array.from({ length: n * h * w * c }, r);
}

/** Give every BatchNormalization non-trivial statistics (fresh ones are 0/1, which would hide folding errors). */
function randomiseBatchNorms(model: tf.LayersModel, seed: number): void {
  const r = uniform(seed);
  for (const l of model.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    // gamma, beta, moving mean in [-1, 1); moving variance in [0.2, 1] (must stay positive).
    l.setWeights(l.weights.map((v) => {
      const positive = /moving_variance/.test(v.originalName);
      return tf.tensor(Float32Array.from({ length: v.read().size }, () => (positive ? 0.2 + 0.8 * Math.abs(r()) : r())), v.shape as number[]);
    }));
  }
}

async function runOrt(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<{ cls: Float32Array; box: Float32Array }> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const out = await s.run({ input: new ort.Tensor('float32', x, shape) });
  await s.release();
  return { cls: out.class!.data as Float32Array, box: out.box!.data as Float32Array };
}

function runTfjs(model: tf.LayersModel, x: Float32Array, shape: number[]): { cls: Float32Array; box: Float32Array } {
  const t = tf.tensor4d(x, shape as [number, number, number, number]);
  const { classProbs, box } = predict(model, t);
  const r = { cls: classProbs.dataSync() as Float32Array, box: box.dataSync() as Float32Array };
  tf.dispose([t, classProbs, box]);
  return r;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

const TOL = 1e-4;

for (const [variant, h, w, c] of [['tiny', 96, 64, 3], ['small', 64, 128, 2]] as [NetworkVariant, number, number, number][]) {
  test(`${variant} network, random weights and BN statistics, ${h}×${w}×${c}: ORT = tfjs`, async (ctx) => {
    const model = buildNetwork({ inputChannels: c, width: w, height: h, variant, seed: 3 });
    randomiseBatchNorms(model, 11);
    const bytes = layersModelToOnnx(model, { calderaVersion: 'test' });
    const n = 3;
    const x = randomBatch(n, h, w, c, 7);
    const o = await runOrt(bytes, x, [n, h, w, c]);
    const t = runTfjs(model, x, [n, h, w, c]);
    const d = Math.max(maxAbsDiff(o.cls, t.cls), maxAbsDiff(o.box, t.box));
    ctx.diagnostic(`max |ORT − tfjs| = ${d.toExponential(2)}; class ${Array.from(t.cls.slice(0, 3), (v) => v.toFixed(3))}`);
    assert.ok(d < TOL, `max |ORT − tfjs| = ${d}`);
    model.dispose();
  });
}

test('exported graph: NHWC input with dynamic batch, named outputs, BN folded, no dropout, metadata', async () => {
  const bytes = await exportOnnxFromDir(DEFAULT_MODEL_DIR);
  const m = decodeModel(bytes);
  const g = m.graph as onnx.GraphProto;
  const dims = (v: onnx.IValueInfoProto) => v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
  assert.deepEqual(g.input.map((v) => v.name), ['input']);
  assert.deepEqual(dims(g.input[0]!), ['N', 224, 224, 1]);
  assert.deepEqual(g.output.map((v) => v.name), ['class', 'box']);
  assert.deepEqual(g.output.map(dims), [['N', 3], ['N', 4]]);
  const ops = g.node.map((n) => n.opType);
  assert.equal(ops.filter((o) => o === 'Conv').length, 6);
  assert.ok(!ops.includes('BatchNormalization') && !ops.includes('Dropout'), ops.join(','));
  assert.equal(ops.filter((o) => o === 'Transpose').length, 2, 'one NHWC→NCHW at the input, one NCHW→NHWC before the box flatten');
  assert.equal(Number(m.opsetImport[0]!.version), 17);
  const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
  assert.equal(meta.channel_format, 'w');
  assert.equal(meta.input_size, '224');
  assert.deepEqual(JSON.parse(meta.class_names!), ['dyke', 'sill', 'none']);
  assert.match(meta.input_preparation!, /wrapped phase \/ pi; masked = 0/);
  assert.match(meta.source_weights_sha256!, /^[0-9a-f]{64}$/);
  assert.ok(meta.caldera_version);
  assert.equal(describeInputPreparation('wwd'), 'channel 0: wrapped phase / pi; 1: wrapped phase / pi; 2: DEM, min-max scaled to [-1, 1] over valid pixels; masked = 0');
});

test('bundled model: ORT = tfjs on random wrapped phase, fringes, masked and empty inputs', async (ctx) => {
  const tm = await loadTrainedModel(DEFAULT_MODEL_DIR);
  const S = tm.size;
  const r = uniform(5);
  // Real-looking rasters through predict's own preparation (wrapped phase / π, masked = 0).
  const W = 300, H = 200;
  const mogi = new Float32Array(W * H);
  const dyke = new Float32Array(W * H);
  const noise = new Float32Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const i = y * W + x;
    const rr = ((x - 170) ** 2 + (y - 90) ** 2) / 35 ** 2;
    mogi[i] = 40 / (1 + rr) ** 1.5 + 0.3 * r();                     // inflating point source, ~6 fringes
    const u = (x - 120) * 0.8 + (y - 110) * 0.6, v = -(x - 120) * 0.6 + (y - 110) * 0.8;
    dyke[i] = 25 * Math.atan2(u, 8 + Math.abs(v) / 3) * Math.exp(-(v * v) / 60 ** 2); // opening dyke-like lobes
    noise[i] = Math.PI * r();
    if (x < 40 && y > 150) mogi[i] = dyke[i] = NaN;                   // masked corner (water)
  }
  const rasters = [mogi, dyke, noise, new Float32Array(W * H).fill(NaN).map((_, i) => (i % 7 === 0 ? 1 : NaN))];
  const inputs = rasters.map((phaseRad) => prepareInput({ width: W, height: H, phaseRad }, tm.format, S).x);
  inputs.push(randomBatch(1, S, S, 1, 9));                              // uniform "wrapped phase / π"
  inputs.push(new Float32Array(S * S));                                 // everything masked
  const n = inputs.length;
  const x = new Float32Array(n * S * S);
  inputs.forEach((v, i) => x.set(v, i * S * S));
  const o = await runOrt(await exportOnnxFromDir(DEFAULT_MODEL_DIR), x, [n, S, S, 1]);
  const t = runTfjs(tm.model, x, [n, S, S, 1]);
  const dc = maxAbsDiff(o.cls, t.cls), db = maxAbsDiff(o.box, t.box);
  ctx.diagnostic(`max |ORT − tfjs|: class ${dc.toExponential(2)}, box ${db.toExponential(2)}; classes ${Array.from(t.cls, (v) => v.toFixed(2))}`);
  assert.ok(dc < TOL && db < TOL, `max |ORT − tfjs|: class ${dc}, box ${db}`);
  // Same decision for every input.
  for (let i = 0; i < n; i++) {
    const arg = (p: Float32Array) => [0, 1, 2].reduce((k, j) => (p[i * 3 + j]! > p[i * 3 + k]! ? j : k), 0);
    assert.equal(arg(o.cls), arg(t.cls));
  }
  tm.model.dispose();
});

test('unknown layer classes and unsupported options are refused with a one-line InputError', () => {
  const json = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL_DIR, 'model.json'), 'utf8'));
  const topo = json.modelTopology;
  const conv = topo.config.layers.find((l: { class_name: string }) => l.class_name === 'Conv2D');
  const check = (t: unknown, re: RegExp) => assert.throws(() => topologyToOnnx(t, new Map(), { source: 'm.json' }), (e: unknown) => {
    assert.ok(isInputError(e), String(e));
    assert.ok(!(e as Error).message.includes('\n'));
    assert.match((e as Error).message, re);
    return true;
  });
  check({ ...topo, config: { ...topo.config, layers: topo.config.layers.map((l: { class_name: string }) => (l === conv ? { ...l, class_name: 'MaxPooling2D' } : l)) } },
    /^m\.json: layer 'stem_conv' of class MaxPooling2D cannot be exported to ONNX/);
  check({ ...topo, class_name: 'Sequential' }, /only functional models/);
  check(topo, /weight stem_conv\/kernel is missing/);
  check(null, /not a Keras layers-model topology/);
});

test('exportOnnxFile writes the .onnx atomically and it loads', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-onnx-'));
  try {
    const out = path.join(dir, 'model.onnx');
    const r = await exportOnnxFile(DEFAULT_MODEL_DIR, out);
    assert.equal(fs.statSync(out).size, r.bytes);
    assert.match(r.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(fs.readdirSync(dir), ['model.onnx']);
    const s = await ort.InferenceSession.create(out);
    assert.deepEqual(s.outputNames, ['class', 'box']);
    await s.release();
    await assert.rejects(exportOnnxFile(path.join(dir, 'nope'), out), (e: unknown) => isInputError(e));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
