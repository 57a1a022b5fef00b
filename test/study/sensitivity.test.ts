/** The sensitivity study: its statistics, its scenes, its scoring and resume, and a quick run as a user makes it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/core/rng.js';
import { maxAbs } from '../../src/core/arrays.js';
import { createSpectralCache } from '../../src/synth/atmosphere.js';
import { proceduralTerrain } from '../../src/synth/terrains.js';
import { decodePng } from '../../src/io/png.js';
import { bootstrapThreshold, crossing, curveThreshold, monotoneFit, wilson, worstHalfWidth } from '../../src/study/sensitivity-stats.js';
import { drawSnr, makeDraw, renderDraw } from '../../src/study/sensitivity-scene.js';
import { cellKey, isDetection, isFalseAlarm, outcomeChar, pendingBlocks, planGroups, presetPlan, runAndWriteBlock, runSensitivity, type SensitivityPlan } from '../../src/study/sensitivity.js';
import { linePlot } from '../../src/io/plot.js';
import { summarise, sensitivityJson } from '../../src/study/sensitivity-report.js';
import { thresholdModel } from '../helpers/products.js';
import { withDir } from '../helpers/files.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = path.join(ROOT, 'dist/src/cli/main.js');

test('wilson: known values, empty and extreme counts', () => {
  const w = wilson(50, 100);
  assert.ok(Math.abs(w.lo - 0.4038) < 1e-3 && Math.abs(w.hi - 0.5962) < 1e-3);
  assert.deepEqual(wilson(0, 0), { lo: 0, hi: 1 });
  assert.equal(wilson(0, 20).lo, 0);
  assert.ok(wilson(0, 20).hi > 0.1 && wilson(0, 20).hi < 0.2);
  assert.equal(wilson(20, 20).hi, 1);
  // +-3 points at worst needs ~1070 scenes.
  assert.ok(worstHalfWidth(1100) < 0.03 && worstHalfWidth(1000) > 0.03);
});

test('monotone fit pools violators; crossing interpolates in log x and says when it is off the grid', () => {
  assert.deepEqual(monotoneFit([0, 0.6, 0.4, 1], [1, 1, 1, 1]), [0, 0.5, 0.5, 1]);
  assert.deepEqual(monotoneFit([0.2, NaN, 0.1], [1, 0, 3]).map((v) => (Number.isNaN(v) ? 'nan' : v.toFixed(3))), ['0.125', 'nan', '0.125']);
  const t = crossing([1, 4], [0, 1], 0.5);
  assert.equal(t.bound, 'inside');
  assert.ok(Math.abs(t.value! - 2) < 1e-12); // half-way in log between 1 and 4
  assert.deepEqual(crossing([1, 4], [0.6, 1], 0.5), { value: null, bound: 'below' });
  assert.deepEqual(crossing([1, 4], [0, 0.4], 0.5), { value: null, bound: 'above' });
  assert.ok(Math.abs(curveThreshold([1, 2, 4], [0, 10, 10], [10, 10, 10], 0.9).value! - 2 ** 0.9) < 1e-12);
  // Paired bootstrap: every draw detected from the 2nd point on -> no spread.
  const hits = Array.from({ length: 30 }, () => [false, true, true]);
  const b = bootstrapThreshold([1, 2, 4], hits, 0.5, 50);
  assert.deepEqual(b.ci, [b.value, b.value]);
  assert.equal(b.insideShare, 1);
});

test('outcome characters: detection needs the right class and the centre in the box', () => {
  assert.equal(outcomeChar(0, true), 'D');
  assert.equal(outcomeChar(1, false), 's');
  assert.ok(isDetection('D', 'dyke') && !isDetection('d', 'dyke') && !isDetection('S', 'dyke'));
  assert.ok(isDetection('S', 'mogi') && isDetection('S', 'sill') && !isDetection('N', 'sill'));
  assert.ok(isFalseAlarm('d') && isFalseAlarm('s') && !isFalseAlarm('n'));
});

test('study draws: unit deformation and atmosphere, target masks, linear rendering, Mogi and sill kept apart', () => {
  const terrain = proceduralTerrain(448, 90, { poolSize: 2 });
  const cache = createSpectralCache(256);
  const d = makeDraw(new Rng(5), 'mogi', 'standard', terrain, ['natural', 0.4], cache);
  assert.equal(d.className, 'sill');
  assert.ok(Math.abs(maxAbs(d.unitDefo!) - 1) < 1e-6);
  const nat = d.masks.get('natural')!;
  let n = 0, s = 0, ss = 0;
  for (let i = 0; i < d.unitAtm.length; i++) if (!nat.mask[i]) { n++; s += d.unitAtm[i]!; ss += d.unitAtm[i]! ** 2; }
  assert.ok(Math.abs(s / n) < 1e-4 && Math.abs(Math.sqrt(ss / n - (s / n) ** 2) - 1) < 1e-3);
  assert.ok(Math.abs(d.masks.get('40%')!.fraction - 0.4) < 1e-3 || d.masks.get('40%')!.fraction > 0.4);
  const a = renderDraw(d, 0.03, 0.01, 'natural'), b = renderDraw(d, 0.06, 0.02, 'natural');
  for (const i of [0, 1000, 20000]) assert.ok(Math.abs(b.losM[i]! - 2 * a.losM[i]!) < 1e-7);
  assert.ok(Math.abs(maxAbs(renderDraw(d, 0.05, 0, 'natural').losM) - 0.05) < 1e-6);
  assert.ok(Math.abs(drawSnr(d, 0.04, 0.01) / drawSnr(d, 0.02, 0.01) - 4) < 1e-9);
  assert.equal(drawSnr(d, 0.02, 0), Infinity);
  const sill = makeDraw(new Rng(6), 'sill', 'standard', terrain, ['natural'], cache);
  assert.equal(sill.className, 'sill');
  const none = makeDraw(new Rng(7), 'none', 'standard', terrain, ['natural'], cache);
  assert.equal(none.unitDefo, null);
  assert.equal(none.box, null);
});

test('plan: groups, cells and random streams', () => {
  const full = presetPlan('full');
  const groups = planGroups(full);
  assert.deepEqual(groups.map((g) => g.id), ['dyke-standard', 'dyke-small', 'dyke-broad', 'sill-standard', 'sill-small', 'sill-broad', 'mogi-standard', 'mogi-small', 'mogi-broad', 'none']);
  assert.equal(groups[0]!.cells.length, 12 * 5 + 12 * 3);
  assert.equal(groups[9]!.cells.length, 5 + 3);
  assert.equal(new Set(groups.map((g) => g.streamBase)).size, groups.length);
  assert.equal(new Set(groups[0]!.cells.map(cellKey)).size, groups[0]!.cells.length);
});

test('blocks: scored with a detector, summarised into curves, thresholds and false alarms; resume skips written blocks', async () => {
  await withDir('caldera-sens-', async (dir) => {
    const plan: SensitivityPlan = {
      seed: 3, size: 224, spacingM: 90, classes: ['sill'], peaksCm: [0.1, 8], atmospheresCm: [0], defaultAtmosphereCm: 0,
      masks: ['natural'], sizes: ['standard'], draws: { main: 3, size: 0, none: 2 }, blockSize: 2, terrain: { kind: 'procedural' }, proceduralPool: 2,
    };
    // Wrapped phase away from 0 by > 1.5 rad on 30+ pixels -> "sill" with that bounding box.
    const detector = thresholdModel({ background: 0, threshold: 1.5, minPixels: 30 });
    const ctx = { plan, terrain: proceduralTerrain(448, 90, { poolSize: 2 }), detector };
    const groups = planGroups(plan);
    fs.mkdirSync(path.join(dir, 'blocks'));
    assert.deepEqual(pendingBlocks(dir, groups, 2), [[0, 0], [1, 0], [0, 1]]); // 3 sill draws in 2 blocks, 2 none draws in 1; interleaved
    await runAndWriteBlock(dir, ctx, groups[0]!, 0);
    assert.deepEqual(pendingBlocks(dir, groups, 2), [[1, 0], [0, 1]]);
    for (const [gi, c] of pendingBlocks(dir, groups, 2)) await runAndWriteBlock(dir, ctx, groups[gi]!, c);
    assert.equal(pendingBlocks(dir, groups, 2).length, 0);
    const s = summarise(dir, plan, 20);
    assert.ok(s.complete);
    const c = s.curves[0]!;
    assert.equal(c.n, 3);
    assert.equal(c.points[0]!.k, 0); // 1 mm: no fringes
    assert.equal(c.points[1]!.k, 3); // 8 cm: found, box centred on the source
    assert.equal(c.p50.bound, 'inside');
    assert.ok(c.p50.value! > 0.1 && c.p50.value! < 8);
    assert.deepEqual(s.falseAlarms.map((f) => [f.n, f.k]), [[2, 0]]);
    const j = sensitivityJson(s, { model: 'm', modelCreatedAt: null, command: 'x', runs: [], date: '2026-01-01' });
    assert.equal(typeof (j.sill as { p50_cm: unknown }).p50_cm, 'number');
    assert.equal(j.false_alarm_rate, 0);
  });
});

test('worker threads score the same blocks as the inline run', async () => {
  await withDir('caldera-sens-jobs-', async (dir) => {
    const plan: SensitivityPlan = {
      seed: 4, size: 224, spacingM: 90, classes: ['dyke'], peaksCm: [2, 16], atmospheresCm: [1], defaultAtmosphereCm: 1,
      masks: ['natural'], sizes: ['standard'], draws: { main: 2, size: 0, none: 1 }, blockSize: 1, terrain: { kind: 'procedural' }, proceduralPool: 2,
    };
    const seen: number[] = [];
    await runSensitivity({ outDir: path.join(dir, 'a'), plan, model: 'stand-in', jobs: 2 }, (p) => seen.push(p.done));
    await runSensitivity({ outDir: path.join(dir, 'b'), plan, model: 'stand-in', jobs: 1 });
    assert.equal(seen.at(-1), 2 * 2 + 1);
    const files = fs.readdirSync(path.join(dir, 'a', 'blocks')).sort();
    assert.deepEqual(files, ['dyke-standard-0000.json', 'dyke-standard-0001.json', 'none-0000.json']);
    for (const f of files) assert.equal(fs.readFileSync(path.join(dir, 'a', 'blocks', f), 'utf8'), fs.readFileSync(path.join(dir, 'b', 'blocks', f), 'utf8'), f);
  });
});

test('linePlot: a log x axis and error bars', () => {
  // One error bar, on the middle point: log(5) is half-way between log(0.5) and log(50).
  const series = [{ name: 'p', xs: [0.5, 5, 50], ys: [0.1, 0.5, 0.9], errorBars: { lo: [NaN, 0.2, NaN], hi: [NaN, 0.8, NaN] } }];
  const blue = (c: ReturnType<typeof linePlot>, x: number, y: number): boolean => {
    const i = 4 * (y * c.width + x);
    return c.data[i] === 0x1f && c.data[i + 1] === 0x77 && c.data[i + 2] === 0xb4;
  };
  const barAt = (logX: boolean): number => {
    const c = linePlot({ series, logX, yMin: 0, yMax: 1, legend: 'none' });
    let x0 = Infinity, x1 = -Infinity, best = -1, bestRun = 0;
    for (let x = 0; x < c.width; x++) {
      let run = 0, longest = 0;
      for (let y = 0; y < c.height; y++) { run = blue(c, x, y) ? run + 1 : 0; longest = Math.max(longest, run); }
      if (longest > 0) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); }
      if (longest > bestRun) { bestRun = longest; best = x; }
    }
    assert.ok(bestRun > 60, `error bar of ${bestRun} px`);
    return (best - x0) / (x1 - x0);
  };
  assert.ok(Math.abs(barAt(true) - 0.5) < 0.03);
  assert.ok(Math.abs(barAt(false) - 4.5 / 49.5) < 0.03);
});

test('caldera study sensitivity --quick: report, curves and sensitivity.json; a rerun resumes; other settings are refused', async () => {
  await withDir('caldera-sens-cli-', (dir) => {
    const out = path.join(dir, 'study');
    const model = path.join(ROOT, 'models/default');
    const run = (...args: string[]) => spawnSync(process.execPath, [MAIN, 'study', 'sensitivity', ...args], { encoding: 'utf8', cwd: ROOT });
    const r = run('--quick', '--model', model, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /report\.md: 93 scenes scored/);
    assert.match(r.stderr, /sensitivity \[#+\] 100%/);
    const j = JSON.parse(fs.readFileSync(path.join(out, 'sensitivity.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    for (const cls of ['dyke', 'sill', 'mogi']) {
      assert.ok(cls in j, cls);
      for (const k of ['p50_cm', 'p90_cm', 'false_alarm_rate']) assert.ok(k in j[cls]!, `${cls}.${k}`);
    }
    assert.equal(typeof j.false_alarm_rate, 'number');
    const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    assert.match(md, /Anantrasirichai et al\. \(2018, 2019\)/);
    assert.match(md, /Biggs et al\./);
    assert.match(md, /\| Mogi \|/);
    for (const f of ['detection.png', 'atmosphere.png', 'mask.png', 'size.png', 'snr.png', 'false-alarms.png']) {
      assert.ok(decodePng(fs.readFileSync(path.join(out, f))).width >= 560, f);
      assert.ok(md.includes(`](${f})`), f);
    }
    // Resume: drop one block; the rerun redoes only it and leaves the others alone.
    const blocks = fs.readdirSync(path.join(out, 'blocks')).sort();
    const keep = path.join(out, 'blocks', blocks[1]!);
    const mtime = fs.statSync(keep).mtimeMs;
    fs.rmSync(path.join(out, 'blocks', blocks[0]!));
    const again = run('--quick', '--model', model, '--out', out);
    assert.equal(again.status, 0, again.stderr);
    assert.ok(fs.existsSync(path.join(out, 'blocks', blocks[0]!)));
    assert.equal(fs.statSync(keep).mtimeMs, mtime);
    const j2 = JSON.parse(fs.readFileSync(path.join(out, 'sensitivity.json'), 'utf8')) as { curves: unknown; false_alarms: unknown };
    assert.deepEqual(j2.curves, (j as unknown as { curves: unknown }).curves, 'same seed, same scenes, same answers');
    const other = run('--quick', '--model', model, '--out', out, '--seed', '99');
    assert.equal(other.status, 2);
    assert.match(other.stderr, /other settings/);
  });
});
