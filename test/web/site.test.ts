/**
 * The web page's Node side and its browser-free parts: `caldera web` writes and serves the site
 * (127.0.0.1 only, files inside the folder only), the page's scan of given files gives
 * `scanAll`'s records, scan folders are read line by line, pairing by name, the browser's
 * Deflate inflater, map ticks. The page itself runs in browser.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeGeoTiff } from '../../src/io/geotiff.js';
import { pairFiles } from '../../src/io/product.js';
import { streamInflate } from '../../src/io/tiff-codecs.js';
import { wrapPhase } from '../../src/core/raster.js';
import { loadDetector } from '../../src/scan/detector.js';
import { scanAll } from '../../src/scan/scan-all.js';
import { sceneRecords, type ScanRecord } from '../../src/scan/output.js';
import type { SceneResult } from '../../src/scan/scan.js';
import { scanGeoJson, scanGivenFiles, scanRecords } from '../../src/web/scan-files.js';
import { groupByProduct, parseScanGeoJson, parseScanJsonl } from '../../src/web/results.js';
import { fileFor, serveDir } from '../../src/web/serve.js';
import { ticks } from '../../src/web/map.js';
import { runCli, withDir } from '../helpers/files.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

/** A wrapped + coherence product with a bullseye, written as LiCSAR layers into `dir`. */
async function product(dir: string, name = '20200101_20200113'): Promise<string[]> {
  const W = 200, H = 160;
  const geo = { west: -72.8, north: -41.1, dLon: 0.002, dLat: -0.0016 };
  const pha = new Float32Array(W * H), cc = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      pha[y * W + x] = wrapPhase(20 / (1 + ((x - 120) ** 2 + (y - 70) ** 2) / 400) + 0.01 * x);
      cc[y * W + x] = y > 130 ? 0.05 : 0.9;
    }
  }
  const files = [path.join(dir, `${name}.geo.diff_pha.tif`), path.join(dir, `${name}.geo.cc.tif`)];
  await writeGeoTiff(files[0]!, { width: W, height: H, data: pha }, geo, { compression: 'deflate' });
  await writeGeoTiff(files[1]!, { width: W, height: H, data: cc }, geo);
  return files;
}

const withoutFiles = (r: ScanRecord): Omit<ScanRecord, 'files'> => {
  const { files: _files, ...rest } = r;
  return rest;
};

test("the page's scan of given files (bytes and names) gives scanAll's records and GeoJSON", async () => {
  await withDir('caldera-web-scan-', async (dir) => {
    const files = await product(dir);
    fs.writeFileSync(path.join(dir, 'readme.txt'), 'not a layer');
    const model = await loadDetector('stand-in');
    const node: SceneResult[] = [];
    await scanAll([dir], model, { onScene: (s) => { node.push(s); } });
    const web: SceneResult[] = [];
    const given = [...files, path.join(dir, 'readme.txt')].map((f) => ({
      name: `folder/${path.basename(f)}`, fromFolder: true, bytes: async () => new Uint8Array(fs.readFileSync(f)),
    }));
    const res = await scanGivenFiles(given, model, {}, { onScene: (s) => { web.push(s); } });
    assert.deepEqual([res.products, res.scanned, res.failures.length, res.ignored], [1, 1, 0, ['folder/readme.txt']]);
    assert.equal(web.length, 1);
    assert.deepEqual(scanRecords(web).map(withoutFiles), node.flatMap((s) => sceneRecords(s)).map(withoutFiles));
    assert.deepEqual(scanRecords(web)[0]!.files, { diffPha: 'folder/20200101_20200113.geo.diff_pha.tif', cc: 'folder/20200101_20200113.geo.cc.tif' });
    assert.equal(scanGeoJson(web), scanGeoJson(node));
    // Picked one by one, a file that is not a layer is a problem, a broken one a failure; the others go on.
    const picked = [
      { name: 'notes.txt', bytes: async () => new Uint8Array(1) },
      { name: 'x.geo.unw.tif', bytes: async () => new Uint8Array([0, 1, 2, 3]) },
      ...files.map((f) => ({ name: path.basename(f), bytes: async () => new Uint8Array(fs.readFileSync(f)) })),
    ];
    const failures: string[] = [];
    const r2 = await scanGivenFiles(picked, model, {}, { onFailure: (f) => failures.push(f.message) });
    assert.equal(r2.scanned, 1);
    assert.match(failures.join('\n'), /notes\.txt: not a GeoTIFF \(\.tif\)/);
    assert.match(failures.join('\n'), /x\.geo\.unw\.tif: not a readable TIFF/);
  });
});

