/**
 * MintPy and LiCSBAS HDF5 files, written here with h5wasm in each program's own layout (as h5py
 * writes them: MintPy's attributes as strings, LiCSBAS's geocoding as scalar datasets), read back:
 * layouts, geocoding conventions, units, wavelength, crops, and one-line errors for bad files.
 */
import { test } from 'node:test';
import { writeH5, type H5File } from '../helpers/hdf5.js';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  isHdf5File, openHdf5Series, readHdf5Product, seriesProduct, unitScale, writeHdf5Series, daysBetween,
} from '../../src/io/hdf5.js';
import { InputError } from '../../src/core/errors.js';
import { C_BAND_WAVELENGTH_M, losToPhaseRad } from '../../src/physics/units.js';
import { discoverProducts, readProduct, MASK_NODATA, pixelToLonLat } from '../../src/io/licsar.js';
import { withDir as withTempDir } from '../helpers/files.js';

const W = 6, H = 4;
/** Value of epoch e at file row r, column c (metres). */
const val = (e: number, r: number, c: number): number => 0.001 * (e * 100 + r * 10 + c);

function cube(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n * H * W);
  for (let e = 0; e < n; e++) for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) a[(e * H + r) * W + c] = val(e, r, c) * scale;
  return a;
}

const withDir = (f: (dir: string) => Promise<void>): Promise<void> => withTempDir('caldera-hdf5-', f);


const MINTPY_ATTRS: Record<string, string> = {
  FILE_TYPE: 'timeseries', UNIT: 'm', LENGTH: String(H), WIDTH: String(W),
  X_FIRST: '14.0', Y_FIRST: '41.0', X_STEP: '0.001', Y_STEP: '-0.002', X_UNIT: 'degrees', Y_UNIT: 'degrees',
  WAVELENGTH: '0.2362', REF_DATE: '20200101',
};

function mintpyTimeseries(f: H5File, attrs: Record<string, string | null> = {}, opts: { dates?: string[]; data?: Float32Array } = {}): void {
  const dates = opts.dates ?? ['20200101', '20200113', '20200125'];
  f.create_dataset({ name: 'timeseries', data: opts.data ?? cube(3), shape: [3, H, W] });
  f.create_dataset({ name: 'date', data: dates, dtype: 'S8' });
  f.create_dataset({ name: 'bperp', data: new Float32Array([0, 12.5, -30]) });
  for (const [k, v] of Object.entries({ ...MINTPY_ATTRS, ...attrs })) if (v !== null) f.create_attribute(k, v);
}

function licsbasCum(f: H5File, opts: { imdatesAsText?: boolean; geo?: boolean; unit?: string; postLat?: number } = {}): void {
  f.create_dataset({ name: 'cum', data: cube(3, 1000), shape: [3, H, W], chunks: [1, H, W], compression: 'gzip' });
  if (opts.unit) (f.get('cum') as import('h5wasm/node').Dataset).create_attribute('UNIT', opts.unit);
  const dates = ['20210105', '20210117', '20210129'];
  if (opts.imdatesAsText) f.create_dataset({ name: 'imdates', data: dates, dtype: 'S8' });
  else f.create_dataset({ name: 'imdates', data: new Int32Array(dates.map(Number)) });
  f.create_dataset({ name: 'vel', data: new Float32Array(H * W), shape: [H, W] });
  f.create_dataset({ name: 'refarea', data: '3:4/2:3' });
  if (opts.geo ?? true) {
    f.create_dataset({ name: 'corner_lat', data: -41.2 });
    f.create_dataset({ name: 'corner_lon', data: -72.7 });
    f.create_dataset({ name: 'post_lat', data: opts.postLat ?? -0.001 });
    f.create_dataset({ name: 'post_lon', data: 0.001 });
  }
}

const rejects = (re: RegExp) => (e: unknown): boolean => {
  assert.ok(e instanceof InputError, `expected an InputError, got ${String(e)}`);
  assert.match(e.message, re);
  assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
  return true;
};

