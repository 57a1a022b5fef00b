import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { InputError } from '../../src/core/errors.js';
import { writeGeoTiff } from '../../src/io/geotiff.js';
import { addSample, listSamples, loadRealTraining, parseLonLatBox, readSample } from '../../src/data/real.js';
import { labelFromEpisodes, parseEpisodes } from '../../src/data/episodes.js';
import { IDENTITY } from '../../src/data/augment.js';
import { labelCommand } from '../../src/cli/label.js';
import { bump, fakeProduct } from '../helpers/products.js';
import { captureOutput, withDir as withTempDir } from '../helpers/files.js';

const V = { lon: -72.7, lat: -41.2 };
const product = (id = 'f_20200101_20200113') => fakeProduct({ id, width: 300, height: 300, dLon: 0.002, dLat: -0.0015, phase: (lon, lat) => 0.5 + bump(V.lon, V.lat, 2, 4)(lon, lat) });
const BOX: [number, number, number, number] = [-72.74, -41.23, -72.66, -41.17];
const rejects = (re: RegExp) => (e: unknown) => e instanceof InputError && re.test(e.message);

const withDir = (f: (dir: string) => Promise<void>): Promise<void> => withTempDir('caldera-real-', f);

test('boxes: any two opposite corners, lon first', () => {
  assert.deepEqual(parseLonLatBox('-72.66,-41.17,-72.74,-41.23'), BOX);
  assert.throws(() => parseLonLatBox('1,2,3'), rejects(/lon0,lat0,lon1,lat1/));
  assert.throws(() => parseLonLatBox('-41,-100,-40,-41'), rejects(/latitudes/));
  assert.throws(() => parseLonLatBox('1,2,1,3'), rejects(/no area/));
});

test('a labelled sample round-trips: crop GeoTIFFs + sample.json, label in lon/lat, re-adding replaces', async () => {
  await withDir(async (dir) => {
    const p = product();
    const { meta, replaced } = await addSample(dir, p, { className: 'sill', box: BOX, volcano: { name: 'Test Peak', ...V }, note: 'hello' });
    assert.equal(replaced, false);
    assert.equal(meta.id, 'f_20200101_20200113__Test-Peak');
    assert.deepEqual(meta.centre, [V.lon, V.lat]);
    assert.deepEqual(meta.dates, ['2020-01-01', '2020-01-13']);
    // 40 km crop: ~ 40 / (0.0015 * 111.2) rows, clipped by the product (300 px).
    assert.ok(meta.crop.height > 200 && meta.crop.height <= 241, String(meta.crop.height));
    const listed = listSamples(dir);
    assert.equal(listed.length, 1);
    assert.deepEqual(listed[0]!.box, BOX);
    assert.equal(listed[0]!.note, 'hello');
    const back = await readSample(dir, listed[0]!);
    assert.equal(back.width, meta.crop.width);
    const i = 40 * back.width + 40;
    const lon = back.geo.west + 40.5 * back.geo.dLon, lat = back.geo.north + 40.5 * back.geo.dLat;
    const col = Math.floor((lon - p.geo.west) / p.geo.dLon), row = Math.floor((lat - p.geo.north) / p.geo.dLat);
    assert.equal(back.unwrappedRad![i], p.unwrappedRad![row * p.width + col], 'the crop keeps the product pixels');
    assert.ok(Math.abs(back.coherence![i]! - 0.9) < 1e-6);
    assert.equal((await addSample(dir, p, { className: 'sill', box: BOX, volcano: { name: 'Test Peak', ...V } })).replaced, true);
    assert.equal(listSamples(dir).length, 1);
  });
});

