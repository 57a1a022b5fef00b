import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NODATA_GREY, blues, colourise, colormaps, cyclic, diverging, divergingToRgba, drapeOnHillshade, finiteMinMax, greys,
  hillshade, interpolateStops, lut, oklabToSrgb, parseHex, relativeLuminance, sequentialToRgba, srgbToOklab, terrain,
  viridis, wrappedPhaseToRgba,
} from '../../src/io/colormap.js';
import type { Raster } from '../../src/core/raster.js';
import type { Canvas } from '../../src/io/draw.js';

const r = (width: number, height: number, values: number[] | ((x: number, y: number) => number)): Raster => {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data[y * width + x] = typeof values === 'function' ? values(x, y) : values[y * width + x]!;
  }
  return { width, height, data };
};
const px = (c: Canvas, i: number) => [...c.data.subarray(i * 4, i * 4 + 4)];
const dE = (a: readonly number[], b: readonly number[]) => {
  const p = srgbToOklab(a);
  const q = srgbToOklab(b);
  return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
};

test('cyclic map: both ends are the same colour and t wraps', () => {
  assert.deepEqual(cyclic(0), cyclic(1));
  assert.deepEqual(cyclic(0.25), cyclic(1.25));
  assert.deepEqual(cyclic(0.75), cyclic(-0.25));
  assert.ok(dE(cyclic(0), cyclic(0.5)) > 0.2, 'the opposite side of the wheel is clearly different');
});

test('cyclic map is perceptually even: equal steps in t give nearly equal OKLab steps', () => {
  const steps: number[] = [];
  const n = 64;
  for (let i = 0; i < n; i++) steps.push(dE(cyclic(i / n), cyclic((i + 1) / n)));
  const ratio = Math.max(...steps) / Math.min(...steps);
  assert.ok(ratio < 1.35, `max/min step ratio ${ratio.toFixed(2)}`);
  // the seam (last step back to t = 0) is no bigger than any other step
  assert.ok(steps[n - 1]! <= Math.max(...steps.slice(0, -1)) * 1.05);
});

test('cyclic map is a rainbow-like hue cycle (reds, yellows, greens, blues all present)', () => {
  const table = lut(cyclic, 256);
  const has = (pred: (r: number, g: number, b: number) => boolean) => {
    for (let i = 0; i < 256; i++) if (pred(table[i * 3]!, table[i * 3 + 1]!, table[i * 3 + 2]!)) return true;
    return false;
  };
  assert.ok(has((r, g, b) => r > 200 && g < 140 && b < 140), 'red');
  assert.ok(has((r, g, b) => r > 180 && g > 160 && b < 90), 'yellow');
  assert.ok(has((r, g, b) => g > 170 && r < 120 && b < 160), 'green');
  assert.ok(has((r, g, b) => b > 200 && r < 120), 'blue');
});

test('sequential maps have monotonic lightness; diverging is light in the middle and symmetric', () => {
  const L = (cm: (t: number) => number[], t: number) => srgbToOklab(cm(t))[0];
  for (const [name, cm, sign] of [['viridis', viridis, 1], ['greys', greys, 1], ['blues', blues, -1]] as const) {
    let prev = L(cm, 0);
    for (let i = 1; i <= 255; i++) {
      const cur = L(cm, i / 255);
      assert.ok(sign * (cur - prev) >= -1e-3, `${name} lightness not monotonic at ${i}`);
      prev = cur;
    }
    assert.ok(sign * (L(cm, 1) - L(cm, 0)) > 0.5, `${name} spans a wide lightness range`);
  }
  for (let i = 0; i <= 50; i++) {
    const t = i / 100;
    assert.ok(L(diverging, t) <= L(diverging, 0.5) + 1e-6);
    assert.ok(Math.abs(L(diverging, t) - L(diverging, 1 - t)) < 0.04, `diverging lightness symmetric at ${t}`);
  }
  const [lr, , lb] = diverging(0);
  const [hr, , hb] = diverging(1);
  assert.ok(lb > lr && hr > hb, 'low end blue, high end red');
});

test('maps clamp t outside [0, 1] (except cyclic) and treat NaN as 0', () => {
  for (const cm of [viridis, diverging, blues, greys, terrain]) {
    assert.deepEqual(cm(-3), cm(0));
    assert.deepEqual(cm(7), cm(1));
    assert.deepEqual(cm(NaN), cm(0));
  }
  assert.equal(Object.keys(colormaps).length, 6);
});

