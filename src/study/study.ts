/**
 * The channel study (Gaddes et al. 2021, section 4.2 and Fig. 7): train one model per channel
 * format with the same architecture, budget, data and seeds, evaluate each on the same held-out
 * set, and report the spread over seeds. The paper, transferring ImageNet VGG16, found that
 * putting different data in the three channels (e.g. wrapped, unwrapped, DEM) did worse than
 * repeating one kind of phase, and concluded that supplementary data needs a network trained from
 * scratch; caldera trains from scratch in minutes, so it tests that directly.
 *
 * Resumable: each (format, seed) run trains into runs/<format>-s<seed>/ (itself resumable from its
 * checkpoint) and writes results/<format>-s<seed>.json when evaluated; a restarted study skips
 * the runs whose results exist. Runs can go on several worker threads (one wasm core each).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync, ensureWritableDir } from '../io/atomic.js';
import { barChart, confusionMatrix } from '../io/plot.js';
import { contactSheet } from '../io/draw.js';
import { writePng } from '../io/png.js';
import type { ChannelFormat } from '../data/channels.js';

export interface StudyScores {
  readonly n: number;
  readonly accuracy: number;
  readonly f1: Readonly<Record<string, number>>;
  readonly macroF1: number;
  readonly centreErrorMedianPx: number;
  readonly iouMean: number;
  /** Accuracy on the negated test interferograms (sign invariance). */
  readonly accuracyNegated?: number;
  /** counts[true][predicted] in class order dyke, sill, none. */
  readonly confusion: number[][];
}

export interface RunResult {
  readonly format: ChannelFormat;
  readonly seed: number;
  readonly test: StudyScores;
  readonly real?: StudyScores | undefined;
  readonly trainSeconds: number;
  readonly imagesSeen: number;
}

export interface StudyPlan {
  readonly formats: readonly ChannelFormat[];
  readonly seeds: readonly number[];
  readonly outDir: string;
  /** What was run, for the report's "how to reproduce" section. */
  readonly command: string;
  readonly description: string;
}

export function runName(format: string, seed: number): string {
  return `${format}-s${seed}`;
}

export function resultPath(outDir: string, format: string, seed: number): string {
  return path.join(outDir, 'results', `${runName(format, seed)}.json`);
}

/** The (format, seed) runs of a plan that have no result yet, formats interleaved across seeds. */
export function pendingRuns(plan: StudyPlan): { format: ChannelFormat; seed: number }[] {
  const out: { format: ChannelFormat; seed: number }[] = [];
  for (const seed of plan.seeds) {
    for (const format of plan.formats) {
      if (!fs.existsSync(resultPath(plan.outDir, format, seed))) out.push({ format, seed });
    }
  }
  return out;
}

export function saveResult(outDir: string, r: RunResult): void {
  ensureWritableDir(path.join(outDir, 'results'));
  writeFileAtomicSync(resultPath(outDir, r.format, r.seed), JSON.stringify(r, null, 1) + '\n');
}

export function loadResults(plan: StudyPlan): RunResult[] {
  const out: RunResult[] = [];
  for (const format of plan.formats) {
    for (const seed of plan.seeds) {
      const p = resultPath(plan.outDir, format, seed);
      if (fs.existsSync(p)) out.push(JSON.parse(fs.readFileSync(p, 'utf8')) as RunResult);
    }
  }
  return out;
}

