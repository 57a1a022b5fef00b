/**
 * The VGG16 transfer path on a tiny 32×32 input (VGG16 at 32×32 is ~0.3 G multiply-adds per image):
 * base layout, weights by name from tfjs layers-format directories (sharded, grouped, Keras 3
 * names), errors, preprocessing, the bottleneck cache, both training steps, save/load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend.js';
import { loadModel } from '../../src/engine/io-handler.js';
import { LeanAdam } from '../../src/engine/kernels/adam-in-place.js';
import {
  IMAGENET_BGR_MEAN, PREPROCESS_LAYER, VGG16_CONV_LAYERS, VGG16_LAYERS, buildVgg16Base, loadVgg16Weights,
  preprocessVgg16, writeLayersModelDir,
} from '../../src/study/vgg16.js';
import {
  buildTransferModel, fromFloat16Bits, registerTransferKernels, runFrom, saveTransferModel, toFloat16Bits, transferMeta, transferTrain,
  vgg16Predict, type HeadSpec, type TransferExample,
} from '../../src/study/transfer.js';
import { uniformSource } from '../helpers/files.js';

await initBackend();

const S = 32;
const SHAPE: [number, number, number] = [S, S, 3];
const SMALL_HEADS: HeadSpec = { classHidden: [64], boxHidden: [64, 32], dropout: 0.2, boxDropoutAfter: 0 };

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-vgg-'));
  tmpDirs.push(d);
  return d;
}
// The weight directories are ~60 MB each.
process.on('exit', () => { for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true }); });

const rng = (seed: number): (() => number) => uniformSource(seed, 0, 1);

/**
 * A separable toy set: dyke = top half +0.8 / bottom −0.8, sill = left/right, none = weak noise;
 * boxes per class.
 */
function toyExamples(n: number, seed: number): TransferExample[] {
  const r = rng(seed);
  const out: TransferExample[] = [];
  for (let i = 0; i < n; i++) {
    const cls = i % 3;
    const x = new Float32Array(S * S * 3);
    for (let y = 0; y < S; y++) {
      for (let xx = 0; xx < S; xx++) {
        const v = cls === 0 ? (y < S / 2 ? 0.8 : -0.8) : cls === 1 ? (xx < S / 2 ? 0.8 : -0.8) : 0;
        for (let c = 0; c < 3; c++) x[(y * S + xx) * 3 + c] = Math.max(-1, Math.min(1, v + (r() - 0.5) * 0.3));
      }
    }
    const box = cls === 0 ? [0.5, 0.25, 0.5, 0.25] : cls === 1 ? [0.25, 0.5, 0.25, 0.5] : [0, 0, 0, 0];
    out.push({ x, classIndex: cls, box, hasBox: cls !== 2 });
  }
  return out;
}

function weightOf(model: tf.LayersModel, layer: string, i = 0): Float32Array {
  return model.getLayer(layer).getWeights()[i].dataSync() as Float32Array;
}

function snapshot(model: tf.LayersModel): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  for (const l of model.layers) l.getWeights().forEach((w, i) => m.set(`${l.name}/${i}`, Float32Array.from(w.dataSync() as Float32Array)));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

test('VGG16 base: Keras layer names, 14,714,688 parameters, 1×1×512 output for a 32×32 input', async () => {
  const base = await buildVgg16Base({ inputShape: SHAPE, seed: 1 });
  assert.deepEqual(base.layers.slice(1).map((l) => l.name), [...VGG16_LAYERS]);
  assert.equal(VGG16_CONV_LAYERS.length, 13);
  assert.equal(base.countParams(), 14_714_688); // Keras VGG16(include_top=False)
  assert.deepEqual(base.outputShape, [null, 1, 1, 512]);
  const filters = VGG16_CONV_LAYERS.map((n) => (base.getLayer(n).getConfig() as { filters: number }).filters);
  assert.deepEqual(filters, [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]);
  const y = base.predict(tf.zeros([2, S, S, 3])) as tf.Tensor;
  assert.deepEqual(y.shape, [2, 1, 1, 512]);
  tf.dispose(y);
  base.dispose();
  await assert.rejects(buildVgg16Base({ inputShape: [40, 32, 3] }), /multiples of 32/);
});