test('MintPy timeseries.h5: dates, X_FIRST/Y_FIRST as the outer corner, metres, WAVELENGTH from the file, crops', async () => {
  await withDir(async (dir) => {
    const file = await writeH5(path.join(dir, 'timeseries.h5'), (f) => mintpyTimeseries(f));
    assert.ok(isHdf5File(file));
    const s = await openHdf5Series(file);
    try {
      assert.equal(s.layout, 'mintpy-timeseries');
      assert.deepEqual([s.width, s.height], [W, H]);
      assert.deepEqual(s.dates, ['2020-01-01', '2020-01-13', '2020-01-25']);
      assert.deepEqual({ ...s.geo }, { west: 14, north: 41, dLon: 0.001, dLat: -0.002, crs: 'EPSG:4326' });
      assert.equal(s.wavelengthM, 0.2362);
      assert.equal(s.wavelengthFrom, 'file');
      assert.equal(s.unit, 'm');
      const e2 = s.epochM(2);
      assert.ok(Math.abs(e2[1 * W + 3]! - val(2, 1, 3)) < 1e-7);
      const crop = s.epochM(1, { col0: 2, row0: 1, col1: 5, row1: 3 });
      assert.equal(crop.length, 6);
      assert.ok(Math.abs(crop[0]! - val(1, 1, 2)) < 1e-7 && Math.abs(crop[5]! - val(1, 2, 4)) < 1e-7);
      // The product between two epochs: LOS difference, phase at the file's (L-band) wavelength.
      const p = seriesProduct(s, 0, 2, { crop: { col0: 1, row0: 1, col1: 4, row1: 4 } });
      assert.deepEqual([p.width, p.height], [3, 3]);
      assert.deepEqual(p.files.dates, ['2020-01-01', '2020-01-25']);
      assert.ok(Math.abs(p.geo.west - 14.001) < 1e-12 && Math.abs(p.geo.north - 40.998) < 1e-12);
      const los = val(2, 1, 1) - val(0, 1, 1);
      assert.ok(Math.abs(p.unwrappedRad![0]! - losToPhaseRad(los, { wavelengthM: 0.2362 })) < 1e-5);
      assert.equal(p.source, 'los-metres');
      // Pixel centre of column 0 is half a step east of X_FIRST.
      assert.deepEqual(pixelToLonLat(s, 0.5, 0.5).map((v) => Number(v.toFixed(6))), [14.0005, 40.999]);
    } finally {
      s.close();
    }
  });
});

test('MintPy: a south-up grid (Y_STEP > 0) is flipped to north-up; cm are converted; --wavelength overrides with a note', async () => {
  await withDir(async (dir) => {
    const file = await writeH5(path.join(dir, 'ts.h5'), (f) => mintpyTimeseries(f, { Y_FIRST: '40.992', Y_STEP: '0.002', UNIT: 'cm' }));
    const s = await openHdf5Series(file, { wavelengthM: C_BAND_WAVELENGTH_M });
    try {
      assert.ok(Math.abs(s.geo.north - 41) < 1e-9 && s.geo.dLat === -0.002);
      const e = s.epochM(1);
      // North-up row 0 is the file's last row; values were centimetres.
      assert.ok(Math.abs(e[0]! - val(1, H - 1, 0) * 0.01) < 1e-8);
      assert.equal(s.wavelengthFrom, 'option');
      assert.ok(s.notes.some((n) => /WAVELENGTH 0.2362/.test(n)));
    } finally {
      s.close();
    }
  });
});