export interface Spread {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

/** Mean and sample standard deviation (std 0 for a single value). */
export function spread(values: readonly number[]): Spread {
  const v = values.filter(Number.isFinite);
  const n = v.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

export interface FormatRow {
  readonly format: ChannelFormat;
  readonly runs: number;
  readonly accuracy: Spread;
  readonly f1: Readonly<Record<string, Spread>>;
  readonly macroF1: Spread;
  readonly centreErrorMedianPx: Spread;
  readonly iouMean: Spread;
  readonly accuracyNegated: Spread;
  readonly real: { readonly accuracy: Spread; readonly macroF1: Spread } | null;
  readonly confusion: number[][];
}

/** One row per format: every score's spread over seeds; confusion matrices summed over seeds. */
export function summariseStudy(plan: StudyPlan, results: readonly RunResult[], classes: readonly string[]): FormatRow[] {
  return plan.formats.flatMap((format) => {
    const rs = results.filter((r) => r.format === format);
    if (rs.length === 0) return [];
    const sum = classes.map(() => classes.map(() => 0));
    for (const r of rs) r.test.confusion.forEach((row, i) => row.forEach((c, j) => { sum[i]![j]! += c; }));
    const reals = rs.filter((r) => r.real);
    return [{
      format, runs: rs.length,
      accuracy: spread(rs.map((r) => r.test.accuracy)),
      f1: Object.fromEntries(classes.map((c) => [c, spread(rs.map((r) => r.test.f1[c] ?? NaN))])),
      macroF1: spread(rs.map((r) => r.test.macroF1)),
      centreErrorMedianPx: spread(rs.map((r) => r.test.centreErrorMedianPx)),
      iouMean: spread(rs.map((r) => r.test.iouMean)),
      accuracyNegated: spread(rs.map((r) => r.test.accuracyNegated ?? NaN)),
      real: reals.length ? { accuracy: spread(reals.map((r) => r.real!.accuracy)), macroF1: spread(reals.map((r) => r.real!.macroF1)) } : null,
      confusion: sum,
    }];
  });
}

const pm = (s: Spread, digits: number, scale = 1): string =>
  s.n === 0 ? '–' : s.n === 1 ? (s.mean * scale).toFixed(digits) : `${(s.mean * scale).toFixed(digits)} ± ${(s.std * scale).toFixed(digits)}`;

export const FORMAT_MEANING: Readonly<Record<string, string>> = {
  uuu: 'unwrapped ×3', uud: 'unwrapped ×2 + DEM', www: 'wrapped ×3', wwd: 'wrapped ×2 + DEM',
  rid: 'real, imaginary (amplitude-weighted) + DEM', u: 'unwrapped', w: 'wrapped', wc: 'wrapped + coherence', wwc: 'wrapped ×2 + coherence',
};

/** The markdown table of the report. */
export function reportTable(rows: readonly FormatRow[], classes: readonly string[]): string {
  const hasReal = rows.some((r) => r.real);
  const head = ['format', 'channels', 'runs', 'accuracy %', ...classes.map((c) => `F1 ${c}`), 'centre error px (median)', 'IoU (mean)', 'accuracy on −φ %', ...(hasReal ? ['real accuracy %'] : [])];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    lines.push(`| \`${r.format}\` | ${FORMAT_MEANING[r.format] ?? ''} | ${r.runs} | ${pm(r.accuracy, 1, 100)} | ${classes.map((c) => pm(r.f1[c]!, 3)).join(' | ')} | ${pm(r.centreErrorMedianPx, 1)} | ${pm(r.iouMean, 3)} | ${pm(r.accuracyNegated, 1, 100)} |${hasReal ? ` ${r.real ? pm(r.real.accuracy, 1, 100) : '–'} |` : ''}`);
  }
  return lines.join('\n');
}

/** Write report.md, the bar chart and the confusion matrices. Returns the report's path. */
export function writeReport(plan: StudyPlan, results: readonly RunResult[], classes: readonly string[], findings = ''): string {
  const rows = summariseStudy(plan, results, classes);
  ensureWritableDir(plan.outDir);
  const groups = rows.map((r) => r.format);
  const chart = barChart({
    groups,
    bars: [
      { name: 'accuracy', values: rows.map((r) => r.accuracy.mean), errors: rows.map((r) => r.accuracy.std) },
      { name: 'macro F1', values: rows.map((r) => r.macroF1.mean), errors: rows.map((r) => r.macroF1.std) },
      { name: 'mean IoU', values: rows.map((r) => r.iouMean.mean), errors: rows.map((r) => r.iouMean.std) },
    ],
    title: 'Channel study: held-out synthetic test set (mean ± std over seeds)',
    yLabel: 'score', yMin: 0, yMax: 1, width: 900, height: 420,
  });
  writePng(path.join(plan.outDir, 'scores.png'), chart);
  const cms = rows.map((r) => ({ image: confusionMatrix({ labels: [...classes], counts: r.confusion, title: `${r.format} (${r.runs} seeds)` }) }));
  if (cms.length) writePng(path.join(plan.outDir, 'confusion.png'), contactSheet(cms, { columns: Math.min(4, cms.length), padding: 10 }));
  const ran = results.reduce((a, r) => a + r.trainSeconds, 0);
  const md = [
    '# Channel study',
    '',
    plan.description,
    '',
    `Runs finished: ${results.length} of ${plan.formats.length * plan.seeds.length} (formats ${plan.formats.join(', ')}; seeds ${plan.seeds.join(', ')}); training time ${(ran / 60).toFixed(0)} min in all.`,
    '',
    reportTable(rows, classes),
    '',
    'Scores are mean ± standard deviation over seeds. Centre error is the median distance (pixels of the 224 px input) between predicted and true box centres over the deformation samples; IoU is over the same samples. "Accuracy on −φ" is the accuracy on the same test set with the phase sign flipped.',
    '',
    '![scores](scores.png)',
    '',
    '![confusion matrices, summed over seeds](confusion.png)',
    '',
    ...(findings ? ['## What it shows', '', findings, ''] : []),
    '## Reproduce',
    '',
    '```sh',
    plan.command,
    '```',
    '',
    'The study resumes where it stopped: finished runs are skipped, an interrupted run continues from its last checkpoint.',
    '',
  ].join('\n');
  const p = path.join(plan.outDir, 'report.md');
  writeFileAtomicSync(p, md);
  return p;
}
