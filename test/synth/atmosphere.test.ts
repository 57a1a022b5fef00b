import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rng.js';
import { fft2d, inverseFft2d } from '../../src/core/fft.js';
import { raster } from '../../src/core/raster.js';
import {
  createSpectralCache, gaussianField, gaussianFieldPair, KOLMOGOROV, orbitalRamp, S1_WAVELENGTH_M,
  sampleTopographicRates, sampleTurbulenceStrengthM, spectralSizeFor, topographicDelayM, turbulentScreen,
  type Spectrum,
} from '../../src/synth/atmosphere.js';

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
}

function std(a: ArrayLike<number>): number {
  const m = mean(a);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - m) ** 2;
  return Math.sqrt(s / a.length);
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Radially averaged 2-D power spectrum (integer radial bins) of many n x n fields. */
function radialSpectrum(n: number, fields: Float32Array[]): Float64Array {
  const acc = new Float64Array(n * n);
  for (const f of fields) {
    const re = Float64Array.from(f);
    const im = new Float64Array(n * n);
    fft2d(re, im, n, -1);
    for (let i = 0; i < n * n; i++) acc[i]! += re[i]! ** 2 + im[i]! ** 2;
  }
  const sum = new Float64Array(n);
  const cnt = new Float64Array(n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const ky = y <= n / 2 ? y : y - n;
      const kx = x <= n / 2 ? x : x - n;
      const k = Math.round(Math.hypot(kx, ky));
      if (k < n) { sum[k]! += acc[y * n + x]!; cnt[k]!++; }
    }
  }
  return sum.map((s, k) => (cnt[k]! > 0 ? s / cnt[k]! : 0));
}

/** Least-squares slope of log P against log k over [k0, k1]. */
function logLogSlope(p: Float64Array, k0: number, k1: number): number {
  let sx = 0, sy = 0, sxx = 0, sxy = 0, m = 0;
  for (let k = k0; k <= k1; k++) {
    const x = Math.log(k), y = Math.log(p[k]!);
    sx += x; sy += y; sxx += x * x; sxy += x * y; m++;
  }
  return (m * sxy - sx * sy) / (m * sxx - sx * sx);
}

test('the fast inverse FFT matches core fft2d for n = 4 ... 512', () => {
  for (const n of [4, 8, 16, 32, 64, 128, 256, 512]) {
    const re = new Float64Array(n * n);
    const im = new Float64Array(n * n);
    for (let i = 0; i < n * n; i++) { re[i] = Math.sin(i * 0.7 + 1); im[i] = Math.cos(i * 1.3); }
    const r2 = re.slice();
    const i2 = im.slice();
    inverseFft2d(re, im, n);
    fft2d(r2, i2, n, 1);
    let err = 0, big = 0;
    for (let i = 0; i < n * n; i++) {
      err = Math.max(err, Math.abs(re[i]! - r2[i]!), Math.abs(im[i]! - i2[i]!));
      big = Math.max(big, Math.abs(r2[i]!));
    }
    assert.ok(err <= 1e-12 * big, `n=${n}: max error ${err}`);
  }
});

test('turbulent screen spectrum has a -11/3 slope in 2-D (radially averaged, mid band)', () => {
  const n = 256;
  const cache = createSpectralCache(n);
  const rng = new Rng(101);
  const fields: Float32Array[] = [];
  for (let i = 0; i < 40; i++) fields.push(turbulentScreen(rng, { width: n, height: n, spacingM: 90, maxAbsM: 0.02 }, cache).data);
  const p = radialSpectrum(n, fields);
  const slope = logLogSlope(p, 4, 64);
  assert.ok(Math.abs(slope - -11 / 3) < 0.4, `slope ${slope.toFixed(3)} not within 0.4 of -11/3`);
});

test('the SyInterferoPy spectrum is flatter at long wavelengths (-8/3) and -11/3 at short ones', () => {
  const n = 256;
  const cache = createSpectralCache(n);
  const rng = new Rng(7);
  const fields: Float32Array[] = [];
  for (let i = 0; i < 40; i++) {
    fields.push(turbulentScreen(rng, { width: n, height: n, spacingM: 90, maxAbsM: 0.02, spectrum: 'syinterferopy' }, cache).data);
  }
  const p = radialSpectrum(n, fields);
  // break at f/sqrt2 = 2/3 cycles/km -> k = 0.943 cycles/km * 23.04 km = 21.7
  const low = logLogSlope(p, 3, 16);
  const high = logLogSlope(p, 30, 100);
  assert.ok(Math.abs(low - -8 / 3) < 0.4, `low-band slope ${low.toFixed(3)}`);
  assert.ok(Math.abs(high - -11 / 3) < 0.4, `high-band slope ${high.toFixed(3)}`);
});

