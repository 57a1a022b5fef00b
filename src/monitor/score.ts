/**
 * Scoring alerts against synthetic stacks whose truth is known. For a deforming stack the reference
 * is the first acquisition where the cumulative deformation exceeds 3 cm (`crossingIndex`); the
 * onset counts as detected in time when the first alert raised at or after the true onset is raised
 * at most `maxDelay` acquisitions after that crossing. The delay (alert - crossing, in acquisitions
 * and days) can be negative: deformation seen before it reached 3 cm. An alert raised before the
 * true onset is a false alert on that stack (counted apart: `early`). On a stack without
 * deformation every alert is false.
 */
import { barChart } from '../io/plot.js';
import type { Canvas } from '../io/draw.js';
import { daysBetween } from '../io/hdf5.js';
import type { TargetResult } from './output.js';

export interface StackScore {
  readonly name: string;
  readonly className: string;
  readonly growth: string | null;
  readonly defoMaxAbsM: number;
  readonly onsetIndex: number | null;
  readonly crossingIndex: number | null;
  /** Acquisition index of the first alert raised at or after the onset (null: none). */
  readonly alertIndex: number | null;
  readonly alertClass: string | null;
  /** An alert raised before the true onset (or any alert on a stack without deformation). */
  readonly falseAlert: boolean;
  /** alertIndex - crossingIndex (acquisitions), and in days. */
  readonly delay: number | null;
  readonly delayDays: number | null;
  readonly inTime: boolean;
}

export interface ScoreSummary {
  readonly maxDelay: number;
  readonly stacks: number;
  readonly deforming: number;
  readonly quiet: number;
  /** Deforming stacks whose onset was detected within maxDelay acquisitions of the 3 cm crossing. */
  readonly inTime: number;
  readonly inTimeRate: number;
  /** Deforming stacks alerted later than that, and never. */
  readonly late: number;
  readonly missed: number;
  /** Deforming stacks with an alert before the true onset. */
  readonly early: number;
  /** Stacks without deformation that raised an alert. */
  readonly falseAlerts: number;
  readonly falseAlertRate: number;
  /** Delay (acquisitions) -> number of deforming stacks alerted after the onset. */
  readonly delays: Record<string, number>;
  readonly medianDelay: number | null;
  readonly medianDelayDays: number | null;
  /** The alert's class equals the truth's, among stacks detected in time. */
  readonly classAgreement: number | null;
  readonly byGrowth: Record<string, { n: number; inTime: number }>;
  readonly byClass: Record<string, { n: number; inTime: number }>;
  readonly perStack: StackScore[];
}

