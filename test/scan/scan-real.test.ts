/**
 * Scanning as real products need it: several window scales merged by NMS in product pixels (a
 * small and a large source each found at the scale a fake "network" knows), the resampler's
 * footprint at each scale, abstaining (not enough data, below threshold, no valid pixels), the
 * phase-derived coherence on products without a .cc file, and the record schema.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { wrapPhase } from '../../src/core/raster.js';
import { Rng } from '../../src/core/rng.js';
import { writeGeoTiff } from '../../src/io/geotiff.js';
import { resampleWindow, windowFootprintPx } from '../../src/data/windows.js';
import { resampleLayers } from '../../src/data/resample.js';
import { DEFAULT_SCALES_KM, scanProduct, usableScales, type SceneResult } from '../../src/scan/scan.js';
import { scanAll } from '../../src/scan/scan-all.js';
import { sceneRecords, toFeatureCollection } from '../../src/scan/output.js';
import { scanFigure } from '../../src/scan/figure.js';
import type { Detector, ModelOutput } from '../../src/scan/detector.js';
import { bump, fakeProduct, thresholdModel } from '../helpers/products.js';

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-scan-real-'));
after(() => fs.rmSync(ROOT, { recursive: true, force: true }));

const KM_PER_DEG = 111.195;
const LAT0 = -41.2;
const COS = Math.cos((LAT0 * Math.PI) / 180);

/**
 * A fake network that "knows" deformation only at the sizes it was trained on: the pixels whose
 * wrapped phase differs from the background by > 0.5 rad form the source; it answers sill 0.9 with
 * their bounding box when that box is 16-120 window pixels across and does not touch the window
 * edge, else none. Counts the windows it is asked about.
 */
