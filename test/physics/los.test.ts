/** LOS unit vector and projection; phase <-> LOS conversion. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  losUnitVector, projectToLos, S1_ASCENDING_HEADING_DEG, S1_DESCENDING_HEADING_DEG, S1_INCIDENCE_MAX_DEG, S1_INCIDENCE_MIN_DEG,
} from '../../src/physics/los.js';
import {
  C_BAND_WAVELENGTH_M, losToPhaseArray, losToPhaseRad, phaseToLosArray, phaseToLosM,
} from '../../src/physics/units.js';

test('Sentinel-1 constants', () => {
  assert.equal(S1_ASCENDING_HEADING_DEG, 348);
  assert.equal(S1_DESCENDING_HEADING_DEG, 192);
  assert.equal(S1_INCIDENCE_MIN_DEG, 29);
  assert.equal(S1_INCIDENCE_MAX_DEG, 46);
  assert.equal(C_BAND_WAVELENGTH_M, 0.055465763);
});

test('LOS unit vector: ascending points west and up, descending east and up, unit norm', () => {
  for (const inc of [S1_INCIDENCE_MIN_DEG, 37, S1_INCIDENCE_MAX_DEG]) {
    const a = losUnitVector(S1_ASCENDING_HEADING_DEG, inc);
    const d = losUnitVector(S1_DESCENDING_HEADING_DEG, inc);
    assert.ok(a[0] < 0 && a[2] > 0, `asc ${a}`);
    assert.ok(d[0] > 0 && d[2] > 0, `desc ${d}`);
    assert.ok(Math.abs(a[0]) > Math.abs(a[1]) && Math.abs(d[0]) > Math.abs(d[1])); // mostly east-west
    for (const v of [a, d]) assert.ok(Math.abs(Math.hypot(v[0], v[1], v[2]) - 1) < 1e-15);
    assert.ok(Math.abs(a[2] - Math.cos((inc * Math.PI) / 180)) < 1e-15);
  }
  // Heading north, looking east: ground-to-satellite is due west.
  const n = losUnitVector(0, 30);
  assert.ok(Math.abs(n[0] + 0.5) < 1e-15 && Math.abs(n[1]) < 1e-15);
  assert.throws(() => losUnitVector(348, 90), /incidenceDeg/);
  assert.throws(() => losUnitVector(NaN, 30), /headingDeg/);
});

test('projectToLos: 1 m uplift gives cos(incidence) m toward the satellite; motion toward the satellite is positive', () => {
  const u = losUnitVector(S1_ASCENDING_HEADING_DEG, 40);
  const los = projectToLos(new Float32Array([0, u[0], 1]), new Float32Array([0, u[1], 0]), new Float32Array([1, u[2], 0]), u);
  assert.ok(Math.abs(los[0]! - Math.cos((40 * Math.PI) / 180)) < 1e-7);
  assert.ok(Math.abs(los[1]! - 1) < 1e-7);
  assert.ok(los[2]! < 0); // eastward motion is away from an ascending (east-looking) satellite
  const out = new Float32Array(3);
  assert.equal(projectToLos([1, 2, 3], [0, 0, 0], [0, 0, 0], u, out), out);
  assert.throws(() => projectToLos([1, 2], [1], [1, 2], u), RangeError);
});

test('phase <-> LOS: LiCSAR sign by default, round trip, one fringe is half a wavelength', () => {
  const wl = C_BAND_WAVELENGTH_M;
  assert.ok(Math.abs(phaseToLosM(2 * Math.PI) + wl / 2) < 1e-15); // d = -phi lambda / (4 pi)
  assert.ok(Math.abs(phaseToLosM(2 * Math.PI, { sign: 1 }) - wl / 2) < 1e-15);
  assert.ok(Math.abs(phaseToLosM(1, { wavelengthM: 0.2362 }) + 0.2362 / (4 * Math.PI)) < 1e-15);
  for (const sign of [1, -1] as const) {
    for (const v of [-0.3, 0, 0.0123, 1.7]) {
      assert.ok(Math.abs(phaseToLosM(losToPhaseRad(v, { sign }), { sign }) - v) < 1e-15);
      assert.ok(Math.abs(losToPhaseRad(phaseToLosM(v, { sign }), { sign }) - v) < 1e-12);
    }
  }
  const phase = new Float32Array([-3, 0, 1.5, NaN, 40]);
  const los = phaseToLosArray(phase);
  const back = losToPhaseArray(los);
  for (let i = 0; i < phase.length; i++) {
    if (Number.isNaN(phase[i])) { assert.ok(Number.isNaN(back[i])); continue; }
    assert.equal(los[i], Math.fround(phaseToLosM(phase[i]!)));
    assert.ok(Math.abs(back[i]! - phase[i]!) <= 1e-6 * Math.max(1, Math.abs(phase[i]!)));
  }
  assert.equal(phaseToLosArray(phase, {}, phase), phase); // in place
  assert.throws(() => phaseToLosM(1, { wavelengthM: 0 }), /wavelengthM/);
  assert.throws(() => phaseToLosM(1, { sign: 2 as never }), /sign/);
});