function median(a: number[]): number | null {
  if (!a.length) return null;
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Score every target that has a truth. */
export function scoreStacks(res: readonly TargetResult[], maxDelay = 2): ScoreSummary {
  const per: StackScore[] = [];
  for (const r of res) {
    if (!r.truth) continue;
    const { label, dates } = r.truth;
    const idx = (d: string): number => dates.indexOf(d);
    const deforming = label.className !== 'none' && label.onsetIndex !== null;
    let alertIndex: number | null = null, alertClass: string | null = null, falseAlert = false;
    for (const a of r.alerts) {
      const k = idx(a.raisedDate);
      if (!deforming || k < label.onsetIndex!) { falseAlert = true; continue; }
      if (alertIndex === null) { alertIndex = k; alertClass = a.className; }
    }
    const c = label.crossingIndex;
    const delay = deforming && alertIndex !== null && c !== null ? alertIndex - c : null;
    per.push({
      name: r.name, className: label.className, growth: label.growth, defoMaxAbsM: label.defoMaxAbsM,
      onsetIndex: label.onsetIndex, crossingIndex: c, alertIndex, alertClass, falseAlert,
      delay, delayDays: delay === null ? null : daysBetween(dates[c!]!, dates[alertIndex!]!),
      inTime: delay !== null && delay <= maxDelay,
    });
  }
  const def = per.filter((p) => p.className !== 'none');
  const quiet = per.filter((p) => p.className === 'none');
  const inTime = def.filter((p) => p.inTime).length;
  const delays: Record<string, number> = {};
  for (const p of def) if (p.delay !== null) delays[String(p.delay)] = (delays[String(p.delay)] ?? 0) + 1;
  const group = (key: (p: StackScore) => string): Record<string, { n: number; inTime: number }> => {
    const out: Record<string, { n: number; inTime: number }> = {};
    for (const p of def) {
      const g = (out[key(p)] ??= { n: 0, inTime: 0 });
      g.n++;
      if (p.inTime) g.inTime++;
    }
    return out;
  };
  const detected = def.filter((p) => p.inTime);
  return {
    maxDelay, stacks: per.length, deforming: def.length, quiet: quiet.length,
    inTime, inTimeRate: def.length ? inTime / def.length : NaN,
    late: def.filter((p) => p.delay !== null && p.delay > maxDelay).length,
    missed: def.filter((p) => p.alertIndex === null).length,
    early: def.filter((p) => p.falseAlert).length,
    falseAlerts: quiet.filter((p) => p.falseAlert).length,
    falseAlertRate: quiet.length ? quiet.filter((p) => p.falseAlert).length / quiet.length : NaN,
    delays, medianDelay: median(def.flatMap((p) => (p.delay === null ? [] : [p.delay]))),
    medianDelayDays: median(def.flatMap((p) => (p.delayDays === null ? [] : [p.delayDays]))),
    classAgreement: detected.length ? detected.filter((p) => p.alertClass === p.className).length / detected.length : null,
    byGrowth: group((p) => p.growth ?? 'none'), byClass: group((p) => p.className), perStack: per,
  };
}

/** Bar chart of the delay distribution (acquisitions after the 3 cm crossing), missed stacks last. */
export function delayFigure(s: ScoreSummary, title = 'Alert delay after the cumulative deformation first exceeds 3 cm'): Canvas {
  const keys = Object.keys(s.delays).map(Number).sort((a, b) => a - b);
  const lo = Math.min(-2, ...keys), hi = Math.max(s.maxDelay + 2, ...keys);
  const groups: string[] = [];
  const values: number[] = [];
  for (let d = lo; d <= hi; d++) { groups.push(d > 0 ? `+${d}` : String(d)); values.push(s.delays[String(d)] ?? 0); }
  groups.push('missed');
  values.push(s.missed);
  return barChart({
    groups, bars: [{ name: 'deforming stacks', values, colour: '#1f77b4' }], title,
    xLabel: `acquisitions (in time: <= +${s.maxDelay}; ${s.inTime} of ${s.deforming}, ${(100 * s.inTimeRate).toFixed(1)} %)`,
    yLabel: 'stacks', yMin: 0, valueLabels: true, width: 720,
  });
}

/** The score as a short Markdown table. */
export function scoreMarkdown(s: ScoreSummary): string {
  const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '-');
  const lines = [
    `| | value |`, `|---|---|`,
    `| stacks (deforming / without) | ${s.stacks} (${s.deforming} / ${s.quiet}) |`,
    `| onset detected within ${s.maxDelay} acquisitions of the 3 cm crossing | ${s.inTime} of ${s.deforming} (${pct(s.inTimeRate)}) |`,
    `| alerted later / never | ${s.late} / ${s.missed} |`,
    `| alert before the true onset (deforming stacks) | ${s.early} |`,
    `| false alerts on stacks without deformation | ${s.falseAlerts} of ${s.quiet} (${pct(s.falseAlertRate)}) |`,
    `| median delay | ${s.medianDelay ?? '-'} acquisitions (${s.medianDelayDays ?? '-'} days) |`,
    `| alert class = true class (detected in time) | ${s.classAgreement === null ? '-' : pct(s.classAgreement)} |`,
    `| delays (acquisitions: stacks) | ${Object.entries(s.delays).sort((a, b) => Number(a[0]) - Number(b[0])).map(([d, n]) => `${Number(d) > 0 ? '+' : ''}${d}: ${n}`).join(', ') || '-'} |`,
    `| in time by growth | ${Object.entries(s.byGrowth).map(([g, v]) => `${g} ${v.inTime}/${v.n}`).join(', ')} |`,
    `| in time by class | ${Object.entries(s.byClass).map(([g, v]) => `${g} ${v.inTime}/${v.n}`).join(', ')} |`,
  ];
  return lines.join('\n') + '\n';
}
