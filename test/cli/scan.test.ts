import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeGeoTiff, writeGeoTiff } from '../../src/io/geotiff.js';
import { decodePng } from '../../src/io/png.js';
import { InputError } from '../../src/core/errors.js';
import { formatProblem, scanProduct } from '../../src/scan/scan.js';
import { scanAll } from '../../src/scan/scan-all.js';
import { sceneRecords, toFeatureCollection } from '../../src/scan/output.js';
import { ScanWriter } from '../../src/scan/writer.js';
import { scanFigure } from '../../src/scan/figure.js';
import { standInModel } from '../../src/scan/stand-in.js';
import { negatePhase } from '../../src/scan/detector.js';
import { scanCommand } from '../../src/cli/scan.js';
import { loadVolcanoList, scanPoints, volcanoListText } from '../../src/scan/points.js';
import { bump, fakeProduct, thresholdModel } from '../helpers/products.js';
import { runCli } from '../helpers/files.js';

// Two "volcanoes" 35 km apart in a ~67 km x 45 km frame, phase 0.5 rad elsewhere.
const A = { lon: -72.75, lat: -41.2 };
const B = { lon: -72.33, lat: -41.25 };
const phase = (lon: number, lat: number) => 0.5 + bump(A.lon, A.lat, 2.5, 2)(lon, lat) + bump(B.lon, B.lat, 2, 2)(lon, lat);
const product = () => fakeProduct({ width: 400, height: 300, dLon: 0.002, dLat: -0.0015, phase });

const inside = (b: readonly number[], lon: number, lat: number) => lon >= b[0]! && lon <= b[2]! && lat >= b[1]! && lat <= b[3]!;

test('frame scan: overlapping windows, merged by NMS into one box per volcano', async () => {
  const p = product();
  const m = thresholdModel({ background: 0.5 });
  const progress: number[] = [];
  const s = await scanProduct(p, m, { scalesKm: [20], onProgress: (d) => progress.push(d) });
  assert.equal(s.mode, 'frame');
  assert.ok(s.windowCount >= 15, `${s.windowCount} windows`);
  assert.equal(progress.at(-1), s.windowCount);
  assert.ok(m.calls.every((n) => n <= 8), 'batches respect the model batch size');
  const raw = s.predictions.filter((q) => q.className !== 'none');
  assert.ok(raw.length >= 4, `each volcano is seen by several windows (${raw.length})`);
  assert.equal(s.detections.length, 2);
  const hits = [A, B].map((v) => s.detections.filter((d) => inside(d.boxLonLat, v.lon, v.lat)).length);
  assert.deepEqual(hits, [1, 1]);
  for (const d of s.detections) {
    assert.equal(d.className, 'sill');
    // Product-pixel box and lon/lat box describe the same place.
    const [c0, r0, c1, r1] = d.boxPixels;
    assert.ok(Math.abs(p.geo.west + c0 * p.geo.dLon - d.boxLonLat[0]) < 1e-9);
    assert.ok(Math.abs(p.geo.north + r1 * p.geo.dLat - d.boxLonLat[1]) < 1e-9);
    assert.ok(c1 > c0 && r1 > r0);
    // The merged box is the one that saw the whole bump: ~2 x 2.5 km e-folding radius, so a few km.
    const wKm = (d.boxLonLat[2] - d.boxLonLat[0]) * 111.195 * Math.cos((41.2 * Math.PI) / 180);
    assert.ok(wKm > 2 && wKm < 9, `box ${wKm.toFixed(1)} km wide`);
  }
  // No NMS (iou 1, containment 1 are not reachable through scanProduct): the raw count is larger.
  assert.ok(raw.length > s.detections.length);
});

test('point scan: one window per point, class none reported without a box', async () => {
  const p = product();
  const s = await scanProduct(p, thresholdModel({ background: 0.5 }), { at: [{ ...A, name: 'A' }, { lon: -72.55, lat: -41.35 }], scalesKm: [20] });
  assert.equal(s.mode, 'point');
  assert.equal(s.predictions.length, 2);
  const [a, quiet] = s.predictions;
  assert.equal(a!.className, 'sill');
  assert.equal(a!.name, 'A');
  assert.ok(inside(a!.boxLonLat!, A.lon, A.lat));
  assert.equal(quiet!.className, 'none');
  assert.equal(quiet!.boxLonLat, null);
  assert.equal(s.detections.length, 1);
  const recs = sceneRecords(s);
  assert.equal(recs.length, 2);
  assert.equal(recs[1]!.box, null);
  assert.equal(recs[0]!.window!.name, 'A');
  await assert.rejects(scanProduct(p, thresholdModel({ background: 0.5 }), { at: [{ lon: 10, lat: 10 }] }), /outside the product/);
});

