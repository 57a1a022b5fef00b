/**
 * Monitoring runs with a fake detector: an HDF5 time series growing between runs (only the new
 * epochs are processed), a LiCSAR folder (chained cumulative displacement, duplicates and date
 * order said, next week's product added), synthetic stacks (windows fall exactly on the stack's
 * pixels; scoring), the state's settings check, and the files written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeHdf5Series } from '../../src/io/hdf5.js';
import { writeGeoTiff } from '../../src/io/geotiff.js';
import { InputError } from '../../src/core/errors.js';
import { wrapPhase } from '../../src/core/raster.js';
import { losToPhaseRad } from '../../src/physics/units.js';
import type { Detector, ModelOutput } from '../../src/scan/detector.js';
import { monitor, type MonitorJob } from '../../src/monitor/monitor.js';
import { stacksSource, type SourceContext } from '../../src/monitor/sources.js';
import { readStack, readSeriesManifest, synthesiseSeries } from '../../src/monitor/stacks.js';
import { cutWindow } from '../../src/data/windows.js';
import { productFromLos } from '../../src/io/hdf5.js';
import { C_BAND_WAVELENGTH_M } from '../../src/physics/units.js';
import { readNpz } from '../../src/io/npz.js';
import { decodePng } from '../../src/io/png.js';
import { h5wasm } from '../../src/io/hdf5.js';

const S = 32;
const SIZE_KM = (S * 90) / 1000;

/** Deformation when more than 15 % of the valid pixels have |wrapped phase| > pi/2; counts inputs. */
function fakeDetector(): Detector & { inputs: number } {
  const d = {
    inputs: 0, format: 'w' as const, size: S, name: 'fake', batchSize: 8,
    run: async (xs: Float32Array[]): Promise<ModelOutput[]> => {
      d.inputs += xs.length;
      return xs.map((x) => {
        let valid = 0, big = 0;
        for (const v of x) { if (v !== 0) valid++; if (Math.abs(v) > 0.5) big++; }
        return big > 0.15 * valid
          ? { probs: [0.05, 0.9, 0.05], box: [0.5, 0.5, 0.2, 0.2] as const }
          : { probs: [0.05, 0.05, 0.9], box: [0.5, 0.5, 0.1, 0.1] as const };
      });
    },
  };
  return d;
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-monitor-'));
}

const day = (k: number): string => new Date(Date.UTC(2022, 0, 3 + 12 * k)).toISOString().slice(0, 10);
const GEO = { west: 14.0, north: 41.0, dLon: 0.0009, dLat: -0.0009 };
const W = 100, H = 100;
const CENTRE = { lon: GEO.west + 50 * GEO.dLon, lat: GEO.north + 50 * GEO.dLat };

/** LOS (m) of a bump of `amp` metres at the grid centre, radius ~600 m, plus a gentle slope. */
function bumpLos(amp: number, tilt = 0): Float32Array {
  const a = new Float32Array(W * H);
  for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) {
    const dx = (c - 50) * 0.077, dy = (r - 50) * 0.1; // km
    a[r * W + c] = amp * Math.exp(-(dx * dx + dy * dy) / 0.36) + tilt * c * 1e-5;
  }
  return a;
}

/** Deformation growing from epoch 3: 0, 0, 0, 2, 4, 6 ... cm. */
const amp = (k: number): number => Math.max(0, k - 2) * 0.02;

const job = (paths: string[], out: string, det: Detector, over: Partial<MonitorJob> = {}): MonitorJob => ({
  paths, outDir: out, detector: det, targets: { kind: 'points', points: [{ name: 'V', ...CENTRE }] },
  rule: { k: 2, n: 3, minScore: 0.5, signal: 'cumulative' }, sizeKm: SIZE_KM, png: true, ...over,
});