test('preprocessing: [−1, 1] RGB → 0..255 → BGR − ImageNet mean (caffe), as op and as the model layer', async () => {
  // channel 0 (R) = −1 → 0, channel 1 (G) = 0 → 127.5, channel 2 (B) = 1 → 255.
  const x = tf.tensor4d([-1, 0, 1], [1, 1, 1, 3]);
  const y = Array.from(preprocessVgg16(x).dataSync());
  const want = [255 - IMAGENET_BGR_MEAN[0], 127.5 - IMAGENET_BGR_MEAN[1], 0 - IMAGENET_BGR_MEAN[2]];
  assert.ok(maxAbsDiff(y, want) < 1e-4, `${y} vs ${want}`);
  assert.ok(maxAbsDiff(y, [151.061, 10.721, -123.68]) < 1e-3);
  // One channel is repeated.
  const y1 = Array.from(preprocessVgg16(tf.tensor4d([0.5], [1, 1, 1, 1])).dataSync());
  assert.ok(maxAbsDiff(y1, IMAGENET_BGR_MEAN.map((m) => 191.25 - m)) < 1e-4);
  // 'none' leaves the values alone.
  assert.deepEqual(Array.from(preprocessVgg16(x, 'none').dataSync()), [-1, 0, 1]);
  // The model's fixed layer computes the same and is frozen.
  const { model } = await buildTransferModel({ inputShape: SHAPE, heads: SMALL_HEADS, seed: 3 });
  const pre = model.getLayer(PREPROCESS_LAYER);
  assert.equal(pre.trainable, false);
  const img = tf.randomUniform([1, S, S, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
  const a = pre.apply(img) as tf.Tensor;
  const b = preprocessVgg16(img);
  assert.ok(maxAbsDiff(a.dataSync(), b.dataSync()) < 1e-3);
  tf.dispose([x, img, a, b]);
  model.dispose();
});

test('weights load by layer name from a sharded tfjs layers-format directory (grouped, Keras 3 names too)', async () => {
  const dir = tmpDir();
  const src = await buildVgg16Base({ inputShape: SHAPE, seed: 11 });
  // One group per layer, 1 MiB shards: block5 kernels (9.4 MB) are 10 shards each.
  await writeLayersModelDir(src, path.join(dir, 'a'), { shardBytes: 1 << 20, groups: 'layer' });
  const files = fs.readdirSync(path.join(dir, 'a'));
  assert.ok(files.includes('group1-shard1of1.bin'));
  assert.ok(files.some((f) => /^group\d+-shard10of10\.bin$/.test(f)), files.join(' '));
  const dst = await buildVgg16Base({ inputShape: SHAPE, seed: 22, weightsPath: path.join(dir, 'a') });
  for (const n of ['block1_conv1', 'block3_conv2', 'block5_conv3']) {
    assert.deepEqual(weightOf(dst, n, 0), weightOf(src, n, 0), `${n} kernel`);
    assert.deepEqual(weightOf(dst, n, 1), weightOf(src, n, 1), `${n} bias`);
  }
  const x = tf.randomUniform([1, S, S, 3], -100, 100, 'float32', 1);
  const [ya, yb] = [src.predict(x) as tf.Tensor, dst.predict(x) as tf.Tensor];
  assert.deepEqual(Array.from(yb.dataSync()), Array.from(ya.dataSync()));
  tf.dispose([ya, yb]);

  // One group, 4 MiB shards; and the path may name model.json itself. Into a transfer model too.
  await writeLayersModelDir(src, path.join(dir, 'b'), { groups: 'one' });
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'b', 'model.json'), 'utf8'));
  assert.equal(json.weightsManifest.length, 1);
  assert.ok(json.weightsManifest[0].paths.length >= 14);
  const { model, weights } = await buildTransferModel({ inputShape: SHAPE, heads: SMALL_HEADS, weightsPath: path.join(dir, 'b', 'model.json') });
  assert.equal(weights?.loaded.length, 26);
  assert.deepEqual(weightOf(model, 'block4_conv2'), weightOf(src, 'block4_conv2'));
  assert.match(transferMeta(model)!.vgg16.weights, /^[0-9a-f]{64}$/);

  // Keras 3 style names ('block1_conv1/vars/0') and extra (top) weights: loads, extras reported unused.
  fs.mkdirSync(path.join(dir, 'c'));
  for (const f of fs.readdirSync(path.join(dir, 'b'))) fs.copyFileSync(path.join(dir, 'b', f), path.join(dir, 'c', f));
  const j3 = JSON.parse(fs.readFileSync(path.join(dir, 'c', 'model.json'), 'utf8'));
  for (const w of j3.weightsManifest[0].weights) w.name = w.name.replace(/\/kernel$/, '/vars/0').replace(/\/bias$/, '/vars/1');
  fs.writeFileSync(path.join(dir, 'c', 'model.json'), JSON.stringify(j3));
  const dst3 = await buildVgg16Base({ inputShape: SHAPE, seed: 33 });
  const info = await loadVgg16Weights(dst3, path.join(dir, 'c'));
  assert.equal(info.loaded.length, 26);
  assert.deepEqual(weightOf(dst3, 'block2_conv1', 1), weightOf(src, 'block2_conv1', 1));
  tf.dispose(x);
  for (const m of [src, dst, model, dst3]) m.dispose();
});

