import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import {
  applyTemperature, expectedCalibrationError, fitTemperature, negativeLogLikelihood, reliabilityDiagram, softmax,
} from '../../src/evaluate/calibration.js';

/**
 * Calibrated data by construction: true logits z (3 classes), label y ~ softmax(z). A model that is
 * over-confident by temperature T0 reports z * T0; dividing by T0 restores calibration.
 */
function synthetic(seed: number, n: number, t0: number): { logits: number[][]; labels: number[]; calibrated: number[][] } {
  const rng = new Rng(seed);
  const logits: number[][] = [], labels: number[] = [], calibrated: number[][] = [];
  for (let i = 0; i < n; i++) {
    const z = [0, 1, 2].map(() => 1.5 * rng.normal());
    const p = softmax(z);
    const u = rng.next();
    const y = u < p[0]! ? 0 : u < p[0]! + p[1]! ? 1 : 2;
    logits.push(z.map((v) => v * t0));
    labels.push(y);
    calibrated.push(p);
  }
  return { logits, labels, calibrated };
}

test('perfectly calibrated data has ECE near 0', () => {
  const { calibrated, labels } = synthetic(1, 20000, 1);
  const e = expectedCalibrationError(calibrated, labels);
  assert.ok(e < 0.015, `ECE ${e}`);
});

test('temperature scaling recovers an over-confidence temperature within a few % and ECE drops below 3 %', () => {
  for (const t0 of [2.5, 1.6]) {
    const held = synthetic(2, 20000, t0);
    const fit = fitTemperature({ logits: held.logits }, held.labels);
    assert.ok(Math.abs(fit.temperature / t0 - 1) < 0.04, `T ${fit.temperature} vs ${t0}`);
    assert.ok(fit.nllAfter < fit.nllBefore);
    const test_ = synthetic(3, 20000, t0);
    const before = expectedCalibrationError(applyTemperature({ logits: test_.logits }, 1), test_.labels);
    const after = expectedCalibrationError(applyTemperature({ logits: test_.logits }, fit.temperature), test_.labels);
    assert.ok(before > 0.05, `ECE before ${before}`);
    assert.ok(after < 0.03, `ECE after ${after}`);
  }
});

test('fitting on probabilities gives the same temperature as on logits', () => {
  const held = synthetic(4, 5000, 2);
  const probs = applyTemperature({ logits: held.logits }, 1);
  const a = fitTemperature({ logits: held.logits }, held.labels).temperature;
  const b = fitTemperature({ probs }, held.labels).temperature;
  assert.ok(Math.abs(a - b) < 1e-3 * a, `${a} vs ${b}`);
  // An under-confident model (T0 < 1) gets T < 1.
  const under = synthetic(5, 5000, 0.5);
  assert.ok(Math.abs(fitTemperature({ logits: under.logits }, under.labels).temperature - 0.5) < 0.05);
});

test('temperature keeps the arg-max; reliability bins partition the samples', () => {
  const { logits, labels } = synthetic(6, 2000, 3);
  const p1 = applyTemperature({ logits }, 1), p4 = applyTemperature({ logits }, 4);
  const am = (r: number[]): number => r.indexOf(Math.max(...r));
  for (let i = 0; i < p1.length; i++) assert.equal(am(p1[i]!), am(p4[i]!));
  const d = reliabilityDiagram(p1, labels);
  assert.equal(d.length, 15);
  assert.equal(d.reduce((a, b) => a + b.count, 0), 2000);
  for (const b of d) if (b.count) assert.ok(b.confidence > b.lo - 1e-12 && b.confidence <= b.hi + 1e-12);
  // Max probability of 3 classes is >= 1/3: the lowest bins are empty.
  assert.equal(d[0]!.count, 0);
  assert.ok(Number.isNaN(d[0]!.accuracy));
});

test('NLL matches a hand computation; bad input is a RangeError', () => {
  const nll = negativeLogLikelihood({ logits: [[0, Math.log(3)]] }, [1]);
  assert.ok(Math.abs(nll - -Math.log(0.75)) < 1e-12);
  assert.throws(() => fitTemperature({ logits: [[0, 1]] }, [2]), /label 0/);
  assert.throws(() => applyTemperature({ logits: [[0, 1]] }, 0), /temperature/);
  assert.throws(() => expectedCalibrationError([[0.5, 0.5]], [0, 1]), /labels/);
});
