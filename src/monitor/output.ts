/**
 * What `monitor` writes, remade from the state after every run:
 *   timeline.jsonl    one line per model answer (target, input kind, dates, class, probabilities,
 *                     box in window pixels and lon/lat, masked share, run)
 *   timeline.csv      one line per target and epoch: the cumulative answer, the strongest new
 *                     interferogram, whether the epoch is a detection, alert state
 *   alerts.geojson    one feature per alert: the box in lon/lat (a point at the target when the
 *                     detection had no box), class, raised / onset / end dates, score
 *   summary.json      per target: epochs, detections, alerts (and the truth of synthetic stacks)
 *   timelines/<target>.png   probability of dyke and sill against date, acquisitions marked,
 *                     detection threshold, the alert drawn (and, for synthetic stacks, the true
 *                     onset and the first 3 cm crossing)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../io/atomic.js';
import { writePng } from '../io/png.js';
import { linePlot, type Series } from '../io/plot.js';
import { blit, contactSheet, createCanvas, drawLine, drawText, fillCircle, type Canvas, type DrawnBox, type Tile } from '../io/draw.js';
import { cyclic, wrappedPhaseToRgba } from '../io/colormap.js';
import { losToPhaseRad } from '../physics/units.js';
import type { StackData } from './stacks.js';
import { daysBetween } from '../io/hdf5.js';
import { epochsOf, findAlerts, type Alert, type AlertRule, type Epoch, type TimelineRow } from './alerts.js';
import type { MonitorState } from './state.js';
import type { MonitorTarget } from './sources.js';

export interface TargetResult {
  readonly name: string;
  readonly epochs: Epoch[];
  readonly alerts: Alert[];
  readonly truth?: MonitorTarget['truth'];
}

/** Epochs and alerts of every target in the state. */
export function results(state: MonitorState, rule: AlertRule, truths: ReadonlyMap<string, MonitorTarget['truth']> = new Map()): TargetResult[] {
  return Object.keys(state.targets).sort().map((name) => {
    const epochs = epochsOf(state.targets[name]!.rows, rule);
    const truth = truths.get(name);
    return { name, epochs, alerts: findAlerts(name, epochs, rule), ...(truth ? { truth } : {}) };
  });
}

const f4 = (v: number | undefined): string => (v === undefined ? '' : v.toFixed(4));

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The per-epoch CSV. */
export function timelineCsv(res: readonly TargetResult[]): string {
  const head = 'target,date,epoch,p_dyke_cumulative,p_sill_cumulative,p_none_cumulative,class_cumulative,interferograms,p_dyke_ifg_max,p_sill_ifg_max,detected,alert';
  const lines = [head];
  for (const r of res) {
    for (const e of r.epochs) {
      const c = e.cumulative;
      const pd = e.ifgs.length ? Math.max(...e.ifgs.map((x) => x.probs[0])) : undefined;
      const ps = e.ifgs.length ? Math.max(...e.ifgs.map((x) => x.probs[1])) : undefined;
      const a = r.alerts.find((x) => x.raisedIndex === e.index) ? 'raised'
        : r.alerts.some((x) => x.raisedIndex < e.index && (x.endDate === null || x.endDate > e.date)) ? 'active' : '';
      lines.push([csvField(r.name), e.date, String(e.index), f4(c?.probs[0]), f4(c?.probs[1]), f4(c?.probs[2]), c?.className ?? '',
        String(e.ifgs.length), f4(pd), f4(ps), e.detected ? '1' : '0', a].join(','));
    }
  }
  return lines.join('\n') + '\n';
}