test('weights that do not fit give a clear error listing the missing and mismatched layers', async () => {
  const dir = tmpDir();
  // A 1-channel base: block1_conv1/kernel is [3,3,1,64].
  const one = await buildVgg16Base({ inputShape: [S, S, 1], seed: 1 });
  await writeLayersModelDir(one, path.join(dir, 'gray'));
  await assert.rejects(buildVgg16Base({ inputShape: SHAPE, weightsPath: path.join(dir, 'gray') }), (e: Error) => {
    assert.equal(e.name, 'InputError');
    assert.match(e.message, /shape mismatch 1: block1_conv1\/kernel: file \[3,3,1,64\] vs model \[3,3,3,64\]/);
    return true;
  });
  // A small model with only two of the layers.
  const inp = tf.input({ shape: [S, S, 3] });
  const c1 = tf.layers.conv2d({ name: 'block1_conv1', filters: 64, kernelSize: 3, padding: 'same' }).apply(inp) as tf.SymbolicTensor;
  const c2 = tf.layers.conv2d({ name: 'block1_conv2', filters: 64, kernelSize: 3, padding: 'same' }).apply(c1) as tf.SymbolicTensor;
  const small = tf.model({ inputs: inp, outputs: c2 });
  await writeLayersModelDir(small, path.join(dir, 'small'));
  await assert.rejects(buildVgg16Base({ inputShape: SHAPE, weightsPath: path.join(dir, 'small') }), (e: Error) => {
    assert.equal(e.name, 'InputError');
    assert.match(e.message, /missing 22: block2_conv1\/kernel, block2_conv1\/bias, /);
    assert.match(e.message, /block5_conv3\/bias/);
    return true;
  });
  await assert.rejects(buildVgg16Base({ inputShape: SHAPE, weightsPath: path.join(dir, 'nowhere') }), /VGG16 weights not found/);
  one.dispose();
  small.dispose();
});

test('float16 feature encoding', () => {
  assert.equal(toFloat16Bits(1), 0x3c00);
  assert.equal(toFloat16Bits(-2), 0xc000);
  assert.equal(toFloat16Bits(65504), 0x7bff);
  assert.equal(toFloat16Bits(2 ** -24), 1);
  assert.equal(toFloat16Bits(0.1), 0x2e66);
  assert.equal(toFloat16Bits(0), 0);
  assert.equal(fromFloat16Bits(0x3555), 0.333251953125);
  const r = rng(4);
  for (let i = 0; i < 10000; i++) {
    const v = (r() - 0.5) * 2 * 10 ** (r() * 8 - 4);
    const back = fromFloat16Bits(toFloat16Bits(v));
    assert.ok(Math.abs(back - v) <= Math.max(Math.abs(v) * 2 ** -11, 2 ** -25), `${v} → ${back}`);
  }
});