test('turbulent screen: max |value| equals maxAbsM, zero mean, right size, finite', () => {
  const cache = createSpectralCache(256);
  const rng = new Rng(5);
  for (const [w, h] of [[224, 224], [256, 256], [200, 120], [64, 250]] as const) {
    const m = 0.013 + 0.01 * rng.next();
    const s = turbulentScreen(rng, { width: w, height: h, spacingM: 90, maxAbsM: m }, cache);
    assert.equal(s.width, w);
    assert.equal(s.height, h);
    assert.equal(s.data.length, w * h);
    assert.ok(s.data.every(Number.isFinite));
    assert.ok(Math.abs(maxAbs(s.data) - m) < 1e-7, `max|v| ${maxAbs(s.data)} vs ${m}`);
    assert.ok(Math.abs(mean(s.data)) < 1e-4 * m);
  }
});

test('turbulent screen is deterministic for a seed, and differs between seeds', () => {
  const opts = { width: 224, height: 224, spacingM: 90, maxAbsM: 0.02 };
  const a = turbulentScreen(new Rng(42), opts, createSpectralCache(256)).data;
  const b = turbulentScreen(new Rng(42), opts).data; // without a cache: same numbers
  const c = turbulentScreen(new Rng(43), opts, createSpectralCache(256)).data;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('outer scale removes long-wavelength power', () => {
  const n = 256;
  const cache = createSpectralCache(n);
  const rng = new Rng(9);
  const plain: Float32Array[] = [];
  const outer: Float32Array[] = [];
  for (let i = 0; i < 20; i++) {
    plain.push(gaussianField(rng, { width: n, height: n, spacingM: 90 }, KOLMOGOROV, cache));
    outer.push(gaussianField(rng, { width: n, height: n, spacingM: 90 }, { kind: 'powerLaw', exponent: -11 / 3, outerScaleM: 2000 }, cache));
  }
  const pp = radialSpectrum(n, plain);
  const po = radialSpectrum(n, outer);
  // ratio of power at k=2 (11.5 km) to k=40 (580 m)
  assert.ok(po[2]! / po[40]! < 0.2 * (pp[2]! / pp[40]!));
});

test('gaussianFieldPair gives two independent unit-variance fields with their own spectra', () => {
  const n = 128;
  const cache = createSpectralCache(n);
  const rng = new Rng(3);
  const smooth: Spectrum = { kind: 'powerLaw', exponent: -4 };
  const rough: Spectrum = { kind: 'powerLaw', exponent: -2 };
  const as: Float32Array[] = [];
  const bs: Float32Array[] = [];
  let corr = 0;
  for (let i = 0; i < 30; i++) {
    const [a, b] = gaussianFieldPair(rng, { width: n, height: n, spacingM: 100 }, smooth, rough, cache);
    assert.ok(Math.abs(std(a) - 1) < 1e-4 && Math.abs(std(b) - 1) < 1e-4);
    let c = 0;
    for (let j = 0; j < a.length; j++) c += a[j]! * b[j]!;
    corr += c / a.length / 30;
    as.push(a);
    bs.push(b);
  }
  assert.ok(Math.abs(corr) < 0.1, `mean correlation ${corr}`);
  const sa = logLogSlope(radialSpectrum(n, as), 3, 40);
  const sb = logLogSlope(radialSpectrum(n, bs), 3, 40);
  assert.ok(Math.abs(sa - -4) < 0.4, `slope a ${sa}`);
  assert.ok(Math.abs(sb - -2) < 0.4, `slope b ${sb}`);
});

test('spectralSizeFor picks the next power of two', () => {
  assert.equal(spectralSizeFor(224, 224), 256);
  assert.equal(spectralSizeFor(256, 100), 256);
  assert.equal(spectralSizeFor(257, 10), 512);
  assert.throws(() => createSpectralCache(100), RangeError);
});

test('sampleTurbulenceStrengthM ~ N(0.02, 0.005), clipped at 0.002', () => {
  const rng = new Rng(1);
  const v: number[] = [];
  for (let i = 0; i < 20000; i++) v.push(sampleTurbulenceStrengthM(rng));
  assert.ok(Math.abs(mean(v) - 0.02) < 2e-4);
  assert.ok(Math.abs(std(v) - 0.005) < 2e-4);
  assert.ok(Math.min(...v) >= 0.002);
  assert.equal(sampleTurbulenceStrengthM(new Rng(2), -1, 0.0001), 0.002);
});

test('topographic delay is exactly proportional to (dem - mean) with the differenced rates', () => {
  const w = 50, h = 40;
  const dem = raster(w, h);
  for (let i = 0; i < w * h; i++) dem.data[i] = 100 + 1500 * Math.sin(i * 0.37) ** 2;
  const demMean = mean(dem.data);
  for (const seed of [1, 2, 3, 4, 5]) {
    const t = topographicDelayM(new Rng(seed), dem);
    // the same two normals, drawn by hand
    const r = new Rng(seed);
    const r1 = 56 + 2 * r.normal();
    const r2 = 56 + 2 * r.normal();
    assert.deepEqual(t.ratesRadPerKm, [r1, r2]);
    const coef = ((r1 - r2) / 1000) * (S1_WAVELENGTH_M / (4 * Math.PI));
    assert.ok(Math.abs(t.coefficientMPerM - coef) < 1e-18);
    for (let i = 0; i < w * h; i++) {
      const want = coef * (dem.data[i]! - demMean);
      assert.ok(Math.abs(t.delayM.data[i]! - want) <= 1e-6 * Math.abs(coef) * 1500 + 1e-12, `pixel ${i}`);
    }
    assert.ok(Math.abs(mean(t.delayM.data)) < 1e-9);
  }
  // |r1 - r2| = 2 |N1 - N2| ~ |N(0, 8)| rad/km: check the spread over many draws
  const rng = new Rng(77);
  const d: number[] = [];
  for (let i = 0; i < 20000; i++) {
    const s = sampleTopographicRates(rng);
    d.push(s.ratesRadPerKm[0] - s.ratesRadPerKm[1]);
  }
  assert.ok(Math.abs(std(d) - Math.sqrt(8)) < 0.06, `std of rate difference ${std(d)}`);
});

test('topographic delay: NaN in, NaN out; excluded pixels are left out of the mean', () => {
  const dem = raster(4, 1, Float32Array.from([0, 1000, NaN, 3000]));
  const t = topographicDelayM(new Rng(1), dem);
  assert.ok(Number.isNaN(t.delayM.data[2]!));
  const c = t.coefficientMPerM;
  assert.ok(Math.abs(t.delayM.data[1]! - c * (1000 - 4000 / 3)) < 1e-9);
  const ex = Uint8Array.from([1, 0, 0, 0]);
  const u = topographicDelayM(new Rng(1), dem, { excludeFromMean: ex });
  assert.ok(Math.abs(u.delayM.data[0]! - c * (0 - 2000)) < 1e-9);
  assert.throws(() => topographicDelayM(new Rng(1), dem, { excludeFromMean: new Uint8Array(3) }), RangeError);
});

test('orbital ramp is planar, zero mean, scaled to maxAbsM, deterministic', () => {
  const r = orbitalRamp(new Rng(8), { width: 60, height: 40, maxAbsM: 0.03 });
  assert.ok(Math.abs(maxAbs(r.data) - 0.03) < 1e-8);
  assert.ok(Math.abs(mean(r.data)) < 1e-8);
  // planar: second differences vanish
  for (let y = 0; y < 40; y++) {
    for (let x = 1; x < 59; x++) {
      const i = y * 60 + x;
      assert.ok(Math.abs(r.data[i - 1]! - 2 * r.data[i]! + r.data[i + 1]!) < 1e-8);
    }
  }
  assert.deepEqual(r.data, orbitalRamp(new Rng(8), { width: 60, height: 40, maxAbsM: 0.03 }).data);
  const q = orbitalRamp(new Rng(8), { width: 60, height: 40, maxAbsM: 0.03, quadratic: true });
  assert.ok(Math.abs(maxAbs(q.data) - 0.03) < 1e-8);
});

test('turbulent screen is fast with a cache (< 15 ms per 224 x 224 screen even on a busy machine)', () => {
  const cache = createSpectralCache(256);
  const rng = new Rng(1);
  const opts = { width: 224, height: 224, spacingM: 90, maxAbsM: 0.02 };
  for (let i = 0; i < 5; i++) turbulentScreen(rng, opts, cache);
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) turbulentScreen(rng, opts, cache);
  const ms = (performance.now() - t0) / 20;
  assert.ok(ms < 15, `${ms.toFixed(2)} ms per screen`);
});
