/**
 * Small figure makers that return RGBA canvases (write them with writePng): line plots (training
 * curves), grouped bar charts with error bars (channel studies) and confusion matrices.
 * Sensible defaults everywhere; every function is pure (inputs → new Canvas).
 */
import type { Canvas, Colour } from './draw.js';
import {
  blit, contrastingText, createCanvas, drawLine, drawPolyline, drawRect, drawText, fillCircle, fillRect,
  formatNumber, wrapText,
} from './draw.js';
import { CAP_HEIGHT, GLYPH_HEIGHT, LINE_HEIGHT, textWidth } from './font.js';
import { blues } from './colormap.js';

/** Default series colours (the d3 / matplotlib "category10" palette). */
export const palette: readonly string[] = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
];

const THEME = {
  text: '#222222',
  axis: '#444444',
  grid: '#e6e6e6',
  background: '#ffffff',
};

// ---------------------------------------------------------------------------------------------
// Scales and ticks

/** The d3 tick step: 1, 2 or 5 times a power of ten, giving about `count` ticks over [min, max]. */
export function tickStep(min: number, max: number, count = 5): number {
  const span = Math.abs(max - min);
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const err = raw / power;
  const mult = err >= Math.sqrt(50) ? 10 : err >= Math.sqrt(10) ? 5 : err >= Math.sqrt(2) ? 2 : 1;
  return mult * power;
}

/** Round tick values inside [min, max] (inclusive), about `count` of them (d3.ticks). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const lo = Math.min(min, max);
  const hi = Math.max(min, max);
  const step = tickStep(lo, hi, count);
  const out: number[] = [];
  const i0 = Math.ceil(lo / step - 1e-9);
  const i1 = Math.floor(hi / step + 1e-9);
  for (let i = i0; i <= i1; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

/** Extend [min, max] outwards to multiples of the tick step (d3 scale.nice()). */
export function niceDomain(min: number, max: number, count = 5): [number, number] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) {
    const d = min === 0 ? 1 : Math.abs(min) * 0.1;
    return [min - d, max + d];
  }
  // d3's loop: re-nice the niced domain until the step stops changing.
  let lo = Math.min(min, max);
  let hi = Math.max(min, max);
  let prev = NaN;
  for (let iter = 0; iter < 10; iter++) {
    const step = tickStep(lo, hi, count);
    if (step === prev) break;
    lo = Math.floor(lo / step) * step;
    hi = Math.ceil(hi / step) * step;
    prev = step;
  }
  return [Number(lo.toPrecision(12)), Number(hi.toPrecision(12))];
}

/** Ticks for a log axis over [min, max] (both > 0): powers of ten, plus 2× and 5× when the span is under ~2 decades. */
export function logTicks(min: number, max: number): number[] {
  if (!(min > 0) || !(max > 0)) return [];
  const lo = Math.min(min, max);
  const hi = Math.max(min, max);
  const e0 = Math.floor(Math.log10(lo) + 1e-9);
  const e1 = Math.ceil(Math.log10(hi) - 1e-9);
  const decades = Math.log10(hi / lo);
  const mults = decades < 0.6 ? [1, 2, 3, 4, 5, 6, 7, 8, 9] : decades <= 2.5 ? [1, 2, 5] : [1];
  const out: number[] = [];
  const every = Math.max(1, Math.ceil((e1 - e0) / 8));
  for (let e = e0; e <= e1; e++) {
    if (mults.length === 1 && (e - e0) % every !== 0) continue;
    for (const m of mults) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  }
  return out;
}

function formatLog(v: number): string {
  const e = Math.log10(v);
  if (Math.abs(e - Math.round(e)) < 1e-9 && (e >= 5 || e <= -4)) return `1e${Math.round(e)}`;
  return formatNumber(v);
}

// ---------------------------------------------------------------------------------------------
// Shared layout pieces

interface Frame { x0: number; y0: number; x1: number; y1: number }

function drawTitle(c: Canvas, title: string | undefined, y: number): number {
  if (!title) return y;
  const lines = wrapText(title, c.width - 20, 2, 2);
  lines.forEach((l, i) => drawText(c, l, c.width / 2, y + i * LINE_HEIGHT * 2, THEME.text, 2, { align: 'center' }));
  return y + ((lines.length - 1) * LINE_HEIGHT + CAP_HEIGHT) * 2 + 10;
}

