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

test('reordered weightsManifest entries are refused (they would load bytes into the wrong layers), also in older saves', async () => {
  const dir = tmpDir();
  const model = buildNetwork({ inputChannels: 1, width: 32, height: 32, variant: 'tiny', seed: 3 });
  await saveModel(model, dir);
  const jsonPath = path.join(dir, 'model.json');
  const good = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  const weights = good.weightsManifest[0].weights as { name: string; shape: number[] }[];
  // Two entries of the same shape swapped: the bytes, sizes and whole-file checksum all still match.
  const key = (w: { shape: number[] }) => JSON.stringify(w.shape);
  const i = weights.findIndex((w, k) => weights.some((v, j) => j > k && key(v) === key(w)));
  const j = weights.findIndex((v, k) => k > i && key(v) === key(weights[i]!));
  assert.ok(i >= 0 && j > i, 'two weights of one shape');
  const swapped = structuredClone(good);
  const ws = swapped.weightsManifest[0].weights;
  [ws[i], ws[j]] = [ws[j], ws[i]];
  fs.writeFileSync(jsonPath, JSON.stringify(swapped));
  await assert.rejects(loadModel(dir), (e: Error) => e.name === 'InputError' && new RegExp(`weightsManifest entry ${i} is '${weights[j]!.name}'.*reordered`).test(e.message));
  // The same file as saved before per-weight records: the order check against the built model catches it.
  delete swapped.userDefinedMetadata.caldera.weights;
  fs.writeFileSync(jsonPath, JSON.stringify(swapped));
  await assert.rejects(loadModel(dir), (e: Error) => e.name === 'InputError' && /reordered or edited/.test(e.message));
  // An old save, unchanged, still loads.
  const old = structuredClone(good);
  delete old.userDefinedMetadata.caldera.weights;
  fs.writeFileSync(jsonPath, JSON.stringify(old));
  (await loadModel(dir)).dispose();
  // Reversed entirely (different shapes): refused too.
  const reversed = structuredClone(good);
  reversed.weightsManifest[0].weights.reverse();
  fs.writeFileSync(jsonPath, JSON.stringify(reversed));
  await assert.rejects(loadModel(dir), /reordered or edited/);
  model.dispose();
});

test('unknown layer classes and wrong-typed manifests are one-line InputErrors', async () => {
  const dir = tmpDir();
  const model = buildNetwork({ inputChannels: 1, width: 32, height: 32, variant: 'tiny', seed: 3 });
  await saveModel(model, dir);
  const jsonPath = path.join(dir, 'model.json');
  const good = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  const oneLine = (re: RegExp) => (e: Error) => e.name === 'InputError' && !e.message.includes('\n') && re.test(e.message);
  const unknown = structuredClone(good);
  unknown.modelTopology.config.layers[1].class_name = 'MyCustomLayer';
  fs.writeFileSync(jsonPath, JSON.stringify(unknown));
  await assert.rejects(loadModel(dir), oneLine(/cannot build the model \(unknown layer class 'MyCustomLayer'/));
  for (const edit of [
    (j: any) => { j.weightsManifest[0].paths = [7]; },
    (j: any) => { j.weightsManifest[0].weights[0] = null; },
    (j: any) => { j.weightsManifest[0].weights[0].shape = 'x'; },
    (j: any) => { j.weightsManifest[0].weights[0].dtype = 'toString'; },
    (j: any) => { j.modelTopology = 5; },
    (j: any) => { j.userDefinedMetadata = []; },
  ]) {
    const bad = structuredClone(good);
    edit(bad);
    fs.writeFileSync(jsonPath, JSON.stringify(bad));
    await assert.rejects(loadModel(dir), oneLine(/model\.json/));
  }
  model.dispose();
});

test('topologies tfjs would loop on or allocate gigabytes for are refused first (found by the fuzz harness)', async () => {
  const dir = tmpDir();
  const model = buildNetwork({ inputChannels: 1, width: 32, height: 32, variant: 'tiny', seed: 3 });
  await saveModel(model, dir);
  const jsonPath = path.join(dir, 'model.json');
  const good = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  const layers = good.modelTopology.config.layers as any[];
  const conv = layers.findIndex((l) => l.class_name === 'Conv2D');
  const withInbound = layers.findIndex((l) => (l.inbound_nodes ?? []).length > 0);
  const cases: [(j: any) => void, RegExp][] = [
    [(j) => { j.modelTopology.config.layers[withInbound].inbound_nodes[0][0][0] = 'no_such_layer'; }, /takes its input from 'no_such_layer'/],
    [(j) => { j.modelTopology.config.layers[withInbound].inbound_nodes[0] = []; }, /inbound node is not a non-empty list/],
    [(j) => { delete j.modelTopology.config.layers[withInbound].name; }, /has no name/],
    [(j) => { j.modelTopology.config.layers[withInbound].inbound_nodes[0][0][1] = 5; }, /can never be built/],
    [(j) => { j.modelTopology.config.layers[conv].config.filters = 1000000; }, /more than the weights file holds/],
  ];
  for (const [edit, re] of cases) {
    const bad = structuredClone(good);
    edit(bad);
    fs.writeFileSync(jsonPath, JSON.stringify(bad));
    const t0 = Date.now();
    await assert.rejects(loadModel(dir), (e: Error) => e.name === 'InputError' && !e.message.includes('\n') && re.test(e.message));
    assert.ok(Date.now() - t0 < 3000, `${re}: ${Date.now() - t0} ms`);
  }
  model.dispose();
});