test('interpolateStops hits its stops; OKLab conversion round-trips', () => {
  const cm = interpolateStops(['#000000', '#ff0000', '#ffffff']);
  assert.deepEqual(cm(0), [0, 0, 0]);
  assert.deepEqual(cm(0.5), [255, 0, 0]);
  assert.deepEqual(cm(1), [255, 255, 255]);
  for (const c of [[12, 200, 99], [255, 255, 255], [0, 0, 0], [128, 7, 250]]) assert.deepEqual(oklabToSrgb(srgbToOklab(c)), c);
  assert.deepEqual(parseHex('#1f77b4'), [31, 119, 180]);
  assert.deepEqual(parseHex('f0a'), [255, 0, 170]);
  assert.throws(() => parseHex('#12'), RangeError);
  assert.ok(relativeLuminance([255, 255, 255]) > 0.99 && relativeLuminance([0, 0, 0]) === 0);
});

test('wrappedPhaseToRgba: -π and π match, phase wraps, NaN and masked pixels are mid-grey', () => {
  const P = Math.PI;
  const ph = r(6, 1, [-P, P, 3 * P, 0, NaN, 1]);
  const img = wrappedPhaseToRgba(ph);
  assert.equal(img.width, 6);
  assert.equal(img.height, 1);
  assert.equal(img.data.length, 24);
  assert.deepEqual(px(img, 0), px(img, 1));
  assert.deepEqual(px(img, 1), px(img, 2));
  assert.deepEqual(px(img, 0).slice(0, 3), cyclic(0));
  assert.deepEqual(px(img, 3).slice(0, 3), cyclic(0.5));
  assert.deepEqual(px(img, 4), [...NODATA_GREY, 255]);
  for (let i = 0; i < 6; i++) assert.equal(img.data[i * 4 + 3], 255);
  // masks: flat array or raster, nonzero = masked
  const m1 = wrappedPhaseToRgba(ph, { mask: [0, 0, 0, 1, 0, 0] });
  assert.deepEqual(px(m1, 3), [128, 128, 128, 255]);
  assert.deepEqual(px(m1, 5), px(img, 5));
  const m2 = wrappedPhaseToRgba(ph, { mask: { width: 6, height: 1, data: Uint8Array.of(0, 0, 0, 0, 0, 1) } });
  assert.deepEqual(px(m2, 5), [128, 128, 128, 255]);
  assert.deepEqual(px(m2, 3), px(img, 3));
  assert.throws(() => wrappedPhaseToRgba(ph, { mask: [1, 0] }), /mask has 2 values, expected 6/);
});

test('divergingToRgba: symmetric default limit, zero is white, ends blue/red, clamping, NaN grey', () => {
  const img = divergingToRgba(r(5, 1, [-2, 0, 1, 2, NaN]));
  assert.deepEqual(px(img, 0).slice(0, 3), diverging(0));
  assert.deepEqual(px(img, 3).slice(0, 3), diverging(1));
  const [wr, wg, wb] = px(img, 1);
  assert.ok(wr! > 235 && wg! > 235 && wb! > 235, 'zero is near white');
  assert.deepEqual(px(img, 4), [128, 128, 128, 255]);
  // asymmetric data still gets symmetric limits: -1 is as blue as +1 is red
  const asym = divergingToRgba(r(2, 1, [-1, 4]));
  assert.ok(srgbToOklab(px(asym, 0))[0] > srgbToOklab(diverging(0))[0], '-1 of ±4 is lighter than the end');
  const lim = divergingToRgba(r(3, 1, [-10, 0.5, 10]), { limit: 1 });
  assert.deepEqual(px(lim, 0).slice(0, 3), diverging(0));
  assert.deepEqual(px(lim, 2).slice(0, 3), diverging(1));
  // all-zero / all-NaN input does not throw
  divergingToRgba(r(2, 1, [0, 0]));
  divergingToRgba(r(2, 1, [NaN, NaN]));
});

