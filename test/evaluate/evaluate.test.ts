/** Evaluation scores: pure functions checked on hand-worked confusion matrices and boxes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxReport, classReport, confusion, denormaliseBox, histogram, quantileSorted, summarise } from '../../src/evaluate/metrics.js';
import { reportFigure, reportText, scoreRows, type EvalRow } from '../../src/evaluate/evaluate.js';

const near = (a: number, b: number, tol = 1e-12, msg?: string): void => assert.ok(Math.abs(a - b) <= tol, msg ?? `${a} vs ${b}`);

test('confusion counts [true][predicted]; out-of-range indices are errors', () => {
  assert.deepEqual(confusion([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3), [[1, 1, 0], [0, 1, 0], [1, 0, 2]]);
  assert.throws(() => confusion([0, 3], [0, 1], 3), /out of range/);
  assert.throws(() => confusion([0], [0, 1], 3), /labels but/);
});

test('classReport on a known matrix: accuracy, precision, recall, F1', () => {
  // rows true dyke/sill/none; columns predicted.
  const cm = [[8, 2, 0], [1, 6, 3], [0, 0, 10]];
  const r = classReport(cm, ['dyke', 'sill', 'none']);
  assert.equal(r.n, 30);
  near(r.accuracy, 24 / 30);
  near(r.perClass['dyke']!.precision, 8 / 9);
  near(r.perClass['dyke']!.recall, 8 / 10);
  near(r.perClass['dyke']!.f1, (2 * (8 / 9) * 0.8) / (8 / 9 + 0.8));
  near(r.perClass['sill']!.precision, 6 / 8);
  near(r.perClass['sill']!.recall, 6 / 10);
  near(r.perClass['none']!.precision, 10 / 13);
  near(r.perClass['none']!.recall, 1);
  assert.equal(r.perClass['sill']!.support, 10);
  near(r.macroF1, (r.perClass['dyke']!.f1 + r.perClass['sill']!.f1 + r.perClass['none']!.f1) / 3);
  // A class never predicted and never present: zeros, not NaN.
  const z = classReport([[2, 0], [0, 0]], ['a', 'b']);
  assert.deepEqual(z.perClass['b'], { precision: 0, recall: 0, f1: 0, support: 0 });
});

test('summaries: mean, median, p90 (numpy linear interpolation); empty is NaN', () => {
  const s = summarise([5, 1, 4, 2, 3, 10, 6, 7, 8, 9]);
  assert.equal(s.n, 10);
  near(s.mean, 5.5);
  near(s.median, 5.5);
  near(s.p90, 9.1);
  near(quantileSorted([0, 10], 0.25), 2.5);
  assert.ok(Number.isNaN(summarise([]).median));
  assert.deepEqual(histogram([0, 1.9, 2, 5, 99, -1, NaN], 0, 6, 3), [2, 1, 2]);
  assert.deepEqual(denormaliseBox([0.5, 0.25, 0.1, 0.2], 200, 100), { x: 100, y: 25, halfWidth: 20, halfHeight: 20 });
});

test('boxReport: IoU and centre error over detected and over all true-box samples', () => {
  const b = (x: number, y: number, h = 10) => ({ x, y, halfWidth: h, halfHeight: h });
  const r = boxReport([
    { trueClass: 0, predictedClass: 0, trueBox: b(50, 50), predictedBox: b(53, 54) }, // error 5, IoU (17·16)/(800 − 272)
    { trueClass: 1, predictedClass: 2, trueBox: b(50, 50), predictedBox: b(50, 50) }, // missed: counts in 'all' only
    { trueClass: 2, predictedClass: 2, trueBox: null, predictedBox: b(0, 0) }, // no true box: ignored
    { trueClass: 1, predictedClass: 1, trueBox: b(20, 20), predictedBox: b(20, 20, 5) }, // IoU 0.25, error 0
    { trueClass: 0, predictedClass: 0, trueBox: b(90, 30), predictedBox: b(90, 38) }, // error 8, IoU (20·12)/(800 − 240)
  ], 2);
  const iouShift = (17 * 16) / (800 - 17 * 16);
  const iouSlide = (20 * 12) / (800 - 20 * 12);
  assert.equal(r.detected.centreErrorPx.n, 3);
  near(r.detected.centreErrorPx.mean, 13 / 3, 1e-12);
  near(r.detected.centreErrorPx.median, 5); // the middle of 0, 5, 8: not the mean
  near(r.detected.iou.median, iouSlide, 1e-12); // the middle of 0.25, 0.43, 0.52
  near(r.detected.iou.mean, (iouShift + 0.25 + iouSlide) / 3, 1e-12);
  assert.equal(r.all.centreErrorPx.n, 4);
  near(r.all.centreErrorPx.median, 2.5); // 0, 0, 5, 8: the mean of the middle two
});

test('scoreRows: confusion, sign invariance and per-terrain accuracy; text and figure', () => {
  const box = { x: 10, y: 10, halfWidth: 5, halfHeight: 5 };
  const row = (t: number, p: number, pn: number, terrain: string): EvalRow => ({
    index: 0, terrain, trueClass: t, predictedClass: p, predictedClassNegated: pn, probabilities: [0, 0, 0],
    trueBox: t === 2 ? null : box, predictedBox: { ...box, x: 13, y: 14 },
  });
  const rows = [row(0, 0, 0, 'Kuju'), row(0, 1, 0, 'Kuju (land)'), row(1, 1, 1, 'Lopevi'), row(2, 2, 1, 'Lopevi')];
  const r = scoreRows(rows);
  assert.equal(r.n, 4);
  near(r.accuracy, 0.75);
  assert.deepEqual(r.confusion, [[1, 1, 0], [0, 1, 0], [0, 0, 1]]);
  assert.deepEqual(r.signInvariance.confusionNegated, [[2, 0, 0], [0, 1, 0], [0, 1, 0]]);
  near(r.signInvariance.accuracyNegated, 0.75);
  near(r.signInvariance.agreement, 0.5);
  near(r.signInvariance.perClassRecallNegated['none']!, 0);
  assert.deepEqual(r.byTerrain, { Kuju: { n: 2, accuracy: 0.5 }, Lopevi: { n: 2, accuracy: 1 } });
  near(r.box.detected.centreErrorPx.median, 5);
  assert.equal(r.box.all.centreErrorPx.n, 3);
  assert.deepEqual(Object.keys(r.centreErrorByClass), ['dyke', 'sill']);
  assert.equal(r.centreErrorByClass['dyke']!.n, 2); // a dyke taken for a sill still has a box
  assert.match(reportText(r), /median centre error by class: dyke 5\.0 px, sill 5\.0 px/);
  assert.match(reportText(r), /accuracy 75\.0%/);
  const fig = reportFigure(r, rows, 'test');
  assert.ok(fig.width > 600 && fig.height > 200);
  assert.equal(fig.data.length, fig.width * fig.height * 4);
});