interface LegendEntry { name: string; colour: Colour; kind: 'line' | 'box'; dashed?: boolean }

function legendSize(entries: readonly LegendEntry[]): { w: number; h: number } {
  const w = Math.max(...entries.map((e) => textWidth(e.name))) + 16 + 6 + 12;
  return { w, h: entries.length * 12 + 8 };
}

function drawLegend(c: Canvas, entries: readonly LegendEntry[], x: number, y: number): void {
  const { w, h } = legendSize(entries);
  fillRect(c, x, y, x + w - 1, y + h - 1, [255, 255, 255, 225]);
  drawRect(c, x, y, x + w - 1, y + h - 1, '#cccccc');
  entries.forEach((e, i) => {
    const cy = y + 6 + i * 12 + 3;
    if (e.kind === 'line') {
      if (e.dashed) {
        drawLine(c, x + 6, cy, x + 10, cy, e.colour, 2);
        drawLine(c, x + 14, cy, x + 18, cy, e.colour, 2);
      } else {
        drawLine(c, x + 6, cy, x + 20, cy, e.colour, 2);
      }
    } else {
      fillRect(c, x + 8, cy - 4, x + 17, cy + 4, e.colour);
    }
    drawText(c, e.name, x + 26, cy, THEME.text, 1, { valign: 'middle' });
  });
}

/** A horizontal legend row centred at (cx, y); returns its height. */
function drawLegendRow(c: Canvas, entries: readonly LegendEntry[], cx: number, y: number): number {
  const item = (e: LegendEntry) => 14 + textWidth(e.name);
  const gap = 14;
  const total = entries.reduce((s, e) => s + item(e), 0) + gap * (entries.length - 1);
  let x = Math.round(cx - total / 2);
  for (const e of entries) {
    fillRect(c, x, y, x + 9, y + 8, e.colour);
    drawText(c, e.name, x + 14, y + 1, THEME.text);
    x += item(e) + gap;
  }
  return 10;
}

function axisLabels(c: Canvas, f: Frame, xLabel: string | undefined, yLabel: string | undefined, yLabelX: number, xLabelY: number): void {
  if (xLabel) drawText(c, xLabel, (f.x0 + f.x1) / 2, xLabelY, THEME.text, 1, { align: 'center' });
  if (yLabel) drawText(c, yLabel, yLabelX, (f.y0 + f.y1) / 2, THEME.text, 1, { align: 'center', rotate: 90 });
}

// ---------------------------------------------------------------------------------------------
// Line plot

export interface Series {
  readonly name: string;
  readonly xs: ArrayLike<number>;
  readonly ys: ArrayLike<number>;
  readonly colour?: Colour;
  readonly dashed?: boolean;
  /** Draw a dot at each point (default: when the series has at most 40 points). */
  readonly markers?: boolean;
  /** Vertical error bars (e.g. confidence intervals): lower and upper y at each point, NaN for none. */
  readonly errorBars?: { readonly lo: ArrayLike<number>; readonly hi: ArrayLike<number> };
}

export interface LinePlotOptions {
  readonly series: readonly Series[];
  readonly title?: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  /** Canvas size in pixels (default 640 x 400). */
  readonly width?: number;
  readonly height?: number;
  /** Logarithmic y axis (values <= 0 are skipped). */
  readonly logY?: boolean;
  /** Logarithmic x axis (values <= 0 are skipped). */
  readonly logX?: boolean;
  readonly xMin?: number;
  readonly xMax?: number;
  readonly yMin?: number;
  readonly yMax?: number;
  /** Legend placement (default 'auto': the inside corner that hides the fewest points; 'none' hides it). */
  readonly legend?: 'auto' | 'none' | 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right';
}