test('channel formats the product cannot feed give a clear message', () => {
  const p = { ...product(), unwrappedRad: null };
  assert.match(formatProblem(p, 'uuu')!, /unwrapped phase \(channel format uuu\).*only wrapped phase.*\.unw\.tif/);
  assert.match(formatProblem(p, 'wwd')!, /DEM channel/);
  assert.equal(formatProblem(p, 'www'), null);
  assert.match(formatProblem({ ...p, coherence: null }, 'wc')!, /no \.cc\.tif/);
});

test('GeoJSON: one polygon per detection, closed counter-clockwise lon/lat rings, flat properties', async () => {
  const s = await scanProduct(product(), thresholdModel({ background: 0.5 }), { scalesKm: [20] });
  const fc = toFeatureCollection([s]);
  assert.equal(fc.type, 'FeatureCollection');
  assert.equal(fc.features.length, 2);
  for (const f of fc.features) {
    const ring = f.geometry.coordinates[0]!;
    assert.equal(ring.length, 5);
    assert.deepEqual(ring[0], ring[4]);
    let area2 = 0;
    for (let i = 0; i < 4; i++) area2 += ring[i]![0]! * ring[i + 1]![1]! - ring[i + 1]![0]! * ring[i]![1]!;
    assert.ok(area2 > 0, 'counter-clockwise (RFC 7946)');
    assert.equal(f.properties.class, 'sill');
    assert.equal(f.properties.product, 'fake_20200101_20200113');
    assert.equal(f.properties.start, '2020-01-01');
    assert.ok(typeof f.properties.probability === 'number');
    assert.ok(Object.values(f.properties).every((v) => v === null || typeof v !== 'object'));
  }
});

test('the scene figure draws: a map, panels, legend', async () => {
  const s = await scanProduct(product(), thresholdModel({ background: 0.5 }), { at: [{ ...A, name: 'A' }] });
  const fig = scanFigure(s);
  assert.ok(fig.width > 900 && fig.height > 500, `${fig.width}x${fig.height}`);
  // Some pixels are the cyclic map, some the box outline (white for sill), some grey legend.
  const colours = new Set<string>();
  for (let i = 0; i < fig.data.length; i += 4 * 37) colours.add(`${fig.data[i]},${fig.data[i + 1]},${fig.data[i + 2]}`);
  assert.ok(colours.size > 50);
});

