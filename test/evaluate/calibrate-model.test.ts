/**
 * Calibrating a model: the temperature fitted on evaluated rows (overconfident answers get T > 1
 * and a smaller ECE, also out of sample), written beside the model, and applied by the detector
 * to every forward pass exactly as evaluate/calibration.ts would.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { applyTemperature } from '../../src/evaluate/calibration.js';
import { calibrationFromRows, calibrationText, writeCalibration } from '../../src/evaluate/calibrate-model.js';
import type { EvalRow } from '../../src/evaluate/evaluate.js';
import { calibrationFile, detectorFromForward, loadDetector, readCalibrationTemperature, temperatureScale } from '../../src/scan/detector.js';
import { isInputError } from '../../src/core/errors.js';
import { initBackend } from '../../src/engine/backend.js';
import { buildNetwork } from '../../src/engine/network.js';
import { saveModel } from '../../src/engine/io-handler.js';
import { MODEL_META_KEY } from '../../src/engine/trained-model.js';

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-calibrate-'));
after(() => fs.rmSync(ROOT, { recursive: true, force: true }));

/** An overconfident classifier: 75 % right, always ~0.97 sure. */
function overconfidentRows(n: number, seed: number): EvalRow[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const trueClass = rng.int(0, 2);
    const right = rng.chance(0.75);
    const predicted = right ? trueClass : (trueClass + rng.int(1, 2)) % 3;
    const top = 0.94 + 0.05 * rng.next();
    const probabilities = [0, 1, 2].map((k) => (k === predicted ? top : (1 - top) / 2));
    const box = { x: 0, y: 0, halfWidth: 1, halfHeight: 1 };
    return { index: i, terrain: 't', trueClass, predictedClass: predicted, predictedClassNegated: predicted, probabilities, trueBox: null, predictedBox: box };
  });
}

test('an overconfident model gets T > 1 and a smaller ECE, in sample and two-fold held out', () => {
  const c = calibrationFromRows(overconfidentRows(600, 1), 'somewhere');
  assert.ok(c.temperature > 1.5, `T ${c.temperature}`);
  assert.ok(c.eceBefore > 0.15, `ECE before ${c.eceBefore}`);
  assert.ok(c.eceAfter < 0.05, `ECE after ${c.eceAfter}`);
  assert.ok(c.heldOut.eceAfter < 0.06, `held-out ECE after ${c.heldOut.eceAfter}`);
  assert.ok(c.nllAfter < c.nllBefore);
  assert.equal(c.n, 600);
  assert.equal(c.data, 'somewhere');
  assert.match(calibrationText(c), /^temperature \d\.\d{3} on 600 samples: ECE \d+\.\d % -> \d+\.\d % \(two-fold held out/);
  assert.throws(() => calibrationFromRows([]), /at least 2/);
});

test('the detector applies the temperature to each pass (as applyTemperature), never changing the class', async () => {
  const raw = [[0.97, 0.02, 0.01], [0.2, 0.5, 0.3]];
  const forward = (inputs: Float32Array[]) => ({
    probs: Float32Array.from(inputs.flatMap((x) => raw[x[0]! > 0 ? 0 : 1]!)),
    boxes: new Float32Array(inputs.length * 4).fill(0.5),
  });
  const spec = { format: 'w' as const, size: 2, name: 'fake' };
  const x = [Float32Array.from([1, 1, 1, 1]), Float32Array.from([-1, -1, -1, -1])];
  const plain = await detectorFromForward(forward, spec).run(x);
  const cal = await detectorFromForward(forward, { ...spec, temperature: 2.5 }).run(x);
  const expected = applyTemperature({ probs: raw }, 2.5);
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) {
      assert.ok(Math.abs(cal[i]!.probs[j]! - expected[i]![j]!) < 1e-6);
      assert.ok(Math.abs(plain[i]!.probs[j]! - Math.fround(raw[i]![j]!)) < 1e-7);
    }
  }
  assert.ok(cal[0]!.probs[0]! < 0.85 && cal[0]!.probs[0]! > 0.5, `softened: ${cal[0]!.probs[0]}`);
  // Sign symmetry: each pass calibrated, then averaged (the negated input reads the other row here).
  const sym = await detectorFromForward(forward, { ...spec, temperature: 2.5 }, true).run([x[0]!]);
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(sym[0]!.probs[j]! - (expected[0]![j]! + expected[1]![j]!) / 2) < 1e-6);
  assert.deepEqual(temperatureScale([0.5, 0.25, 0.25], 1).map((v) => Math.round(v * 1e9) / 1e9), [0.5, 0.25, 0.25]);
  assert.throws(() => detectorFromForward(forward, { ...spec, temperature: 0 }), /temperature must be > 0/);
});

test('calibration.json beside the model: written, read by loadDetector, ignored with calibrated: false; bad files are one-line errors', async () => {
  await initBackend();
  const dir = path.join(ROOT, 'model');
  const m = buildNetwork({ inputChannels: 1, width: 64, height: 64, variant: 'tiny', seed: 2 });
  await saveModel(m, dir, { [MODEL_META_KEY]: { channelFormat: 'w', inputSize: 64 } });
  m.dispose();
  assert.equal(readCalibrationTemperature(dir), null);
  const c = calibrationFromRows(overconfidentRows(100, 4));
  assert.equal(writeCalibration(dir, c), path.join(dir, 'calibration.json'));
  assert.equal(readCalibrationTemperature(dir), c.temperature);
  const d = await loadDetector(dir, { engine: 'tfjs' });
  assert.equal(d.temperature, c.temperature);
  const u = await loadDetector(dir, { engine: 'tfjs', calibrated: false });
  assert.equal(u.temperature, undefined);
  const x = new Float32Array(64 * 64).map((_, i) => Math.sin(i / 50));
  const [a] = await d.run([x]);
  const [b] = await u.run([x]);
  const expected = applyTemperature({ probs: [[...b!.probs]] }, c.temperature)[0]!;
  for (let j = 0; j < 3; j++) assert.ok(Math.abs(a!.probs[j]! - expected[j]!) < 1e-5);
  assert.equal(calibrationFile('/m/net.onnx'), '/m/net.calibration.json');
  fs.writeFileSync(path.join(dir, 'calibration.json'), '{"temperature": -1}');
  assert.throws(() => readCalibrationTemperature(dir), (e: unknown) => isInputError(e) && /temperature must be a number > 0/.test((e as Error).message));
  fs.writeFileSync(path.join(dir, 'calibration.json'), '{');
  assert.throws(() => readCalibrationTemperature(dir), /cannot read the calibration/);
});
