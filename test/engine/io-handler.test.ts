/** Save/load of models as model.json + weights.bin directories. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend.js';
import { buildNetwork } from '../../src/engine/network.js';
import { loadModel, readModelMetadata, saveModel } from '../../src/engine/io-handler.js';

await initBackend();

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-io-'));
}

function input(seed: number): tf.Tensor4D {
  return tf.randomNormal([2, 32, 32, 2], 0, 1, 'float32', seed) as tf.Tensor4D;
}

test('save → load gives identical predictions and keeps metadata', async () => {
  const dir = path.join(tmpDir(), 'nested', 'model');
  const model = buildNetwork({ inputChannels: 2, width: 32, height: 32, variant: 'tiny', seed: 7 });
  const x = input(1);
  const [c0, b0] = model.predict(x) as tf.Tensor[];
  await saveModel(model, dir, { note: 'hello', epochs: 3 });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['model.json', 'weights.bin']);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  assert.equal(json.format, 'layers-model');
  assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
  const loaded = await loadModel(dir);
  const [c1, b1] = loaded.predict(x) as tf.Tensor[];
  assert.deepEqual(Array.from(await c1.data()), Array.from(await c0.data()));
  assert.deepEqual(Array.from(await b1.data()), Array.from(await b0.data()));
  const meta = loaded.getUserDefinedMetadata() as Record<string, unknown>;
  assert.equal(meta.note, 'hello');
  assert.equal(meta.epochs, 3);
  assert.equal((await readModelMetadata(dir)).note, 'hello');
  // Saving again over the same directory works (atomic replace) and leaves no temp files.
  await saveModel(loaded, dir);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['model.json', 'weights.bin']);
  tf.dispose([x, c0, b0, c1, b1]);
  model.dispose();
  loaded.dispose();
});

test('truncated, swapped or missing files give clear errors', async () => {
  const dir = tmpDir();
  const model = buildNetwork({ inputChannels: 1, width: 32, height: 32, variant: 'tiny', seed: 3 });
  await saveModel(model, dir);
  const wPath = path.join(dir, 'weights.bin');
  const good = fs.readFileSync(wPath);

  fs.writeFileSync(wPath, good.subarray(0, good.length - 10));
  await assert.rejects(loadModel(dir), (e: Error) => e.name === 'InputError' && /weights\.bin: expected \d+ bytes .*got \d+ \(truncated\?\)/.test(e.message));

  const flipped = Buffer.from(good);
  flipped[100] ^= 0xff;
  fs.writeFileSync(wPath, flipped);
  await assert.rejects(loadModel(dir), /checksum mismatch/);

  fs.rmSync(wPath);
  await assert.rejects(loadModel(dir), /weights\.bin: missing/);

  fs.writeFileSync(wPath, good);
  fs.writeFileSync(path.join(dir, 'model.json'), '{"modelTopology": ');
  await assert.rejects(loadModel(dir), /model\.json: corrupt/);

  await assert.rejects(loadModel(path.join(dir, 'nope')), /no saved model here/);
  model.dispose();
});