test('cum.h5: every epoch once; next week\'s file processes only the new epochs; alerts, files; rule changes need no reprocessing', async () => {
  const dir = tmp();
  try {
    const file = path.join(dir, 'cum.h5');
    const write = (n: number) => writeHdf5Series(file, 'licsbas', {
      width: W, height: H, geo: GEO, dates: Array.from({ length: n }, (_, k) => day(k)), epochsM: Array.from({ length: n }, (_, k) => bumpLos(amp(k), k % 2)),
    });
    await write(5);
    const out = path.join(dir, 'out');
    const det = fakeDetector();
    const r1 = await monitor(job([file], out, det));
    assert.equal(r1.run.processed, 8, '4 interferograms + 4 cumulative epochs');
    assert.equal(det.inputs, 8);
    const t = r1.results[0]!;
    assert.equal(t.name, 'V');
    assert.equal(t.epochs.length, 4);
    assert.deepEqual(t.epochs.map((e) => e.detected), [false, false, true, true]);
    assert.equal(t.alerts.length, 1);
    assert.equal(t.alerts[0]!.raisedDate, day(4));
    assert.equal(t.alerts[0]!.onsetDate, day(3));
    assert.equal(t.alerts[0]!.onsetAfter, day(2));
    const box = t.alerts[0]!.boxLonLat!;
    assert.ok(box[0] < CENTRE.lon && box[2] > CENTRE.lon && box[1] < CENTRE.lat && box[3] > CENTRE.lat, `box ${box} around the centre`);
    // The files.
    const gj = JSON.parse(fs.readFileSync(path.join(out, 'alerts.geojson'), 'utf8'));
    assert.equal(gj.features.length, 1);
    assert.equal(gj.features[0].geometry.type, 'Polygon');
    assert.equal(gj.features[0].properties.onset, day(3));
    assert.equal(fs.readFileSync(path.join(out, 'timeline.jsonl'), 'utf8').trim().split('\n').length, 8);
    const csv = fs.readFileSync(path.join(out, 'timeline.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 5);
    assert.match(csv[4]!, /^V,2022-02-20,3,.*,1,raised$/);
    assert.ok(fs.existsSync(path.join(out, 'timelines', 'V.png')));
    // Nothing new: nothing processed.
    const r2 = await monitor(job([file], out, det));
    assert.equal(r2.run.processed, 0);
    assert.equal(r2.run.alreadyDone, 8);
    // LiCSBAS ran again with two more acquisitions: only they are processed.
    await write(7);
    const r3 = await monitor(job([file], out, det));
    assert.equal(r3.run.processed, 4);
    assert.equal(det.inputs, 12);
    assert.equal(r3.results[0]!.epochs.length, 6);
    // Another alert rule: recomputed from the state alone.
    const r4 = await monitor(job([file], out, det, { rule: { k: 1, n: 1, minScore: 0.5, signal: 'ifg' } }));
    assert.equal(r4.run.processed, 0);
    assert.equal(det.inputs, 12);
    // Other row settings are refused; restart processes everything again.
    await assert.rejects(monitor(job([file], out, det, { sizeKm: 4 })), (e: unknown) => e instanceof InputError && /made with .* window 2.88 km/.test(e.message));
    const r5 = await monitor(job([file], out, det, { restart: true }));
    assert.equal(r5.run.processed, 12);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

async function licsarProduct(dir: string, d1: number, d2: number, los: Float32Array): Promise<void> {
  const name = `${day(d1).replace(/-/g, '')}_${day(d2).replace(/-/g, '')}`;
  const sub = path.join(dir, name);
  fs.mkdirSync(sub, { recursive: true });
  const unw = new Float32Array(los.length);
  for (let i = 0; i < los.length; i++) unw[i] = losToPhaseRad(los[i]!);
  await writeGeoTiff(path.join(sub, `${name}.geo.unw.tif`), { width: W, height: H, data: unw }, GEO);
  await writeGeoTiff(path.join(sub, `${name}.geo.cc.tif`), { width: W, height: H, data: new Float32Array(W * H).fill(0.9) }, GEO);
}

test('a LiCSAR frame: cumulative displacement chained from interferograms; duplicates and date order said; next week processes the new product only', async () => {
  const dir = tmp();
  try {
    const frame = path.join(dir, 'frame');
    // A small tilt per epoch keeps the phase off exactly 0 (which LiCSAR products use for no data).
    const diff = (a: number, b: number): Float32Array => { const x = bumpLos(amp(a), a), y = bumpLos(amp(b), b); return y.map((v, i) => v - x[i]!); };
    for (let k = 1; k <= 4; k++) await licsarProduct(frame, k - 1, k, diff(k - 1, k));
    await licsarProduct(frame, 1, 3, diff(1, 3));
    // The same pair again elsewhere: a duplicate.
    await licsarProduct(path.join(dir, 'copy'), 2, 3, diff(2, 3));
    const out = path.join(dir, 'out');
    const det = fakeDetector();
    const r1 = await monitor(job([path.join(dir, 'copy'), frame], out, det));
    const notes = r1.run.notes.join('\n');
    assert.match(notes, /duplicate skipped/);
    assert.match(notes, /not in date order: sorted by date/);
    // 5 interferograms + cumulative at epochs 1..4.
    assert.equal(r1.run.processed, 9);
    const rows = r1.run.state.targets['V']!.rows;
    assert.deepEqual(rows.filter((r) => r.kind === 'cumulative').map((r) => r.dates[1]), [day(1), day(2), day(3), day(4)]);
    const t = r1.results[0]!;
    assert.deepEqual(t.epochs.map((e) => e.detected), [false, false, true, true], 'the chained cumulative grows with the deformation');
    assert.equal(t.alerts[0]!.raisedDate, day(4));
    assert.ok(fs.existsSync(path.join(out, 'state', 'chain-V.npz')));
    // Next week: one more interferogram.
    await licsarProduct(frame, 4, 5, diff(4, 5));
    const before = det.inputs;
    const r2 = await monitor(job([frame], out, det));
    assert.equal(r2.run.processed, 2, 'the new interferogram and the new cumulative epoch');
    assert.equal(det.inputs - before, 2);
    assert.equal(r2.results[0]!.epochs.length, 5);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('synthetic stacks: written numpy-readable and resumable; windows fall on the stack pixels; monitored and scored', async () => {
  const dir = tmp();
  try {
    const stacks = path.join(dir, 'stacks');
    const opts = {
      outDir: stacks, count: 3, seed: 5, terrain: { kind: 'procedural' as const }, scene: { size: 64 },
      series: { epochs: 6, spacingDays: 6 }, hdf5: 'licsbas' as const,
    };
    const m = await synthesiseSeries(opts);
    assert.equal(m.stacks.length, 3);
    assert.ok(m.complete);
    assert.deepEqual(m.settings.classes, ['dyke', 'none', 'sill', 'none']);
    const st = readStack(stacks, m.stacks[0]!);
    assert.equal(st.cumulativeM.length, 6);
    assert.equal(st.pairs.length, 1 + 2 + 3 + 3 + 3);
    assert.equal(st.record.label.className, 'dyke');
    assert.ok(fs.existsSync(path.join(stacks, 'stack-00000.cum.h5')));
    const z = readNpz(path.join(stacks, 'stack-00000.npz'));
    assert.deepEqual(z['cumulative']!.shape, [6, 64, 64]);
    assert.equal(z['cumulative']!.dtype, 'float32');
    assert.deepEqual(z['ifg_pairs']!.shape, [12, 2]);
    assert.deepEqual(z['ifg_mask']!.shape, [12, 64, 64]);
    assert.equal(z['onset_index']!.data[0], st.record.label.onsetIndex);
    // Resuming with the same settings keeps the files; other settings are refused.
    const mtime = fs.statSync(path.join(stacks, 'stack-00001.npz')).mtimeMs;
    await synthesiseSeries({ ...opts, count: 4 }).catch(() => undefined);
    await assert.rejects(synthesiseSeries({ ...opts, seed: 6 }), InputError);
    assert.equal(fs.statSync(path.join(stacks, 'stack-00001.npz')).mtimeMs, mtime);
    assert.equal(readSeriesManifest(stacks).stacks.length, 3);

    // A model window of the stack's size centred on it reproduces the stack's own pixels.
    const src = stacksSource(stacks);
    const target = src.targets[0]!;
    const los = st.cumulativeM[5]!.map((v, i) => (st.mask[i] ? NaN : v));
    const p = productFromLos(los, st.size, st.size, st.geo, { id: 'x', prefix: 'x', dates: null, frame: null }, C_BAND_WAVELENGTH_M);
    const w = cutWindow(p, target.point, { size: 64, sizeKm: (64 * 90) / 1000, requireData: false });
    let worst = 0;
    for (let i = 0; i < 64 * 64; i++) {
      if (st.mask[i]) { assert.ok(w.mask[i], 'masked stays masked'); continue; }
      worst = Math.max(worst, Math.abs(wrapPhase(w.wrappedRad[i]! - wrapPhase(losToPhaseRad(st.cumulativeM[5]![i]!)))));
    }
    assert.ok(worst < 1e-3, `window == stack (worst ${worst} rad)`);
    const ctx: SourceContext = { sizeKm: 5.76, size: 64, baseline: null, stateDir: dir, onProblem: () => {} };
    assert.equal(src.inputs(target, ctx).length, 12 + 5);

    // Monitored (the fake model at the stacks' size) and scored against their labels.
    const det = { ...fakeDetector(), size: 64 };
    const r = await monitor({ paths: [stacks], outDir: path.join(dir, 'out'), detector: det, targets: null, sizeKm: 5.76, rule: { k: 2, n: 3, minScore: 0.5, signal: 'cumulative' }, png: true, maxPngs: 1 });
    assert.equal(r.run.processed, 3 * 17);
    assert.ok(r.score);
    assert.equal(r.score!.stacks, 3);
    assert.equal(r.score!.deforming, 2);
    assert.ok(fs.existsSync(path.join(dir, 'out', 'score.md')) && fs.existsSync(path.join(dir, 'out', 'delays.png')));
    // A stack's picture: its epochs above its timeline.
    const png = decodePng(fs.readFileSync(path.join(dir, 'out', 'timelines', 'stack-00000.png')));
    assert.ok(png.height > 380 + 64, `stack picture ${png.width}x${png.height}`);
    assert.ok(!fs.existsSync(path.join(dir, 'out', 'timelines', 'stack-00001.png')), 'at most maxPngs pictures');
    // The cum.h5 written beside a stack is monitored like LiCSBAS output (at the stack's centre).
    const rh = await monitor({ paths: [path.join(stacks, 'stack-00000.cum.h5')], outDir: path.join(dir, 'out-h5'), detector: det, targets: { kind: 'points', points: [target.point] }, sizeKm: 5.76, rule: { k: 2, n: 3, minScore: 0.5, signal: 'cumulative' }, png: false });
    assert.equal(rh.run.processed, 5 + 5);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input: products without targets, a velocity, a missing path: one-line InputErrors', async () => {
  const dir = tmp();
  try {
    const det = fakeDetector();
    const file = path.join(dir, 'cum.h5');
    await writeHdf5Series(file, 'mintpy', { width: W, height: H, geo: GEO, dates: [day(0), day(1)], epochsM: [bumpLos(0), bumpLos(0.01)] });
    await assert.rejects(monitor(job([file], path.join(dir, 'o'), det, { targets: null })), (e: unknown) => e instanceof InputError && /say where to look/.test(e.message));
    await assert.rejects(monitor(job([path.join(dir, 'nothing')], path.join(dir, 'o'), det)), (e: unknown) => e instanceof InputError && /no such file or folder/.test(e.message));
    await assert.rejects(monitor(job([file], path.join(dir, 'o'), det, { targets: { kind: 'points', points: [{ lon: 100, lat: 0 }] } })), (e: unknown) => e instanceof InputError && /none of the points/.test(e.message));
    await assert.rejects(monitor(job([file], path.join(dir, 'o'), det, { rule: { k: 3, n: 2, minScore: 0.5, signal: 'cumulative' } })), InputError);
    const vel = path.join(dir, 'velocity.h5');
    const h5 = await h5wasm();
    const f = new h5.File(vel, 'w');
    f.create_dataset({ name: 'velocity', data: new Float32Array(W * H), shape: [H, W] });
    for (const [k, v] of Object.entries({ X_FIRST: '14', Y_FIRST: '41', X_STEP: '0.0009', Y_STEP: '-0.0009', START_DATE: '20200101', END_DATE: '20210101' })) f.create_attribute(k, v);
    f.close();
    await assert.rejects(monitor(job([vel], path.join(dir, 'o'), det)), (e: unknown) => e instanceof InputError && /a velocity has no time steps/.test(e.message));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