test('labels are checked: boxes inside the product, none without a box, deformation with one', async () => {
  await withDir(async (dir) => {
    const p = product();
    await assert.rejects(addSample(dir, p, { className: 'dyke', box: [-60, -41.2, -59.9, -41.1] }), rejects(/box -60\.0000,-41\.2000,-59\.9000,-41\.1000 lies outside the product \(lon -73\.0000\.\.-72\.4000/));
    await assert.rejects(addSample(dir, p, { className: 'dyke' }), rejects(/class dyke needs a box/));
    await assert.rejects(addSample(dir, p, { className: 'none', box: BOX }), rejects(/class none takes no box/));
    await assert.rejects(addSample(dir, p, { className: 'none', centre: { lon: 0, lat: 0 } }), rejects(/centre .* is outside the product/));
    assert.throws(() => listSamples(path.join(dir, 'nothing')), rejects(/not a labelled real dataset/));
  });
});

test('augmented real training examples: toExample shape, labels follow the transform, classes balanced', async () => {
  await withDir(async (dir) => {
    const p = product();
    await addSample(dir, p, { className: 'sill', box: BOX, volcano: { name: 'A', ...V } });
    await addSample(dir, product('g_20200113_20200125'), { className: 'none', volcano: { name: 'A', ...V } });
    const set = await loadRealTraining(dir, { format: 'uuu', randomSign: false });
    assert.deepEqual(set.counts, [0, 1, 1]);
    const sill = set.samples.findIndex((s) => s.meta.className === 'sill');
    const none = 1 - sill;
    // Identity: the box is the lon/lat box in the 224 px window at 90 m around the volcano.
    const e = set.example(sill, IDENTITY);
    assert.equal(e.x.length, 224 * 224 * 3);
    assert.equal(e.classIndex, 1);
    assert.equal(e.hasBox, true);
    const kmW = (BOX[2] - BOX[0]) * 111.195 * Math.cos((41.2 * Math.PI) / 180);
    assert.ok(Math.abs(e.box[2] * 2 * 224 * 0.09 - kmW) < 0.2, `box width ${e.box[2] * 2 * 224 * 0.09} km vs ${kmW}`);
    assert.deepEqual(set.example(none, IDENTITY).box, [0, 0, 0, 0]);
    assert.equal(set.example(none, IDENTITY).hasBox, false);
    // Random augmentations: the strongest pixels of the bump (u channel near its max) stay in the box.
    const rng = new Rng(5);
    let counted = 0;
    for (let k = 0; k < 20; k++) {
      const ex = set.next(rng);
      if (!ex.hasBox) continue;
      const [cx, cy, hw, hh] = ex.box.map((v) => v * 224) as [number, number, number, number];
      for (let i = 0; i < 224 * 224; i++) {
        if (ex.x[i * 3]! < 0.8) continue; // u rescaled to [-1, 1]: the top of the bump
        const x = i % 224, y = Math.floor(i / 224);
        assert.ok(Math.abs(x - cx) <= hw + 1 && Math.abs(y - cy) <= hh + 1, `(${x}, ${y}) outside the box`);
        counted++;
      }
    }
    assert.ok(counted > 50);
    // Request-driven streams: (seed, i) always gives the same example.
    const a = set.exampleAt(7, 12), b = set.exampleAt(7, 12);
    assert.deepEqual(a.x, b.x);
    assert.deepEqual(a.box, b.box);
    assert.equal(a.sampleId, b.sampleId);
    // Random signs: the phase channels of a flipped example are the negation of the unflipped one.
    const signed = await loadRealTraining(dir, { format: 'www' });
    const plus = signed.example(sill, IDENTITY, 1), minus = signed.example(sill, IDENTITY, -1);
    let agree = 0;
    for (let i = 0; i < plus.x.length; i++) if (Math.abs(plus.x[i]! + minus.x[i]!) < 1e-5 || Math.abs(Math.abs(plus.x[i]!) - 1) < 1e-5) agree++;
    assert.equal(agree, plus.x.length);
    const signs = new Set(Array.from({ length: 12 }, (_, i) => Math.sign(signed.exampleAt(1, i).x[(112 * 224 + 100) * 3]!)));
    assert.ok(signs.size >= 2, 'both signs drawn');
    const epoch = [...set.epoch(new Rng(2), 3)];
    assert.equal(epoch.length, 6, '3 per class, 2 classes present');
    assert.deepEqual([1, 2].map((c) => epoch.filter((x) => x.classIndex === c).length), [3, 3]);
  });
});

const EPISODES = {
  episodes: [
    { id: 'e1', source: 'mogi', polygon: [[-72.74, -41.23], [-72.66, -41.23], [-72.66, -41.17], [-72.74, -41.17]], start: '2020-01-03', end: '2020-01-05', magnitude: 0.02 },
    { id: 'e2', source: 'dyke', polygon: { type: 'Polygon', coordinates: [[[-72.72, -41.22], [-72.68, -41.22], [-72.70, -41.18], [-72.72, -41.22]]] }, start: '2020-01-04', end: '2020-01-04', magnitude: -0.08 },
    { id: 'far', source: 'sill', polygon: [[10, 10], [11, 10], [11, 11]], start: '2019-01-01', end: '2021-01-01' },
  ],
};

test('episode files: three layouts, clear errors', () => {
  const eps = parseEpisodes(JSON.stringify(EPISODES));
  assert.deepEqual(eps.map((e) => [e.id, e.className]), [['e1', 'sill'], ['e2', 'dyke'], ['far', 'sill']]);
  assert.deepEqual(eps[1]!.bounds, [-72.72, -41.22, -72.68, -41.18]);
  assert.equal(parseEpisodes(JSON.stringify(EPISODES.episodes)).length, 3);
  const fc = { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: EPISODES.episodes[1]!.polygon, properties: { id: 'x', source: 'sill', start: '2020-01-01', end: '2020-01-02' } }] };
  assert.equal(parseEpisodes(JSON.stringify(fc))[0]!.className, 'sill');
  const bad = (e: object, re: RegExp) => assert.throws(() => parseEpisodes(JSON.stringify({ episodes: [{ ...EPISODES.episodes[0], ...e }] }), 'ep.json'), rejects(re));
  bad({ source: 'fault' }, /ep\.json: episode e1: source must be dyke, sill or mogi, got "fault"/);
  bad({ start: '2020/01/03' }, /start must be a date YYYY-MM-DD/);
  bad({ end: '2019-12-01' }, /ends \(2019-12-01\) before it starts/);
  bad({ polygon: [[1, 2]] }, /at least 3 \[lon, lat\] points/);
  bad({ volcano: 'Atlantis' }, /unknown volcano 'Atlantis'/);
  assert.throws(() => parseEpisodes('{"episodes": [{"id": 1, "source": "dyke", "polygon": [[0,0],[1,0],[1,1]], "start": "2020-01-01", "end": "2020-01-02"}, {"id": 1, "source": "dyke", "polygon": [[0,0],[1,0],[1,1]], "start": "2020-01-01", "end": "2020-01-02"}]}'), rejects(/used twice/));
  assert.throws(() => parseEpisodes('{"nope": 1}'), rejects(/expected \{"episodes"/));
  assert.throws(() => parseEpisodes('{'), rejects(/not valid JSON/));
});

