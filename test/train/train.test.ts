/**
 * Training machinery: learning-rate schedule, epoch order and split, resume config checks, and
 * checkpoints (atomic swap, fall-back to the previous one, Adam state round trip).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/core/rng.js';
import { isInputError } from '../../src/core/errors.js';
import { initBackend } from '../../src/engine/backend.js';
import { findCheckpoint, loadCheckpoint, saveCheckpoint } from '../../src/engine/checkpoint.js';
import { buildNetwork, predict, trainStep } from '../../src/engine/network.js';
import {
  configDifferences, DEFAULT_TRAIN_CONFIG, epochOrder, epochSeed, learningRateAt, seedDropout, splitIndices, type TrainConfig,
} from '../../src/train/train.js';
import { mixedTerrain } from '../../src/data/feeder.js';

await initBackend();
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-train-'));
after(() => fs.rmSync(ROOT, { recursive: true, force: true }));
const tmp = (): string => fs.mkdtempSync(path.join(ROOT, 'd-'));

test('learning rate: linear warm-up from lr/10, cosine to lr/50, or constant', () => {
  assert.equal(learningRateAt(0, 1000, 1e-3, 'cosine', 100), 1e-4);
  assert.ok(Math.abs(learningRateAt(50, 1000, 1e-3, 'cosine', 100) - 5.5e-4) < 1e-12);
  assert.equal(learningRateAt(100, 1000, 1e-3, 'cosine', 100), 1e-3);
  assert.ok(Math.abs(learningRateAt(550, 1000, 1e-3, 'cosine', 100) - (2e-5 + (1e-3 - 2e-5) / 2)) < 1e-12);
  assert.ok(Math.abs(learningRateAt(1000, 1000, 1e-3, 'cosine', 100) - 2e-5) < 1e-12);
  assert.equal(learningRateAt(900, 1000, 1e-3, 'constant', 100), 1e-3);
  assert.equal(learningRateAt(0, 10, 1e-3, 'constant', 0), 1e-3);
});

test('split by index: the last fraction validates; epoch order is a seeded, shard-local permutation', () => {
  assert.deepEqual(splitIndices(10, 0.2), { train: [0, 1, 2, 3, 4, 5, 6, 7], val: [8, 9] });
  assert.deepEqual(splitIndices(5, 0).val, []);
  assert.throws(() => splitIndices(5, 1), (e: unknown) => isInputError(e));
  const idx = Array.from({ length: 100 }, (_, i) => i);
  const shardOf = (i: number): number => Math.floor(i / 10);
  const a = epochOrder(idx, shardOf, new Rng(epochSeed(1, 0)));
  const b = epochOrder(idx, shardOf, new Rng(epochSeed(1, 0)));
  const c = epochOrder(idx, shardOf, new Rng(epochSeed(1, 1)));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.deepEqual([...a].sort((x, y) => x - y), idx);
  // Consecutive groups of 20 come from two shards only (each shard read once per epoch).
  for (let g = 0; g < 100; g += 20) assert.equal(new Set(a.slice(g, g + 20).map(shardOf)).size, 2);
});

test('resume checks: only the number of epochs may change', () => {
  const base: TrainConfig = {
    ...DEFAULT_TRAIN_CONFIG, format: 'w',
    source: { kind: 'dataset', dir: '/data/a', valFraction: 0.1 },
  };
  assert.deepEqual(configDifferences(base, { ...base, epochs: 99 }), []);
  const d = configDifferences(base, { ...base, batch: 8, source: { ...base.source, dir: '/data/b' } as TrainConfig['source'] });
  assert.equal(d.length, 2);
  assert.match(d.join(';'), /batch: checkpoint 16, now 8/);
  assert.match(d.join(';'), /source\.dir/);
});

test('mixedTerrain draws by weight from the scene rng', () => {
  const seen = { a: 0, b: 0 };
  const mk = (name: 'a' | 'b') => () => { seen[name]++; return { dem: { width: 1, height: 1, data: new Float32Array(1) }, anchor: { x: 0, y: 0 }, name, lonLat: null }; };
  const p = mixedTerrain([{ provider: mk('a'), weight: 3 }, { provider: mk('b'), weight: 1 }]);
  const rng = new Rng(5);
  for (let i = 0; i < 4000; i++) p(rng);
  assert.ok(Math.abs(seen.a / 4000 - 0.75) < 0.03, JSON.stringify(seen));
  assert.throws(() => mixedTerrain([{ provider: mk('a'), weight: 0 }]), /weights/);
});

test('checkpoint: model + Adam state round trip; an interrupted swap falls back to the previous checkpoint', async () => {
  const dir = path.join(tmp(), 'checkpoint');
  const model = buildNetwork({ inputChannels: 1, width: 32, height: 32, variant: 'tiny', seed: 2 });
  const opt = tf.train.adam(1e-3);
  const x = tf.randomNormal([4, 32, 32, 1], 0, 1, 'float32', 1);
  const yc = tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3).toFloat();
  const yb = tf.tensor2d([[0.5, 0.5, 0.1, 0.1, 1], [0.3, 0.6, 0.2, 0.1, 1], [0, 0, 0, 0, 0], [0.4, 0.4, 0.1, 0.3, 1]]);
  // Enough steps that β^t accumulated step by step and pow(β, t) differ in their last bits.
  for (let i = 0; i < 40; i++) trainStep(model, opt, x, yc, yb);
  await saveCheckpoint(dir, model, opt, { epoch: 1 });
  assert.equal(findCheckpoint(dir), dir);
  // The next steps, straight on (dropout seeded per step, as train() does).
  const step = (m: tf.LayersModel, o: tf.Optimizer, k: number): number => { seedDropout(m, k); return trainStep(m, o, x, yc, yb).loss; };
  const straight = [step(model, opt, 1), step(model, opt, 2)];
  // The same steps after restoring the checkpoint into a fresh model and optimizer.
  const ck = await loadCheckpoint<{ epoch: number }>(dir);
  assert.ok(ck);
  assert.deepEqual(ck.state, { epoch: 1 });
  const opt2 = tf.train.adam(1e-3);
  await ck.restoreOptimizer(opt2);
  const resumed = [step(ck.model, opt2, 1), step(ck.model, opt2, 2)];
  // Exactly: the weights, both Adam moments, the step count and Adam's running beta powers are restored bit for bit.
  assert.deepEqual(resumed, straight);
  assert.deepEqual(predict(ck.model, x).classProbs.dataSync(), predict(model, x).classProbs.dataSync());

  // A second save, then a kill between its two renames: only dir.old (the first) is complete.
  const before = predict(ck.model, x).classProbs.dataSync();
  await saveCheckpoint(dir, ck.model, opt2, { epoch: 2 });
  fs.renameSync(dir, `${dir}.old`);
  fs.mkdirSync(`${dir}.tmp-12345`); // a half-written temporary directory is ignored
  assert.equal(findCheckpoint(dir), `${dir}.old`);
  const back = await loadCheckpoint<{ epoch: number }>(dir);
  assert.equal(back!.state.epoch, 2);
  assert.deepEqual(predict(back!.model, x).classProbs.dataSync(), before);
  // A corrupt optimizer file is a clear error, not garbage state.
  fs.writeFileSync(path.join(`${dir}.old`, 'optimizer.bin'), 'x');
  await assert.rejects(loadCheckpoint(dir), (e: unknown) => isInputError(e) && /checksum/.test((e as Error).message));
  assert.equal(await loadCheckpoint(path.join(tmp(), 'none')), null);
  tf.dispose([x, yc, yb]);
});
