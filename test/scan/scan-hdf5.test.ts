/**
 * `caldera scan` takes MintPy (velocity.h5, timeseries.h5) and LiCSBAS (cum.h5) files directly, as
 * `predict` does: real HDF5 files written here with h5wasm, a Mogi uplift in them, found through
 * discovery, read with their geocoding (lon/lat boxes), masked by the phase-derived coherence (they
 * have no .cc), scanned next to a LiCSAR product; bad files are one line each, the rest scanned.
 */
import { test } from 'node:test';
import { writeH5, type H5File } from '../helpers/hdf5.js';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeHdf5Series } from '../../src/io/hdf5.js';
import { C_BAND_WAVELENGTH_M, losToPhaseArray } from '../../src/physics/units.js';
import { mogiPoint } from '../../src/physics/mogi.js';
import { Rng } from '../../src/core/rng.js';
import { InputError } from '../../src/core/errors.js';
import { scanAll } from '../../src/scan/scan-all.js';
import type { SceneResult } from '../../src/scan/scan.js';
import { sceneRecords } from '../../src/scan/output.js';
import { readInterferogram } from '../../src/scan/predict.js';
import { scanCommand } from '../../src/cli/scan.js';
import { planScan } from '../../src/queue/plan.js';
import type { ScanSpec } from '../../src/queue/jobs.js';
import { captureOutput, withDir } from '../helpers/files.js';
import { thresholdModel, writeProductFiles } from '../helpers/products.js';

// A ~67 x 50 km grid of ~170 x 170 m pixels; a Mogi source 2 km deep under S.
const W = 400, H = 300;
const GEO = { west: -73, north: -41, dLon: 0.002, dLat: -0.0015 };
const S = { lon: -72.6, lat: -41.22 };
const KM_PER_DEG = 111.195;
const COS = Math.cos((S.lat * Math.PI) / 180);
/** Columns from here east are decorrelated (uniform random LOS of ±5 cm in the last epoch). */
const NOISY_FROM = 340;
const DATES = ['2020-01-01', '2020-02-01', '2020-03-01'];

/** LOS metres (+ toward the satellite) of the uplift, scaled by `k`: ~4 cm above S at k = 1; a NaN corner. */
function uplift(k: number, noise?: Rng): Float32Array {
  const src = { depthM: 2000, volumeChangeM3: 0.04 * Math.PI * 4e6 / 0.75 };
  return Float32Array.from({ length: W * H }, (_, i) => {
    const c = i % W, r = Math.floor(i / W);
    if (c < 5 && r < 5) return NaN;
    if (noise && c >= NOISY_FROM) return noise.uniform(-0.05, 0.05);
    const lon = GEO.west + (c + 0.5) * GEO.dLon, lat = GEO.north + (r + 0.5) * GEO.dLat;
    return k * mogiPoint(src, (lon - S.lon) * KM_PER_DEG * 1000 * COS, (lat - S.lat) * KM_PER_DEG * 1000).up;
  });
}

/** A LiCSBAS cum.h5 (mm, corner_lat/lon): the uplift growing over three epochs, a decorrelated strip in the east. */
async function writeCum(file: string): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const rng = new Rng(7);
  await writeHdf5Series(file, 'licsbas', { width: W, height: H, geo: GEO, dates: DATES, epochsM: [uplift(0), uplift(0.5), uplift(1, rng)] });
}


const YEARS = 2; // START_DATE..END_DATE below: 2018-01-01..2020-01-01 (730 days)
const MINTPY_GEO = { X_FIRST: String(GEO.west), Y_FIRST: String(GEO.north), X_STEP: String(GEO.dLon), Y_STEP: String(GEO.dLat), X_UNIT: 'degrees', Y_UNIT: 'degrees' };

