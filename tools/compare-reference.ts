/**
 * How a caldera dataset compares with the SyInterferoPy reference set (../shared/reference/syinterferopy):
 * per class, the median per-image phase std (rad, their convention 4 pi / 0.056 per metre of LOS),
 * the median masked fraction, SNR, max |defo| and box size. A yardstick, not a test.
 *   node dist/bench/compare-reference.js DATASET_DIR [REFERENCE_DIR]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readDataset } from '../src/data/dataset.js';
import { readNpy } from '../src/io/npy.js';

const RAD_PER_M = (4 * Math.PI) / 0.056;

interface Row { cls: string; std: number; masked: number; snr: number | null; defo: number | null; boxW: number | null; boxH: number | null }

function std(a: ArrayLike<number>, skip: (i: number) => boolean): number {
  let n = 0, s = 0, ss = 0;
  for (let i = 0; i < a.length; i++) {
    if (skip(i)) continue;
    const v = a[i]!;
    n++; s += v; ss += v * v;
  }
  return n > 1 ? Math.sqrt(Math.max(0, ss / n - (s / n) ** 2)) : NaN;
}

function median(xs: number[]): number {
  const a = xs.filter(Number.isFinite).sort((p, q) => p - q);
  if (a.length === 0) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
}

function oursRows(dir: string): Row[] {
  const rows: Row[] = [];
  for (const s of readDataset(dir)) {
    const phase = s.losM.map((v) => v * RAD_PER_M);
    rows.push({
      cls: s.className === 'sill' && s.meta.source?.kind === 'mogi' ? 'mogi' : s.className === 'none' ? 'no_def' : s.className,
      std: std(phase, (i) => s.mask[i] !== 0),
      masked: s.mask.reduce((a, m) => a + (m ? 1 : 0), 0) / s.mask.length,
      snr: s.meta.snr, defo: s.box ? s.meta.defoMaxAbsM : null,
      boxW: s.box ? 2 * s.box.halfWidth : null, boxH: s.box ? 2 * s.box.halfHeight : null,
    });
  }
  return rows;
}

function referenceRows(dir: string): Row[] {
  const labels = JSON.parse(fs.readFileSync(path.join(dir, 'labels.json'), 'utf8')) as { items: { file: string; class: string; snr: number | null; defo_max_abs_m_in_crop?: number; Y_loc: number[] }[] };
  return labels.items.map((it) => {
    const a = readNpy(path.join(dir, it.file)).data as Float32Array;
    const hasBox = it.class !== 'no_def';
    return {
      cls: it.class, std: std(a, (i) => Number.isNaN(a[i]!)),
      masked: a.reduce((n, v) => n + (Number.isNaN(v) ? 1 : 0), 0) / a.length,
      snr: it.snr, defo: it.defo_max_abs_m_in_crop ?? null,
      boxW: hasBox ? 2 * it.Y_loc[2]! : null, boxH: hasBox ? 2 * it.Y_loc[3]! : null,
    };
  });
}

function summary(rows: Row[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const cls of ['dyke', 'sill', 'mogi', 'no_def']) {
    const r = rows.filter((x) => x.cls === cls);
    if (r.length === 0) continue;
    const num = (f: (x: Row) => number | null): number => median(r.map(f).filter((v): v is number => v !== null));
    out[cls] = { n: r.length, std_rad: num((x) => x.std), masked: num((x) => x.masked), snr: num((x) => x.snr), defo_m: num((x) => x.defo), box_w: num((x) => x.boxW), box_h: num((x) => x.boxH) };
  }
  return out;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const [dataset, refArg] = process.argv.slice(2);
if (!dataset) { console.error('usage: compare-reference DATASET_DIR [REFERENCE_DIR]'); process.exit(2); }
const ref = refArg ?? path.resolve(here, '../../../shared/reference/syinterferopy');
if (!fs.existsSync(path.join(ref, 'labels.json'))) { console.error(`no reference set at ${ref}`); process.exit(2); }
const a = summary(oursRows(dataset)), b = summary(referenceRows(ref));
const keys = ['n', 'std_rad', 'masked', 'snr', 'defo_m', 'box_w', 'box_h'];
console.log(`medians per class: caldera (${dataset}) | SyInterferoPy reference`);
console.log('class   ' + keys.map((k) => k.padStart(17)).join(''));
for (const cls of ['dyke', 'sill', 'mogi', 'no_def']) {
  const fmt = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 3));
  console.log(cls.padEnd(8) + keys.map((k) => `${fmt(a[cls]?.[k])} | ${fmt(b[cls]?.[k])}`.padStart(17)).join(''));
}
