import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { InputError, isInputError } from '../../src/core/errors.js';
import { OnnxEngine } from '../../src/engine/onnx-engine.js';
import { loadVolcanoList } from '../../src/scan/points.js';
import { readEpisodes } from '../../src/data/episodes.js';
import { listSamples } from '../../src/data/real.js';
import { readCalibrationTemperature } from '../../src/scan/detector.js';
import { withDir } from '../helpers/files.js';

test('InputError: a message with line breaks becomes one line', () => {
  const e = new InputError('file.json: bad JSON (Unexpected token\n  {"a": 1,\r\n   ^\n)');
  assert.equal(e.message, 'file.json: bad JSON (Unexpected token {"a": 1, ^ )');
  assert.ok(!/[\r\n]/.test(e.message));
  assert.ok(isInputError(e));
  assert.ok(e instanceof RangeError);
  assert.equal(new InputError('one line already').message, 'one line already');
});

test('JSON inputs (volcano list, episodes, real samples, calibration) fail in one line; a FIFO is refused, not waited on', async () => {
  await withDir('caldera-errors-', async (dir) => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{\n  "volcanoes": [\n    {"name": "A",\n  ]\n}\n');
    const oneLineError = (f: () => unknown, re: RegExp): void => {
      assert.throws(f, (e: unknown) => {
        assert.ok(isInputError(e), String(e));
        assert.ok(!/\n/.test((e as Error).message), (e as Error).message);
        assert.match((e as Error).message, re);
        return true;
      });
    };
    oneLineError(() => loadVolcanoList(bad), /bad\.json: not a JSON volcano list/);
    oneLineError(() => readEpisodes(bad), /bad\.json: not valid JSON/);
    const real = path.join(dir, 'real');
    fs.mkdirSync(path.join(real, 'samples', 's1'), { recursive: true });
    fs.copyFileSync(bad, path.join(real, 'samples', 's1', 'sample.json'));
    oneLineError(() => listSamples(real), /sample\.json: corrupt/);
    const model = path.join(dir, 'model');
    fs.mkdirSync(model);
    fs.copyFileSync(bad, path.join(model, 'calibration.json'));
    oneLineError(() => readCalibrationTemperature(model), /calibration\.json: cannot read the calibration/);

    const fifo = path.join(dir, 'pipe');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      return; // no mkfifo here
    }
    oneLineError(() => loadVolcanoList(fifo), /FIFO/);
    oneLineError(() => readEpisodes(fifo), /FIFO/);
    const onnx = path.join(dir, 'model.onnx');
    execFileSync('mkfifo', [onnx]);
    await assert.rejects(OnnxEngine.fromFile(onnx), (e: unknown) => isInputError(e) && /model\.onnx.*FIFO/.test((e as Error).message));
  });
});
