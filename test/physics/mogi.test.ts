/** Mogi (1958) point source against its closed form. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mogi, mogiPoint } from '../../src/physics/mogi.js';

const close = (a: number, b: number, rel = 1e-12): boolean => Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-300);

test('closed form: directly above and at offset points', () => {
  const s = { depthM: 2000, volumeChangeM3: 1e6, poisson: 0.25 };
  const above = mogiPoint(s, 0, 0);
  assert.ok(close(above.up, (0.75 * 1e6) / (Math.PI * 2000 ** 2)));
  assert.equal(above.east, 0);
  assert.equal(above.north, 0);
  for (const [x, y] of [[1000, 0], [-500, 1500], [3000, -4000]] as const) {
    const u = mogiPoint(s, x, y);
    const R3 = (x * x + y * y + 2000 ** 2) ** 1.5;
    const c = (0.75 * 1e6) / Math.PI;
    assert.ok(close(u.east, (c * x) / R3) && close(u.north, (c * y) / R3) && close(u.up, (c * 2000) / R3));
  }
  // Poisson's ratio enters as (1 - nu); default 0.25.
  assert.ok(close(mogiPoint({ ...s, poisson: 0.5 }, 0, 0).up, (0.5 / 0.75) * above.up));
  assert.equal(mogiPoint({ depthM: 2000, volumeChangeM3: 1e6 }, 0, 0).up, above.up);
  // Deflation subsides; linear in volume change.
  assert.ok(close(mogiPoint({ ...s, volumeChangeM3: -3e6 }, 700, 900).up, -3 * mogiPoint(s, 700, 900).up));
});

test('max horizontal is at r = d/sqrt(2) and is 2/(3 sqrt 3) of the max vertical', () => {
  const d = 3000;
  const s = { depthM: d, volumeChangeM3: 2e6 };
  const xs = Float64Array.from({ length: 4001 }, (_, i) => i * 2); // 0..8000 m east, 2 m steps
  const g = mogi(s, xs, [0]);
  let iMax = 0;
  for (let i = 1; i < xs.length; i++) if (g.east[i]! > g.east[iMax]!) iMax = i;
  assert.ok(Math.abs(xs[iMax]! - d / Math.SQRT2) <= 2, `max horizontal at ${xs[iMax]} m, want ${d / Math.SQRT2}`);
  let upMax = 0;
  for (const v of g.up) upMax = Math.max(upMax, v);
  assert.equal(upMax, g.up[0]);
  assert.ok(Math.abs(g.east[iMax]! / upMax - 2 / (3 * Math.sqrt(3))) < 1e-6);
});

test('grid: row 0 is north, radial symmetry, equals the point function, out reused', () => {
  const s = { depthM: 1500, volumeChangeM3: 5e5, poisson: 0.3 };
  const xs = [-2000, -1000, 0, 1000, 2000];
  const ys = [1000, 0, -1000];
  const g = mogi(s, xs, ys);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 5; c++) {
    const u = mogiPoint(s, xs[c]!, ys[r]!);
    const i = r * 5 + c;
    assert.equal(g.east[i], Math.fround(u.east));
    assert.equal(g.north[i], Math.fround(u.north));
    assert.equal(g.up[i], Math.fround(u.up));
  }
  assert.ok(g.north[2]! > 0 && g.north[12]! < 0); // north row moves north under inflation
  assert.equal(g.up[0], g.up[14]);
  assert.equal(g.east[0], -g.east[14]!);
  assert.equal(mogi({ ...s, volumeChangeM3: 1 }, xs, ys, g), g);
});

test('invalid parameters throw a one-line RangeError naming the parameter', () => {
  for (const [s, re] of [
    [{ depthM: 0, volumeChangeM3: 1 }, /depthM/],
    [{ depthM: -10, volumeChangeM3: 1 }, /depthM/],
    [{ depthM: 10, volumeChangeM3: NaN }, /volumeChangeM3/],
    [{ depthM: 10, volumeChangeM3: 1, poisson: 0.6 }, /poisson/],
  ] as const) {
    assert.throws(() => mogiPoint(s, 0, 0), (e: unknown) => e instanceof RangeError && re.test(e.message) && !e.message.includes('\n'));
    assert.throws(() => mogi(s, [0], [0]), RangeError);
  }
});