test('LiCSBAS cum.h5: mm, imdates (int or text), corner_lat/lon as the first pixel centre, C band assumed', async () => {
  await withDir(async (dir) => {
    for (const imdatesAsText of [false, true]) {
      const file = await writeH5(path.join(dir, `cum${imdatesAsText ? '-s' : ''}.h5`), (f) => licsbasCum(f, { imdatesAsText }));
      const s = await openHdf5Series(file);
      try {
        assert.equal(s.layout, 'licsbas-cum');
        assert.equal(s.unit, 'mm');
        assert.deepEqual(s.dates, ['2021-01-05', '2021-01-17', '2021-01-29']);
        assert.ok(Math.abs(s.geo.west - -72.7005) < 1e-12, `west ${s.geo.west}`);
        assert.ok(Math.abs(s.geo.north - -41.1995) < 1e-12, `north ${s.geo.north}`);
        assert.equal(s.geo.dLat, -0.001);
        assert.equal(s.wavelengthM, C_BAND_WAVELENGTH_M);
        assert.equal(s.wavelengthFrom, 'default');
        assert.ok(s.notes.some((n) => /C band/.test(n)));
        const e = s.epochM(2);
        assert.ok(Math.abs(e[2 * W + 5]! - val(2, 2, 5)) < 1e-6, 'mm read as metres');
      } finally {
        s.close();
      }
    }
    // A south-up LiCSBAS grid (post_lat > 0) is flipped too.
    const up = await writeH5(path.join(dir, 'cum-up.h5'), (f) => licsbasCum(f, { postLat: 0.001 }));
    const s = await openHdf5Series(up);
    try {
      assert.ok(Math.abs(s.geo.north - (-41.2 - 0.0005 + H * 0.001)) < 1e-12);
      assert.ok(Math.abs(s.epochM(1)[0]! - val(1, H - 1, 0)) < 1e-6);
    } finally {
      s.close();
    }
  });
});

test('MintPy velocity.h5: m/year as the displacement over START_DATE..END_DATE, or per year', async () => {
  await withDir(async (dir) => {
    const file = await writeH5(path.join(dir, 'velocity.h5'), (f) => {
      f.create_dataset({ name: 'velocity', data: new Float32Array(H * W).fill(0.02), shape: [H, W] });
      f.create_dataset({ name: 'velocityStd', data: new Float32Array(H * W).fill(0.001), shape: [H, W] });
      for (const [k, v] of Object.entries({ ...MINTPY_ATTRS, FILE_TYPE: 'velocity', UNIT: 'm/year', START_DATE: '20180101', END_DATE: '20200101' })) f.create_attribute(k, v);
    });
    const p = await readHdf5Product(file);
    const years = daysBetween('2018-01-01', '2020-01-01') / 365.25;
    assert.deepEqual(p.files.dates, ['2018-01-01', '2020-01-01']);
    assert.ok(Math.abs(p.unwrappedRad![0]! - losToPhaseRad(0.02 * years, { wavelengthM: 0.2362 })) < 1e-4);
    const y = await readHdf5Product(file, { velocityAs: 'year' });
    assert.ok(Math.abs(y.unwrappedRad![0]! - losToPhaseRad(0.02, { wavelengthM: 0.2362 })) < 1e-4);
    assert.ok(y.notes.some((n) => /one year/.test(n)));
  });
});

test('unit names: lengths for series, rates for velocities', () => {
  assert.equal(unitScale('m', false), 1);
  assert.equal(unitScale('mm', false), 0.001);
  assert.equal(unitScale('m/year', true), 1);
  assert.equal(unitScale('mm/yr', true), 0.001);
  assert.equal(unitScale('m/year', false), null);
  assert.equal(unitScale('radian', false), null);
});

