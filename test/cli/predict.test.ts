/** `caldera predict`, `eval` and `train` as a user runs them: output lines, files, one-line errors. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeNpy } from '../../src/io/npy.js';
import { writeGeoTiff } from '../../src/io/geotiff.js';
import { decodePng } from '../../src/io/png.js';
import { initBackend } from '../../src/engine/backend.js';
import { buildNetwork } from '../../src/engine/network.js';
import { saveModel } from '../../src/engine/io-handler.js';
import { MODEL_META_KEY } from '../../src/engine/trained-model.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-cli-predict-'));
after(() => fs.rmSync(ROOT, { recursive: true, force: true }));
let n = 0;
const tmp = (): string => fs.mkdtempSync(path.join(ROOT, `${n++}-`));

function run(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

await initBackend();
async function model(format: string): Promise<string> {
  const dir = path.join(tmp(), `model-${format}`);
  const m = buildNetwork({ inputChannels: format.length, variant: 'tiny', seed: 1 });
  await saveModel(m, dir, { [MODEL_META_KEY]: { channelFormat: format, inputSize: 224 } });
  m.dispose();
  return dir;
}
const W = await model('w');

// A 300 (W) × 180 (H) interferogram: a fringe pattern, a masked corner.
const ifg = Float32Array.from({ length: 300 * 180 }, (_, i) => {
  const x = i % 300, y = Math.floor(i / 300);
  return x < 20 && y < 20 ? NaN : 30 * Math.exp(-((x - 200) ** 2 + (y - 60) ** 2) / 800);
});
const D = tmp();
writeNpy(path.join(D, 'a.npy'), { data: ifg, shape: [180, 300] });
await writeGeoTiff(path.join(D, 'b.tif'), { width: 300, height: 180, data: ifg.map((v) => v * 0.0044) }, { west: 130, north: 33, dLon: 0.001, dLat: -0.001 });

test('predict: one JSON line per file, box in the input pixels; --png draws it; --sign adds the negated answer', () => {
  const png = path.join(tmp(), 'png');
  const r = run('predict', '--model', W, '--json', '--sign', '--png', png, path.join(D, 'a.npy'));
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.equal(lines.length, 1);
  const j = JSON.parse(lines[0]!);
  assert.equal(j.width, 300);
  assert.equal(j.height, 180);
  assert.ok(['dyke', 'sill', 'none'].includes(j.class));
  const p = j.probabilities;
  assert.ok(Math.abs(p.dyke + p.sill + p.none - 1) < 1e-3);
  // The schema scan records share: verdict, class, probability, probabilities, box {pixels, lonLat, polygon, window}.
  assert.ok(['detection', 'below threshold', 'none'].includes(j.verdict));
  assert.equal(j.probability, p[j.class]);
  assert.equal(j.maskedFraction, Math.round((400 / (300 * 180)) * 1e4) / 1e4);
  if (j.class === 'none') assert.equal(j.box, null);
  else {
    // Pixels in GDAL convention: the box centre is a sigmoid of the padded square, x in [0, 300], y in [-60, 240].
    const [x0, y0, x1, y1] = j.box.pixels;
    assert.ok((x0 + x1) / 2 >= 0 && (x0 + x1) / 2 <= 300 && (y0 + y1) / 2 >= -60 && (y0 + y1) / 2 <= 240, JSON.stringify(j.box));
    assert.equal(j.box.window.length, 4);
    assert.equal(j.box.lonLat, null, 'a .npy has no grid');
  }
  assert.ok(j.negated && typeof j.negated.class === 'string' && typeof j.negated.verdict === 'string');
  assert.equal(r.err, '', 'no warning: 300 px is not much larger than the view');
  const img = decodePng(fs.readFileSync(path.join(png, 'a.png')));
  assert.ok(img.width >= 300 && img.height >= 180);
  // GeoTIFF in metres, plain text output.
  const t = run('predict', '--model', W, '--units', 'm', path.join(D, 'b.tif'));
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /b\.tif: (detection|below threshold|none) (dyke|sill|none) \(dyke 0\.\d{3}, sill 0\.\d{3}, none 0\.\d{3}\)/);
});

test('predict on a raster much larger than the view warns and suggests scan; a mostly masked one gets no verdict', async () => {
  const d = tmp();
  const big = Float32Array.from({ length: 600 * 400 }, (_, i) => Math.sin((i % 600) / 7));
  writeNpy(path.join(d, 'frame.npy'), { data: big, shape: [400, 600] });
  const r = run('predict', '--model', W, '--json', path.join(d, 'frame.npy'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /^caldera predict: warning: .*frame\.npy: 600×400 px is squeezed 2\.7× into the network's 224 px view.*caldera scan/);
  assert.match(JSON.parse(r.out).warnings[0], /squeezed 2\.7×/);
  // Georeferenced: judged by ground size (600 px of ~80 m = 50 km, > 1.5 × 20 km).
  await writeGeoTiff(path.join(d, 'frame.tif'), { width: 600, height: 400, data: big }, { west: -73, north: -41, dLon: 0.001, dLat: -0.00075 });
  const g = run('predict', '--model', W, path.join(d, 'frame.tif'));
  assert.equal(g.code, 0, g.err);
  assert.match(g.err, /frame\.tif: 600×400 px \(about 5\d km across\) is squeezed .*2\.\d× the 20\.2 km it was trained on.*caldera scan .*frame\.tif looks at it window by window/);
  // Mostly masked: not enough data, the network is not asked.
  const holes = Float32Array.from(ifg, (v, i) => (i % 300 < 200 ? NaN : v));
  writeNpy(path.join(d, 'holes.npy'), { data: holes, shape: [180, 300] });
  const h = run('predict', '--model', W, '--json', path.join(d, 'holes.npy'));
  assert.equal(h.code, 0, h.err);
  const hj = JSON.parse(h.out);
  assert.equal(hj.verdict, 'not enough data');
  assert.equal(hj.class, null);
  assert.equal(hj.probabilities, null);
  assert.equal(hj.box, null);
  assert.match(run('predict', '--model', W, path.join(d, 'holes.npy')).out, /holes\.npy: not enough data \(67 % masked/);
  assert.equal(JSON.parse(run('predict', '--model', W, '--json', '--max-masked', '0.9', path.join(d, 'holes.npy')).out).verdict === 'not enough data', false);
});

test('predict errors: one line each, exit 2; good files are still answered', async () => {
  const d = tmp();
  writeNpy(path.join(d, 'cube.npy'), { data: new Float32Array(8), shape: [2, 2, 2] });
  writeNpy(path.join(d, 'nan.npy'), { data: new Float32Array(9).fill(NaN), shape: [3, 3] });
  await writeGeoTiff(path.join(d, 'two.tif'), { width: 4, height: 3, data: new Float32Array(12) }, { west: 0, north: 0, dLon: 1, dLat: -1 }, { extraBands: [new Float32Array(12)] });
  const r = run('predict', '--model', W, '--json', path.join(d, 'cube.npy'), path.join(D, 'a.npy'), path.join(d, 'nan.npy'), path.join(d, 'two.tif'));
  assert.equal(r.code, 2);
  assert.equal(r.out.trim().split('\n').length, 1, 'the good file is answered');
  const errs = r.err.trim().split('\n');
  assert.equal(errs.length, 3, r.err);
  assert.match(errs[0]!, /^caldera predict: .*cube\.npy: expected a 2-D array/);
  assert.match(errs[1]!, /nan\.npy: every value is NaN/);
  assert.match(errs[2]!, /two\.tif: has 2 bands/);

  const oneLine = (res: { code: number; err: string }, re: RegExp): void => {
    assert.equal(res.code, 2, res.err);
    assert.equal(res.err.trim().split('\n').length, 1, res.err);
    assert.match(res.err, re);
  };
  const trunc = await model('w');
  fs.truncateSync(path.join(trunc, 'weights.bin'), 100);
  oneLine(run('predict', '--model', trunc, path.join(D, 'a.npy')), /weights\.bin: expected \d+ bytes .* \(truncated\?\)/);
  const badFormat = await model('w');
  const mj = path.join(badFormat, 'model.json');
  fs.writeFileSync(mj, fs.readFileSync(mj, 'utf8').replace('"channelFormat":"w"', '"channelFormat":"qq"'));
  oneLine(run('predict', '--model', badFormat, path.join(D, 'a.npy')), /unknown channel format 'qq'/);
  oneLine(run('predict', '--model', await model('wwd'), path.join(D, 'a.npy')), /needs a DEM: pass --dem FILE/);
  oneLine(run('predict', '--model', path.join(d, 'nowhere'), path.join(D, 'a.npy')), /no saved model here/);
  oneLine(run('predict', '--model', W, '--units', 'ft', path.join(D, 'a.npy')), /--units must be rad, m or mm, got 'ft'/);
  oneLine(run('predict', '--model', W), /give one or more interferograms/);
});

test('train, resume and eval from the command line', () => {
  const data = path.join(tmp(), 'data');
  assert.equal(run('synth', '--count', '12', '--out', data, '--seed', '3', '--workers', '1', '--quiet').code, 0);
  const out = path.join(tmp(), 'run');
  const args = ['train', '--data', data, '--out', out, '--epochs', '1', '--batch', '4', '--arch', 'tiny', '--val-fraction', '0.25', '--quiet'];
  const t = run(...args);
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /1 epochs, 8 images/);
  assert.match(t.err, /epoch 1\/1: loss/);
  const again = run(...args);
  assert.equal(again.code, 2);
  assert.match(again.err, /pass --resume/);
  const more = run(...args.map((a) => (a === '1' ? '2' : a)), '--resume');
  assert.equal(more.code, 0, more.err);
  assert.match(more.err, /resuming after epoch 1/);
  assert.match(more.out, /2 epochs, 16 images/);
  const png = path.join(tmp(), 'eval.png');
  const json = path.join(tmp(), 'eval.json');
  const e = run('eval', '--model', out, '--data', data, '--json', '--png', png, '--out', json);
  assert.equal(e.code, 0, e.err);
  const rep = JSON.parse(e.out);
  assert.equal(rep.n, 12);
  assert.equal(rep.channelFormat, 'w');
  assert.deepEqual(Object.keys(rep.perClass), ['dyke', 'sill', 'none']);
  for (const k of ['mean', 'median', 'p90']) assert.ok(k in rep.box.detected.centreErrorPx);
  assert.ok('accuracyNegated' in rep.signInvariance);
  assert.deepEqual(JSON.parse(fs.readFileSync(json, 'utf8')), rep);
  assert.ok(decodePng(fs.readFileSync(png)).width > 600);
  assert.equal(rep.calibration.temperature, null);
  assert.ok(rep.calibration.ece >= 0 && rep.calibration.ece <= 1);
  // --calibrate fits the temperature, writes it beside the model; eval (and predict, scan) then apply it.
  const cal = run('eval', '--model', out, '--data', data, '--calibrate', '--quiet');
  assert.equal(cal.code, 0, cal.err);
  assert.match(cal.out, /calibration: temperature \d+\.\d{3} on 12 samples: ECE .* -> .*; written to .*calibration\.json/);
  const written = JSON.parse(fs.readFileSync(path.join(out, 'calibration.json'), 'utf8'));
  assert.ok(written.temperature > 0 && written.eceBefore >= 0 && written.heldOut.eceAfter >= 0);
  assert.equal(JSON.parse(run('eval', '--model', out, '--data', data, '--json').out).calibration.temperature, written.temperature);
  assert.equal(run('eval', '--model', out, '--data', path.join(data, 'nope')).code, 2);
  const bad = run('train', '--synthetic-on-the-fly', '--data', data, '--out', tmp());
  assert.equal(bad.code, 2);
  assert.match(bad.err, /give --data or --synthetic-on-the-fly, not both/);
});

test('predict: LOS without --units m warns as scan does; units mm; L-band wavelength; names that are not phase; unused --coherence; --png FILE.png', async () => {
  const d = tmp();
  // b.tif is LOS metres (up to ~13 cm): read as radians it warns, and says so in the JSON too.
  const silent = run('predict', '--model', W, '--json', path.join(D, 'b.tif'));
  assert.equal(silent.code, 0, silent.err);
  assert.match(silent.err, /caldera predict: warning: .*b\.tif: values only up to 0\.13 rad; if this is LOS displacement in metres, pass --units m/);
  assert.match(JSON.parse(silent.out).warnings.join(' '), /pass --units m/);
  // The same LOS in millimetres with --units mm is the same answer as metres with --units m.
  await writeGeoTiff(path.join(d, 'b-mm.tif'), { width: 300, height: 180, data: ifg.map((v) => v * 4.4) }, { west: 130, north: 33, dLon: 0.001, dLat: -0.001 });
  const m = run('predict', '--model', W, '--json', '--units', 'm', path.join(D, 'b.tif'));
  const mm = run('predict', '--model', W, '--json', '--units', 'mm', path.join(d, 'b-mm.tif'));
  assert.equal(m.code, 0, m.err);
  assert.equal(mm.code, 0, mm.err);
  assert.doesNotMatch(m.err, /--units/);
  const strip = (s: string): unknown => { const j = JSON.parse(s); delete j.file; delete j.warnings; return j; };
  assert.deepEqual(strip(mm.out), strip(m.out));
  // L band: unwrapped phase at 0.2424 m is the C-band phase x 0.2424 / 0.0555.
  const k = 0.2424 / 0.055465763;
  writeNpy(path.join(d, 'c-band.npy'), { data: ifg.map((v) => v * k), shape: [180, 300] });
  const l = run('predict', '--model', W, '--json', '--wavelength', '0.2424', path.join(D, 'a.npy'));
  const c = run('predict', '--model', W, '--json', path.join(d, 'c-band.npy'));
  assert.equal(l.code, 0, l.err);
  assert.match(l.err, /phase at wavelength 0\.2424 m rescaled to C-band phase/);
  const lj = JSON.parse(l.out), cj = JSON.parse(c.out);
  for (const key of ['dyke', 'sill', 'none'] as const) assert.ok(Math.abs(lj.probabilities[key] - cj.probabilities[key]) < 1e-3, `${key}: ${lj.probabilities[key]} vs ${cj.probabilities[key]}`);

  const oneLine = (res: { code: number; err: string; out: string }, re: RegExp): void => {
    assert.equal(res.code, 2, res.err);
    assert.equal(res.out, '');
    assert.equal(res.err.trim().split('\n').length, 1, res.err);
    assert.match(res.err, re);
  };
  oneLine(run('predict', '--model', W, '--wavelength', '24', path.join(D, 'a.npy')), /--wavelength must be a radar wavelength in metres \(0\.001\.\.1/);
  // A coherence file, another LiCSAR layer, wrapped phase of another wavelength: refused by name.
  fs.copyFileSync(path.join(D, 'b.tif'), path.join(d, '20200101_20200113.geo.cc.tif'));
  oneLine(run('predict', '--model', W, path.join(d, '20200101_20200113.geo.cc.tif')), /geo\.cc\.tif: the name says coherence \(LiCSAR \.cc\), not phase/);
  fs.copyFileSync(path.join(D, 'b.tif'), path.join(d, '20200101_20200113.geo.hgt.tif'));
  oneLine(run('predict', '--model', W, path.join(d, '20200101_20200113.geo.hgt.tif')), /a LiCSAR layer that is not an interferogram/);
  fs.copyFileSync(path.join(D, 'b.tif'), path.join(d, '20200101_20200113.geo.diff_pha.tif'));
  oneLine(run('predict', '--model', W, '--wavelength', '0.2424', path.join(d, '20200101_20200113.geo.diff_pha.tif')), /wrapped phase at wavelength 0\.2424 m cannot be rescaled/);
  // Values no interferogram has: x1e30, byte-swapped, all +Infinity.
  writeNpy(path.join(d, 'huge.npy'), { data: ifg.map((v) => v * 1e30), shape: [180, 300] });
  oneLine(run('predict', '--model', W, path.join(d, 'huge.npy')), /huge\.npy: \d+ of \d+ values exceed 10000 rad .*byte-swapped, wrongly scaled/);
  const swapped = Buffer.from(ifg.buffer.slice(0));
  swapped.swap32();
  writeNpy(path.join(d, 'swapped.npy'), { data: new Float32Array(swapped.buffer, swapped.byteOffset, ifg.length), shape: [180, 300] });
  oneLine(run('predict', '--model', W, path.join(d, 'swapped.npy')), /swapped\.npy: .*(byte-swapped|±Infinity)/);
  await writeGeoTiff(path.join(d, 'inf.tif'), { width: 32, height: 32, data: new Float32Array(1024).fill(Infinity) }, { west: 130, north: 33, dLon: 0.001, dLat: -0.001 });
  oneLine(run('predict', '--model', W, path.join(d, 'inf.tif')), /inf\.tif: no finite value in 1024 pixels \(1024 ±Infinity/);

  // --coherence with a model that has no coherence channel: said, not silently ignored.
  const coh = run('predict', '--model', W, '--coherence', path.join(D, 'b.tif'), path.join(D, 'a.npy'));
  assert.equal(coh.code, 0, coh.err);
  assert.match(coh.err, /warning: --coherence is not used: the model's channel format 'w' has no coherence channel/);

  // --png FILE.png writes that file for one input; several inputs are refused before anything runs.
  const png = path.join(d, 'pics', 'x.png');
  const one = run('predict', '--model', W, '--png', png, path.join(D, 'a.npy'));
  assert.equal(one.code, 0, one.err);
  assert.ok(fs.statSync(png).isFile());
  assert.ok(decodePng(fs.readFileSync(png)).width > 200);
  oneLine(run('predict', '--model', W, '--png', path.join(d, 'y.png'), path.join(D, 'a.npy'), path.join(D, 'b.tif')), /--png .*y\.png names one picture but 2 inputs were given/);
  assert.ok(!fs.existsSync(path.join(d, 'y.png')));
  oneLine(run('predict', '--model', W, '--png', path.join(d, 'y.jpg'), path.join(D, 'a.npy')), /predict draws PNG pictures/);
});
