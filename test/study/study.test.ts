import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pendingRuns, saveResult, loadResults, spread, summariseStudy, writeReport, type RunResult, type StudyPlan } from '../../src/study/study.js';
import { decodePng } from '../../src/io/png.js';

const classes = ['dyke', 'sill', 'none'];
function result(format: 'www' | 'uud', seed: number, acc: number): RunResult {
  const cm = [[8, 1, 1], [0, 10, 0], [1, 0, 9]];
  return {
    format, seed, trainSeconds: 60, imagesSeen: 1000,
    test: { n: 30, accuracy: acc, f1: { dyke: 0.8, sill: 0.95, none: 0.9 }, macroF1: 0.883, centreErrorMedianPx: 4 + seed, iouMean: 0.6, accuracyNegated: acc - 0.01, confusion: cm },
  };
}

test('spread: mean and sample std; one value has std 0; NaN ignored', () => {
  assert.deepEqual(spread([1, 2, 3]), { mean: 2, std: 1, n: 3 });
  assert.deepEqual(spread([5]), { mean: 5, std: 0, n: 1 });
  assert.equal(spread([NaN]).n, 0);
});

test('study: pending runs skip finished ones; summary and report over seeds', () => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-study-'));
  const plan: StudyPlan = { formats: ['www', 'uud'], seeds: [1, 2], outDir, command: 'caldera study channels ...', description: 'test' };
  assert.equal(pendingRuns(plan).length, 4);
  saveResult(outDir, result('www', 1, 0.9));
  saveResult(outDir, result('www', 2, 0.8));
  saveResult(outDir, result('uud', 1, 0.7));
  assert.deepEqual(pendingRuns(plan), [{ format: 'uud', seed: 2 }]);
  const results = loadResults(plan);
  const rows = summariseStudy(plan, results, classes);
  assert.equal(rows.length, 2);
  const www = rows[0]!;
  assert.equal(www.runs, 2);
  assert.ok(Math.abs(www.accuracy.mean - 0.85) < 1e-12);
  assert.ok(Math.abs(www.accuracy.std - Math.SQRT2 * 0.05) < 1e-12);
  assert.equal(www.centreErrorMedianPx.mean, 5.5);
  assert.deepEqual(www.confusion, [[16, 2, 2], [0, 20, 0], [2, 0, 18]]);
  const report = writeReport(plan, results, classes, 'a finding');
  const md = fs.readFileSync(report, 'utf8');
  assert.match(md, /\| `www` \| wrapped ×3 \| 2 \| 85\.0 ± 7\.1 \|/);
  assert.match(md, /Runs finished: 3 of 4/);
  assert.match(md, /a finding/);
  for (const f of ['scores.png', 'confusion.png']) assert.ok(decodePng(fs.readFileSync(path.join(outDir, f))).width > 300);
});