/** Alerts as a GeoJSON FeatureCollection (box polygons in lon/lat). */
export function alertsGeoJson(res: readonly TargetResult[], points: ReadonlyMap<string, { lon: number; lat: number }>): object {
  const features = res.flatMap((r) => r.alerts.map((a) => {
    const b = a.boxLonLat;
    const p = points.get(r.name);
    const geometry = b
      ? { type: 'Polygon', coordinates: [[[b[0], b[3]], [b[2], b[3]], [b[2], b[1]], [b[0], b[1]], [b[0], b[3]]]] }
      : { type: 'Point', coordinates: p ? [p.lon, p.lat] : [0, 0] };
    return {
      type: 'Feature', geometry,
      properties: {
        target: r.name, class: a.className, score: Number(a.score.toFixed(4)), raised: a.raisedDate, onset: a.onsetDate,
        onset_after: a.onsetAfter, end: a.endDate, detections: a.detections, product: a.product,
      },
    };
  }));
  return { type: 'FeatureCollection', features };
}

/** The timeline picture of one target. */
export function timelineFigure(r: TargetResult, rows: readonly TimelineRow[], rule: AlertRule, width = 760): Canvas {
  const dates = [...new Set(rows.map((x) => x.dates[1]))].sort();
  const t0 = r.truth?.dates[0] ?? dates[0] ?? '2000-01-01';
  const x = (d: string): number => daysBetween(t0, d);
  const cum = r.epochs.filter((e) => e.cumulative);
  const withIfg = r.epochs.filter((e) => e.ifgs.length);
  const series: Series[] = [
    { name: 'dyke (cumulative)', xs: cum.map((e) => x(e.date)), ys: cum.map((e) => e.cumulative!.probs[0]), colour: '#d62728' },
    { name: 'sill (cumulative)', xs: cum.map((e) => x(e.date)), ys: cum.map((e) => e.cumulative!.probs[1]), colour: '#1f77b4' },
    { name: 'dyke (new ifg, max)', xs: withIfg.map((e) => x(e.date)), ys: withIfg.map((e) => Math.max(...e.ifgs.map((i) => i.probs[0]))), colour: '#ff9896', dashed: true, markers: false },
    { name: 'sill (new ifg, max)', xs: withIfg.map((e) => x(e.date)), ys: withIfg.map((e) => Math.max(...e.ifgs.map((i) => i.probs[1]))), colour: '#aec7e8', dashed: true, markers: false },
  ];
  const xs = dates.map(x);
  const x0 = Math.min(0, ...xs), x1 = Math.max(1, ...xs);
  series.push({ name: `threshold ${rule.minScore}`, xs: [x0, x1], ys: [rule.minScore, rule.minScore], colour: '#999999', dashed: true, markers: false });
  // Acquisitions: dots along the bottom, no line.
  series.push({ name: 'acquisition', xs: xs.flatMap((v) => [v, NaN]), ys: xs.flatMap(() => [0.015, NaN]), colour: '#555555', markers: true });
  for (const a of r.alerts) {
    series.push({ name: `alert ${a.className} raised ${a.raisedDate}`, xs: [x(a.raisedDate), x(a.raisedDate)], ys: [0, 1], colour: '#000000', markers: false });
    const end = a.endDate ? x(a.endDate) : x1;
    series.push({ name: '', xs: [x(a.onsetDate), end], ys: [0.975, 0.975], colour: '#000000', markers: false });
  }
  const truth = r.truth?.label;
  if (truth?.onsetDate) {
    series.push({ name: `true onset ${truth.onsetDate}`, xs: [x(truth.onsetDate), x(truth.onsetDate)], ys: [0, 1], colour: '#2ca02c', dashed: true, markers: false });
    if (truth.crossingIndex !== null) {
      const cd = r.truth!.dates[truth.crossingIndex]!;
      series.push({ name: `3 cm reached ${cd}`, xs: [x(cd), x(cd)], ys: [0, 1], colour: '#9467bd', dashed: true, markers: false });
    }
  }
  const title = `${r.name}: ${r.alerts.length ? r.alerts.map((a) => `${a.className} alert ${a.raisedDate} (onset ${a.onsetDate})`).join('; ') : 'no alert'}` +
    (truth ? `   truth: ${truth.className}${truth.growth ? ` ${truth.growth}` : ''}` : '');
  const plot = linePlot({
    series, title, xLabel: `days since ${t0}`, yLabel: 'probability', yMin: 0, yMax: 1, xMin: x0 - 2, xMax: x1 + 2,
    width, height: 380, legend: 'none',
  });
  // The legend below the plot (ten entries would hide the curves inside it).
  const entries = series.filter((sr) => sr.name);
  const perRow = 3;
  const rowsN = Math.ceil(entries.length / perRow);
  const c = createCanvas(plot.width, plot.height + 14 * rowsN + 22, '#ffffff');
  blit(c, plot, 0, 0);
  entries.forEach((e, i) => {
    const cx = 16 + (i % perRow) * Math.floor((width - 16) / perRow), cy = plot.height + 6 + Math.floor(i / perRow) * 14;
    const colour = e.colour ?? '#000000';
    if (e.name === 'acquisition') fillCircle(c, cx + 7, cy, 2.5, colour);
    else if (e.dashed) { drawLine(c, cx, cy, cx + 5, cy, colour, 2); drawLine(c, cx + 9, cy, cx + 14, cy, colour, 2); }
    else drawLine(c, cx, cy, cx + 14, cy, colour, 2);
    drawText(c, e.name, cx + 20, cy, '#222222', 1, { valign: 'middle' });
  });
  drawText(c, `alert: ${rule.k} of the last ${rule.n} epochs with ${rule.signal === 'either' ? 'either signal' : rule.signal === 'ifg' ? 'a new interferogram' : 'the cumulative displacement'} >= ${rule.minScore}; black bar: onset to end of the alert`, 10, c.height - 10, '#555555', 1, { valign: 'middle' });
  return c;
}