/** A MintPy velocity.h5 (m/year, L-band WAVELENGTH: the network still gets C-band phase) whose span holds the whole uplift. */
async function writeVelocity(file: string, attrs: Record<string, string | null> = {}): Promise<void> {
  const years = 730 / 365.25;
  await writeH5(file, (f) => {
    f.create_dataset({ name: 'velocity', data: uplift(1 / years), shape: [H, W] });
    const all: Record<string, string | null> = {
      FILE_TYPE: 'velocity', UNIT: 'm/year', LENGTH: String(H), WIDTH: String(W), ...MINTPY_GEO,
      START_DATE: '20180101', END_DATE: '20200101', WAVELENGTH: '0.2362', ...attrs,
    };
    for (const [k, v] of Object.entries(all)) if (v !== null) f.create_attribute(k, v);
  });
}

const contains = (b: readonly number[], lon: number, lat: number) => lon >= b[0]! && lon <= b[2]! && lat >= b[1]! && lat <= b[3]!;
const kmFromS = (lon: number, lat: number) => Math.hypot((lon - S.lon) * KM_PER_DEG * COS, (lat - S.lat) * KM_PER_DEG);

test('scanning a LiCSBAS cum.h5 and a MintPy velocity.h5: found in a folder, read with their geocoding and dates, the uplift boxed in lon/lat', async () => {
  await withDir('caldera-scan-h5-', async (dir) => {
    const cum = path.join(dir, 'in', '083D_12636_131313', 'TS_GEOCml10', 'cum.h5');
    const vel = path.join(dir, 'in', 'mintpy', 'velocity.h5');
    await writeCum(cum);
    await writeVelocity(vel);
    fs.writeFileSync(path.join(dir, 'in', 'mintpy', 'README.txt'), 'not a product');
    const scenes: SceneResult[] = [];
    const failures: string[] = [];
    const res = await scanAll([path.join(dir, 'in')], thresholdModel({ background: 0 }), {
      scan: { scalesKm: [20] }, onScene: (s) => { scenes.push(s); }, onFailure: (f) => failures.push(f.message),
    });
    assert.deepEqual(failures, []);
    assert.equal(res.products, 2);
    assert.equal(res.scanned, 2);
    assert.ok(res.ignored.some((f) => f.endsWith('README.txt')));
    assert.deepEqual(scenes.map((s) => s.product.id).sort(), ['083D_12636_131313/cum.h5', 'velocity.h5']);
    const years = 730 / 365.25;
    for (const s of scenes) {
      const p = s.product;
      const isCum = p.id.endsWith('cum.h5');
      assert.equal(p.files.hdf5, isCum ? cum : vel);
      assert.deepEqual(p.files.dates, isCum ? ['2020-01-01', '2020-03-01'] : ['2018-01-01', '2020-01-01']);
      assert.equal(p.files.frame, isCum ? '083D_12636_131313' : null);
      assert.equal(p.width, W);
      for (const k of ['west', 'north', 'dLon', 'dLat'] as const) assert.ok(Math.abs(p.geo[k] - GEO[k]) < 1e-9, `${p.id} ${k}`);
      // LOS over the span as C-band phase (the velocity file says L band: LOS does not depend on it).
      const above = Math.round((GEO.north - S.lat) / -GEO.dLat - 0.5) * W + Math.round((S.lon - GEO.west) / GEO.dLon - 0.5);
      const want = losToPhaseArray(isCum ? uplift(1) : uplift(1 / years).map((v) => v * years), { wavelengthM: C_BAND_WAVELENGTH_M });
      assert.ok(Math.abs(p.unwrappedRad![above]! - want[above]!) < 1e-3, `${p.id}: ${p.unwrappedRad![above]} vs ${want[above]}`);
      assert.ok(Math.abs(want[above]!) > 6, 'several fringes');
      assert.ok(p.mask[0], 'no data masked');
      assert.match(p.notes.join('\n'), /read from HDF5 as C-band phase/);
      // No .cc: masked by the coherence estimated from the phase, at the scan's threshold.
      assert.equal(p.coherenceSource, 'phase');
      assert.equal(p.minCoherence, 0.3);
      const share = (c0: number, c1: number) => {
        let k = 0;
        for (let r = 0; r < H; r++) for (let c = c0; c < c1; c++) if (p.mask[r * W + c]) k++;
        return k / (H * (c1 - c0));
      };
      assert.ok(share(150, 250) < 0.01, `${p.id}: the uplift's fringes are kept (${share(150, 250)})`);
      if (isCum) assert.ok(share(NOISY_FROM + 5, W) > 0.9, `the decorrelated strip is masked (${share(NOISY_FROM + 5, W)})`);
      // The source boxed once, in lon/lat and in the product's pixels. (The fake network flags any
      // pixel off the background, so in cum.h5 the salt-and-pepper survivors of the masked strip give
      // boxes too; every one of them reaches into the strip.)
      const found = s.detections.filter((d) => contains(d.boxLonLat, S.lon, S.lat));
      assert.equal(found.length, 1, `${p.id}: ${found.length} detections around the source`);
      const others = s.detections.filter((d) => !found.includes(d));
      if (!isCum) assert.deepEqual(others, []);
      for (const o of others) assert.ok(o.boxPixels[2] > NOISY_FROM, `${p.id}: a box away from the source and the strip: ${o.boxPixels.join(', ')}`);
      const d = found[0]!;
      const [x0, y0, x1, y1] = d.boxPixels;
      const sx = (S.lon - GEO.west) / GEO.dLon, sy = (S.lat - GEO.north) / GEO.dLat;
      assert.ok(x0 < sx && sx < x1 && y0 < sy && sy < y1, `${p.id}: pixel box ${d.boxPixels.join(', ')} around (${sx}, ${sy})`);
      assert.ok(kmFromS((d.boxLonLat[0] + d.boxLonLat[2]) / 2, (d.boxLonLat[1] + d.boxLonLat[3]) / 2) < 2, 'box centred on the source');
      const recs = sceneRecords(s).filter((r) => r.verdict === 'detection');
      assert.equal(recs.length, s.detections.length);
      for (const rec of recs) {
        assert.deepEqual(rec.files, { hdf5: isCum ? cum : vel });
        assert.deepEqual(rec.dates, p.files.dates);
      }
      assert.equal(recs.filter((r) => r.box?.lonLat && contains(r.box.lonLat, S.lon, S.lat)).length, 1);
    }
    // Point mode works on HDF5 too (windows around a lon/lat point need the geocoding).
    const at: SceneResult[] = [];
    await scanAll([vel], thresholdModel({ background: 0 }), { scan: { scalesKm: [20] }, at: [{ ...S, name: 'S' }], onScene: (s) => { at.push(s); } });
    assert.equal(at[0]!.predictions.length, 1);
    assert.equal(at[0]!.predictions[0]!.verdict, 'detection');
    assert.ok(contains(at[0]!.predictions[0]!.boxLonLat!, S.lon, S.lat));
  });
});

