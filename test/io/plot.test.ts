import { test } from 'node:test';
import assert from 'node:assert/strict';
import { barChart, confusionMatrix, linePlot, logTicks, niceDomain, niceTicks, palette, tickStep } from '../../src/io/plot.js';
import { parseColour } from '../../src/io/draw.js';
import type { Canvas, Colour } from '../../src/io/draw.js';
import { blues } from '../../src/io/colormap.js';

/** Pixels exactly equal to colour, as [x, y] pairs. */
function pixelsOf(c: Canvas, colour: Colour): [number, number][] {
  const [r, g, b] = parseColour(colour);
  const out: [number, number][] = [];
  for (let y = 0; y < c.height; y++) {
    for (let x = 0; x < c.width; x++) {
      const o = (y * c.width + x) * 4;
      if (c.data[o] === r && c.data[o + 1] === g && c.data[o + 2] === b) out.push([x, y]);
    }
  }
  return out;
}
const nonWhite = (c: Canvas) => {
  let n = 0;
  for (let i = 0; i < c.data.length; i += 4) if (c.data[i] !== 255 || c.data[i + 1] !== 255 || c.data[i + 2] !== 255) n++;
  return n;
};
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

test('niceTicks / tickStep / niceDomain follow d3', () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(-3.7, 12.1, 5), [-2, 0, 2, 4, 6, 8, 10, 12]);
  assert.deepEqual(niceTicks(1, 0, 5), niceTicks(0, 1, 5));
  assert.deepEqual(niceTicks(0.1, 0.3, 2), [0.1, 0.2, 0.3]);
  assert.deepEqual(niceTicks(5, 5), [5]);
  assert.deepEqual(niceTicks(NaN, 1), []);
  assert.equal(tickStep(0, 100, 10), 10);
  assert.equal(tickStep(0, 1, 3), 0.5);
  assert.deepEqual(niceDomain(0.13, 0.87), [0, 1]);
  assert.deepEqual(niceDomain(-3.7, 12.1), [-5, 15]); // as d3.scaleLinear().domain([-3.7, 12.1]).nice(5)
  assert.deepEqual(niceDomain(-3.7, 12.1, 10), [-4, 14]);
  const [lo, hi] = niceDomain(3, 3);
  assert.ok(lo < 3 && hi > 3);
});