test('bottleneck features are cached on disk and reused (no base pass the second time)', async () => {
  const cacheDir = tmpDir();
  const examples = toyExamples(20, 1);
  const val = toyExamples(6, 2);
  const opts = {
    examples, valExamples: val, cacheDir, inputShape: SHAPE, heads: SMALL_HEADS, headEpochs: 1, fineTuneEpochs: 1,
    batch: 8, chunkSize: 8, seed: 5,
  };
  const first = await transferTrain(opts);
  assert.equal(first.features.train.chunksComputed, 3);
  assert.equal(first.features.train.baseExamples, 20);
  assert.equal(first.features.val?.baseExamples, 6);
  const files = fs.readdirSync(path.join(cacheDir, 'train')).sort();
  assert.deepEqual(files, ['block4_pool.00000.npy', 'block4_pool.00001.npy', 'block4_pool.00002.npy',
    'block5_pool.00000.npy', 'block5_pool.00001.npy', 'block5_pool.00002.npy', 'index.json']);
  first.model.dispose();

  const events: string[] = [];
  const second = await transferTrain({ ...opts, onProgress: (e) => { if (e.type === 'features') events.push(`${e.split}${e.chunk}:${e.reused}`); } });
  assert.equal(second.features.train.baseBatches, 0);
  assert.equal(second.features.train.chunksReused, 3);
  assert.equal(second.features.val?.baseBatches, 0);
  assert.deepEqual(events, ['train0:true', 'train1:true', 'train2:true', 'val0:true']);
  assert.equal(second.history.length, 2);
  second.model.dispose();

  // One changed example: only its chunk is recomputed.
  const changed = examples.map((e, i) => (i === 9 ? { ...e, x: e.x.map((v) => -v) } : e));
  const third = await transferTrain({ ...opts, examples: changed, valExamples: undefined, fineTuneEpochs: 0 });
  assert.equal(third.features.train.chunksComputed, 1);
  assert.equal(third.features.train.chunksReused, 2);
  assert.equal(third.features.train.baseExamples, 8);
  third.model.dispose();
  // Other base weights (another seed without weights) invalidate the cache.
  const fourth = await transferTrain({ ...opts, seed: 6, valExamples: undefined, headEpochs: 0, fineTuneEpochs: 0 });
  assert.equal(fourth.features.train.chunksComputed, 3);
  fourth.model.dispose();
});

test('heads learn a separable toy task on the cached features (loss falls)', async () => {
  const r = await transferTrain({
    examples: toyExamples(36, 3), valExamples: toyExamples(9, 4), cacheDir: tmpDir(), inputShape: SHAPE, heads: SMALL_HEADS,
    headEpochs: 20, fineTuneEpochs: 0, batch: 12, lr: 3e-3, seed: 2,
  });
  const h = r.history;
  assert.equal(h.length, 20);
  assert.ok(h.every((e) => e.phase === 'heads'));
  assert.ok(h[h.length - 1].loss < 0.5 * h[0].loss, `loss ${h[0].loss} → ${h[h.length - 1].loss}`);
  assert.ok(h[h.length - 1].boxLoss < 0.3 * h[0].boxLoss, `box loss ${h[0].boxLoss} → ${h[h.length - 1].boxLoss}`);
  assert.ok(h[h.length - 1].accuracy >= 0.9, `accuracy ${h[h.length - 1].accuracy}`);
  assert.ok((h[h.length - 1].valAccuracy ?? 0) >= 0.8, `val accuracy ${h[h.length - 1].valAccuracy}`);
  r.model.dispose();
});