/**
 * A synthetic stack at a few epochs: the wrapped cumulative displacement (as the network saw it),
 * the cumulative answer under each tile, its box (yellow) and the true box once deformation has
 * begun (white). Epochs: evenly spread, plus the 3 cm crossing and the first alert.
 */
export function stackEpochsFigure(st: StackData, r: TargetResult, rows: readonly TimelineRow[], tiles = 6): Canvas {
  const n = st.cumulativeM.length;
  const label = st.record.label;
  const dates = st.record.dates;
  const keys = new Set<number>([n - 1]);
  if (label.crossingIndex !== null) keys.add(label.crossingIndex);
  const raised = r.alerts.map((a) => dates.indexOf(a.raisedDate)).filter((k) => k > 0);
  if (raised.length) keys.add(raised[0]!);
  for (let i = 1; keys.size < Math.min(tiles, n - 1) && i <= tiles; i++) keys.add(Math.max(1, Math.round((i * (n - 1)) / tiles)));
  const epochs = [...keys].sort((a, b) => a - b).slice(0, tiles);
  const px = st.size * st.size;
  const out: Tile[] = epochs.map((k) => {
    const phase = new Float32Array(px);
    for (let q = 0; q < px; q++) phase[q] = losToPhaseRad(st.cumulativeM[k]![q]!);
    const image = wrappedPhaseToRgba({ width: st.size, height: st.size, data: phase }, { mask: st.mask });
    const row = rows.find((x) => x.kind === 'cumulative' && x.dates[1] === dates[k]);
    const boxes: DrawnBox[] = [];
    const tb = label.box;
    if (tb && label.onsetIndex !== null && k >= label.onsetIndex) {
      boxes.push({ x0: tb.x - tb.halfWidth, y0: tb.y - tb.halfHeight, x1: tb.x + tb.halfWidth, y1: tb.y + tb.halfHeight, colour: '#ffffff' });
    }
    if (row?.boxWindow) {
      const b = row.boxWindow;
      boxes.push({ x0: b.x - b.halfWidth, y0: b.y - b.halfHeight, x1: b.x + b.halfWidth, y1: b.y + b.halfHeight, colour: '#ffd400', label: `${row.className} ${Math.max(row.probs[0], row.probs[1]).toFixed(2)}` });
    }
    const defoCm = 100 * (st.amplitude[k]! - st.amplitude[0]!) * label.defoMaxAbsM;
    const what = row ? `${row.className} ${row.probs[row.className === 'dyke' ? 0 : row.className === 'sill' ? 1 : 2].toFixed(2)}` : '-';
    return { image, boxes, title: `${dates[k]}  defo ${defoCm.toFixed(1)} cm  ${what}${raised[0] === k ? '  ALERT' : ''}` };
  });
  return contactSheet(out, { columns: tiles, padding: 6, colourbar: { cmap: cyclic, min: -Math.PI, max: Math.PI, minLabel: '-π', maxLabel: 'π', label: 'cumulative phase since the first acquisition (rad); white: true box, yellow: detection' } });
}