test('episodes label interferograms by the dates they span', () => {
  const eps = parseEpisodes(JSON.stringify(EPISODES));
  const withDates = (d: [string, string] | null) => { const p = product(); return { ...p, files: { ...p.files, dates: d } }; };
  const both = labelFromEpisodes(eps, withDates(['2020-01-01', '2020-01-13']));
  assert.equal(both.kind, 'label');
  if (both.kind === 'label') {
    assert.equal(both.className, 'dyke', 'largest |magnitude| wins');
    assert.deepEqual(both.others.map((o) => o.id), ['e1']);
  }
  const one = labelFromEpisodes(eps, withDates(['2020-01-04', '2020-01-05']));
  assert.equal(one.kind, 'skip', 'covers e2 fully but only part of e1');
  const quiet = labelFromEpisodes(eps, withDates(['2020-01-06', '2020-01-18']));
  assert.ok(quiet.kind === 'label' && quiet.className === 'none' && quiet.centre !== null);
  const e1only = labelFromEpisodes(eps.filter((e) => e.id !== 'e2'), withDates(['2020-01-02', '2020-01-06']));
  assert.ok(e1only.kind === 'label' && e1only.className === 'sill' && e1only.episode?.id === 'e1');
  assert.match((labelFromEpisodes(eps, withDates(null)) as { reason: string }).reason, /no dates/);
  assert.match((labelFromEpisodes(eps.filter((e) => e.id === 'far'), withDates(['2020-01-01', '2020-01-13'])) as { reason: string }).reason, /no episode lies inside/);
});

test('caldera label --episodes: every product labelled or skipped with a reason', async () => {
  await withDir(async (dir) => {
    const geoOf = (p: ReturnType<typeof product>) => ({ west: p.geo.west, north: p.geo.north, dLon: p.geo.dLon, dLat: p.geo.dLat });
    fs.mkdirSync(path.join(dir, 'in'));
    for (const d of ['20200101_20200113', '20200106_20200118', '20200104_20200105']) {
      const p = product(d);
      await writeGeoTiff(path.join(dir, 'in', `${d}.geo.unw.tif`), { width: p.width, height: p.height, data: p.unwrappedRad! }, geoOf(p));
    }
    const ep = path.join(dir, 'ep.json');
    fs.writeFileSync(ep, JSON.stringify(EPISODES));
    const out = path.join(dir, 'ds');
    const { result: code, stdout, stderr } = await captureOutput(async () => {
      const c = await labelCommand.run([path.join(dir, 'in'), '--episodes', ep, '--out', out]);
      await assert.rejects(labelCommand.run([path.join(dir, 'in', '20200101_20200113.geo.unw.tif'), '--class', 'sill', '--box', '-60,-41,-59.9,-41.1', '--out', out]), rejects(/lies outside the product/));
      await assert.rejects(labelCommand.run([path.join(dir, 'in'), '--class', 'sill', '--box', BOX.join(','), '--out', out]), rejects(/labels one product; 3 were found/));
      return c;
    });
    const written = [stdout, stderr];
    assert.equal(code, 0);
    const classes = listSamples(out).map((m) => [m.dates![0], m.className, m.source.episode ?? null]);
    assert.deepEqual(classes.sort(), [['2020-01-01', 'dyke', 'e2'], ['2020-01-06', 'none', null]]);
    assert.match(written.join(''), /1 dyke, 0 sill, 1 none added/);
    assert.match(written.join(''), /skipped 20200104_20200105: 2020-01-04\.\.2020-01-05 covers only part of episode e1/);
  });
});

