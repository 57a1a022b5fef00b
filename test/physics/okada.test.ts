/** Okada (1985) rectangular dislocation: published check list, a direct transcription, map-frame wrapper. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { okada, okada85, okadaPoint, type Okada85Fault, type OkadaSource } from '../../src/physics/okada.js';

interface Case extends Okada85Fault { name: string; x: number; y: number; expected: [number, number, number] }
const table = JSON.parse(
  fs.readFileSync(new URL('../../../test/physics/fixtures/okada85-table2.json', import.meta.url), 'utf8'),
) as { alpha: number; cases: Omit<Case, 'alpha'>[] };

const sig4 = (v: number): number => Number(v.toPrecision(4));

test('Okada 1985 Table 2 check list, to 4 significant figures', () => {
  assert.ok(table.cases.length >= 9);
  for (const c of table.cases) {
    const u = okada85(c.x, c.y, { ...c, alpha: table.alpha });
    const got = [u.ux, u.uy, u.uz];
    for (let k = 0; k < 3; k++) {
      const want = c.expected[k]!;
      if (want === 0) assert.ok(Math.abs(got[k]!) < 1e-12, `${c.name} u${'xyz'[k]}: got ${got[k]}, want 0`);
      else assert.equal(sig4(got[k]!), want, `${c.name} u${'xyz'[k]}: got ${got[k]}, want ${want}`);
    }
  }
});

const reference = JSON.parse(
  fs.readFileSync(new URL('../../../test/physics/fixtures/okada85-reference.json', import.meta.url), 'utf8'),
) as { cases: (Okada85Fault & { x: number; y: number; expected: [number, number, number] })[] };

test('okada85 matches a 50-digit term-by-term evaluation of eqs. (24)-(30) (200 random buried faults)', () => {
  assert.equal(reference.cases.length, 200);
  for (const [i, c] of reference.cases.entries()) {
    const u = okada85(c.x, c.y, c);
    const got = [u.ux, u.uy, u.uz];
    // Eq. (28) itself cancels near vertical, losing ~1e-15/cos^2 of the unit-dislocation scale.
    const cd = Math.abs(Math.cos((c.dipDeg * Math.PI) / 180));
    const unit = Math.abs(c.U1) + Math.abs(c.U2) + Math.abs(c.U3);
    const scale = Math.max(...c.expected.map(Math.abs));
    const tol = 1e-11 * scale + 1e-15 * unit + (cd > 1e-5 ? (1e-15 * unit) / (cd * cd) : 0);
    for (let k = 0; k < 3; k++) {
      assert.ok(Math.abs(got[k]! - c.expected[k]!) <= tol, `case ${i} ${JSON.stringify(c)} u${'xyz'[k]}: got ${got[k]}`);
    }
  }
});

test('okada85 is continuous through the special cases dip = 90 (eq. 29) and dip = 0', () => {
  // The field changes by ~10 x (change of dip in radians), relative; allow 100 x.
  const base = { d: 4, L: 3, W: 2, alpha: 0.5, U1: 0.3, U2: -0.7, U3: 0.5 };
  for (const [a, b] of [[90, 89.9999], [90, 89.999], [90, 89.99], [0, 1e-4], [0, 1e-2]] as const) {
    const tol = 100 * Math.abs(a - b) * (Math.PI / 180);
    for (const [x, y] of [[2, 3], [-1, 0.5], [1.5, -2], [5, 5], [10, -7]] as const) {
      const u = okada85(x, y, { ...base, dipDeg: a });
      const v = okada85(x, y, { ...base, dipDeg: b });
      const scale = Math.max(Math.abs(u.ux), Math.abs(u.uy), Math.abs(u.uz));
      for (const k of ['ux', 'uy', 'uz'] as const) {
        assert.ok(Math.abs(u[k] - v[k]) <= tol * scale, `dip ${a} vs ${b} at (${x}, ${y}) ${k}: ${u[k]} vs ${v[k]}`);
      }
    }
  }
});

// ---- map-frame wrapper -------------------------------------------------------------------------

const DEG = Math.PI / 180;

test('wrapper with strike 90 reproduces Okada case 2 (centroid and depth conventions)', () => {
  // Strike 90 = Okada x east, y north. Okada's point (2, 3) relative to the lower-edge origin is
  // (2 - L/2, 3 - W/2 cos dip) from the centroid's projection; centroid depth d - W/2 sin dip.
  const L = 3, W = 2, dip = 70;
  const src = { depthM: 4 - (W / 2) * Math.sin(dip * DEG), lengthM: L, widthM: W, strikeDeg: 90, dipDeg: dip };
  const e = 2 - L / 2, n = 3 - (W / 2) * Math.cos(dip * DEG);
  const cases: [Partial<OkadaSource>, number[]][] = [
    [{ slipM: 1, rakeDeg: 0 }, [-8.689e-3, -4.298e-3, -2.747e-3]],
    [{ slipM: 1, rakeDeg: 90 }, [-4.682e-3, -3.527e-2, -3.564e-2]],
    [{ openingM: 1 }, [-2.660e-4, 1.056e-2, 3.214e-3]],
  ];
  for (const [extra, want] of cases) {
    const u = okadaPoint({ ...src, ...extra }, e, n);
    assert.deepEqual([sig4(u.east), sig4(u.north), sig4(u.up)], want, JSON.stringify(extra));
  }
});

test('rotating the strike rotates the field', () => {
  const src: OkadaSource = { depthM: 3000, lengthM: 4000, widthM: 2000, strikeDeg: 20, dipDeg: 60, rakeDeg: 30, slipM: 1, openingM: 0.4 };
  for (const rot of [37, 90, 180, 271]) {
    const s2 = { ...src, strikeDeg: src.strikeDeg + rot };
    for (const [e, n] of [[1000, 2500], [-3000, 400], [0, 0], [5000, -7000]] as const) {
      // The point (e, n) rotated clockwise by `rot`.
      const c = Math.cos(rot * DEG), s = Math.sin(rot * DEG);
      const e2 = e * c + n * s, n2 = -e * s + n * c;
      const u = okadaPoint(src, e, n), v = okadaPoint(s2, e2, n2);
      assert.ok(Math.abs(v.east - (u.east * c + u.north * s)) < 1e-12);
      assert.ok(Math.abs(v.north - (-u.east * s + u.north * c)) < 1e-12);
      assert.ok(Math.abs(v.up - u.up) < 1e-12);
    }
  }
});

test('displacement is linear in slip and opening; rake splits slip into strike- and dip-slip', () => {
  const g = { depthM: 2500, lengthM: 3000, widthM: 2000, strikeDeg: 123, dipDeg: 55 };
  const at = (s: Partial<OkadaSource>): number[] => { const u = okadaPoint({ ...g, ...s }, 800, -1500); return [u.east, u.north, u.up]; };
  const one = at({ openingM: 1 }), three = at({ openingM: 3 });
  const ss = at({ slipM: 1, rakeDeg: 0 }), ds = at({ slipM: 1, rakeDeg: 90 }), mixed = at({ slipM: 2, rakeDeg: 30, openingM: 0.5 });
  for (let k = 0; k < 3; k++) {
    assert.ok(Math.abs(three[k]! - 3 * one[k]!) < 1e-15);
    const want = 2 * Math.cos(30 * DEG) * ss[k]! + 2 * Math.sin(30 * DEG) * ds[k]! + 0.5 * one[k]!;
    assert.ok(Math.abs(mixed[k]! - want) < 1e-15);
  }
});

test('physical senses: opening dyke pushes the sides apart, thrust uplifts the hanging wall, left-lateral', () => {
  // Vertical N-S dyke: east side moves east, west side west, symmetric uplift.
  const dyke = { depthM: 3000, lengthM: 5000, widthM: 4000, strikeDeg: 0, dipDeg: 90, openingM: 1 };
  const e = okadaPoint(dyke, 2000, 0), w = okadaPoint(dyke, -2000, 0);
  assert.ok(e.east > 0 && w.east < 0);
  assert.ok(Math.abs(e.east + w.east) < 1e-12 && Math.abs(e.up - w.up) < 1e-12 && e.up > 0);
  // Sill opening: uplift above.
  assert.ok(okadaPoint({ depthM: 2000, lengthM: 4000, widthM: 4000, strikeDeg: 0, dipDeg: 0, openingM: 1 }, 0, 0).up > 0);
  assert.ok(okadaPoint({ depthM: 2000, lengthM: 4000, widthM: 4000, strikeDeg: 0, dipDeg: 0, openingM: -1 }, 0, 0).up < 0);
  // Strike north, dip 30 to the east: thrust (rake 90) lifts the hanging wall (east of the trace), normal drops it.
  const fault = { depthM: 3000, lengthM: 10000, widthM: 4000, strikeDeg: 0, dipDeg: 30, slipM: 1 };
  assert.ok(okadaPoint({ ...fault, rakeDeg: 90 }, 2000, 0).up > 0);
  assert.ok(okadaPoint({ ...fault, rakeDeg: -90 }, 2000, 0).up < 0);
  // Vertical N-S fault, rake 0 (left-lateral): the east block moves north, the west block south.
  const ll = { depthM: 2000, lengthM: 10000, widthM: 3000, strikeDeg: 0, dipDeg: 90, slipM: 1, rakeDeg: 0 };
  assert.ok(okadaPoint(ll, 1000, 0).north > 0 && okadaPoint(ll, -1000, 0).north < 0);
});

test('grid equals the point function; out is reused; zero source gives zeros', () => {
  const src: OkadaSource = { depthM: 3000, lengthM: 4000, widthM: 3000, strikeDeg: 33, dipDeg: 80, openingM: 0.5, slipM: 0.2, rakeDeg: -40 };
  const xs = Float64Array.from({ length: 7 }, (_, i) => (i - 3) * 1500);
  const ys = Float64Array.from({ length: 5 }, (_, i) => (2 - i) * 1500);
  const g = okada(src, xs, ys);
  assert.equal(g.width, 7);
  assert.equal(g.height, 5);
  for (let r = 0; r < 5; r++) for (let c = 0; c < 7; c++) {
    const u = okadaPoint(src, xs[c]!, ys[r]!);
    const i = r * 7 + c;
    assert.equal(g.east[i], Math.fround(u.east));
    assert.equal(g.north[i], Math.fround(u.north));
    assert.equal(g.up[i], Math.fround(u.up));
  }
  const again = okada({ ...src, openingM: 1 }, xs, ys, g);
  assert.equal(again, g);
  okada({ ...src, openingM: 0, slipM: 0 }, xs, ys, g);
  assert.ok(g.up.every((v) => v === 0) && g.east.every((v) => v === 0));
  assert.throws(() => okada(src, xs, ys.subarray(1), g), RangeError);
});

test('invalid sources throw a one-line RangeError naming the parameter', () => {
  const ok: OkadaSource = { depthM: 3000, lengthM: 4000, widthM: 2000, strikeDeg: 0, dipDeg: 60, openingM: 1 };
  const bad: [Partial<OkadaSource>, RegExp][] = [
    [{ depthM: -1 }, /depthM/],
    [{ dipDeg: 95 }, /dipDeg/],
    [{ dipDeg: -1 }, /dipDeg/],
    [{ lengthM: 0 }, /lengthM/],
    [{ widthM: -5 }, /widthM/],
    [{ depthM: 500, widthM: 2000, dipDeg: 90 }, /breaches the surface/],
    [{ poisson: 0.7 }, /poisson/],
    [{ slipM: NaN }, /slipM/],
  ];
  for (const [patch, re] of bad) {
    assert.throws(() => okadaPoint({ ...ok, ...patch }, 0, 0), (e: unknown) => e instanceof RangeError && re.test(e.message) && !e.message.includes('\n'));
  }
  // The top edge exactly at the surface is allowed.
  assert.doesNotThrow(() => okadaPoint({ ...ok, depthM: 1000, widthM: 2000, dipDeg: 90 }, 500, 500));
});