test('negating the phase channels flips u and w only', () => {
  const x = Float32Array.from([0.5, -0.25, 0.7, 0.1, 0.2, 0.3]);
  assert.deepEqual(Array.from(negatePhase(x, 'wc')), [-0.5, -0.25, -0.7, 0.1, -0.2, 0.3].map((v) => Math.fround(v)));
  assert.deepEqual(Array.from(negatePhase(x, 'uuu')), Array.from(x).map((v) => -v));
});

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-scan-'));
  try {
    await f(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Write a fake product as LiCSAR GeoTIFFs. */
async function writeProduct(dir: string, name: string): Promise<void> {
  const p = product();
  const geo = { west: p.geo.west, north: p.geo.north, dLon: p.geo.dLon, dLat: p.geo.dLat };
  fs.mkdirSync(dir, { recursive: true });
  await writeGeoTiff(path.join(dir, `${name}.geo.unw.tif`), { width: p.width, height: p.height, data: p.unwrappedRad! }, geo, { compression: 'deflate' });
  await writeGeoTiff(path.join(dir, `${name}.geo.cc.tif`), { width: p.width, height: p.height, data: p.coherence!.map((c) => c * 255) }, geo, { dtype: 'uint8' });
}

test('scanning folders: every product written, bad files reported and skipped, never stopping the run', async () => {
  await withDir(async (dir) => {
    await writeProduct(path.join(dir, 'in', 'a'), '20200101_20200113');
    await writeProduct(path.join(dir, 'in', 'b'), '20200113_20200125');
    const whole = encodeGeoTiff({ width: 64, height: 64, data: new Float32Array(64 * 64).fill(1) }, { west: -73, north: -41, dLon: 0.01, dLat: -0.01 }, { compression: 'deflate' });
    fs.writeFileSync(path.join(dir, 'in', '20200125_20200206.geo.unw.tif'), whole.subarray(0, whole.length - 100));
    const out = path.join(dir, 'out');
    const writer = new ScanWriter(out);
    const failures: string[] = [];
    const res = await scanAll([path.join(dir, 'in'), path.join(dir, 'nope')], thresholdModel({ background: 0.5 }), {
      scan: { scalesKm: [20] }, onScene: (s) => writer.add(s), onFailure: (f) => failures.push(f.message),
    });
    const o = writer.finish();
    assert.equal(res.products, 3);
    assert.equal(res.scanned, 2);
    assert.equal(res.failures.length, 2);
    assert.match(failures.join('\n'), /nope: no such file or folder/);
    assert.match(failures.join('\n'), /20200125_20200206\.geo\.unw\.tif: (truncated|not a readable TIFF)/);
    const lines = fs.readFileSync(o.jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 4); // two detections per product
    assert.deepEqual([...new Set(lines.map((l) => l.product))].sort(), ['20200101_20200113', '20200113_20200125']);
    assert.deepEqual(lines[0].dates, ['2020-01-01', '2020-01-13']);
    assert.equal(JSON.parse(fs.readFileSync(o.geojson, 'utf8')).features.length, 4);
    assert.equal(o.pngs.length, 2);
    for (const f of o.pngs) assert.ok(decodePng(fs.readFileSync(f)).width > 500);
  });
});

test('caldera scan: exit 1 and a list of failures when a file is bad; clear error when nothing is found', async () => {
  await withDir(async (dir) => {
    await writeProduct(path.join(dir, 'in'), '20200101_20200113');
    fs.writeFileSync(path.join(dir, 'in', 'broken_20200101_20200201.geo.unw.tif'), 'not a tiff');
    const out = path.join(dir, 'out');
    const written: string[] = [];
    const [so, se] = [process.stdout.write, process.stderr.write];
    process.stdout.write = ((s: string) => { written.push(s); return true; }) as typeof process.stdout.write;
    process.stderr.write = ((s: string) => { written.push(s); return true; }) as typeof process.stderr.write;
    let code: number | void;
    try {
      code = await scanCommand.run([path.join(dir, 'in'), '--model', 'stand-in', '--out', out, '--quiet', '--no-png']);
      await assert.rejects(scanCommand.run([path.join(dir, 'empty-does-not-matter'), '--model', 'stand-in', '--out', out, '--quiet', '--volcano', 'Atlantis']),
        (e: unknown) => e instanceof InputError && /unknown volcano 'Atlantis'/.test(e.message));
      fs.mkdirSync(path.join(dir, 'empty'));
      await assert.rejects(scanCommand.run([path.join(dir, 'empty'), '--model', 'stand-in', '--out', out, '--quiet']),
        (e: unknown) => e instanceof InputError && /no interferograms found/.test(e.message));
    } finally {
      process.stdout.write = so;
      process.stderr.write = se;
    }
    assert.equal(code, 1);
    const text = written.join('');
    assert.match(text, /1 of 2 products scanned/);
    assert.match(text, /1 failure:\n {2}broken_20200101_20200201\.geo\.unw\.tif: not a readable TIFF/);
  });
});

test('the stand-in model finds a bullseye and says it is a stand-in', async () => {
  const p = product();
  const s = await scanProduct(p, standInModel(), { at: [A], scalesKm: [20] });
  assert.match(s.model, /stand-in/);
  assert.equal(s.predictions.length, 1);
});

test('volcano lists live in the library: bundled or from a file, points per product; caldera scan --list-volcanoes prints them', async () => {
  const bundled = loadVolcanoList();
  assert.ok(bundled.some((v) => v.name === 'Calbuco'));
  assert.match(volcanoListText(bundled), /^name\s+lon\s+lat\n/);
  assert.match(volcanoListText(bundled), /\nCalbuco\s+-72\.618\s+-41\.330\n/);
  await withDir(async (dir) => {
    const f = path.join(dir, 'v.json');
    fs.writeFileSync(f, JSON.stringify({ volcanoes: [{ name: 'A', lon: A.lon, lat: A.lat }, { name: 'Far', lon: 10, lat: 10 }] }));
    const list = loadVolcanoList(f);
    assert.deepEqual(list.map((v) => v.name), ['A', 'Far']);
    const pts = scanPoints({ volcanoes: ['all'] }, list)!(product());
    assert.deepEqual(pts.map((q) => [q.name, q.optional]), [['A', true]]);
    assert.deepEqual(scanPoints({ volcanoes: ['a'] }, list)!(product()).map((q) => q.name), ['A']);
    assert.deepEqual(scanPoints({ at: '-72.6,-41.3' })!(product()), [{ lon: -72.6, lat: -41.3 }]);
    assert.equal(scanPoints({}), undefined);
    assert.throws(() => scanPoints({ at: '1,2', volcanoes: ['A'] }), /give a point or volcano names, not both/);
    assert.throws(() => scanPoints({ volcanoes: ['Atlantis'] }), /unknown volcano 'Atlantis' \(not in the bundled list; give its point, or a volcano list of your own\)/);
    await assert.rejects(scanCommand.run(['x', '--volcano', 'Atlantis']), /unknown volcano 'Atlantis' \(not in the bundled list; give --at LON,LAT, or --volcanoes FILE; --list-volcanoes shows the list\)/);
    await assert.rejects(scanCommand.run(['x', '--volcano', 'Calbuco', '--at=1,2']), /give --at or --volcano, not both/);
    fs.writeFileSync(f, '[{"name": "x", "lon": "1", "lat": 2}]');
    assert.throws(() => loadVolcanoList(f), /entry 0 is not \{name, lon, lat\}/);
    const out: string[] = [];
    const so = process.stdout.write;
    process.stdout.write = ((s: string) => { out.push(s); return true; }) as typeof process.stdout.write;
    try {
      assert.equal(await scanCommand.run(['--list-volcanoes']), 0);
    } finally {
      process.stdout.write = so;
    }
    assert.match(out.join(''), /Calbuco\s+-72\.618\s+-41\.330[\s\S]*\n\d+ volcanoes \(bundled\)\n$/);
  });
});

test('caldera scan options: scales, thresholds and phase coherence are checked', async () => {
  await withDir(async (dir) => {
    await writeProduct(path.join(dir, 'in'), '20200101_20200113');
    const out = path.join(dir, 'out');
    const args = [path.join(dir, 'in'), '--model', 'stand-in', '--out', out, '--quiet', '--no-png'];
    await assert.rejects(scanCommand.run([...args, '--phase-coherence', 'maybe']), /--phase-coherence must be one of auto, on, off, got 'maybe'/);
    await assert.rejects(scanCommand.run([...args, '--scales-km', '10,20', '--size-km', '20']), /--scales-km or --size-km, not both/);
    await assert.rejects(scanCommand.run([...args, '--scales-km', '10,x']), /--scales-km expects window sizes in km > 0, got 'x'/);
    const so = process.stdout.write;
    const written: string[] = [];
    process.stdout.write = ((s: string) => { written.push(s); return true; }) as typeof process.stdout.write;
    try {
      assert.equal(await scanCommand.run([...args, '--scales-km', '20', '--min-score', '0.5', '--phase-coherence', 'on']), 0);
    } finally {
      process.stdout.write = so;
    }
    assert.match(written.join(''), /1 of 1 product scanned with stand-in.*\(uncalibrated\)/);
    const recs = fs.readFileSync(path.join(out, 'scan.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const r of recs) {
      assert.ok(['detection', 'nothing found', 'not enough data'].includes(r.verdict));
      for (const k of ['verdict', 'class', 'probability', 'probabilities', 'box', 'window', 'temperature']) assert.ok(k in r, `${k} in every record`);
    }
  });
});

/** Run the scan command in-process with its output captured; a thrown error is returned. */
async function scanQuiet(args: string[]): Promise<{ code: number | void; error: unknown; out: string }> {
  const written: string[] = [];
  const [so, se] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string) => { written.push(s); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => { written.push(s); return true; }) as typeof process.stderr.write;
  try {
    return { code: await scanCommand.run(args), error: null, out: written.join('') };
  } catch (e) {
    return { code: undefined, error: e, out: written.join('') };
  } finally {
    process.stdout.write = so;
    process.stderr.write = se;
  }
}

/** Every file of a folder with its bytes (to see that nothing changed). */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, fs.readFileSync(path.join(dir, f)).toString('base64')]));
}