test('caldera label --units mm (LiCSBAS) and --wavelength (L band): samples hold the C-band phase either way', async () => {
  await withDir(async (dir) => {
    const p = product('disp_20200101_20200113');
    const geo = { west: p.geo.west, north: p.geo.north, dLon: p.geo.dLon, dLat: p.geo.dLat };
    const lambdaC = 0.055465763;
    const losM = p.unwrappedRad!.map((v) => (-v * lambdaC) / (4 * Math.PI));
    fs.mkdirSync(path.join(dir, 'mm'));
    fs.mkdirSync(path.join(dir, 'l'));
    await writeGeoTiff(path.join(dir, 'mm', 'disp_20200101_20200113.tif'), { width: p.width, height: p.height, data: losM.map((v) => v * 1000) }, geo);
    // The same motion seen in L band: fewer radians.
    await writeGeoTiff(path.join(dir, 'l', '20200101_20200113.geo.unw.tif'), { width: p.width, height: p.height, data: p.unwrappedRad!.map((v) => (v * lambdaC) / 0.2424) }, geo);
    const label = async (input: string, out: string, extra: string[]): Promise<Float32Array> => {
      const { result } = await captureOutput(() => labelCommand.run([input, '--class', 'sill', '--box', BOX.join(','), '--out', out, ...extra]));
      assert.equal(result, 0);
      const [m] = listSamples(out);
      return (await readSample(out, m!)).unwrappedRad!;
    };
    const fromMm = await label(path.join(dir, 'mm', 'disp_20200101_20200113.tif'), path.join(dir, 'ds-mm'), ['--units', 'mm']);
    const fromL = await label(path.join(dir, 'l', '20200101_20200113.geo.unw.tif'), path.join(dir, 'ds-l'), ['--wavelength', '0.2424']);
    let worst = 0;
    for (let i = 0; i < fromMm.length; i++) worst = Math.max(worst, Math.abs(fromMm[i]! - fromL[i]!));
    assert.ok(worst < 1e-4, `mm and L-band samples differ by ${worst} rad`);
    const peak = fromMm.reduce((m, v) => Math.max(m, v), 0);
    assert.ok(peak > 4 && peak < 4.6, `the C-band phase of the bump (~4.5 rad), got ${peak}`);
    await assert.rejects(labelCommand.run([path.join(dir, 'mm'), '--class', 'none', '--units', 'cm', '--out', path.join(dir, 'x')]), rejects(/--units must be rad, m or mm, got 'cm'/));
  });
});

test('caldera study --real refuses formats the real samples cannot feed before any training', async () => {
  await withDir(async (dir) => {
    await addSample(path.join(dir, 'real'), product(), { className: 'sill', box: BOX });
    const { studyCommand } = await import('../../src/cli/study.js');
    const args = ['channels', '--data', path.join(dir, 'no-data'), '--test', path.join(dir, 'no-test'), '--out', path.join(dir, 'study'), '--real', path.join(dir, 'real')];
    await assert.rejects(studyCommand.run([...args, '--formats', 'uuu,uud,w,wwd']),
      rejects(/^--real .*real cannot score formats uud, wwd \(channel format uud needs a DEM; real samples carry none yet\); give --formats uuu,w, or leave out --real$/));
    // With formats it can feed, the next check (the datasets) speaks: nothing was trained in between.
    await assert.rejects(studyCommand.run([...args, '--formats', 'uuu,w']), rejects(/no-test/));
    assert.ok(!fs.existsSync(path.join(dir, 'study')));
  });
});
