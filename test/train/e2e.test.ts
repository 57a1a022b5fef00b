/**
 * End to end, small and fast: a few dozen synthetic samples made in-process, a tiny network
 * trained for two epochs (the loss falls), save → load → identical predictions, a resume after a
 * simulated kill that matches an uninterrupted run, evaluation (with the negated inputs), on-the-fly
 * training through the feeder thread, and the errors a user can run into.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { synthesise } from '../../src/data/generate.js';
import { readDataset } from '../../src/data/dataset.js';
import { toExample } from '../../src/data/inputs.js';
import { isInputError } from '../../src/core/errors.js';
import { decodePng } from '../../src/io/png.js';
import { initBackend } from '../../src/engine/backend.js';
import { evaluateDataset, scoreRows } from '../../src/evaluate/evaluate.js';
import { Feeder } from '../../src/data/feeder.js';
import { loadModel, saveModel } from '../../src/engine/io-handler.js';
import { predict } from '../../src/engine/network.js';
import { CHECKPOINT_DIR, CURVES_PNG, DEFAULT_TRAIN_CONFIG, TRAIN_LOG, train, type EpochRecord, type TrainConfig } from '../../src/train/train.js';
import { loadTrainedModel } from '../../src/engine/trained-model.js';
import { trainedDetector } from '../../src/scan/detector.js';
import { LOCK_FILE, lockDir } from '../../src/io/run-dir.js';
import { spawnSync } from 'node:child_process';

await initBackend();
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-e2e-'));
after(() => fs.rmSync(ROOT, { recursive: true, force: true }));
const tmp = (): string => fs.mkdtempSync(path.join(ROOT, 'd-'));
const DATA = path.join(tmp(), 'data');
await synthesise({ outDir: DATA, count: 36, seed: 11, classes: ['dyke', 'sill', 'none'], terrain: { kind: 'procedural' }, workers: 1, shardSize: 12 });

const CONFIG: TrainConfig = {
  ...DEFAULT_TRAIN_CONFIG, arch: 'tiny', format: 'w', epochs: 2, batch: 6, lr: 3e-3, lrSchedule: 'constant', warmupSteps: 0, seed: 4,
  source: { kind: 'dataset', dir: DATA, valFraction: 1 / 6 },
};
const readLog = (dir: string): EpochRecord[] => fs.readFileSync(path.join(dir, TRAIN_LOG), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EpochRecord);
const RUN = path.join(tmp(), 'run');
const events: string[] = [];
const result = await train({ outDir: RUN, config: CONFIG, onEvent: (e) => events.push(e.type) });

test('two epochs of a tiny model: the loss falls; model, checkpoint, log and curves are written', () => {
  const h = result.state.history;
  assert.equal(h.length, 2);
  assert.equal(h[0]!.steps, 5); // 30 training samples (the last 6 validate) in batches of 6
  assert.equal(h[1]!.imagesSeen, 60);
  assert.ok(h[1]!.trainLoss < h[0]!.trainLoss, `loss ${h[0]!.trainLoss} → ${h[1]!.trainLoss}`);
  for (const r of h) {
    assert.ok(r.valAccuracy >= 0 && r.valAccuracy <= 1);
    assert.ok(r.valSignAgreement >= 0 && r.valSignAgreement <= 1);
    assert.ok(Number.isFinite(r.valCentreErrorMedianPx));
  }
  assert.deepEqual(readLog(RUN).map((r) => r.epoch), [1, 2]);
  for (const f of ['model.json', 'weights.bin', CURVES_PNG, path.join(CHECKPOINT_DIR, 'state.json'), path.join(CHECKPOINT_DIR, 'optimizer.bin')]) {
    assert.ok(fs.existsSync(path.join(RUN, f)), f);
  }
  assert.ok(decodePng(fs.readFileSync(path.join(RUN, CURVES_PNG))).width > 500);
  assert.deepEqual(events.filter((e) => e !== 'step'), ['start', 'validating', 'epoch', 'validating', 'epoch', 'done']);
});

test('save → load → identical predictions (exported model, checkpoint, a re-save)', async () => {
  const tm = await loadTrainedModel(RUN);
  assert.equal(tm.format, 'w');
  assert.equal(tm.meta.epoch, 2);
  const samples = [...readDataset(DATA)].slice(0, 4);
  const x = tf.tensor4d(Float32Array.from(samples.flatMap((s) => [...toExample(s, 'w').x])), [4, 224, 224, 1]);
  const p0 = predict(tm.model, x).classProbs.dataSync();
  const again = path.join(tmp(), 'again');
  await saveModel(tm.model, again);
  for (const dir of [again, path.join(RUN, CHECKPOINT_DIR)]) {
    const m = await loadModel(dir);
    assert.deepEqual(predict(m, x).classProbs.dataSync(), p0, dir);
    m.dispose();
  }
  tm.model.dispose();
  x.dispose();
});

test('resume after a simulated kill continues exactly (log matches the uninterrupted run)', async () => {
  const out = path.join(tmp(), 'resumed');
  const first = await train({ outDir: out, config: CONFIG, stopAfterEpochs: 1 });
  assert.equal(first.state.epoch, 1);
  assert.equal(readLog(out).length, 1);
  // A kill after the checkpoint but before the log was rewritten: the log is put right on resume.
  fs.writeFileSync(path.join(out, TRAIN_LOG), '');
  // What a kill in the middle of writes leaves (temp files of a dead PID) is cleaned by the next run.
  const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
  const litter = [`weights.bin.tmp-${dead}-k1ll3d`, `${TRAIN_LOG}.tmp-${dead}-x`, `${CHECKPOINT_DIR}.tmp-${dead}`];
  for (const f of litter.slice(0, 2)) fs.writeFileSync(path.join(out, f), 'half');
  fs.mkdirSync(path.join(out, litter[2]!));
  fs.writeFileSync(path.join(out, litter[2]!, 'weights.bin'), 'half');
  // While another job holds the folder, a second run is refused (naming the holder).
  const held = lockDir(out, 'caldera train');
  await assert.rejects(train({ outDir: out, config: CONFIG, resume: true }), (e: unknown) => isInputError(e) && /in use by this process/.test((e as Error).message));
  held.release();
  const second = await train({ outDir: out, config: CONFIG, resume: true });
  for (const f of litter) assert.ok(!fs.existsSync(path.join(out, f)), `${f} cleaned`);
  assert.ok(!fs.existsSync(path.join(out, LOCK_FILE)), 'lock released');
  assert.equal(second.state.epoch, 2);
  const a = readLog(RUN), b = readLog(out);
  assert.deepEqual(b.map((r) => [r.epoch, r.steps, r.imagesSeen]), a.map((r) => [r.epoch, r.steps, r.imagesSeen]));
  // Bit-identical: the same batches, dropout masks, weights, Adam moments, step and beta powers.
  for (let i = 0; i < 2; i++) {
    for (const k of ['trainLoss', 'trainClassLoss', 'trainBoxLoss', 'trainAccuracy', 'valLoss', 'valAccuracy', 'valCentreErrorMedianPx'] as const) {
      assert.equal(b[i]![k], a[i]![k], `epoch ${i + 1} ${k}`);
    }
  }
  assert.deepEqual(fs.readFileSync(path.join(out, 'weights.bin')), fs.readFileSync(path.join(RUN, 'weights.bin')), 'the same weights');
  // Resuming a finished run does nothing more; asking for more epochs continues it.
  assert.equal((await train({ outDir: out, config: CONFIG, resume: true })).state.epoch, 2);
  assert.equal((await train({ outDir: out, config: { ...CONFIG, epochs: 3 }, resume: true })).state.history.length, 3);
});

test('--init starts from a trained model (fine-tuning)', async () => {
  const r = await train({ outDir: path.join(tmp(), 'tuned'), config: { ...CONFIG, epochs: 1, init: RUN } });
  assert.ok(r.state.history[0]!.trainLoss < result.state.history[0]!.trainLoss, `${r.state.history[0]!.trainLoss} vs ${result.state.history[0]!.trainLoss}`);
  await assert.rejects(train({ outDir: tmp(), config: { ...CONFIG, format: 'www', init: RUN } }), (e: unknown) => isInputError(e) && /does not fit channel format www/.test((e as Error).message));
});

test('errors: an existing run without --resume, a resume with other settings, too little data, no dataset', async () => {
  const input = (re: RegExp) => (e: unknown) => isInputError(e) && re.test((e as Error).message);
  await assert.rejects(train({ outDir: RUN, config: CONFIG }), input(/already holds a training run; resume it/));
  await assert.rejects(train({ outDir: RUN, config: { ...CONFIG, batch: 4 }, resume: true }), input(/differ from the checkpoint \(batch: checkpoint 6, now 4\)/));
  await assert.rejects(train({ outDir: tmp(), config: { ...CONFIG, batch: 64 } }), input(/fewer than one batch/));
  await assert.rejects(train({ outDir: tmp(), config: { ...CONFIG, source: { kind: 'dataset', dir: tmp(), valFraction: 0.1 } } }), input(/not a caldera dataset/));
  await assert.rejects(train({ outDir: tmp(), config: { ...CONFIG, epochs: 0 } }), input(/--epochs must be a positive integer/));
});

test('eval of the trained model: scores over the dataset, with the negated inputs', async () => {
  const tm = await loadTrainedModel(RUN);
  const rows = await evaluateDataset(await trainedDetector(tm), DATA, { batch: 16, workers: 0 });
  tm.model.dispose();
  assert.equal(rows.length, 36);
  const r = scoreRows(rows);
  assert.equal(r.n, 36);
  assert.equal(r.confusion.flat().reduce((a, b) => a + b, 0), 36);
  assert.equal(r.box.all.centreErrorPx.n, 24);
  assert.ok(r.signInvariance.agreement >= 0 && r.signInvariance.agreement <= 1);
  assert.ok(r.signInvariance.accuracyNegated >= 0 && r.signInvariance.accuracyNegated <= 1);
});

test('on-the-fly synthetic training through the feeder thread; batches are reproducible', async () => {
  const out = path.join(tmp(), 'fly');
  const cfg: TrainConfig = {
    ...CONFIG, epochs: 1, batch: 4,
    source: { kind: 'synthetic', terrains: [{ spec: { kind: 'procedural' }, weight: 1 }], classes: ['dyke', 'sill', 'none'], seed: 3, valSeed: 4, valCount: 4, stepsPerEpoch: 2 },
  };
  const r = await train({ outDir: out, config: cfg, workers: 1 });
  assert.equal(r.state.imagesSeen, 8);
  assert.equal(readLog(out)[0]!.steps, 2);
  const feeder = await Feeder.start({ source: cfg.source.kind === 'synthetic' ? { kind: 'synthetic', terrains: cfg.source.terrains, classes: cfg.source.classes } : { kind: 'dataset', dir: '' }, format: 'w', incoherentRandom: 0.5 }, 1);
  try {
    const req = { indices: [5, 6, 7], sceneSeed: 3, augmentSeed: 77 };
    const [a, b] = await Promise.all([feeder.fetch(req), feeder.fetch(req)]);
    assert.deepEqual(a.x, b.x);
    assert.deepEqual([...a.classIndex], [2, 0, 1]); // classes in rotation by index
    await assert.rejects(feeder.fetch({ indices: [1], augmentSeed: null }), /sceneSeed/);
  } finally {
    await feeder.close();
  }
});