function sizeAwareModel(size = 224, prob = 0.9): Detector & { asked: number } {
  const m = {
    asked: 0, format: 'w' as const, size, name: 'size-aware fake', batchSize: 16,
    run: async (inputs: Float32Array[]): Promise<ModelOutput[]> => {
      m.asked += inputs.length;
      return inputs.map((x) => {
        let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, k = 0;
        for (let y = 0; y < size; y++) {
          for (let xx = 0; xx < size; xx++) {
            const v = x[y * size + xx]! * Math.PI;
            if (v === 0) continue;
            if (Math.abs(wrapPhase(v - 0.5)) > 0.5) { k++; x0 = Math.min(x0, xx); x1 = Math.max(x1, xx); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
          }
        }
        const ext = Math.max(x1 - x0, y1 - y0);
        const inside = x0 > 1 && y0 > 1 && x1 < size - 2 && y1 < size - 2;
        if (k < 20 || ext < 16 || ext > 120 || !inside) return { probs: [0.05, 0.05, 0.9], box: [0.5, 0.5, 0.1, 0.1] as const };
        return { probs: [0.05, prob, 0.95 - prob], box: [(x0 + x1) / 2 / size, (y0 + y1) / 2 / size, (x1 - x0) / 2 / size, (y1 - y0) / 2 / size] as const };
      });
    },
  };
  return m;
}

// A 60 x 45 km product of ~50 m pixels: a small source (1 km e-folding radius: ~2 km of fringes)
// and a caldera-sized one (6 km: ~15 km of fringes) 30 km apart.
const SMALL = { lon: -72.9, lat: -41.3 };
const LARGE = { lon: -72.48, lat: -41.42 };
const fine = () => fakeProduct({
  width: 1440, height: 900, west: -73.08, north: LAT0, dLon: 0.0006, dLat: -0.0005,
  phase: (lon, lat) => 0.5 + bump(SMALL.lon, SMALL.lat, 1, 3)(lon, lat) + bump(LARGE.lon, LARGE.lat, 6, 3)(lon, lat),
});
const inside = (b: readonly number[], lon: number, lat: number) => lon >= b[0]! && lon <= b[2]! && lat >= b[1]! && lat <= b[3]!;
const widthKm = (b: readonly number[]) => (b[2]! - b[0]!) * KM_PER_DEG * COS;

test('several scales: a 2 km source and a 15 km caldera are each found at a scale the network knows, merged once each', async () => {
  const p = fine();
  const m = sizeAwareModel();
  const progress: [number, number][] = [];
  const s = await scanProduct(p, m, { onProgress: (d, n) => progress.push([d, n]) });
  assert.deepEqual(s.scalesKm, [...DEFAULT_SCALES_KM]);
  assert.deepEqual(s.notes, []);
  // Progress runs over all windows of all scales, to the end.
  const total = s.windowCount + s.notEnoughData.length;
  assert.deepEqual(progress.at(-1), [total, total]);
  assert.ok(progress.every(([, n]) => n === total));
  assert.equal(m.asked, s.windowCount);
  const perScale = DEFAULT_SCALES_KM.map((k) => s.predictions.filter((q) => q.sizeKm === k).length);
  assert.ok(perScale[0]! > perScale[1]! && perScale[1]! > perScale[2]!, `windows per scale ${perScale}`);
  assert.equal(s.detections.length, 2, s.detections.map((d) => `${d.sizeKm} km ${d.boxLonLat}`).join('; '));
  const small = s.detections.find((d) => inside(d.boxLonLat, SMALL.lon, SMALL.lat));
  const large = s.detections.find((d) => inside(d.boxLonLat, LARGE.lon, LARGE.lat));
  assert.ok(small && large);
  assert.ok(small.sizeKm < 25, `small source from a ${small.sizeKm} km window`);
  assert.equal(large.sizeKm, DEFAULT_SCALES_KM[2], 'the caldera only fits the 40 km windows');
  assert.ok(widthKm(small.boxLonLat) > 1 && widthKm(small.boxLonLat) < 5, `small box ${widthKm(small.boxLonLat)} km`);
  assert.ok(widthKm(large.boxLonLat) > 9 && widthKm(large.boxLonLat) < 22, `large box ${widthKm(large.boxLonLat)} km`);
  // The small source is seen by windows of two scales; NMS in product pixels keeps one box.
  const rawSmall = s.predictions.filter((q) => q.verdict === 'detection' && inside(q.boxLonLat!, SMALL.lon, SMALL.lat));
  assert.ok(new Set(rawSmall.map((q) => q.sizeKm)).size >= 2, 'seen at two scales before merging');
  // With the 20 km scale alone, the caldera is not found.
  const one = await scanProduct(p, sizeAwareModel(), { scalesKm: [DEFAULT_SCALES_KM[1]!] });
  assert.equal(one.detections.filter((d) => inside(d.boxLonLat, LARGE.lon, LARGE.lat)).length, 0);
  // The records and GeoJSON say which scale found what.
  const recs = sceneRecords(s);
  assert.deepEqual(recs.map((r) => r.verdict), ['detection', 'detection']);
  assert.deepEqual(new Set(recs.map((r) => r.window!.sizeKm)), new Set([small.sizeKm, large.sizeKm].map((v) => Math.round(v * 1000) / 1000)));
  assert.ok(toFeatureCollection([s]).features.every((f) => typeof f.properties.window_km === 'number'));
});

test("the resampler's footprint follows the scale: 40 km windows average a fine pattern, 20 km windows of coarse products interpolate", () => {
  // Alternating ±1 rad columns around 0.2 rad (period 2 pixels, 100 m): unresolvable at 180 m.
  const p = fakeProduct({ width: 1000, height: 1000, west: -73.0, north: LAT0, dLon: 0.0006, dLat: -0.00045, phase: () => 0 });
  const wr = p.wrappedRad;
  for (let i = 0; i < wr.length; i++) wr[i] = 0.2 + ((i % 1000) % 2 ? 1 : -1);
  const centre = { lon: -72.7, lat: -41.42 };
  const coarse = { centre, size: 224, spacingM: (DEFAULT_SCALES_KM[2]! * 1000) / 224 };
  const fp = windowFootprintPx(p, coarse);
  assert.ok(Math.abs(fp - 180 / Math.sqrt(0.0006 * KM_PER_DEG * 1000 * Math.cos((centre.lat * Math.PI) / 180) * 0.00045 * KM_PER_DEG * 1000)) < 1e-3);
  assert.ok(fp > 3);
  const w = resampleWindow(p, coarse);
  // The same grid sampled bilinearly (footprint 1) reads anywhere in 0.2 ± 1 rad.
  const dLat = coarse.spacingM / (Math.PI * 6371008.8 / 180), dLon = dLat / Math.cos((centre.lat * Math.PI) / 180);
  const bilinear = resampleLayers(p, 224, 224, (c, r, at) => {
    at[0] = (centre.lon + (c - 112) * dLon - p.geo.west) / p.geo.dLon - 0.5;
    at[1] = (centre.lat + (112 - r) * dLat - p.geo.north) / p.geo.dLat - 0.5;
  }, 1);
  const dev = (a: Float32Array) => {
    let max = 0, sum = 0;
    for (const v of a) { max = Math.max(max, Math.abs(v - 0.2)); sum += Math.abs(v - 0.2); }
    return { max, mean: sum / a.length };
  };
  const area = dev(w.wrappedRad), sampled = dev(bilinear.wrappedRad);
  // Averaging 3.6 columns leaves at most an unbalanced part of one column: < 0.2 rad off.
  assert.ok(area.max < 0.2, `area average: max deviation ${area.max.toFixed(3)} rad`);
  assert.ok(sampled.max > 0.8 && sampled.mean > 3 * area.mean, `bilinear: max ${sampled.max.toFixed(3)}, mean ${sampled.mean.toFixed(3)} vs ${area.mean.toFixed(3)}`);
  // Windows finer than the product: footprint 1 (bilinear), as before.
  assert.equal(windowFootprintPx(fakeProduct({ width: 10, height: 10, phase: () => 0 }), { centre, size: 224, spacingM: 90 }), 1);
});

test('scales that would only magnify the product are skipped with a note; never all of them', () => {
  const coarse = fakeProduct({ width: 50, height: 50, dLon: 0.0025, dLat: -0.0022, phase: () => 0 }); // ~220 m pixels
  const u = usableScales(coarse, DEFAULT_SCALES_KM, 224);
  assert.deepEqual(u.scales, DEFAULT_SCALES_KM.slice(1));
  assert.match(u.notes[0]!, /^10\.08 km windows skipped: their 45 m pixels would magnify the product's 2\d\d m pixels \d\.\d×$/);
  const v = usableScales(coarse, [5], 224);
  assert.deepEqual(v.scales, [5]);
  assert.match(v.notes.at(-1)!, /kept 5 km windows although/);
  assert.throws(() => usableScales(coarse, [], 224), /at least one window scale/);
  assert.throws(() => usableScales(coarse, [20, -1], 224), /window sizes must be within 0\.5\.\.500 km, got -1/);
});

test('abstaining: mostly masked windows get "not enough data" and are not run; answers below the threshold are not detections', async () => {
  // The bump sits where the product is 70 % masked at the 20 km scale.
  const A = { lon: -72.75, lat: -41.2 };
  const p = fakeProduct({
    width: 400, height: 300, dLon: 0.002, dLat: -0.0015, phase: (lon, lat) => 0.5 + bump(A.lon, A.lat, 2.5, 2)(lon, lat),
    coherence: (lon) => (lon < -72.6 && lon > -72.85 ? 0.9 : lon < -72.6 ? 0.1 : 0.9),
  });
  const m = thresholdModel({ background: 0.5 });
  const s = await scanProduct(p, m, { scalesKm: [20], at: [{ ...A, name: 'A' }, { lon: -72.95, lat: -41.3, name: 'west' }] });
  // 'west' is in the masked strip: not run.
  assert.equal(m.calls.reduce((a, b) => a + b, 0), s.windowCount);
  const recs = sceneRecords(s);
  assert.deepEqual(recs.map((r) => [r.window!.name, r.verdict]), [['A', 'detection'], ['west', 'not enough data']]);
  const nd = recs[1]!;
  assert.equal(nd.class, null);
  assert.equal(nd.probability, null);
  assert.equal(nd.probabilities, null);
  assert.equal(nd.box, null);
  assert.match(nd.message!, /^\d+ % of the window is masked \(more than 60 %\): no verdict$/);
  assert.ok(nd.window!.maskedFraction > 0.6);
  // A stricter threshold: the same answer (0.9) is below it.
  const strict = await scanProduct(p, thresholdModel({ background: 0.5 }), { scalesKm: [20], at: [A], minScore: 0.95 });
  assert.equal(strict.predictions[0]!.verdict, 'below threshold');
  assert.equal(strict.detections.length, 0);
  assert.equal(sceneRecords(strict)[0]!.class, 'sill');
  // Frame mode: not-enough-data windows are listed, detections too; a looser max-masked runs more windows.
  const f = await scanProduct(p, thresholdModel({ background: 0.5 }), { scalesKm: [20] });
  const loose = await scanProduct(p, thresholdModel({ background: 0.5 }), { scalesKm: [20], maxMasked: 0.95 });
  assert.ok(f.notEnoughData.length > 0);
  assert.ok(loose.windowCount > f.windowCount);
  const fr = sceneRecords(f);
  assert.equal(fr.filter((r) => r.verdict === 'not enough data').length, f.notEnoughData.length);
  assert.equal(fr.filter((r) => r.verdict === 'detection').length, 1);
  assert.ok(scanFigure(f).width > 900);
  // Nothing found: one record that says how much was looked at.
  const quiet = await scanProduct(p, thresholdModel({ background: 0.5 }), { scalesKm: [20], minScore: 0.99 });
  const q = sceneRecords(quiet).filter((r) => r.verdict === 'nothing found');
  assert.equal(q.length, 1);
  assert.match(q[0]!.message!, /^no detection at probability >= 0\.99 in \d+ windows of 20 km \(\d+ windows below the threshold\)$/);
  await assert.rejects(scanProduct(p, m, { minScore: 2 }), /min score must be within 0\.\.1/);
});

async function writeTif(file: string, width: number, height: number, data: Float32Array): Promise<void> {
  await writeGeoTiff(file, { width, height, data }, { west: -73, north: LAT0, dLon: 0.001, dLat: -0.00075 });
}

test('scanAll: a wrapped product without .cc is masked by its phase-derived coherence; a product with no valid pixels is reported, not scored', async () => {
  const dir = path.join(ROOT, 'products');
  fs.mkdirSync(dir, { recursive: true });
  // One 20 km window's worth (220 x 220 px of ~84 x 83 m): west, the clean fringes of a source;
  // east of column 120, uniform random phase (decorrelated), as LiCSAR's wrapped products show it.
  const W = 220, H = 220;
  const rng = new Rng(4);
  const pha = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      pha[y * W + x] = x < 120 ? wrapPhase(0.5 + 8 * Math.exp(-((x - 60) ** 2 + (y - 110) ** 2) / 300)) : rng.uniform(-Math.PI, Math.PI);
    }
  }
  await writeTif(path.join(dir, 'noisy_20200101_20200113.geo.diff_pha.tif'), W, H, pha);
  await writeTif(path.join(dir, 'empty_20200101_20200113.geo.unw.tif'), W, H, new Float32Array(W * H).fill(NaN).map((v, i) => (i === 0 ? NaN : v)));
  const scenes: SceneResult[] = [];
  const m = thresholdModel({ background: 0.5, channels: 1 });
  const res = await scanAll([dir], { ...m, format: 'w' }, { scan: { scalesKm: [20] }, onScene: (s) => { scenes.push(s); } });
  assert.equal(res.products, 2);
  assert.equal(res.scanned, 2);
  assert.equal(res.empty, 1);
  assert.deepEqual(res.failures, []);
  const empty = scenes.find((s) => s.product.id.startsWith('empty'))!;
  assert.equal(empty.status, 'no valid pixels');
  const er = sceneRecords(empty);
  assert.equal(er.length, 1);
  assert.equal(er[0]!.verdict, 'no valid pixels');
  assert.match(er[0]!.message!, /no valid pixels after masking \(no data or zero\): not scored/);
  const noisy = scenes.find((s) => s.product.id.startsWith('noisy'))!;
  assert.equal(noisy.product.coherenceSource, 'phase');
  assert.match(noisy.product.notes.join('\n'), /coherence estimated from the wrapped phase/);
  const share = (x0: number, x1: number) => {
    let k = 0;
    for (let y = 0; y < H; y++) for (let x = x0; x < x1; x++) if (noisy.product.mask[y * W + x]) k++;
    return k / (H * (x1 - x0));
  };
  assert.ok(share(0, 110) < 0.01, `fringes masked: ${share(0, 110)}`);
  assert.ok(share(130, W) > 0.9, `noise masked: ${share(130, W)}`);
  assert.ok(noisy.detections.some((d) => d.boxPixels[0] < 60 && d.boxPixels[2] > 60), 'the source is found');
  // Turned off: nothing is masked.
  const off: SceneResult[] = [];
  await scanAll([path.join(dir, 'noisy_20200101_20200113.geo.diff_pha.tif')], { ...m, format: 'w' }, {
    phaseCoherence: 'off', scan: { scalesKm: [20] }, onScene: (s) => { off.push(s); },
  });
  assert.equal(off[0]!.product.maskedFraction, 0);
  assert.equal(off[0]!.product.coherenceSource, 'none');
});
