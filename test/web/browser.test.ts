/**
 * The web page in a real browser: Debian's headless Chromium driven by playwright-core (which
 * uses the installed browser and downloads nothing). The site is written and served on
 * 127.0.0.1; the page loads the model, scans the Calbuco product of ../shared/real (or a product
 * this test writes) picked through its file input, and its records must be `caldera scan`'s on the
 * same files (class and verdict equal, probabilities within 1e-3, boxes within 0.5 px). Then bad
 * input dropped on the page (an unreadable file, a GeoTIFF without georeference), the results
 * view on the CLI's output folder, keyboard selection, a model that fails to load, and that no
 * request left 127.0.0.1. A screenshot is saved; its path is printed last
 * (CALDERA_WEB_SCREENSHOT=FILE chooses where; CALDERA_SHARED_REAL=DIR another ../shared/real).
 *
 * Skipped, with a message, when /usr/bin/chromium (CALDERA_CHROMIUM) or playwright-core is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeGeoTiff, writeGeoTiff } from '../../src/io/geotiff.js';
import { wrapPhase } from '../../src/core/raster.js';
import { Rng } from '../../src/core/rng.js';
import { writeSite } from '../../src/web/site.js';
import { serveDir } from '../../src/web/serve.js';
import type { ScanRecord } from '../../src/scan/output.js';
import { runCli } from '../helpers/files.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CHROMIUM = process.env.CALDERA_CHROMIUM ?? '/usr/bin/chromium';
const REAL = process.env.CALDERA_SHARED_REAL ?? path.resolve(REPO, '../shared/real');
const CALBUCO = ['unw', 'diff_pha', 'cc'].map((k) => path.join(REAL, `calbuco_20160414_20160426.geo.${k}.tif`));

async function playwright(): Promise<typeof import('playwright-core') | null> {
  try {
    return await import('playwright-core');
  } catch {
    return null;
  }
}
const pw = await playwright();
const skip = !fs.existsSync(CHROMIUM)
  ? `no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it): the browser test is skipped`
  : !pw ? 'playwright-core is not installed (npm install): the browser test is skipped' : false;

/** A small LiCSAR-like product (unw, diff_pha, cc) with a deformation bullseye, for when ../shared/real is absent. */
async function writeProduct(dir: string): Promise<string[]> {
  const W = 420, H = 300;
  const geo = { west: -72.95, north: -41.05, dLon: 0.0015, dLat: -0.0012 };
  const rng = new Rng(7);
  const unw = new Float32Array(W * H), pha = new Float32Array(W * H), cc = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const r2 = ((x - 250) ** 2 + (y - 140) ** 2) / 35 ** 2;
      const i = y * W + x;
      unw[i] = 25 / (1 + r2) ** 1.5 + 0.004 * x + 0.3 * rng.normal();
      pha[i] = wrapPhase(unw[i]!);
      cc[i] = x < 60 && y > 200 ? 0.1 : 0.85;
    }
  }
  const name = path.join(dir, '20200101_20200113.geo');
  const files = [`${name}.unw.tif`, `${name}.diff_pha.tif`, `${name}.cc.tif`];
  await writeGeoTiff(files[0]!, { width: W, height: H, data: unw }, geo);
  await writeGeoTiff(files[1]!, { width: W, height: H, data: pha }, geo);
  await writeGeoTiff(files[2]!, { width: W, height: H, data: cc }, geo);
  return files;
}

const near = (a: number, b: number, tol: number): boolean => Math.abs(a - b) <= tol;

