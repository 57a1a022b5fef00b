/**
 * Prediction on user rasters: the fit into the model square and the box mapping back (checked with
 * a coordinate ramp on a non-square input), input checks, model-directory checks, and that
 * predict sees exactly the input training sees (toExample).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeNpy } from '../../src/io/npy.js';
import { writeGeoTiff } from '../../src/io/geotiff.js';
import { isInputError } from '../../src/core/errors.js';
import { initBackend } from '../../src/engine/backend.js';
import { buildNetwork, predict } from '../../src/engine/network.js';
import { saveModel } from '../../src/engine/io-handler.js';
import { detectorFromForward, trainedDetector } from '../../src/scan/detector.js';
import { boxToInput, predictionJson, prepareInput, predictRaster, readInterferogram, readRaster, resampleToSquare, squareFit } from '../../src/scan/predict.js';
import { toExample } from '../../src/data/inputs.js';
import { sceneConfig, sceneForIndex } from '../../src/data/generate.js';
import { buildTerrain } from '../../src/data/terrain-source.js';
import { losToPhaseArray } from '../../src/physics/units.js';
import { DEFAULT_MODEL_DIR, loadTrainedModel, MODEL_META_KEY } from '../../src/engine/trained-model.js';

await initBackend();
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-predict-'));
after(() => fs.rmSync(ROOT, { recursive: true, force: true }));
const tmp = (): string => fs.mkdtempSync(path.join(ROOT, 'd-'));

async function savedModel(format: string, size = 64): Promise<string> {
  const dir = path.join(tmp(), 'm');
  const model = buildNetwork({ inputChannels: format.length, width: size, height: size, variant: 'tiny', seed: 3 });
  await saveModel(model, dir, { [MODEL_META_KEY]: { channelFormat: format, inputSize: size, classes: ['dyke', 'sill', 'none'], arch: 'tiny' } });
  model.dispose();
  return dir;
}

test('squareFit pads the short side, centred; 224×224 is the identity', () => {
  assert.deepEqual(squareFit(300, 100, 224), { width: 300, height: 100, side: 300, padX: 0, padY: 100, size: 224, scale: 300 / 224 });
  assert.deepEqual(squareFit(51, 80, 40), { width: 51, height: 80, side: 80, padX: 14, padY: 0, size: 40, scale: 2 });
  const id = squareFit(224, 224, 224);
  const ramp = Float32Array.from({ length: 224 * 224 }, (_, i) => i);
  assert.deepEqual(resampleToSquare(ramp, id), ramp);
  const b = boxToInput([0.5, 0.25, 0.125, 0.25], id);
  assert.deepEqual(b, { x: 112, y: 56, halfWidth: 28, halfHeight: 56 });
});

test('non-square input: resampled pixels and mapped boxes land on the same input coordinates', () => {
  // A 160 (W) × 96 (H) raster whose value is its own column (then its own row): after the fit to
  // 32×32 (5 input pixels per model pixel) each model pixel holds the mean input coordinate of its
  // footprint, which is where boxToInput must put a box centred on that pixel.
  const W = 160, H = 96, S = 32;
  const fit = squareFit(W, H, S);
  assert.equal(fit.padY, 32);
  assert.equal(fit.scale, 5);
  const colRamp = Float32Array.from({ length: W * H }, (_, i) => i % W);
  const rowRamp = Float32Array.from({ length: W * H }, (_, i) => Math.floor(i / W));
  const cols = resampleToSquare(colRamp, fit);
  const rows = resampleToSquare(rowRamp, fit);
  // Model rows 7..24 hold input rows (7·5 − 32 = 3 .. 24·5 − 32 + 5 = 93), fully inside.
  for (const [j, i] of [[0, 7], [10, 13], [31, 20], [17, 24]] as const) {
    const b = boxToInput([j / S, i / S, 4 / S, 2 / S], fit);
    assert.ok(Math.abs(cols[i * S + j]! - b.x) < 1e-4, `x at (${j},${i}): ${cols[i * S + j]} vs ${b.x}`);
    assert.ok(Math.abs(rows[i * S + j]! - b.y) < 1e-4, `y at (${j},${i}): ${rows[i * S + j]} vs ${b.y}`);
    assert.equal(b.halfWidth, 20);
    assert.equal(b.halfHeight, 10);
  }
  // The padding is masked: row 5 covers input rows −7..−2, row 6 covers −2..3 (3/5 valid: kept),
  // row 25 covers 93..98 (3/5 valid: kept), row 26 covers 98..103 (none).
  assert.ok(Number.isNaN(rows[5 * S + 5]!));
  assert.ok(Number.isFinite(rows[6 * S + 5]!));
  assert.ok(Number.isFinite(rows[25 * S + 5]!));
  assert.ok(Number.isNaN(rows[26 * S + 5]!));
  // Masked input pixels: an output pixel needs at least half its footprint valid.
  const holes = Float32Array.from(colRamp);
  for (let y = 0; y < H; y++) for (let x = 0; x < 83; x++) holes[y * W + x] = NaN;
  const h = resampleToSquare(holes, fit);
  assert.ok(Number.isNaN(h[15 * S + 16]!)); // footprint x 80..85: 2/5 valid
  assert.ok(Number.isFinite(h[15 * S + 17]!)); // 85..90: valid
  assert.equal(h[15 * S + 17], 87);
  // Upsampling (a small input) maps back the same way.
  const small = squareFit(20, 10, 64);
  const up = resampleToSquare(Float32Array.from({ length: 200 }, (_, i) => i % 20), small);
  const b = boxToInput([40 / 64, 32 / 64, 0, 0], small);
  assert.ok(Math.abs(b.x - ((40.5 * 20) / 64 - 0.5)) < 1e-9);
  assert.ok(Math.abs(up[32 * 64 + 40]! - b.x) < 1e-4); // bilinear: the input coordinate under the centre
});

test('readRaster: .npy and GeoTIFF in; wrong shape, all-NaN, multi-band, unknown type out with clear errors', async () => {
  const d = tmp();
  const data = Float32Array.from({ length: 12 }, (_, i) => i);
  writeNpy(path.join(d, 'ok.npy'), { data, shape: [3, 4] });
  const r = await readRaster(path.join(d, 'ok.npy'));
  assert.equal(r.width, 4);
  assert.equal(r.height, 3);
  writeNpy(path.join(d, 'f64.npy'), { data: Float64Array.from(data), shape: [3, 4] });
  assert.ok((await readRaster(path.join(d, 'f64.npy'))).data instanceof Float32Array);
  const bad = async (file: string, re: RegExp): Promise<void> => {
    await assert.rejects(readRaster(file), (e: unknown) => isInputError(e) && re.test((e as Error).message) && !(e as Error).message.includes('\n'));
  };
  writeNpy(path.join(d, 'cube.npy'), { data: new Float32Array(8), shape: [2, 2, 2] });
  await bad(path.join(d, 'cube.npy'), /2-D array.*\(2, 2, 2\)/);
  writeNpy(path.join(d, 'nan.npy'), { data: new Float32Array(9).fill(NaN), shape: [3, 3] });
  await bad(path.join(d, 'nan.npy'), /every value is NaN/);
  fs.writeFileSync(path.join(d, 'x.png'), 'no');
  await bad(path.join(d, 'x.png'), /unsupported input/);
  fs.writeFileSync(path.join(d, 'trunc.npy'), fs.readFileSync(path.join(d, 'ok.npy')).subarray(0, 100));
  await bad(path.join(d, 'trunc.npy'), /truncated/);
  const geo = { west: 14, north: 41, dLon: 0.001, dLat: -0.001 };
  await writeGeoTiff(path.join(d, 'two.tif'), { width: 4, height: 3, data }, geo, { extraBands: [data] });
  await bad(path.join(d, 'two.tif'), /2 bands/);
  await writeGeoTiff(path.join(d, 'los.tif'), { width: 4, height: 3, data: Float32Array.from(data, (v) => v / 1000) }, geo);
  const m = await readInterferogram(path.join(d, 'los.tif'), 'm');
  assert.ok(Math.abs(m.phaseRad[5]! - losToPhaseArray(Float32Array.of(0.005))[0]!) < 1e-4);
});

test('loadTrainedModel: clear errors for missing, corrupt, truncated and non-caldera models, unknown formats', async () => {
  const ok = await savedModel('w');
  const tm = await loadTrainedModel(ok);
  assert.equal(tm.format, 'w');
  assert.equal(tm.size, 64);
  tm.model.dispose();
  assert.match(DEFAULT_MODEL_DIR, /models[/\\]default[/\\]?$/);
  const fails = async (dir: string, re: RegExp): Promise<void> => {
    await assert.rejects(loadTrainedModel(dir), (e: unknown) => isInputError(e) && re.test((e as Error).message));
  };
  await fails(path.join(tmp(), 'nothing'), /no saved model/);
  const trunc = await savedModel('w');
  const wb = path.join(trunc, 'weights.bin');
  fs.writeFileSync(wb, fs.readFileSync(wb).subarray(0, 1000));
  await fails(trunc, /truncated/);
  const corrupt = await savedModel('w');
  fs.writeFileSync(path.join(corrupt, 'model.json'), '{"modelTopology": ');
  await fails(corrupt, /corrupt/);
  for (const [format, re] of [['xyz', /unknown channel format 'xyz'/], [null, /not a caldera model/]] as const) {
    const dir = await savedModel('w');
    const j = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    if (format === null) delete j.userDefinedMetadata[MODEL_META_KEY];
    else j.userDefinedMetadata[MODEL_META_KEY].channelFormat = format;
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(j));
    await fails(dir, re);
  }
  const mismatch = await savedModel('www');
  const j = JSON.parse(fs.readFileSync(path.join(mismatch, 'model.json'), 'utf8'));
  j.userDefinedMetadata[MODEL_META_KEY].channelFormat = 'w';
  fs.writeFileSync(path.join(mismatch, 'model.json'), JSON.stringify(j));
  await fails(mismatch, /does not match its metadata/);
});

test('a DEM-channel model without a DEM is a clear error; with one it runs', async () => {
  const tm = await loadTrainedModel(await savedModel('wwd'));
  const d = await trainedDetector(tm);
  const r = { width: 64, height: 64, phaseRad: new Float32Array(64 * 64).fill(1) };
  await assert.rejects(predictRaster(d, r), (e: unknown) => isInputError(e) && /needs a DEM: pass --dem/.test((e as Error).message));
  const res = await predictRaster(d, r, { demM: new Float32Array(64 * 64).fill(500) });
  assert.equal(res.probabilities.length, 3);
  tm.model.dispose();
});

test('predict sees the same input as training (toExample) and maps the box to input pixels; --sign runs both signs', async () => {
  const dir = path.join(tmp(), 'm224');
  const model = buildNetwork({ inputChannels: 1, variant: 'tiny', seed: 9 });
  await saveModel(model, dir, { [MODEL_META_KEY]: { channelFormat: 'w', inputSize: 224 } });
  model.dispose();
  const tm = await loadTrainedModel(dir);
  const terrain = await buildTerrain({ kind: 'procedural' }, 224, 90);
  const scene = sceneForIndex(1, 42, ['dyke', 'sill', 'none'], terrain.provider, sceneConfig({}));
  const phase = losToPhaseArray(scene.losM);
  for (let i = 0; i < phase.length; i++) if (scene.mask[i]) phase[i] = NaN;
  const raster = { width: 224, height: 224, phaseRad: phase };
  assert.deepEqual(prepareInput(raster, 'w', 224).x, toExample(scene, 'w').x);
  const x = tf.tensor4d(toExample(scene, 'w').x, [1, 224, 224, 1]);
  const direct = predict(tm.model, x);
  const probs = direct.classProbs.dataSync();
  const box = direct.box.dataSync();
  const res = await predictRaster(await trainedDetector(tm, { symmetric: true }), raster);
  const plain = await predictRaster(await trainedDetector(tm), raster);
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(plain.probabilities[j]! - probs[j]!) < 1e-6);
  assert.ok(Math.abs(plain.box.x - box[0]! * 224) < 1e-3);
  assert.ok(Math.abs(plain.box.halfHeight - box[3]! * 224) < 1e-3);
  assert.ok(res.negated);
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(res.probabilities[j]! - (plain.probabilities[j]! + res.negated.probabilities[j]!) / 2) < 1e-6);
  tf.dispose([x, direct.classProbs, direct.box]);
  tm.model.dispose();
});

test('predict on a lon/lat GeoTIFF: box corners in lon/lat, the same record fields as scan, thresholds', async () => {
  const d = tmp();
  const W = 200, H = 100;
  const geo = { west: 14, north: 41, dLon: 0.001, dLat: -0.0008 };
  await writeGeoTiff(path.join(d, 'g.tif'), { width: W, height: H, data: new Float32Array(W * H).fill(1) }, geo);
  const r = await readInterferogram(path.join(d, 'g.tif'), 'rad');
  assert.deepEqual(r.lonLatGrid && [r.lonLatGrid.west, r.lonLatGrid.north], [14, 41]);
  // A fake network: sill 0.9, box centred at square pixel (0.25, 0.5) of 64, half-size 8 × 4 pixels.
  const fake = (p: number) => detectorFromForward(() => ({ probs: Float32Array.of(0.05, p, 0.95 - p), boxes: Float32Array.of(0.25, 0.5, 8 / 64, 4 / 64) }), { format: 'w', size: 64, name: 'fake' });
  const res = await predictRaster(fake(0.9), r);
  // s = 200 / 64 = 3.125, padY = 50: centre x = (16 + 0.5)·s − 0.5 = 51.06, y = (32 + 0.5)·s − 0.5 − 50 = 51.06.
  assert.equal(res.verdict, 'detection');
  assert.ok(Math.abs(res.box.x - 51.0625) < 1e-9 && Math.abs(res.box.y - 51.0625) < 1e-9);
  const [nw, , se] = res.polygon!;
  assert.ok(Math.abs(nw![0] - (14 + (51.5625 - 25) * 0.001)) < 1e-9, `west ${nw![0]}`);
  assert.ok(Math.abs(nw![1] - (41 - (51.5625 - 12.5) * 0.0008)) < 1e-9, `north ${nw![1]}`);
  assert.ok(Math.abs(se![0] - (14 + (51.5625 + 25) * 0.001)) < 1e-9);
  const j = predictionJson('g.tif', res) as Record<string, any>;
  assert.deepEqual(Object.keys(j).filter((k) => ['verdict', 'class', 'probability', 'probabilities', 'box'].includes(k)), ['verdict', 'class', 'probability', 'probabilities', 'box']);
  assert.equal(j.class, 'sill');
  assert.equal(j.probability, 0.9);
  assert.deepEqual(j.box.pixels, [26.56, 39.06, 76.56, 64.06]);
  assert.deepEqual(j.box.window, [16, 32, 8, 4]);
  assert.deepEqual(j.box.lonLat, [14.026563, 40.948750, 14.076563, 40.968750].map((v) => Math.round(v * 1e6) / 1e6));
  assert.equal(j.box.polygon.length, 4);
  // The same answer at 0.6 is below the threshold; a stricter threshold applies to both.
  assert.equal((await predictRaster(fake(0.6), r)).verdict, 'below threshold');
  assert.equal((await predictRaster(fake(0.6), r, { minScore: 0.5 })).verdict, 'detection');
  await assert.rejects(predictRaster(fake(0.6), r, { maxMasked: 1.5 }), /max masked must be within 0\.\.1/);
  // A projected grid has no lon/lat.
  await writeGeoTiff(path.join(d, 'utm.tif'), { width: W, height: H, data: new Float32Array(W * H).fill(1) }, { west: 500000, north: 4500000, dLon: 90, dLat: -90 });
  assert.equal((await readInterferogram(path.join(d, 'utm.tif'), 'rad')).lonLatGrid, null);
});