test('logTicks: decades, plus 2x/5x for short spans, thinned for long ones', () => {
  assert.deepEqual(logTicks(0.05, 2.1), [0.05, 0.1, 0.2, 0.5, 1, 2]);
  assert.deepEqual(logTicks(1e-6, 10), [1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10]);
  assert.deepEqual(logTicks(0.3, 0.9), [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
  const long = logTicks(1, 1e20);
  assert.ok(long.length <= 11 && long[0] === 1);
  assert.deepEqual(logTicks(0, 10), []);
});

test('linePlot: requested size, series in their colours, rising data rises on screen', () => {
  const xs = Array.from({ length: 50 }, (_, i) => i);
  const c = linePlot({
    series: [{ name: 'train', xs, ys: xs.map((x) => x * x) }, { name: 'val', xs, ys: xs.map((x) => 2500 - x * 40), colour: '#ff00ff' }],
    title: 'Loss', xLabel: 'epoch', yLabel: 'loss', width: 500, height: 300,
  });
  assert.equal(c.width, 500);
  assert.equal(c.height, 300);
  const a = pixelsOf(c, palette[0]!);
  const b = pixelsOf(c, '#ff00ff');
  assert.ok(a.length > 100 && b.length > 100);
  const left = (p: [number, number][]) => mean(p.filter(([x]) => x < 200).map(([, y]) => y));
  const right = (p: [number, number][]) => mean(p.filter(([x]) => x > 350).map(([, y]) => y));
  assert.ok(left(a) > right(a) + 50, 'increasing series goes up (smaller y) to the right');
  assert.ok(left(b) < right(b) - 50, 'decreasing series goes down');
});

test('linePlot with logY draws an exponential as a straight line and skips values <= 0', () => {
  const xs = Array.from({ length: 61 }, (_, i) => i / 20);
  const ys = xs.map((x) => 10 ** x);
  ys[5] = 0;
  ys[6] = -3;
  const c = linePlot({ series: [{ name: 'exp', xs, ys, colour: '#00aa00', markers: false }], logY: true, legend: 'none' });
  const px = pixelsOf(c, '#00aa00');
  assert.ok(px.length > 200);
  const byX = new Map<number, number[]>();
  for (const [x, y] of px) byX.set(x, [...(byX.get(x) ?? []), y]);
  const cols = [...byX.entries()].map(([x, y]) => [x, mean(y)] as const).filter(([x]) => x > 200);
  const n = cols.length;
  const mx = mean(cols.map(([x]) => x));
  const my = mean(cols.map(([, y]) => y));
  const slope = cols.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / cols.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const resid = Math.max(...cols.map(([x, y]) => Math.abs(y - (my + slope * (x - mx)))));
  assert.ok(n > 100 && slope < 0 && resid < 2.5, `straight on log axes: slope ${slope}, max residual ${resid}`);
});

test('linePlot: NaN breaks the line, axis limits clip, degenerate inputs do not throw', () => {
  const c = linePlot({
    series: [{ name: 's', xs: [0, 1, 2, 3, 4], ys: [1, 1, NaN, 1, 1], colour: '#0000ff', markers: false }],
    width: 400, height: 250, legend: 'none', yMin: 0, yMax: 2,
  });
  const cols = new Set(pixelsOf(c, '#0000ff').map(([x]) => x));
  const xsorted = [...cols].sort((a, b) => a - b);
  let maxGap = 0;
  for (let i = 1; i < xsorted.length; i++) maxGap = Math.max(maxGap, xsorted[i]! - xsorted[i - 1]!);
  assert.ok(maxGap > 100, `gap where the NaN is (${maxGap} px)`);
  const clipped = linePlot({ series: [{ name: 'high', xs: [0, 1], ys: [100, 100], colour: '#0000ff' }], yMin: 0, yMax: 10, legend: 'none' });
  assert.equal(pixelsOf(clipped, '#0000ff').length, 0, 'a line above yMax is clipped away');
  assert.doesNotThrow(() => {
    linePlot({ series: [] });
    linePlot({ series: [{ name: 'nan', xs: [0, 1], ys: [NaN, NaN] }] });
    linePlot({ series: [{ name: 'one', xs: [3], ys: [3] }], logY: true });
    linePlot({ series: [{ name: 'flat', xs: [0, 1, 2], ys: [5, 5, 5] }] });
  });
  const withLegend = linePlot({ series: [{ name: 'a long legend entry', xs: [0, 1], ys: [0, 1] }] });
  const without = linePlot({ series: [{ name: 'a long legend entry', xs: [0, 1], ys: [0, 1] }], legend: 'none' });
  assert.ok(nonWhite(withLegend) > nonWhite(without) + 50);
});

test('barChart: bar heights are proportional to values from a zero baseline', () => {
  const c = barChart({ groups: ['a', 'b'], bars: [{ name: '', values: [1, 2], colour: '#00aa00' }], yMin: 0, yMax: 2, width: 400, height: 300 });
  const px = pixelsOf(c, '#00aa00');
  const left = px.filter(([x]) => x < 200);
  const right = px.filter(([x]) => x >= 200);
  const hl = Math.max(...left.map(([, y]) => y)) - Math.min(...left.map(([, y]) => y)) + 1;
  const hr = Math.max(...right.map(([, y]) => y)) - Math.min(...right.map(([, y]) => y)) + 1;
  assert.ok(Math.abs(hr / hl - 2) < 0.05, `heights ${hl} and ${hr}`);
  assert.equal(Math.max(...left.map(([, y]) => y)), Math.max(...right.map(([, y]) => y)), 'common baseline');
  assert.ok(Math.abs(right.length / left.length - 2) < 0.05);
});

test('barChart: error whiskers, negative bars, NaN bars and several series', () => {
  const base = { groups: ['wrapped', 'unwrapped + DEM'], title: 'Channel study', yLabel: 'accuracy', width: 400, height: 300 } as const;
  const plain = barChart({ ...base, bars: [{ name: 'acc', values: [0.8, 0.9] }] });
  const withErr = barChart({ ...base, bars: [{ name: 'acc', values: [0.8, 0.9], errors: [0.1, 0.05] }] });
  assert.ok(pixelsOf(withErr, '#222222').length > pixelsOf(plain, '#222222').length + 20, 'whiskers drawn');
  const neg = barChart({ groups: ['down', 'up'], bars: [{ name: 'v', values: [-1, 1], colour: '#00aa00' }], width: 400, height: 300 });
  const px = pixelsOf(neg, '#00aa00');
  const yl = mean(px.filter(([x]) => x < 200).map(([, y]) => y));
  const yr = mean(px.filter(([x]) => x >= 200).map(([, y]) => y));
  assert.ok(yl > yr + 40, 'negative bar hangs below the positive one');
  const nan = barChart({ groups: ['x', 'y'], bars: [{ name: 'v', values: [NaN, 1], colour: '#00aa00' }], width: 400, height: 300 });
  assert.equal(pixelsOf(nan, '#00aa00').filter(([x, y]) => x < 200 && y > 40).length, 0, 'no bar for NaN');
  const two = barChart({ ...base, bars: [{ name: 'acc', values: [0.8, 0.9] }, { name: 'IoU', values: [0.5, 0.6], colour: '#123456' }] });
  assert.ok(pixelsOf(two, palette[0]!).length > 200 && pixelsOf(two, '#123456').length > 200);
  assert.doesNotThrow(() => barChart({ groups: [], bars: [] }));
});

test('confusionMatrix shades cells by row-normalised fraction, diagonal dark for a perfect classifier', () => {
  const c = confusionMatrix({ labels: ['dyke', 'sill'], counts: [[10, 0], [0, 10]], title: 'test' });
  // cells are tall blocks; the colour key has only a row or two of each end colour, so drop thin columns
  const thick = (p: [number, number][]) => {
    const perColumn = new Map<number, number>();
    for (const [x] of p) perColumn.set(x, (perColumn.get(x) ?? 0) + 1);
    return p.filter(([x]) => perColumn.get(x)! > 20);
  };
  const dark = thick(pixelsOf(c, blues(1)));
  const light = thick(pixelsOf(c, blues(0)));
  assert.ok(dark.length > 2000 && light.length > 2000);
  const box = (p: [number, number][]) => ({
    x0: Math.min(...p.map(([x]) => x)), x1: Math.max(...p.map(([x]) => x)),
    y0: Math.min(...p.map(([, y]) => y)), y1: Math.max(...p.map(([, y]) => y)),
  });
  const d = box(dark);
  const l = box(light.filter(([x, y]) => x >= d.x0 && x <= d.x1 && y >= d.y0 && y <= d.y1));
  const midX = (d.x0 + d.x1) / 2;
  const midY = (d.y0 + d.y1) / 2;
  // dark cells top-left and bottom-right, light cells top-right and bottom-left
  assert.ok(dark.some(([x, y]) => x < midX && y < midY) && dark.some(([x, y]) => x > midX && y > midY));
  assert.ok(!dark.some(([x, y]) => x > midX + 2 && y < midY - 2));
  assert.ok(l.x1 > midX && l.y0 < midY);

  const r = confusionMatrix({ labels: ['a', 'b'], counts: [[1, 1], [90, 10]] });
  for (const f of [0.5, 0.9, 0.1]) assert.ok(pixelsOf(r, blues(f)).length > 500, `a cell shaded at ${f}`);
});

test('confusionMatrix validates its input and copes with empty rows and long labels', () => {
  assert.throws(() => confusionMatrix({ labels: ['a', 'b'], counts: [[1, 2]] }), RangeError);
  assert.throws(() => confusionMatrix({ labels: ['a', 'b'], counts: [[1, 2], [3]] }), RangeError);
  const c = confusionMatrix({ labels: ['deformation from a dyke', 'atmosphere', 'x'], counts: [[0, 0, 0], [1, 5, 0], [0, 0, 12345]] });
  assert.ok(c.width > 200 && c.height > 200);
});