test('caldera scan: a folder with an .h5 and a LiCSAR product scans both; bad .h5 files are one line each (as predict says), the rest scanned', async () => {
  await withDir('caldera-scan-h5-cli-', async (dir) => {
    const input = path.join(dir, 'in');
    await writeProductFiles(path.join(input, 'licsar'), '20200101_20200113');
    await writeCum(path.join(input, 'ts', 'cum.h5'));
    // Named velocity.h5 but not MintPy's layout; a MintPy time series in radar coordinates (no geocoding).
    const notMintpy = path.join(input, 'bad', 'velocity.h5');
    await writeH5(notMintpy, (f) => {
      f.create_dataset({ name: 'vel', data: new Float32Array(12), shape: [3, 4] });
      f.create_attribute('FILE_TYPE', 'velocity');
    });
    const radar = path.join(input, 'radar', 'timeseries.h5');
    await writeH5(radar, (f) => {
      f.create_dataset({ name: 'timeseries', data: new Float32Array(2 * 12), shape: [2, 3, 4] });
      f.create_dataset({ name: 'date', data: ['20200101', '20200113'], dtype: 'S8' });
      for (const [k, v] of Object.entries({ FILE_TYPE: 'timeseries', UNIT: 'm', LENGTH: '3', WIDTH: '4' })) f.create_attribute(k, v);
    });
    const out = path.join(dir, 'out');
    const { result: code, stdout, stderr } = await captureOutput(() =>
      scanCommand.run([input, '--model', 'stand-in', '--out', out, '--quiet', '--scales-km', '20']));
    assert.equal(code, 1, stdout + stderr);
    assert.match(stdout, /2 of 4 products scanned/);
    // The same one-line InputError predict gives for each bad file.
    const predictSays = async (f: string): Promise<string> => {
      try {
        await readInterferogram(f, 'rad');
      } catch (e) {
        assert.ok(e instanceof InputError);
        return e.message;
      }
      throw new Error(`${f} was read`);
    };
    const layout = await predictSays(notMintpy);
    const nogeo = await predictSays(radar);
    assert.match(layout, /^velocity\.h5: neither a MintPy time series \/ velocity .* nor a LiCSBAS cum\.h5 .*\(FILE_TYPE velocity\); datasets: vel$/);
    assert.match(nogeo, /^timeseries\.h5: no geocoding \(attributes X_FIRST, Y_FIRST, X_STEP, Y_STEP missing\): the file is in radar coordinates; geocode it first/);
    assert.ok(!layout.includes('\n') && !nogeo.includes('\n'));
    assert.match(stderr, /^2 failures:\n/);
    const listed = stderr.trim().split('\n').slice(1).map((l) => l.trim()).sort();
    assert.deepEqual(listed, [nogeo, layout].sort());
    // Both good products written: the HDF5 one with its file, dates and lon/lat boxes.
    const recs = fs.readFileSync(path.join(out, 'scan.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as {
      product: string; files: Record<string, string>; dates: string[] | null; box: { lonLat: number[] | null } | null;
    });
    assert.deepEqual([...new Set(recs.map((r) => r.product))].sort(), ['20200101_20200113', 'cum.h5']);
    const h5recs = recs.filter((r) => r.product === 'cum.h5');
    assert.deepEqual(h5recs[0]!.files, { hdf5: path.join(input, 'ts', 'cum.h5') });
    assert.deepEqual(h5recs[0]!.dates, ['2020-01-01', '2020-03-01']);
    for (const r of h5recs) if (r.box) assert.ok(r.box.lonLat && r.box.lonLat[0]! >= GEO.west && r.box.lonLat[2]! <= GEO.west + W * GEO.dLon);
    assert.ok(fs.existsSync(path.join(out, 'cum.h5.png')), `pictures: ${fs.readdirSync(out).join(', ')}`);
    assert.match(stdout, /note: cum\.h5: LOS displacement \(2020-01-01 to 2020-03-01\) read from HDF5 as C-band phase/);
    // Queued (`caldera enqueue scan`): one job per product, the .h5 files too, each naming its file.
    const spec: ScanSpec = {
      detector: { model: 'stand-in', batchSize: 16, symmetric: false }, points: {}, units: 'rad', minCoherence: 0.3, phaseCoherence: 'on',
      scan: { scalesKm: [20], overlap: 0.5, minScore: 0.8, maxMasked: 0.6, iou: 0.3 }, png: false,
    };
    const plan = planScan([input], spec, path.join(dir, 'queued'));
    assert.equal(plan.jobs.length, 4);
    assert.deepEqual(plan.jobs.find((j) => j.product === 'cum.h5')!.files, [path.resolve(input, 'ts', 'cum.h5')]);
  });
});