test('pairing by name: layers by prefix, dates and frame from the path, coherence alone and second files are problems', () => {
  const d = pairFiles([
    { name: '083D_12636_131313/20160414_20160426/20160414_20160426.geo.unw.tif' },
    { name: '083D_12636_131313/20160414_20160426/20160414_20160426.geo.cc.tif' },
    { name: 'a.geo.cc.tif' },
    { name: 'b.geo.diff_pha.tif' }, { name: 'b.geo.diff_pha.tiff' },
    { name: 'x/a.geo.hgt.tif', explicit: false },
  ]);
  assert.deepEqual(d.products.map((p) => [p.id, p.dates, p.frame, Boolean(p.unw), Boolean(p.cc)]), [
    ['083D_12636_131313/20160414_20160426', ['2016-04-14', '2016-04-26'], '083D_12636_131313', true, true],
    ['b', null, null, false, false],
  ]);
  assert.deepEqual(d.problems.map((p) => p.message), [
    'b.geo.diff_pha.tiff: a second diff_pha file for b (also b.geo.diff_pha.tif)',
    'a.geo.cc.tif: coherence only; no .unw.tif or .diff_pha.tif with the same prefix',
  ]);
  assert.deepEqual(d.ignored, ['x/a.geo.hgt.tif']);
});

test("the browser's Deflate inflater: zlib's bytes, and never more than the block holds", async () => {
  const data = new Uint8Array(5000).map((_, i) => (i * 7) % 251);
  const packed = new Uint8Array(zlib.deflateSync(data));
  assert.deepEqual(await streamInflate(packed, data.length), data);
  await assert.rejects(streamInflate(packed, 4999), /larger than the 4999 bytes/);
  await assert.rejects(streamInflate(new Uint8Array([1, 2, 3, 4]), 100));
});

test('scan folders: records line by line (bad lines reported, not fatal), GeoJSON boxes, pictures by product', () => {
  const rec = { product: 'p/1', verdict: 'detection', class: 'dyke', probability: 0.9, probabilities: { dyke: 0.9, sill: 0.05, none: 0.05 },
    box: { pixels: [1, 2, 3, 4], lonLat: [0, 0, 1, 1], polygon: [[0, 1], [1, 1], [1, 0], [0, 0]], window: [1, 1, 1, 1] },
    window: { centre: [0.5, 0.5], name: null, sizeKm: 20, spacingM: 90, maskedFraction: 0.1 } };
  const text = [JSON.stringify(rec), '{bad', '', JSON.stringify({ ...rec, verdict: 'maybe' }), JSON.stringify({ ...rec, product: 'q', verdict: 'nothing found', box: null, window: null })].join('\n');
  const r = parseScanJsonl(text);
  assert.equal(r.items.length, 2);
  assert.deepEqual(r.problems, ['scan.jsonl line 2: not JSON', 'scan.jsonl line 4: not a scan record (unknown verdict "maybe")']);
  assert.deepEqual(parseScanJsonl('').problems, ['scan.jsonl: no records (empty file)']);
  const g = groupByProduct(r.items, ['out/p_1.png', 'out/other.png']);
  assert.deepEqual(g.map((x) => [x.id, x.records.length, x.detections.length, x.picture]), [['p/1', 1, 1, 'out/p_1.png'], ['q', 1, 0, null]]);
  const fc = parseScanGeoJson('{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[0,1],[0,0],[1,0],[1,1],[0,1]]]}, "properties": {"class": "sill", "probability": 0.9}}, {"type": "Feature"}]}');
  assert.deepEqual([fc.items.length, fc.items[0]!.className, fc.problems], [1, 'sill', ['scan.geojson feature 2: not a polygon']]);
  assert.deepEqual(parseScanGeoJson('[]').problems, ['scan.geojson: not a GeoJSON FeatureCollection']);
});