test('caldera scan: bad options and missing paths are refused in one line before anything is written; a previous scan stays as it was', async () => {
  await withDir(async (dir) => {
    await writeProduct(path.join(dir, 'in'), '20200101_20200113');
    const out = path.join(dir, 'out');
    const args = [path.join(dir, 'in'), '--model', 'stand-in', '--out', out, '--quiet', '--scales-km', '20'];
    const first = await scanQuiet(args);
    assert.equal(first.code, 0, String(first.error));
    const before = snapshot(out);
    assert.deepEqual(Object.keys(before), ['20200101_20200113.png', 'scan.geojson', 'scan.jsonl']);
    const bad: [string[], RegExp][] = [
      [['--size-km', '0'], /--size-km expects a window size in km within 0\.5\.\.500, got 0/],
      [['--size-km', '1e9'], /--size-km expects a window size in km within/],
      [['--scales-km', '0.001'], /--scales-km expects window sizes in km within 0\.5\.\.500, got 0\.001/],
      [['--batch', '0'], /--batch must be a whole number from 1 to 1024, got 0/],
      [['--batch', '-3'], /--batch must be a whole number from 1 to 1024, got -3/],
      [['--batch', '1e9'], /--batch must be a whole number from 1 to 1024, got 1000000000/],
      [['--iou', '2'], /--iou must be within 0\.\.1, got 2/],
      [['--min-coherence', '1.5'], /--min-coherence must be within 0\.\.1, got 1\.5/],
      [['--min-score', '-0.1'], /--min-score must be within 0\.\.1/],
      [['--max-masked', '7'], /--max-masked must be within 0\.\.1/],
      [['--overlap', '1'], /--overlap must be within 0\.\.0\.95, got 1/],
      [['--units', 'feet'], /--units must be rad, m or mm, got 'feet'/],
      [['--wavelength', '24'], /--wavelength must be a radar wavelength in metres/],
      [['--at', 'x,y'], /./],
      [[path.join(dir, 'no-such-product')], /no-such-product: no such file or folder/],
    ];
    for (const [extra, re] of bad) {
      const r = await scanQuiet([...args.slice(0, -2), ...extra, ...(extra.some((a) => a.startsWith('--s')) ? [] : ['--scales-km', '20'])]);
      assert.ok(r.error instanceof InputError, `${extra.join(' ')}: ${String(r.error)} (code ${r.code})`);
      assert.match((r.error as Error).message, re, extra.join(' '));
      assert.ok(!(r.error as Error).message.includes('\n'));
      assert.deepEqual(snapshot(out), before, `${extra.join(' ')} changed the previous results`);
    }
    // The same through the command line: one line, exit 2.
    const cli = runCli('scan', path.join(dir, 'in'), '--model', 'stand-in', '--out', out, '--size-km', '0');
    assert.equal(cli.code, 2, cli.err);
    assert.equal(cli.err.trim().split('\n').length, 1, cli.err);
    assert.deepEqual(snapshot(out), before);
  });
});