test('sequentialToRgba: default finite range, explicit limits clamp, ±Infinity is nodata', () => {
  const img = sequentialToRgba(r(4, 1, [10, 20, Infinity, -Infinity]));
  assert.deepEqual(px(img, 0).slice(0, 3), viridis(0));
  assert.deepEqual(px(img, 1).slice(0, 3), viridis(1));
  assert.deepEqual(px(img, 2), [128, 128, 128, 255]);
  assert.deepEqual(px(img, 3), [128, 128, 128, 255]);
  const c = sequentialToRgba(r(3, 1, [0, 5, 100]), { min: 0, max: 10, cmap: greys });
  assert.deepEqual(px(c, 0), [0, 0, 0, 255]);
  assert.ok(Math.abs(px(c, 1)[0]! - 128) <= 1);
  assert.deepEqual(px(c, 2), [255, 255, 255, 255]);
  const custom = colourise(r(1, 1, [NaN]), greys, { nodata: [1, 2, 3] });
  assert.deepEqual(px(custom, 0), [1, 2, 3, 255]);
  assert.deepEqual(finiteMinMax([NaN, 3, Infinity, -2]), [-2, 3]);
  assert.deepEqual(finiteMinMax([NaN]), [NaN, NaN]);
});

test('hillshade: flat ground is sin(altitude); slopes facing the light are brighter; analytic plane', () => {
  const flat = hillshade(r(5, 4, () => 123), 30);
  assert.equal(flat.width, 5);
  assert.equal(flat.height, 4);
  for (const v of flat.data) assert.ok(Math.abs(v - Math.SQRT1_2) < 1e-6);
  assert.ok(Math.abs(hillshade(r(3, 3, () => 0), 30, 315, 30).data[4]! - 0.5) < 1e-6);

  // z rising to the east with slope s: normal (-s, 0, 1)/√(1+s²); light from the NW at 45°.
  const s = 0.7;
  const spacing = 20;
  const east = hillshade(r(6, 6, (x) => s * x * spacing), spacing);
  const expected = (0.5 * s + Math.SQRT1_2) / Math.sqrt(1 + s * s);
  assert.ok(Math.abs(east.data[2 * 6 + 2]! - expected) < 1e-5, `${east.data[14]} vs ${expected}`);

  // Row 0 is north: ground rising to the south-east faces the north-west light.
  const facing = hillshade(r(6, 6, (x, y) => (x + y) * 10), 10).data[14]!;
  const away = hillshade(r(6, 6, (x, y) => -(x + y) * 10), 10).data[14]!;
  assert.ok(facing > Math.SQRT1_2 && away < Math.SQRT1_2, `${facing} ${away}`);
  // light from the south-east reverses that
  assert.ok(hillshade(r(6, 6, (x, y) => (x + y) * 10), 10, 135).data[14]! < Math.SQRT1_2);
  // a steep slope away from the light is fully dark, never negative
  assert.equal(hillshade(r(5, 5, (x, y) => -(x + y) * 1000), 10).data[12], 0);
  // larger pixel spacing = gentler slope = closer to flat
  const gentle = hillshade(r(6, 6, (x) => x * 10), 100).data[14]!;
  const steep = hillshade(r(6, 6, (x) => x * 10), 10).data[14]!;
  assert.ok(Math.abs(gentle - Math.SQRT1_2) < Math.abs(steep - Math.SQRT1_2));
  // anisotropic spacing [east, north]
  const aniso = hillshade(r(6, 6, (x) => s * x * spacing), [spacing, 5 * spacing]);
  assert.ok(Math.abs(aniso.data[14]! - expected) < 1e-5);
});

test('hillshade: NaN heights give NaN, NaN neighbours do not spread, bad spacing throws', () => {
  const dem = r(4, 4, () => 50);
  dem.data[5] = NaN;
  const hs = hillshade(dem, 30);
  assert.ok(Number.isNaN(hs.data[5]!));
  for (let i = 0; i < 16; i++) if (i !== 5) assert.ok(Math.abs(hs.data[i]! - Math.SQRT1_2) < 1e-6);
  for (const v of hillshade(r(8, 8, (x, y) => Math.sin(x) * 300 + y * y * 20), 25).data) assert.ok(v >= 0 && v <= 1);
  assert.throws(() => hillshade(dem, 0), RangeError);
  assert.throws(() => hillshade(dem, [30, -1]), RangeError);
});

test('drapeOnHillshade keeps colours on flat ground and brightens/darkens slopes', () => {
  const img = sequentialToRgba(r(3, 1, [0, 0.5, 1]), { min: 0, max: 1, cmap: greys });
  const flat = drapeOnHillshade(img, r(3, 1, () => Math.SQRT1_2));
  assert.deepEqual([...flat.data], [...img.data]);
  const dark = drapeOnHillshade(img, r(3, 1, () => 0), 0.5);
  assert.ok(dark.data[4]! < img.data[4]!);
  assert.throws(() => drapeOnHillshade(img, r(2, 1, () => 0)), RangeError);
});