/** A line plot with axes, numbered ticks, grid and legend. NaN points break a line. */
export function linePlot(o: LinePlotOptions): Canvas {
  const width = Math.round(o.width ?? 640);
  const height = Math.round(o.height ?? 400);
  const c = createCanvas(width, height, THEME.background);
  const logY = o.logY ?? false;
  const logX = o.logX ?? false;
  const okY = (v: number) => Number.isFinite(v) && (!logY || v > 0);
  const okX = (v: number) => Number.isFinite(v) && (!logX || v > 0);

  // Data ranges.
  let xlo = Infinity, xhi = -Infinity, ylo = Infinity, yhi = -Infinity;
  for (const s of o.series) {
    const n = Math.min(s.xs.length, s.ys.length);
    for (let i = 0; i < n; i++) {
      const x = s.xs[i]!, y = s.ys[i]!;
      if (!okX(x) || !okY(y)) continue;
      if (x < xlo) xlo = x; if (x > xhi) xhi = x;
      if (y < ylo) ylo = y; if (y > yhi) yhi = y;
      for (const e of s.errorBars ? [s.errorBars.lo[i]!, s.errorBars.hi[i]!] : []) {
        if (okY(e)) { if (e < ylo) ylo = e; if (e > yhi) yhi = e; }
      }
    }
  }
  if (!(xlo <= xhi)) { xlo = logX ? 1 : 0; xhi = logX ? 10 : 1; }
  if (!(ylo <= yhi)) { ylo = logY ? 1 : 0; yhi = logY ? 10 : 1; }
  let [x0, x1] = logX ? (xlo === xhi ? [xlo / 2, xhi * 2] : [xlo, xhi]) : xlo === xhi ? niceDomain(xlo, xhi) : [xlo, xhi];
  const anyMarkers = o.series.some((s) => s.markers ?? Math.min(s.xs.length, s.ys.length) <= 40);
  if (anyMarkers && xlo < xhi) {
    if (logX) {
      const m = (x1 / x0) ** 0.02; // room for the dots at both ends, in log space
      x0 /= m; x1 *= m;
    } else {
      const m = (x1 - x0) * 0.02; // room for the dots at both ends
      x0 -= m; x1 += m;
    }
  }
  x0 = o.xMin ?? x0; x1 = o.xMax ?? x1;
  let y0: number, y1: number;
  if (logY) {
    const pad = ylo === yhi ? 2 : (yhi / ylo) ** 0.05; // 5% margins in log space
    y0 = o.yMin ?? ylo / pad;
    y1 = o.yMax ?? yhi * pad;
  } else {
    [y0, y1] = niceDomain(ylo, yhi, 6);
    y0 = o.yMin ?? y0; y1 = o.yMax ?? y1;
  }
  const yTicks = logY ? logTicks(y0, y1) : niceTicks(y0, y1, 6);
  const xTicks = logX ? logTicks(x0, x1) : niceTicks(x0, x1, Math.max(2, Math.round(width / 90)));
  const yStep = yTicks.length > 1 ? yTicks[1]! - yTicks[0]! : tickStep(y0, y1, 6);
  const xStep = xTicks.length > 1 ? xTicks[1]! - xTicks[0]! : tickStep(x0, x1);
  const yText = yTicks.map((v) => (logY ? formatLog(v) : formatNumber(v, yStep)));
  const xText = xTicks.map((v) => (logX ? formatLog(v) : formatNumber(v, xStep)));

  // Layout.
  const top = drawTitle(c, o.title, 12) + (o.title ? 0 : 4);
  const yLabelW = o.yLabel ? GLYPH_HEIGHT + 8 : 0;
  const left = 10 + yLabelW + Math.max(0, ...yText.map((t) => textWidth(t))) + 8;
  const right = width - 1 - Math.max(16, Math.ceil(textWidth(xText[xText.length - 1] ?? '') / 2) + 4);
  const bottom = height - 1 - (8 + GLYPH_HEIGHT + 6 + (o.xLabel ? GLYPH_HEIGHT + 8 : 0));
  const f: Frame = { x0: left, y0: top, x1: right, y1: bottom };
  const pw = f.x1 - f.x0;
  const ph = f.y1 - f.y0;
  const tx = logX ? (x: number) => Math.log10(x) : (x: number) => x;
  const sx = (x: number) => f.x0 + ((tx(x) - tx(x0)) / (tx(x1) - tx(x0) || 1)) * pw;
  const ty = logY ? (y: number) => Math.log10(y) : (y: number) => y;
  const sy = (y: number) => f.y1 - ((ty(y) - ty(y0)) / (ty(y1) - ty(y0) || 1)) * ph;

  // Grid, axes, ticks.
  yTicks.forEach((v, i) => {
    const py = Math.round(sy(v));
    if (py > f.y0 && py < f.y1) drawLine(c, f.x0 + 1, py, f.x1, py, THEME.grid);
    drawLine(c, f.x0 - 4, py, f.x0 - 1, py, THEME.axis);
    drawText(c, yText[i]!, f.x0 - 7, py, THEME.text, 1, { align: 'right', valign: 'middle' });
  });
  xTicks.forEach((v, i) => {
    const px = Math.round(sx(v));
    if (px > f.x0 && px < f.x1) drawLine(c, px, f.y0, px, f.y1 - 1, THEME.grid);
    drawLine(c, px, f.y1 + 1, px, f.y1 + 4, THEME.axis);
    drawText(c, xText[i]!, px, f.y1 + 8, THEME.text, 1, { align: 'center' });
  });
  drawLine(c, f.x0, f.y0, f.x0, f.y1, THEME.axis);
  drawLine(c, f.x0, f.y1, f.x1, f.y1, THEME.axis);
  axisLabels(c, f, o.xLabel, o.yLabel, 10, f.y1 + 8 + GLYPH_HEIGHT + 8);

  // Series, drawn into a plot-area canvas so they clip to the axes.
  const area = createCanvas(pw + 1, ph + 1, 'transparent');
  const pts: [number, number][] = [];
  o.series.forEach((s, k) => {
    const colour = s.colour ?? palette[k % palette.length]!;
    const n = Math.min(s.xs.length, s.ys.length);
    const markers = s.markers ?? n <= 40;
    let run: [number, number][] = [];
    const flush = () => {
      if (s.dashed) {
        for (let i = 0; i + 1 < run.length; i++) dashed(area, run[i]!, run[i + 1]!, colour);
      } else if (run.length > 1) {
        drawPolyline(area, run, colour, 2);
      }
      run = [];
    };
    if (s.errorBars) {
      for (let i = 0; i < n; i++) {
        const x = s.xs[i]!, lo = s.errorBars.lo[i]!, hi = s.errorBars.hi[i]!;
        if (!okX(x) || !okY(lo) || !okY(hi)) continue;
        const px = Math.round(sx(x) - f.x0), pl = Math.round(sy(lo) - f.y0), ph = Math.round(sy(hi) - f.y0);
        drawLine(area, px, pl, px, ph, colour);
        drawLine(area, px - 3, pl, px + 3, pl, colour);
        drawLine(area, px - 3, ph, px + 3, ph, colour);
      }
    }
    for (let i = 0; i < n; i++) {
      const x = s.xs[i]!, y = s.ys[i]!;
      if (!okX(x) || !okY(y)) { flush(); continue; }
      const p: [number, number] = [sx(x) - f.x0, sy(y) - f.y0];
      run.push(p);
      pts.push([sx(x), sy(y)]);
    }
    flush();
    if (markers) {
      for (let i = 0; i < n; i++) {
        const x = s.xs[i]!, y = s.ys[i]!;
        if (okX(x) && okY(y)) fillCircle(area, sx(x) - f.x0, sy(y) - f.y0, 2.5, colour);
      }
    }
  });
  blit(c, area, f.x0, f.y0);

  // Legend.
  const entries: LegendEntry[] = o.series.map((s, k) => ({
    name: s.name, colour: s.colour ?? palette[k % palette.length]!, kind: 'line', dashed: s.dashed,
  }));
  const placement = o.legend ?? 'auto';
  if (placement !== 'none' && entries.length > 0 && entries.some((e) => e.name)) {
    const { w, h } = legendSize(entries);
    const corners = {
      'top-right': [f.x1 - w - 6, f.y0 + 6],
      'top-left': [f.x0 + 8, f.y0 + 6],
      'bottom-right': [f.x1 - w - 6, f.y1 - h - 6],
      'bottom-left': [f.x0 + 8, f.y1 - h - 6],
    } as const;
    let best: keyof typeof corners = 'top-right';
    if (placement === 'auto') {
      let bestHits = Infinity;
      for (const key of Object.keys(corners) as (keyof typeof corners)[]) {
        const [lx, ly] = corners[key];
        const hits = pts.filter(([px, py]) => px >= lx - 4 && px <= lx + w + 4 && py >= ly - 4 && py <= ly + h + 4).length;
        if (hits < bestHits) { bestHits = hits; best = key; }
      }
    } else {
      best = placement;
    }
    drawLegend(c, entries, corners[best][0], corners[best][1]);
  }
  return c;
}