test('caldera scan writes atomically: results replace the previous ones as a whole, stale pictures go, no temporary files or lock stay', async () => {
  await withDir(async (dir) => {
    await writeProduct(path.join(dir, 'a'), '20200101_20200113');
    await writeProduct(path.join(dir, 'b'), '20200113_20200125');
    const out = path.join(dir, 'out');
    const common = ['--model', 'stand-in', '--out', out, '--quiet', '--scales-km', '20'];
    assert.equal((await scanQuiet([path.join(dir, 'a'), ...common])).code, 0);
    assert.ok(fs.existsSync(path.join(out, '20200101_20200113.png')));
    // A picture the user put there is not the scan's: it stays.
    fs.writeFileSync(path.join(out, 'mine.png'), 'x');
    assert.equal((await scanQuiet([path.join(dir, 'b'), ...common])).code, 0);
    assert.deepEqual(fs.readdirSync(out).sort(), ['20200113_20200125.png', 'mine.png', 'scan.geojson', 'scan.jsonl']);
    const recs = fs.readFileSync(path.join(out, 'scan.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual([...new Set(recs.map((r) => r.product))], ['20200113_20200125']);
    // --no-png: the previous scan's pictures go too (they would describe results no longer there).
    assert.equal((await scanQuiet([path.join(dir, 'a'), ...common, '--no-png'])).code, 0);
    assert.deepEqual(fs.readdirSync(out).sort(), ['mine.png', 'scan.geojson', 'scan.jsonl']);
    // A writer dropped half way leaves the folder as it was.
    const before = snapshot(out);
    const w = new ScanWriter(out);
    const s = await scanProduct(product(), thresholdModel({ background: 0.5 }), { scalesKm: [20] });
    w.add(s);
    assert.ok(fs.readdirSync(out).some((f) => /\.tmp-\d+-/.test(f)), 'work in progress goes to temporary files');
    assert.ok(fs.existsSync(path.join(out, '.caldera.lock')));
    w.abort();
    assert.deepEqual(snapshot(out), before);
  });
});

test('caldera scan: --units mm reads LiCSBAS millimetres as --units m reads metres; values no interferogram has are refused per file', async () => {
  await withDir(async (dir) => {
    const p = product();
    const geo = { west: p.geo.west, north: p.geo.north, dLon: p.geo.dLon, dLat: p.geo.dLat };
    const los = p.unwrappedRad!.map((v) => -v * 0.015); // metres (up to ~4 cm)
    fs.mkdirSync(path.join(dir, 'm'));
    fs.mkdirSync(path.join(dir, 'mm'));
    await writeGeoTiff(path.join(dir, 'm', 'disp_20200101_20200113.tif'), { width: p.width, height: p.height, data: los }, geo);
    await writeGeoTiff(path.join(dir, 'mm', 'disp_20200101_20200113.tif'), { width: p.width, height: p.height, data: los.map((v) => v * 1000) }, geo);
    const recs = async (sub: string, units: string): Promise<unknown[]> => {
      const out = path.join(dir, `out-${sub}-${units}`);
      const r = await scanQuiet([path.join(dir, sub), '--units', units, '--model', 'stand-in', '--out', out, '--quiet', '--no-png', '--scales-km', '20']);
      assert.equal(r.code, 0, `${String(r.error)} ${r.out}`);
      return fs.readFileSync(path.join(out, 'scan.jsonl'), 'utf8').trim().split('\n').map((l) => {
        const j = JSON.parse(l);
        delete j.files;
        return j;
      });
    };
    assert.deepEqual(await recs('mm', 'mm'), await recs('m', 'm'));
    // Millimetres read as metres are noted, as metres read as radians are.
    const noted = await scanQuiet([path.join(dir, 'mm'), '--units', 'm', '--model', 'stand-in', '--out', path.join(dir, 'o2'), '--quiet', '--no-png', '--scales-km', '20']);
    assert.match(noted.out, /are these millimetres or radians\? \(--units mm or rad\)/);

    // All +Infinity, and phase scaled by 1e30: refused per file (one line each, exit 1), never scored.
    fs.mkdirSync(path.join(dir, 'bad'));
    await writeGeoTiff(path.join(dir, 'bad', '20200101_20200113.geo.unw.tif'), { width: 64, height: 64, data: new Float32Array(64 * 64).fill(Infinity) }, geo);
    await writeGeoTiff(path.join(dir, 'bad', '20200113_20200125.geo.unw.tif'), { width: p.width, height: p.height, data: p.unwrappedRad!.map((v) => v * 1e30) }, geo);
    const r = await scanQuiet([path.join(dir, 'bad'), '--model', 'stand-in', '--out', path.join(dir, 'o3'), '--quiet', '--no-png', '--scales-km', '20']);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /0 of 2 products scanned/);
    assert.match(r.out, /20200101_20200113\.geo\.unw\.tif: no finite value in 4096 pixels \(4096 ±Infinity/);
    assert.match(r.out, /20200113_20200125\.geo\.unw\.tif: \d+ of \d+ values exceed 10000 rad/);
  });
});

test('docs/formats.md names every field of scan records and of the GeoJSON properties', async () => {
  const doc = fs.readFileSync(path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../docs/formats.md'), 'utf8');
  const s = await scanProduct(product(), thresholdModel({ background: 0.5 }), { at: [{ ...A, name: 'A' }], scalesKm: [20] });
  const [rec] = sceneRecords(s);
  const keys = new Set<string>();
  const walk = (o: unknown, prefix: string): void => {
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return;
    for (const [k, v] of Object.entries(o)) {
      keys.add(k);
      if (k !== 'probabilities' && k !== 'files') walk(v, `${prefix}${k}.`);
    }
  };
  walk(rec, '');
  for (const k of Object.keys(toFeatureCollection([s]).features[0]!.properties)) keys.add(k);
  const missing = [...keys].filter((k) => !doc.includes(`\`${k}\``) && !doc.includes(`${k},`) && !doc.includes(`.${k}\``));
  assert.deepEqual(missing, [], 'fields docs/formats.md does not name');
});