test('map ticks: round degree steps, at most six, labels with the decimals they need', () => {
  assert.deepEqual(ticks(-73.84, -72.43), { values: [-73.75, -73.5, -73.25, -73, -72.75, -72.5], decimals: 2 });
  assert.deepEqual(ticks(-41.79, -40.86), { values: [-41.6, -41.4, -41.2, -41], decimals: 1 });
  assert.deepEqual(ticks(10, 40).decimals, 0);
});

test('the server: files inside the folder only, .wasm as application/wasm, 404 for the rest', async () => {
  await withDir('caldera-web-serve-', async (dir) => {
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html>');
    fs.mkdirSync(path.join(dir, 'wasm'));
    fs.writeFileSync(path.join(dir, 'wasm', 'a.wasm'), new Uint8Array([0, 97, 115, 109]));
    fs.writeFileSync(path.join(dir, '.caldera-web'), 'x');
    assert.equal(fileFor(dir, '/'), path.join(dir, 'index.html'));
    for (const bad of ['/../etc/passwd', '/%2e%2e/x', '/.caldera-web', '/wasm/../../x', '/%00', '/nothing']) assert.equal(fileFor(dir, bad), null, bad);
    const s = await serveDir(dir, { port: 0 });
    try {
      assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const w = await fetch(`${s.url}wasm/a.wasm`);
      assert.equal(w.headers.get('content-type'), 'application/wasm');
      assert.deepEqual(new Uint8Array(await w.arrayBuffer()), new Uint8Array([0, 97, 115, 109]));
      assert.equal((await fetch(`${s.url}.caldera-web`)).status, 404);
      assert.equal((await fetch(s.url, { method: 'POST' })).status, 405);
    } finally {
      await s.close();
    }
  });
});

test('caldera web: --out or --serve needed, a foreign folder refused, --serve writes the site and serves it on 127.0.0.1 until stopped', { timeout: 120_000 }, async () => {
  assert.match(runCli('web').err, /give --out DIR to write the site, --serve to serve it, or both/);
  await withDir('caldera-web-cli-', async (dir) => {
    fs.writeFileSync(path.join(dir, 'mine.txt'), 'keep');
    const r = runCli('web', '--out', dir);
    assert.equal(r.code, 2);
    assert.match(r.err, /not empty and not a caldera site/);
    assert.deepEqual(fs.readdirSync(dir), ['mine.txt']);

    const site = path.join(dir, 'site');
    const child = spawn(process.execPath, [MAIN, 'web', '--serve', '--port', '0', '--out', site], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stderr.on('data', (b: Buffer) => { err += String(b); });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        out += String(b);
        const m = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`caldera web exited ${code}: ${err}`)));
    });
    try {
      const html = await (await fetch(url)).text();
      assert.match(html, /Content-Security-Policy/);
      assert.match(html, /<script type="module" src="caldera.js"><\/script>/);
      const config = await (await fetch(`${url}config.json`)).json() as { model: { path: string; name: string; calibration: boolean } };
      const calibrated = fs.existsSync(path.resolve(path.dirname(MAIN), '../../../models/default/calibration.json'));
      assert.deepEqual(config.model, { path: 'model/', name: 'models/default', calibration: calibrated });
      const weights = new Uint8Array(await (await fetch(`${url}model/weights.bin`)).arrayBuffer());
      assert.equal(weights.length, fs.statSync(path.resolve(path.dirname(MAIN), '../../../models/default/weights.bin')).size);
      assert.equal((await fetch(`${url}wasm/tfjs-backend-wasm-simd.wasm`)).headers.get('content-type'), 'application/wasm');
      const js = await (await fetch(`${url}caldera.js`)).text();
      assert.ok(js.length > 500_000, 'the bundle holds tfjs and the library');
      assert.doesNotMatch(js, /from\s*"node:/, 'no Node built-in in the bundle');
    } finally {
      child.kill('SIGINT');
    }
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, err);
    assert.ok(fs.existsSync(path.join(site, 'index.html')), '--out keeps the site');
  });
});