test('bad files: no geocoding, missing datasets, unknown unit, truncated, not HDF5: one-line InputErrors', async () => {
  await withDir(async (dir) => {
    const f = (n: string) => path.join(dir, n);
    await writeH5(f('radar.h5'), (h) => mintpyTimeseries(h, { X_FIRST: null, Y_FIRST: null }));
    await assert.rejects(openHdf5Series(f('radar.h5')), rejects(/radar\.h5: no geocoding \(attributes X_FIRST, Y_FIRST missing\).*geocode\.py/));
    await writeH5(f('cum-nogeo.h5'), (h) => licsbasCum(h, { geo: false }));
    await assert.rejects(openHdf5Series(f('cum-nogeo.h5')), rejects(/no geocoding \(datasets corner_lat, corner_lon, post_lat, post_lon missing\)/));
    await writeH5(f('utm.h5'), (h) => mintpyTimeseries(h, { X_UNIT: 'm', X_FIRST: '400000', Y_FIRST: '4500000', X_STEP: '30', Y_STEP: '-30' }));
    await assert.rejects(openHdf5Series(f('utm.h5')), rejects(/projected/));
    await writeH5(f('nodate.h5'), (h) => {
      h.create_dataset({ name: 'timeseries', data: cube(3), shape: [3, H, W] });
      for (const [k, v] of Object.entries(MINTPY_ATTRS)) h.create_attribute(k, v);
    });
    await assert.rejects(openHdf5Series(f('nodate.h5')), rejects(/no 'date' dataset/));
    await writeH5(f('other.h5'), (h) => h.create_dataset({ name: 'coherence', data: new Float32Array(4), shape: [2, 2] }));
    await assert.rejects(openHdf5Series(f('other.h5')), rejects(/neither a MintPy .* nor a LiCSBAS .*datasets: coherence/));
    await writeH5(f('furlong.h5'), (h) => mintpyTimeseries(h, { UNIT: 'furlong' }));
    await assert.rejects(openHdf5Series(f('furlong.h5')), rejects(/unknown unit 'furlong' for 'timeseries' \(expected m, cm, mm\)/));
    await writeH5(f('cum-unit.h5'), (h) => licsbasCum(h, { unit: 'radian' }));
    await assert.rejects(openHdf5Series(f('cum-unit.h5')), rejects(/unknown unit 'radian' for 'cum'/));
    await writeH5(f('baddates.h5'), (h) => mintpyTimeseries(h, {}, { dates: ['20200101', '2020011', '20200125'] }));
    await assert.rejects(openHdf5Series(f('baddates.h5')), rejects(/date 1 of 'date' is '2020011'/));
    await writeH5(f('whole.h5'), (h) => mintpyTimeseries(h));
    const bytes = fs.readFileSync(f('whole.h5'));
    fs.writeFileSync(f('truncated.h5'), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await assert.rejects(openHdf5Series(f('truncated.h5')), rejects(/truncated\.h5: cannot open as HDF5 \(truncated file/));
    fs.writeFileSync(f('text.h5'), 'not hdf5 at all');
    await assert.rejects(openHdf5Series(f('text.h5')), rejects(/text\.h5: not an HDF5 file/));
    await assert.rejects(openHdf5Series(f('missing.h5')), rejects(/no such file/));
    await assert.rejects(openHdf5Series(f('whole.h5'), { wavelengthM: 55 }), rejects(/wavelength must be in metres/));
  });
});

test('writeHdf5Series writes what the readers read, in both layouts; NaN stays no data', async () => {
  await withDir(async (dir) => {
    const geo = { west: 130.5, north: 33.2, dLon: 0.0011, dLat: -0.0009 };
    const dates = ['2022-03-01', '2022-03-13', '2022-03-25', '2022-04-06'];
    const epochsM = dates.map((_, e) => {
      const a = new Float32Array(W * H);
      for (let i = 0; i < a.length; i++) a[i] = e * 0.01 + i * 1e-4;
      a[5] = NaN;
      return a;
    });
    for (const layout of ['licsbas', 'mintpy'] as const) {
      const file = path.join(dir, `${layout}.h5`);
      await writeHdf5Series(file, layout, { width: W, height: H, geo, dates, epochsM });
      const s = await openHdf5Series(file);
      try {
        assert.equal(s.layout, layout === 'licsbas' ? 'licsbas-cum' : 'mintpy-timeseries');
        assert.deepEqual(s.dates, dates);
        for (const k of ['west', 'north', 'dLon', 'dLat'] as const) assert.ok(Math.abs(s.geo[k] - geo[k]) < 1e-12, `${layout} ${k}`);
        const e3 = s.epochM(3);
        assert.ok(Math.abs(e3[7]! - epochsM[3]![7]!) < 1e-6);
        const p = seriesProduct(s, 1, 3);
        assert.equal(p.mask[5], MASK_NODATA);
        assert.ok(Math.abs(p.maskedFraction - 1 / (W * H)) < 1e-12);
      } finally {
        s.close();
      }
      const q = await readHdf5Product(file, { dates: ['20220313', '2022-04-06'] });
      assert.deepEqual(q.files.dates, ['2022-03-13', '2022-04-06']);
      await assert.rejects(readHdf5Product(file, { dates: ['20220101', '20220406'] }), rejects(/has no epoch 2022-01-01/));
    }
  });
});

test('discovery with hdf5 (scan): .h5 files named or in folders are products by themselves, read as C-band phase with their dates; without it they are left alone (monitor)', async () => {
  await withDir(async (dir) => {
    const geo = { west: -72.8, north: -41.2, dLon: 0.002, dLat: -0.0015 };
    const dates = ['2021-01-05', '2021-01-17', '2021-01-29'];
    const epochsM = dates.map((_, e) => Float32Array.from({ length: W * H }, (_, i) => (i === 0 ? NaN : 0.01 * e + 1e-4 * i)));
    const framed = path.join(dir, '083D_12636_131313', 'TS_GEOCml10', 'cum.h5');
    const a = path.join(dir, 'a', 'cum.h5'), b = path.join(dir, 'b', 'cum.h5'), mintpy = path.join(dir, 'm', 'timeseries.hdf5');
    for (const f of [framed, a, b, mintpy]) {
      fs.mkdirSync(path.dirname(f), { recursive: true });
      await writeHdf5Series(f, f === mintpy ? 'mintpy' : 'licsbas', { width: W, height: H, geo, dates, epochsM, wavelengthM: 0.2362 });
    }
    const found = discoverProducts([dir], { hdf5: true });
    assert.deepEqual(found.problems, []);
    assert.equal(found.products.length, 4);
    const byFile = new Map(found.products.map((p) => [p.hdf5, p]));
    assert.deepEqual(byFile.get(framed), { id: '083D_12636_131313/cum.h5', prefix: framed, hdf5: framed, dates: null, frame: '083D_12636_131313' });
    assert.equal(byFile.get(mintpy)!.id, 'timeseries.hdf5');
    // Two cum.h5 without a frame: ids made unique by their paths, as LiCSAR products are.
    assert.notEqual(byFile.get(a)!.id, byFile.get(b)!.id);
    assert.ok(byFile.get(a)!.id.endsWith(path.join('a', 'cum.h5')));
    assert.deepEqual(discoverProducts([a], { hdf5: true }).products.map((p) => p.hdf5), [a]);

    const p = await readProduct(byFile.get(framed)!, { minCoherence: 0.4, units: 'mm', wavelengthM: 0.2362 });
    assert.equal(p.id, '083D_12636_131313/cum.h5');
    assert.deepEqual(p.files.dates, ['2021-01-05', '2021-01-29']);
    assert.equal(p.files.hdf5, framed);
    assert.equal(p.minCoherence, 0.4);
    assert.equal(p.coherence, null);
    assert.equal(p.mask[0], MASK_NODATA);
    // First to last epoch, C-band phase whatever the file's wavelength (and --units, --wavelength: LOS is LOS).
    assert.ok(Math.abs(p.unwrappedRad![7]! - losToPhaseRad(0.02, { wavelengthM: C_BAND_WAVELENGTH_M })) < 1e-4);
    assert.ok(Math.abs(p.geo.west - geo.west) < 1e-9);
    assert.ok(p.notes.some((n) => /cum\.h5: LOS displacement \(2021-01-05 to 2021-01-29\) read from HDF5 as C-band phase/.test(n)));

    // Without the option (monitor, label): folders' .h5 files are not products, a named one is a problem, as before.
    const plain = discoverProducts([dir]);
    assert.deepEqual(plain.products, []);
    assert.equal(plain.ignored.length, 4);
    assert.match(discoverProducts([a]).problems[0]!.message, /cum\.h5: not a GeoTIFF/);

    // Nothing but no data: an empty product when a scan asks for one (reported as no valid pixels), else one line.
    const empty = path.join(dir, 'e', 'cum.h5');
    fs.mkdirSync(path.dirname(empty));
    await writeHdf5Series(empty, 'licsbas', { width: W, height: H, geo, dates, epochsM: dates.map(() => new Float32Array(W * H).fill(NaN)) });
    const ef = discoverProducts([empty], { hdf5: true }).products[0]!;
    assert.equal((await readProduct(ef, { allowEmpty: true })).maskedFraction, 1);
    await assert.rejects(readProduct(ef), rejects(/every pixel is no data/));
  });
});