test('fine-tuning changes block 5 and the heads only; the full model equals the cached-feature path', async () => {
  const common = { inputShape: SHAPE, heads: SMALL_HEADS, seed: 9 };
  const { model: ref } = await buildTransferModel(common);
  const before = snapshot(ref);
  ref.dispose();
  const examples = toyExamples(12, 5);
  const r = await transferTrain({
    ...common, examples, cacheDir: tmpDir(), headEpochs: 1, fineTuneEpochs: 2, batch: 6, lr: 1e-3, fineTuneLr: 1e-3,
    featureFormat: 'float32',
  });
  assert.deepEqual(r.history.map((e) => `${e.phase}${e.epoch}`), ['heads1', 'finetune1', 'finetune2']);
  const after = snapshot(r.model);
  for (const [k, v] of before) {
    const layer = k.split('/')[0];
    const d = maxAbsDiff(v, after.get(k)!);
    if (layer === PREPROCESS_LAYER || /^block[1-4]_/.test(layer)) assert.equal(d, 0, `${k} must be unchanged`);
    else if (/^block5_conv|^class|^box/.test(layer) && k.endsWith('/0')) assert.ok(d > 0, `${k} must have changed`);
  }
  // Trainable flags after fine-tuning: block 5 and heads.
  const trainable = r.model.layers.filter((l) => l.trainable && l.weights.length > 0).map((l) => l.name).sort();
  assert.deepEqual(trainable, ['block5_conv1', 'block5_conv2', 'block5_conv3', 'box', 'box_dense1', 'box_dense2', 'class', 'class_dense1']);
  // One forward pass of the full model = block5 + heads run on the block4_pool features of the image.
  const x = tf.tensor4d(examples[0].x, [1, S, S, 3]);
  const full = vgg16Predict(r.model, x);
  const feat = tf.model({ inputs: r.model.inputs, outputs: r.model.getLayer('block4_pool').output as tf.SymbolicTensor }).predict(x) as tf.Tensor;
  const [pc, pb] = runFrom(r.model, 'block4_pool', feat, false);
  assert.ok(maxAbsDiff(full.classProbs.dataSync(), pc.dataSync()) < 1e-5);
  assert.ok(maxAbsDiff(full.box.dataSync(), pb.dataSync()) < 1e-5);
  // Arrays of images work too.
  const arr = vgg16Predict(r.model, [examples[0].x, examples[1].x], 1);
  assert.deepEqual(arr.classProbs.shape, [2, 3]);
  assert.ok(maxAbsDiff(arr.classProbs.dataSync().slice(0, 3), full.classProbs.dataSync()) < 1e-5);
  tf.dispose([x, full.classProbs, full.box, feat, pc, pb, arr.classProbs, arr.box]);
  r.model.dispose();
});

test('a transfer model saves and loads with io-handler (metadata: backbone, format) and predicts the same', async () => {
  const { model } = await buildTransferModel({ inputShape: SHAPE, heads: SMALL_HEADS, seed: 4, channelFormat: 'uud' });
  const dir = path.join(tmpDir(), 'm');
  await saveTransferModel(model, dir, { note: 'x' });
  const loaded = await loadModel(dir);
  const meta = transferMeta(loaded);
  assert.equal(meta?.backbone, 'vgg16');
  assert.equal(meta?.format, 'uud');
  assert.equal(meta?.vgg16.preprocess, 'caffe');
  assert.equal((loaded.getUserDefinedMetadata() as Record<string, unknown>).note, 'x');
  const x = tf.randomUniform([2, S, S, 3], -1, 1, 'float32', 8) as tf.Tensor4D;
  const a = vgg16Predict(model, x);
  const b = vgg16Predict(loaded, x);
  assert.deepEqual(Array.from(b.classProbs.dataSync()), Array.from(a.classProbs.dataSync()));
  assert.deepEqual(Array.from(b.box.dataSync()), Array.from(a.box.dataSync()));
  tf.dispose([x, a.classProbs, a.box, b.classProbs, b.box]);
  model.dispose();
  loaded.dispose();
});

