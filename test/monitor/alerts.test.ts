/** The alert rule on hand-made timelines: k of the last n epochs, onset, end, class, box, signals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochsOf, findAlerts, isDetection, type AlertRule, type TimelineRow } from '../../src/monitor/alerts.js';
import { scoreStacks } from '../../src/monitor/score.js';
import type { TargetResult } from '../../src/monitor/output.js';
import type { TimeSeriesLabel } from '../../src/synth/time-series.js';

const DATES = Array.from({ length: 20 }, (_, k) => new Date(Date.UTC(2021, 0, 1 + 12 * k)).toISOString().slice(0, 10));

/** A row: 'd' dyke, 's' sill, '.' none; p = probability of the class. */
function row(kind: 'ifg' | 'cumulative', k: number, c: string, p = 0.9, box: [number, number, number, number] | null = null): TimelineRow {
  const probs: [number, number, number] = c === 'd' ? [p, (1 - p) / 2, (1 - p) / 2] : c === 's' ? [(1 - p) / 2, p, (1 - p) / 2] : [0.05, 0.05, 0.9];
  const from = kind === 'cumulative' ? DATES[0]! : DATES[k - 1]!;
  return {
    target: 'V', key: `${kind}:${from}_${DATES[k]}`, kind, dates: [from, DATES[k]!], product: `p${k}`,
    className: c === 'd' ? 'dyke' : c === 's' ? 'sill' : 'none', probs,
    boxWindow: c === '.' ? null : { x: 100, y: 100, halfWidth: 10, halfHeight: 10 },
    boxLonLat: c === '.' ? null : box ?? [k, k, k + 1, k + 1], maskedFraction: 0.1, run: 't',
  };
}

/** A cumulative timeline from a string, one character per epoch 1..n. */
const cumulative = (s: string, p = 0.9): TimelineRow[] => [...s].map((c, i) => row('cumulative', i + 1, c, p));
const rule = (over: Partial<AlertRule> = {}): AlertRule => ({ k: 2, n: 3, minScore: 0.5, signal: 'cumulative', ...over });
const alertsOf = (rows: TimelineRow[], r = rule()) => findAlerts('V', epochsOf(rows, r), r);

test('a single detection raises nothing; two of three raise an alert at the second, with the onset at the first', () => {
  assert.deepEqual(alertsOf(cumulative('..s......')), []);
  const a = alertsOf(cumulative('..s.s....'));
  assert.equal(a.length, 1);
  assert.equal(a[0]!.raisedDate, DATES[5]);
  assert.equal(a[0]!.onsetDate, DATES[3]);
  assert.equal(a[0]!.onsetAfter, DATES[2]);
  assert.equal(a[0]!.endDate, DATES[6], 'ends when fewer than 2 of the last 3 are detections');
  // Two apart by more than n - 1 epochs do not combine.
  assert.deepEqual(alertsOf(cumulative('.s..s..s.')), []);
});

test('a sustained detection stays one alert until it stops; a later one is a second alert', () => {
  const a = alertsOf(cumulative('.ss.ssss....dd'));
  assert.equal(a.length, 2);
  assert.deepEqual([a[0]!.raisedDate, a[0]!.onsetDate, a[0]!.endDate], [DATES[3], DATES[2], DATES[10]]);
  assert.equal(a[0]!.detections, 6);
  assert.equal(a[1]!.raisedDate, DATES[14]);
  assert.equal(a[1]!.endDate, null, 'still active at the last epoch');
  assert.equal(a[1]!.className, 'dyke');
});

test('class by summed probability, box of the strongest detection of that class; minScore and k-of-n', () => {
  const rows = [row('cumulative', 1, 's', 0.6, [1, 1, 2, 2]), row('cumulative', 2, 'd', 0.55), row('cumulative', 3, 's', 0.95, [5, 5, 6, 6])];
  const a = alertsOf(rows);
  assert.equal(a[0]!.className, 'sill');
  assert.deepEqual(a[0]!.boxLonLat, [5, 5, 6, 6]);
  assert.equal(a[0]!.score, 0.95);
  assert.equal(alertsOf(cumulative('ss', 0.6), rule({ minScore: 0.7 })).length, 0);
  assert.equal(alertsOf(cumulative('ss.s', 0.9), rule({ k: 3, n: 4 })).length, 1);
  assert.equal(alertsOf(cumulative('s.s.s', 0.9), rule({ k: 3, n: 4 })).length, 0);
  assert.equal(alertsOf(cumulative('s'), rule({ k: 1, n: 1 })).length, 1);
  assert.ok(isDetection(row('ifg', 1, 'd', 0.5), 0.5));
  assert.ok(!isDetection(row('ifg', 1, '.', 0.5), 0.01));
  assert.throws(() => alertsOf(cumulative('ss'), rule({ k: 3, n: 2 })), RangeError);
});

test('signals: the cumulative displacement, the new interferograms (any of an epoch), or either', () => {
  const rows = [
    ...cumulative('.....'),
    row('ifg', 2, 's'), row('ifg', 3, '.'), row('ifg', 3, 's'), { ...row('ifg', 3, '.'), key: 'ifg:x', dates: [DATES[1]!, DATES[3]!] as const },
  ];
  assert.equal(alertsOf(rows, rule({ signal: 'cumulative' })).length, 0);
  const e = epochsOf(rows, rule({ signal: 'ifg' }));
  assert.deepEqual(e.map((x) => x.date), [DATES[2], DATES[3]], 'epochs without interferograms are left out');
  assert.equal(e[1]!.ifgs.length, 3);
  assert.equal(alertsOf(rows, rule({ signal: 'ifg' })).length, 1);
  assert.equal(alertsOf(rows, rule({ signal: 'either' })).length, 1);
});

test('scoring against synthetic truth: in time, late, missed, false alerts, delays', () => {
  const dates = DATES;
  const label = (over: Partial<TimeSeriesLabel>): TimeSeriesLabel => ({
    className: 'sill', box: null, onsetDate: dates[3]!, onsetIndex: 4, growth: 'linear', riseDays: 50, defoMaxAbsM: 0.1,
    crossingIndex: 5, crossingM: 0.03, ...over,
  });
  const res = (name: string, s: string, l: TimeSeriesLabel): TargetResult => {
    const rows = cumulative(s);
    const epochs = epochsOf(rows, rule());
    return { name, epochs, alerts: findAlerts(name, epochs, rule()), truth: { label: l, dates } };
  };
  const s = scoreStacks([
    res('a', '....ss.....', label({})), // raised at 6: delay +1
    res('b', '.......ss..', label({})), // raised at 9: delay +4, late
    res('c', '...........', label({})), // missed
    res('d', 'ss.........', label({})), // early (false) alert, never after the onset: missed too
    res('e', '...ss......', label({ className: 'none', onsetDate: null, onsetIndex: null, growth: null, crossingIndex: null })),
    res('f', '...........', label({ className: 'none', onsetDate: null, onsetIndex: null, growth: null, crossingIndex: null })),
  ]);
  assert.equal(s.deforming, 4);
  assert.equal(s.inTime, 1);
  assert.equal(s.late, 1);
  assert.equal(s.missed, 2);
  assert.equal(s.early, 1);
  assert.equal(s.falseAlerts, 1);
  assert.equal(s.falseAlertRate, 0.5);
  assert.deepEqual(s.delays, { 1: 1, 4: 1 });
  assert.equal(s.perStack[0]!.delayDays, 12);
});