/** Two canvases one above the other, centred. */
function stackCanvases(a: Canvas, b: Canvas): Canvas {
  const c = createCanvas(Math.max(a.width, b.width), a.height + b.height, '#ffffff');
  blit(c, a, Math.floor((c.width - a.width) / 2), 0);
  blit(c, b, Math.floor((c.width - b.width) / 2), a.height);
  return c;
}

export interface WriteOptions {
  readonly png?: boolean;
  /** Draw at most this many timeline pictures (default all). */
  readonly maxPngs?: number;
  /** Synthetic stacks: the stack of a target, drawn above its timeline. */
  readonly stackOf?: (name: string) => StackData | null;
}

export interface Written {
  readonly jsonl: string;
  readonly csv: string;
  readonly geojson: string;
  readonly summary: string;
  readonly pngs: string[];
  readonly alerts: number;
}

const slug = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_');

/** Write every output file from the state (and return the results). */
export function writeOutputs(outDir: string, state: MonitorState, res: readonly TargetResult[], rule: AlertRule, extra: Record<string, unknown> = {}, o: WriteOptions = {}): Written {
  fs.mkdirSync(outDir, { recursive: true });
  const rows = Object.keys(state.targets).sort().flatMap((t) => state.targets[t]!.rows);
  const jsonl = path.join(outDir, 'timeline.jsonl');
  writeFileAtomicSync(jsonl, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
  const csv = path.join(outDir, 'timeline.csv');
  writeFileAtomicSync(csv, timelineCsv(res));
  const points = new Map(Object.entries(state.targets).map(([k, v]) => [k, v.point]));
  const geojson = path.join(outDir, 'alerts.geojson');
  writeFileAtomicSync(geojson, JSON.stringify(alertsGeoJson(res, points), null, 1) + '\n');
  const summary = path.join(outDir, 'summary.json');
  writeFileAtomicSync(summary, JSON.stringify({
    rule, settings: state.settings, runs: state.runs, ...extra,
    targets: res.map((r) => ({
      name: r.name, epochs: r.epochs.length, first: r.epochs[0]?.date ?? null, last: r.epochs[r.epochs.length - 1]?.date ?? null,
      detections: r.epochs.filter((e) => e.detected).length, alerts: r.alerts,
      ...(r.truth ? { truth: r.truth.label } : {}),
    })),
  }, null, 1) + '\n');
  const pngs: string[] = [];
  if (o.png ?? true) {
    const dir = path.join(outDir, 'timelines');
    fs.mkdirSync(dir, { recursive: true });
    for (const r of res.slice(0, o.maxPngs ?? res.length)) {
      const f = path.join(dir, `${slug(r.name)}.png`);
      const rows = state.targets[r.name]!.rows;
      const st = o.stackOf?.(r.name) ?? null;
      if (st) {
        const strip = stackEpochsFigure(st, r, rows);
        writePng(f, stackCanvases(strip, timelineFigure(r, rows, rule, strip.width)));
      } else {
        writePng(f, timelineFigure(r, rows, rule));
      }
      pngs.push(f);
    }
  }
  return { jsonl, csv, geojson, summary, pngs, alerts: res.reduce((a, r) => a + r.alerts.length, 0) };
}