test("caldera's wasm MaxPoolGrad matches cpu (negative values, overlapping windows, same/valid padding)", async () => {
  registerTransferKernels();
  const r = rng(12);
  type Case = { shape: [number, number, number, number]; k: number; s: number; pad: 'same' | 'valid' };
  const cases: Case[] = [
    { shape: [1, 4, 4, 1], k: 2, s: 2, pad: 'valid' }, // the stock kernel loses a window here
    { shape: [2, 14, 14, 16], k: 2, s: 2, pad: 'valid' },
    { shape: [1, 2, 2, 512], k: 2, s: 2, pad: 'valid' },
    { shape: [2, 7, 9, 5], k: 2, s: 2, pad: 'same' },
    { shape: [2, 9, 8, 3], k: 3, s: 2, pad: 'same' },
    { shape: [1, 6, 7, 4], k: 3, s: 1, pad: 'valid' },
    { shape: [3, 5, 5, 2], k: 2, s: 1, pad: 'same' },
  ];
  for (const { shape, k, s, pad } of cases) {
    const n = shape.reduce((a, b) => a * b, 1);
    // Values quantised to 1/8 so that windows contain ties too.
    const xs = Float32Array.from({ length: n }, () => Math.round((r() * 2 - 1) * 8) / 8);
    const run = async (backend: string): Promise<Float32Array> => {
      await tf.setBackend(backend);
      const x = tf.tensor4d(xs, shape);
      const y = tf.maxPool(x, k, s, pad);
      const dy = tf.tensor(Float32Array.from({ length: y.size }, (_, i) => Math.sin(i + 1)), y.shape);
      const g = tf.grad((t: tf.Tensor) => tf.maxPool(t as tf.Tensor4D, k, s, pad))(x, dy);
      const out = Float32Array.from(await g.data() as Float32Array);
      tf.dispose([x, y, dy, g]);
      return out;
    };
    const ref = await run('cpu');
    const got = await run('wasm');
    assert.ok(maxAbsDiff(ref, got) < 1e-6, `[${shape}] k${k} s${s} ${pad}: ${maxAbsDiff(ref, got)}`);
  }
  await tf.setBackend('wasm');
});

test('LeanAdam (in-place moments on the wasm heap) takes the same steps as tf.train.adam', () => {
  const r = rng(21);
  const init = [Float32Array.from({ length: 300 }, () => r() - 0.5), Float32Array.from({ length: 7 }, () => r() - 0.5)];
  const shapes = [[20, 15], [7]];
  const a = init.map((d, i) => tf.variable(tf.tensor(d, shapes[i]), true, `lean_a${i}`));
  const b = init.map((d, i) => tf.variable(tf.tensor(d, shapes[i]), true, `lean_b${i}`));
  const lean = new LeanAdam(0.01);
  const ref: tf.Optimizer = tf.train.adam(0.01);
  const target = tf.tensor(Float32Array.from({ length: 300 }, () => r()), [20, 15]);
  const loss = (vs: tf.Variable[]) => () => tf.add(tf.sum(tf.square(tf.sub(vs[0], target))), tf.sum(tf.pow(vs[1], 4))) as tf.Scalar;
  for (let step = 0; step < 5; step++) {
    const ga = tf.variableGrads(loss(a), a);
    lean.applyGradients(a, ga.grads);
    ga.value.dispose();
    const gb = tf.variableGrads(loss(b), b);
    ref.applyGradients(gb.grads);
    tf.dispose([gb.value, ...Object.values(gb.grads)]);
  }
  for (let i = 0; i < 2; i++) assert.ok(maxAbsDiff(a[i].dataSync(), b[i].dataSync()) < 1e-6, `variable ${i}`);
  assert.ok(maxAbsDiff(a[0].dataSync(), init[0]) > 0.01);
  lean.dispose();
  ref.dispose();
  tf.dispose([...a, ...b, target]);
});