function dashed(c: Canvas, a: readonly [number, number], b: readonly [number, number], colour: Colour): void {
  const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
  const on = 6;
  const off = 4;
  for (let d = 0; d < len; d += on + off) {
    const t0 = d / len;
    const t1 = Math.min(1, (d + on) / len);
    drawLine(c, a[0] + t0 * (b[0] - a[0]), a[1] + t0 * (b[1] - a[1]), a[0] + t1 * (b[0] - a[0]), a[1] + t1 * (b[1] - a[1]), colour, 2);
  }
}

// ---------------------------------------------------------------------------------------------
// Bar chart

export interface BarSeries {
  readonly name: string;
  /** One value per group (NaN: no bar). */
  readonly values: readonly number[];
  /** Symmetric error (e.g. one standard deviation) per group, drawn as ± whiskers. */
  readonly errors?: readonly number[];
  readonly colour?: Colour;
}

export interface BarChartOptions {
  readonly groups: readonly string[];
  readonly bars: readonly BarSeries[];
  readonly title?: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  readonly yMin?: number;
  readonly yMax?: number;
  readonly width?: number;
  readonly height?: number;
  /** Write each bar's value above it (default false). */
  readonly valueLabels?: boolean;
}

/** A grouped bar chart: one cluster per group, one bar per series, optional ± error whiskers. */
export function barChart(o: BarChartOptions): Canvas {
  const nG = o.groups.length;
  const nB = o.bars.length;
  const width = Math.round(o.width ?? Math.max(480, Math.min(1200, 120 + nG * Math.max(60, 24 * nB + 30))));
  const height = Math.round(o.height ?? 400);
  const c = createCanvas(width, height, THEME.background);

  let lo = Infinity, hi = -Infinity;
  for (const b of o.bars) {
    b.values.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      const e = Math.abs(b.errors?.[i] ?? 0) || 0;
      lo = Math.min(lo, v - e); hi = Math.max(hi, v + e);
    });
  }
  if (!(lo <= hi)) { lo = 0; hi = 1; }
  let [y0, y1] = niceDomain(Math.min(0, lo), Math.max(0, hi), 6);
  y0 = o.yMin ?? y0; y1 = o.yMax ?? y1;
  if (!(y1 > y0)) y1 = y0 + 1;
  const ticks = niceTicks(y0, y1, 6);
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : tickStep(y0, y1, 6);
  const tickText = ticks.map((v) => formatNumber(v, step));

  let top = drawTitle(c, o.title, 12) + (o.title ? 0 : 4);
  const entries: LegendEntry[] = o.bars.map((b, k) => ({ name: b.name, colour: b.colour ?? palette[k % palette.length]!, kind: 'box' }));
  if (nB > 1 || (nB === 1 && o.bars[0]!.name)) {
    drawLegendRow(c, entries, width / 2, top);
    top += 10 + 10;
  }
  const yLabelW = o.yLabel ? GLYPH_HEIGHT + 8 : 0;
  const left = 10 + yLabelW + Math.max(0, ...tickText.map((t) => textWidth(t))) + 8;
  const right = width - 16;
  const band = (right - left) / Math.max(1, nG);
  const groupLines = o.groups.map((g) => wrapText(g, band - 6, 1, 3));
  const nLines = Math.max(1, ...groupLines.map((l) => l.length));
  const bottom = height - 1 - (8 + (nLines - 1) * LINE_HEIGHT + GLYPH_HEIGHT + 6 + (o.xLabel ? GLYPH_HEIGHT + 8 : 0));
  const f: Frame = { x0: left, y0: top + (o.valueLabels ? 12 : 0), x1: right, y1: bottom };
  const ph = f.y1 - f.y0;
  const sy = (v: number) => f.y1 - ((Math.min(y1, Math.max(y0, v)) - y0) / (y1 - y0)) * ph;

  ticks.forEach((v, i) => {
    const py = Math.round(sy(v));
    if (py > f.y0 - 1 && py < f.y1) drawLine(c, f.x0 + 1, py, f.x1, py, THEME.grid);
    drawLine(c, f.x0 - 4, py, f.x0 - 1, py, THEME.axis);
    drawText(c, tickText[i]!, f.x0 - 7, py, THEME.text, 1, { align: 'right', valign: 'middle' });
  });

  const inner = band * 0.78;
  const barW = Math.max(1, Math.floor(inner / Math.max(1, nB)));
  const gap = barW >= 8 ? 1 : 0;
  const base = sy(Math.max(y0, Math.min(y1, 0)));
  o.groups.forEach((_, g) => {
    const gx = f.x0 + band * g + (band - barW * nB) / 2;
    o.bars.forEach((b, k) => {
      const v = b.values[g];
      if (v === undefined || !Number.isFinite(v)) return;
      const colour = entries[k]!.colour;
      const bx0 = Math.round(gx + k * barW);
      const bx1 = bx0 + barW - 1 - gap;
      const py = Math.round(sy(v));
      const pb = Math.round(base);
      if (py !== pb) fillRect(c, bx0, Math.min(py, pb), bx1, Math.max(py, pb) - (py < pb ? 1 : 0), colour);
      const e = Math.abs(b.errors?.[g] ?? 0);
      const mid = Math.round((bx0 + bx1) / 2);
      let labelY = Math.min(py, pb);
      if (e > 0 && Number.isFinite(e)) {
        const ya = Math.round(sy(v + e));
        const yb = Math.round(sy(v - e));
        const cap = Math.max(2, Math.round(barW / 4));
        drawLine(c, mid, ya, mid, yb, '#222222');
        drawLine(c, mid - cap, ya, mid + cap, ya, '#222222');
        drawLine(c, mid - cap, yb, mid + cap, yb, '#222222');
        labelY = Math.min(labelY, ya);
      }
      if (o.valueLabels) drawText(c, formatNumber(v, step / 10), mid, labelY - 3, THEME.text, 1, { align: 'center', valign: 'bottom' });
    });
    groupLines[g]!.forEach((line, li) => {
      drawText(c, line, f.x0 + band * (g + 0.5), f.y1 + 8 + li * LINE_HEIGHT, THEME.text, 1, { align: 'center' });
    });
  });
  drawLine(c, f.x0, f.y0, f.x0, f.y1, THEME.axis);
  drawLine(c, f.x0, Math.round(base), f.x1, Math.round(base), THEME.axis);
  if (Math.round(base) !== f.y1) drawLine(c, f.x0, f.y1, f.x1, f.y1, THEME.grid);
  axisLabels(c, f, o.xLabel, o.yLabel, 10, f.y1 + 8 + (nLines - 1) * LINE_HEIGHT + GLYPH_HEIGHT + 8);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Confusion matrix