/** Compare the page's records with the CLI's: the same records in order, numbers within tolerance. Returns the largest differences. */
function compareRecords(web: ScanRecord[], cli: ScanRecord[]): { prob: number; px: number } {
  assert.equal(web.length, cli.length, `the page has ${web.length} records, caldera scan ${cli.length}`);
  let prob = 0, px = 0;
  web.forEach((w, i) => {
    const c = cli[i]!;
    const at = `record ${i + 1} (${c.verdict}${c.class ? ` ${c.class}` : ''})`;
    assert.equal(w.product, c.product, at);
    assert.equal(w.verdict, c.verdict, at);
    assert.equal(w.class, c.class, at);
    assert.deepEqual([w.dates, w.frame, w.mode, w.format, w.temperature], [c.dates, c.frame, c.mode, c.format, c.temperature], at);
    assert.deepEqual(w.window, c.window, at);
    assert.equal(w.message, c.message, at);
    if (c.probabilities) {
      for (const k of ['dyke', 'sill', 'none'] as const) {
        const d = Math.abs(w.probabilities![k] - c.probabilities[k]);
        prob = Math.max(prob, d);
        assert.ok(d <= 1e-3, `${at}: p(${k}) ${w.probabilities![k]} in the page, ${c.probabilities[k]} from caldera scan`);
      }
    } else {
      assert.equal(w.probabilities, null, at);
    }
    assert.equal(w.box === null, c.box === null, at);
    if (c.box && w.box) {
      c.box.pixels.forEach((v, j) => {
        px = Math.max(px, Math.abs(w.box!.pixels[j]! - v));
        assert.ok(near(w.box!.pixels[j]!, v, 0.5), `${at}: box pixel ${j} ${w.box!.pixels[j]} in the page, ${v} from caldera scan`);
      });
      c.box.window.forEach((v, j) => assert.ok(near(w.box!.window[j]!, v, 0.5), `${at}: window box ${j}`));
    }
  });
  return { prob, px };
}

