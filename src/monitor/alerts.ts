/**
 * From detections to alerts. Every model answer on one input (an interferogram, or the cumulative
 * displacement since the baseline) is a timeline row; rows are grouped by acquisition date (the
 * input's second date) into epochs; an epoch is a detection when the chosen signal shows
 * deformation (class dyke or sill with probability >= minScore); an alert is raised when at least
 * k of the last n epochs are detections (a single frame of atmosphere or decorrelation does not
 * raise one), and ends at the first epoch where that no longer holds.
 *
 * The alert says when deformation began as well as when it was noticed: its onset is the first
 * detection among the epochs that raised it (`onsetAfter` is the epoch before: the deformation
 * started between the two), its class the one with the larger summed probability over those
 * detections, its box the box of the strongest one. Pure functions over plain rows.
 */
import type { ClassName } from '../core/classes.js';
import type { CentreBox } from '../core/box.js';
import type { LonLatBox } from '../data/windows.js';

export type InputKind = 'ifg' | 'cumulative';

/** One model answer in a target's timeline. */
export interface TimelineRow {
  readonly target: string;
  /** Unique within the target: `${kind}:${YYYYMMDD}_${YYYYMMDD}`. */
  readonly key: string;
  readonly kind: InputKind;
  /** Primary and secondary date (ISO); the epoch is the secondary. */
  readonly dates: readonly [string, string];
  /** Product it came from (for reports). */
  readonly product: string;
  readonly className: ClassName;
  /** Probabilities of dyke, sill, none. */
  readonly probs: readonly [number, number, number];
  readonly boxWindow: CentreBox | null;
  readonly boxLonLat: LonLatBox | null;
  readonly maskedFraction: number;
  /** Which run processed it (ISO time): the state keeps it so reruns skip it. */
  readonly run: string;
}

export type Signal = 'cumulative' | 'ifg' | 'either';
export const SIGNALS: readonly Signal[] = ['cumulative', 'ifg', 'either'];

export interface AlertRule {
  /** Detections needed ... */
  readonly k: number;
  /** ... among the last n epochs. */
  readonly n: number;
  /** Smallest probability of dyke or sill that counts as a detection. */
  readonly minScore: number;
  /** Which inputs decide an epoch: the cumulative displacement, the new interferograms, or either. */
  readonly signal: Signal;
}

export const DEFAULT_RULE: AlertRule = { k: 2, n: 3, minScore: 0.5, signal: 'cumulative' };

/** Is this row a detection under the rule? */
export function isDetection(r: Pick<TimelineRow, 'className' | 'probs'>, minScore: number): boolean {
  if (r.className === 'none') return false;
  const p = r.className === 'dyke' ? r.probs[0] : r.probs[1];
  return p >= minScore;
}

/** Probability of deformation (dyke + sill). */
export const deformationProb = (r: Pick<TimelineRow, 'probs'>): number => r.probs[0] + r.probs[1];

export interface Epoch {
  readonly date: string;
  readonly index: number;
  readonly cumulative: TimelineRow | null;
  readonly ifgs: readonly TimelineRow[];
  /** The rows of the signal that are detections, strongest first. */
  readonly detections: readonly TimelineRow[];
  readonly detected: boolean;
}