export interface ConfusionMatrixOptions {
  readonly labels: readonly string[];
  /** counts[trueClass][predictedClass]. */
  readonly counts: readonly (readonly number[])[];
  readonly title?: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  /** Side of a cell in pixels (default: fits the longest count, at least 56). */
  readonly cellSize?: number;
}

/**
 * A confusion matrix: rows are true classes, columns predicted classes; each cell is shaded by its
 * share of the row (row-normalised, i.e. recall on the diagonal) and shows the count and that share.
 * A subtitle gives n and overall accuracy.
 */
export function confusionMatrix(o: ConfusionMatrixOptions): Canvas {
  const k = o.labels.length;
  if (o.counts.length !== k || o.counts.some((r) => r.length !== k)) {
    throw new RangeError(`confusionMatrix: counts must be ${k}x${k} for ${k} labels`);
  }
  const rowSum = o.counts.map((r) => r.reduce((s, v) => s + (Number.isFinite(v) ? v : 0), 0));
  const total = rowSum.reduce((s, v) => s + v, 0);
  const correct = o.counts.reduce((s, r, i) => s + (Number.isFinite(r[i]!) ? r[i]! : 0), 0);
  const maxCount = Math.max(0, ...o.counts.flat().filter(Number.isFinite));
  const countScale = 2;
  const longestWord = Math.max(0, ...o.labels.flatMap((l) => l.split(/\s+/).map((w) => textWidth(w))));
  const cell = Math.round(o.cellSize ?? Math.max(64, textWidth(formatNumber(maxCount), countScale) + 20, longestWord + 10));
  const xLabel = o.xLabel ?? 'Predicted';
  const yLabel = o.yLabel ?? 'True';
  const rowLabelW = Math.max(...o.labels.map((l) => textWidth(l)));
  const colLines = o.labels.map((l) => wrapText(l, cell - 4, 1, 2));
  const nColLines = Math.max(1, ...colLines.map((l) => l.length));

  const subtitle = total > 0 ? `n = ${total}, accuracy ${(100 * correct / total).toFixed(1)}%` : 'n = 0';
  const titleLinesW = o.title ? textWidth(o.title, 2) : 0;
  const gridW = k * cell;
  const barW = 14;
  const left = 10 + GLYPH_HEIGHT + 8 + rowLabelW + 8;
  const width = Math.max(left + gridW + 16 + barW + 40, titleLinesW + 20, textWidth(subtitle) + 20);
  const probe = createCanvas(width, 1); // measure the title's wrapped height
  const titleBottom = drawTitle(probe, o.title, 12);
  const top = titleBottom + (o.title ? 0 : 4) + GLYPH_HEIGHT + 10;
  const height = top + gridW + 8 + (nColLines - 1) * LINE_HEIGHT + GLYPH_HEIGHT + 10 + GLYPH_HEIGHT + 12;
  const c = createCanvas(width, height, THEME.background);
  drawTitle(c, o.title, 12);
  drawText(c, subtitle, width / 2, titleBottom + (o.title ? -4 : 4), '#555555', 1, { align: 'center' });

  const gx = left;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const v = o.counts[i]![j]!;
      const frac = rowSum[i]! > 0 && Number.isFinite(v) ? v / rowSum[i]! : 0;
      const [r, g, b] = blues(frac);
      const x0 = gx + j * cell;
      const y0 = top + i * cell;
      fillRect(c, x0, y0, x0 + cell - 1, y0 + cell - 1, [r, g, b, 255]);
      const tc = contrastingText([r, g, b]);
      const countText = Number.isFinite(v) ? formatNumber(v) : '-';
      const cs = textWidth(countText, countScale) <= cell - 6 ? countScale : 1;
      drawText(c, countText, x0 + cell / 2, y0 + cell / 2 - 2, tc, cs, { align: 'center', valign: 'baseline' });
      if (rowSum[i]! > 0) drawText(c, `${(100 * frac).toFixed(1)}%`, x0 + cell / 2, y0 + cell / 2 + 4, tc, 1, { align: 'center' });
    }
    drawText(c, o.labels[i]!, gx - 8, top + i * cell + cell / 2, THEME.text, 1, { align: 'right', valign: 'middle' });
  }
  // Thin white separators and a frame.
  for (let i = 1; i < k; i++) {
    drawLine(c, gx + i * cell, top, gx + i * cell, top + gridW - 1, '#ffffff');
    drawLine(c, gx, top + i * cell, gx + gridW - 1, top + i * cell, '#ffffff');
  }
  drawRect(c, gx - 1, top - 1, gx + gridW, top + gridW, THEME.axis);
  colLines.forEach((lines, j) => lines.forEach((line, li) => {
    drawText(c, line, gx + j * cell + cell / 2, top + gridW + 8 + li * LINE_HEIGHT, THEME.text, 1, { align: 'center' });
  }));
  const xLabelY = top + gridW + 8 + (nColLines - 1) * LINE_HEIGHT + GLYPH_HEIGHT + 10;
  drawText(c, xLabel, gx + gridW / 2, xLabelY, THEME.text, 1, { align: 'center' });
  drawText(c, yLabel, 10, top + gridW / 2, THEME.text, 1, { align: 'center', rotate: 90 });

  // Vertical colour key for the row fraction.
  const kx = gx + gridW + 16;
  for (let y = 0; y < gridW; y++) {
    const [r, g, b] = blues(1 - y / Math.max(1, gridW - 1));
    fillRect(c, kx, top + y, kx + barW - 1, top + y, [r, g, b, 255]);
  }
  drawRect(c, kx - 1, top - 1, kx + barW, top + gridW, '#888888');
  drawText(c, '100%', kx + barW + 4, top, THEME.text, 1, { valign: 'top' });
  drawText(c, '0%', kx + barW + 4, top + gridW - CAP_HEIGHT, THEME.text, 1, { valign: 'top' });
  return c;
}