test('the web page scans a product in headless Chromium as caldera scan does, and copes with bad input', { skip, timeout: 240_000 }, async (t) => {
  const started = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-web-test-'));
  const shot = process.env.CALDERA_WEB_SCREENSHOT ?? path.join(tmp, 'web.png');
  try {
    const real = CALBUCO.every((f) => fs.existsSync(f));
    const productDir = path.join(tmp, 'product');
    fs.mkdirSync(productDir);
    const files = real ? CALBUCO : await writeProduct(productDir);
    t.diagnostic(`product: ${real ? 'Calbuco (../shared/real)' : 'written by the test'}`);

    // caldera scan on the same files: the reference records.
    const scanDir = path.join(tmp, 'scan');
    const cli = runCli('scan', files[0]!, '--out', scanDir, '--quiet');
    assert.equal(cli.code, 0, cli.err);
    const cliRecords = fs.readFileSync(path.join(scanDir, 'scan.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ScanRecord);

    const site = await writeSite(path.join(tmp, 'site'));
    const served = await serveDir(site.dir, { port: 0 });
    const profile = fs.mkdtempSync(path.join(tmp, 'profile-'));
    const browser = await pw!.chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, viewport: { width: 1400, height: 980 }, acceptDownloads: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    try {
      const requests: string[] = [];
      const problems: string[] = [];
      browser.on('request', (r) => requests.push(r.url()));
      const watch = (page: import('playwright-core').Page): void => {
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`); });
      };
      const page = browser.pages()[0] ?? await browser.newPage();
      watch(page);
      const state = (s: string[], timeout = 60_000) => page.waitForFunction((want) => want.includes(document.body.dataset.state ?? ''), s, { timeout });

      await page.goto(served.url);
      await state(['ready', 'no-model']);
      const hook = () => page.evaluate(() => (window as unknown as { caldera: { state: string; backend: string; messages: string[]; records: ScanRecord[]; lastScan: unknown } }).caldera);
      const h0 = await hook();
      assert.equal(h0.state, 'ready', `the model did not load: ${h0.messages.join(' | ')}`);
      t.diagnostic(`page ready in ${Date.now() - started} ms, tfjs backend ${h0.backend}`);

      // Scan: the product's files through the file input.
      const t0 = Date.now();
      await page.setInputFiles('#pick-files', files);
      await state(['done'], 120_000);
      const scanMs = Date.now() - t0;
      const h1 = await hook();
      assert.deepEqual(h1.lastScan, { products: 1, scanned: 1, failures: 0 }, h1.messages.join(' | '));
      const diff = compareRecords(h1.records, cliRecords);
      const dets = h1.records.filter((r) => r.verdict === 'detection').length;
      t.diagnostic(`scan in the page: ${scanMs} ms; ${h1.records.length} records, ${dets} detections; largest difference from caldera scan: probability ${diff.prob.toExponential(1)}, box ${diff.px.toFixed(2)} px`);
      // What the page shows: one list entry and one box per detection, the map frame, the legend.
      assert.equal(await page.locator('#detections li').count(), dets);
      assert.equal(await page.locator('#map svg .det').count(), dets);
      assert.ok(await page.locator('#map svg image.phase').count() === 1, 'the phase picture is on the map');
      assert.ok(await page.locator('#legend canvas').count() === 1, 'the colour bar is in the legend');
      // The GeoJSON download is caldera scan's scan.geojson.
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dl-geojson')]);
      const geojson = JSON.parse(fs.readFileSync(await download.path(), 'utf8')) as { features: { properties: Record<string, unknown> }[] };
      const cliGeo = JSON.parse(fs.readFileSync(path.join(scanDir, 'scan.geojson'), 'utf8')) as typeof geojson;
      assert.deepEqual(geojson.features.map((f) => f.properties.class), cliGeo.features.map((f) => f.properties.class));

      // The screenshot: the page as a scan leaves it.
      await page.mouse.move(1, 1);
      await page.screenshot({ path: shot, fullPage: true });

      // Keyboard: a detection's button takes focus and selects its box; Escape lets go.
      if (dets > 0) {
        await page.focus('#detections li:first-child button');
        assert.equal(await page.getAttribute('#detections li:first-child button', 'aria-pressed'), 'true');
        assert.equal(await page.locator('#map svg .det.active').count(), 1);
        await page.keyboard.press('Escape');
        assert.equal(await page.locator('#map svg .det.active').count(), 0);
      }

      // Bad input dropped on the page: plain messages, and the page goes on.
      const noGeo = encodeGeoTiff({ width: 8, height: 8, data: new Float32Array(64).fill(1) }, null);
      await page.evaluate(({ noGeo }) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])], 'broken.geo.unw.tif'));
        dt.items.add(new File([new Uint8Array(noGeo)], 'plain.geo.diff_pha.tif'));
        dt.items.add(new File(['x'], 'notes.npy'));
        document.getElementById('drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, { noGeo: Array.from(noGeo) });
      await page.waitForFunction(() => document.body.dataset.state === 'done' && (window as unknown as { caldera: { lastScan: { products: number } } }).caldera.lastScan.products === 2);
      const bad = await page.locator('#messages').innerText();
      assert.match(bad, /broken\.geo\.unw\.tif: not a readable TIFF/);
      assert.match(bad, /plain\.geo\.diff_pha\.tif: has no georeference/);
      assert.match(bad, /notes\.npy: a \.npy raster has no georeference/);
      assert.ok(await page.locator('#messages').isVisible());

      // The results view: caldera scan's folder (records, GeoJSON, picture).
      const outFiles = fs.readdirSync(scanDir).map((f) => path.join(scanDir, f));
      await page.setInputFiles('#pick-files', outFiles);
      await page.waitForFunction(() => [...document.querySelectorAll('#product option')].some((o) => o.textContent!.includes('(scan results)')));
      assert.equal(await page.locator('#detections li').count(), cliRecords.filter((r) => r.verdict === 'detection').length);
      assert.equal(await page.locator('#map img.picture').count(), 1, 'the picture caldera scan drew is shown');

      // A model that fails to load: a plain message; the results view still works.
      const broken = await browser.newPage();
      watch(broken);
      await broken.goto(`${served.url}?model=missing/`);
      await broken.waitForFunction(() => document.body.dataset.state === 'no-model');
      assert.match(await broken.locator('#messages').innerText(), /The model could not be loaded: model\.json \(\/missing\/model\.json\): HTTP 404/);
      await broken.setInputFiles('#pick-files', files);
      assert.match(await broken.locator('#messages').innerText(), /Scanning is off/);
      await broken.setInputFiles('#pick-files', outFiles);
      await broken.waitForFunction(() => document.querySelectorAll('#detections li').length > 0 || document.querySelector('#det-empty')?.textContent?.includes('No detection'));
      await broken.close();

      // Nothing but the site itself was asked for.
      const outside = requests.filter((u) => !u.startsWith(served.url) && !u.startsWith('blob:') && !u.startsWith('data:'));
      assert.deepEqual(outside, [], 'requests that left 127.0.0.1');
      assert.deepEqual(problems, [], 'errors in the page');
    } finally {
      await browser.close();
      await served.close();
    }
    t.diagnostic(`browser test: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    t.diagnostic(`screenshot: ${shot}`);
  } finally {
    for (const f of fs.readdirSync(tmp)) if (path.join(tmp, f) !== shot) fs.rmSync(path.join(tmp, f), { recursive: true, force: true });
  }
});