/** Group a target's rows into epochs (sorted by date) and mark the detections. Epochs without any row of the signal are left out. */
export function epochsOf(rows: readonly TimelineRow[], rule: Pick<AlertRule, 'minScore' | 'signal'>): Epoch[] {
  const byDate = new Map<string, TimelineRow[]>();
  for (const r of rows) (byDate.get(r.dates[1]) ?? byDate.set(r.dates[1], []).get(r.dates[1])!).push(r);
  const dates = [...byDate.keys()].sort();
  const out: Epoch[] = [];
  for (const date of dates) {
    const rs = byDate.get(date)!;
    const cumulative = rs.find((r) => r.kind === 'cumulative') ?? null;
    const ifgs = rs.filter((r) => r.kind === 'ifg').sort((a, b) => (a.dates[0] < b.dates[0] ? 1 : -1));
    const relevant = rule.signal === 'cumulative' ? (cumulative ? [cumulative] : []) : rule.signal === 'ifg' ? ifgs : [...(cumulative ? [cumulative] : []), ...ifgs];
    if (relevant.length === 0) continue;
    const detections = relevant.filter((r) => isDetection(r, rule.minScore)).sort((a, b) => Math.max(b.probs[0], b.probs[1]) - Math.max(a.probs[0], a.probs[1]));
    out.push({ date, index: out.length, cumulative, ifgs, detections, detected: detections.length > 0 });
  }
  return out;
}

export interface Alert {
  readonly target: string;
  /** Epoch at which k of the last n were detections. */
  readonly raisedDate: string;
  readonly raisedIndex: number;
  /** First detection among those epochs, and the epoch before it (null when it is the first epoch). */
  readonly onsetDate: string;
  readonly onsetIndex: number;
  readonly onsetAfter: string | null;
  /** First epoch where the rule no longer held (null: still active at the last epoch). */
  readonly endDate: string | null;
  readonly className: 'dyke' | 'sill';
  /** Probability of that class in the strongest detection. */
  readonly score: number;
  readonly boxLonLat: LonLatBox | null;
  readonly boxWindow: CentreBox | null;
  /** The row whose box it is. */
  readonly product: string;
  /** Detections while it was active. */
  readonly detections: number;
}

function validateRule(rule: AlertRule): void {
  if (!Number.isInteger(rule.k) || !Number.isInteger(rule.n) || rule.k < 1 || rule.n < rule.k) {
    throw new RangeError(`alert rule needs whole numbers 1 <= k <= n, got k ${rule.k}, n ${rule.n}`);
  }
}

/** Alerts over a target's epochs (in date order). */
export function findAlerts(target: string, epochs: readonly Epoch[], rule: AlertRule): Alert[] {
  validateRule(rule);
  const alerts: Alert[] = [];
  let open: { raised: number; onset: number; dets: TimelineRow[] } | null = null;
  const close = (endIndex: number | null): void => {
    if (!open) return;
    const dets = open.dets;
    const sum = (c: 0 | 1) => dets.reduce((a, r) => a + r.probs[c], 0);
    const className = sum(0) >= sum(1) ? 'dyke' : 'sill';
    const ci = className === 'dyke' ? 0 : 1;
    const best = [...dets].sort((a, b) => b.probs[ci] - a.probs[ci])[0]!;
    alerts.push({
      target, raisedDate: epochs[open.raised]!.date, raisedIndex: open.raised,
      onsetDate: epochs[open.onset]!.date, onsetIndex: open.onset, onsetAfter: open.onset > 0 ? epochs[open.onset - 1]!.date : null,
      endDate: endIndex === null ? null : epochs[endIndex]!.date,
      className, score: best.probs[ci], boxLonLat: best.boxLonLat, boxWindow: best.boxWindow, product: best.product,
      detections: dets.length,
    });
    open = null;
  };
  for (let t = 0; t < epochs.length; t++) {
    const from = Math.max(0, t - rule.n + 1);
    let count = 0;
    for (let s = from; s <= t; s++) if (epochs[s]!.detected) count++;
    const holds = count >= rule.k;
    if (open) {
      if (holds) { if (epochs[t]!.detected) open.dets.push(epochs[t]!.detections[0]!); } else close(t);
    } else if (holds) {
      let onset = from;
      while (!epochs[onset]!.detected) onset++;
      const dets: TimelineRow[] = [];
      for (let s = onset; s <= t; s++) if (epochs[s]!.detected) dets.push(epochs[s]!.detections[0]!);
      open = { raised: t, onset, dets };
    }
  }
  close(null);
  return alerts;
}
