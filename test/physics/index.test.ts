/** The Source union: dispatch and validation. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  gridAxes, mogi, okada, sourceDisplacementGrid, validateSource, type Source,
} from '../../src/physics/index.js';

test('gridAxes: pixel centres relative to the source pixel, row 0 north', () => {
  const { xs, ys } = gridAxes(4, 3, 100);
  assert.deepEqual([...xs], [-150, -50, 50, 150]);
  assert.deepEqual([...ys], [100, 0, -100]);
  const b = gridAxes(3, 3, 10, 0, 2);
  assert.deepEqual([...b.xs], [0, 10, 20]);
  assert.deepEqual([...b.ys], [20, 10, 0]);
  assert.throws(() => gridAxes(0, 3, 10), RangeError);
});

test('sourceDisplacementGrid dispatches mogi to Mogi and dyke/sill/fault to Okada', () => {
  const { xs, ys } = gridAxes(9, 7, 500);
  const m: Source = { kind: 'mogi', depthM: 2000, volumeChangeM3: 1e6 };
  assert.deepEqual(sourceDisplacementGrid(m, xs, ys).up, mogi(m, xs, ys).up);
  const rect = { depthM: 3000, lengthM: 4000, widthM: 3000, strikeDeg: 10, openingM: 0.5 };
  for (const s of [
    { kind: 'dyke', ...rect, dipDeg: 85 },
    { kind: 'sill', ...rect, dipDeg: 2 },
    { kind: 'fault', ...rect, dipDeg: 40, openingM: 0, slipM: 1, rakeDeg: 90 },
  ] as Source[]) {
    const g = sourceDisplacementGrid(s, xs, ys);
    const want = okada(s as never, xs, ys);
    assert.deepEqual([g.east, g.north, g.up], [want.east, want.north, want.up]);
    assert.ok(g.up.some((v) => v !== 0));
  }
});

test('validateSource: one-line RangeError naming the kind and the parameter', () => {
  const cases: [unknown, RegExp][] = [
    [{ kind: 'volcano', depthM: 1 }, /source\.kind must be one of mogi, dyke, sill, fault/],
    [null, /source must be an object/],
    [{ kind: 'mogi', depthM: -1, volumeChangeM3: 1 }, /^mogi: depthM/],
    [{ kind: 'dyke', depthM: 1000, lengthM: 1000, widthM: 5000, strikeDeg: 0, dipDeg: 80, openingM: 1 }, /^dyke: rectangle breaches the surface/],
    [{ kind: 'sill', depthM: 1000, lengthM: 1000, widthM: 500, strikeDeg: 0, dipDeg: -2, openingM: 1 }, /^sill: dipDeg/],
    [{ kind: 'fault', depthM: 1000, lengthM: 1000, widthM: 500, strikeDeg: 'x', dipDeg: 30 }, /^fault: strikeDeg/],
  ];
  for (const [s, re] of cases) {
    assert.throws(() => validateSource(s as Source), (e: unknown) => e instanceof RangeError && re.test(e.message) && !e.message.includes('\n'), String(re));
  }
  assert.throws(() => sourceDisplacementGrid({ kind: 'mogi', depthM: 0, volumeChangeM3: 1 }, [0], [0]), /mogi: depthM/);
  assert.doesNotThrow(() => validateSource({ kind: 'sill', depthM: 1500, lengthM: 4000, widthM: 4000, strikeDeg: 0, dipDeg: 0, openingM: 1 }));
});
