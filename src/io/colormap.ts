/**
 * Colour maps as pure functions t ∈ [0, 1] → [r, g, b] (bytes), and the raster → RGBA image
 * conversions built on them.
 *
 * - `cyclic`: a hue cycle red → yellow → green → cyan → blue → magenta → red for wrapped phase,
 *   built in OKLab and re-spaced to constant perceptual speed, so equal phase steps look equally
 *   different everywhere on the wheel; t = 0 and t = 1 give the same colour.
 * - `diverging`: blue → white → red (ColorBrewer RdBu stops, interpolated in OKLab) for signed
 *   quantities such as unwrapped phase or LOS displacement with symmetric limits.
 * - `viridis`: sequential, monotonic lightness (10 viridis stops interpolated in OKLab).
 * - `blues`: light-to-dark single-hue sequential (ColorBrewer Blues), used for confusion matrices.
 * - `greys` and `terrain`: DEMs and hillshades.
 *
 * The raster → RGBA functions sample the map into a table once, so per-pixel cost is a lookup.
 */
import type { Raster } from '../core/raster.js';
import type { Canvas } from './draw.js';
import { maxAbsFinite } from '../core/arrays.js';

/** An sRGB colour as bytes 0..255. */
export type Rgb = [number, number, number];
/** A colour map: t in [0, 1] (clamped, or wrapped for cyclic maps) → sRGB bytes. */
export type Colormap = (t: number) => Rgb;

/** Colour used for NaN / masked pixels (mid-grey). */
export const NODATA_GREY: Rgb = [128, 128, 128];

// ---------------------------------------------------------------------------------------------
// sRGB <-> OKLab (Björn Ottosson 2020)

function srgbToLinear(c: number): number {
  const v = c / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

function linearToSrgb(v: number): number {
  const c = v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055;
  return c * 255;
}

function linearToOklab(r: number, g: number, b: number): [number, number, number] {
  const l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
  const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
  const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
  return [
    0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s,
    1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s,
    0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s,
  ];
}

function oklabToLinear(L: number, a: number, b: number): [number, number, number] {
  const l = (L + 0.3963377774 * a + 0.2158037573 * b) ** 3;
  const m = (L - 0.1055613458 * a - 0.0638541728 * b) ** 3;
  const s = (L - 0.0894841775 * a - 1.291485548 * b) ** 3;
  return [
    4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s,
    -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s,
    -0.0041960863 * l - 0.7034186147 * m + 1.707614701 * s,
  ];
}

/** sRGB bytes → OKLab [L, a, b] (L in 0..1, perceptual lightness). */
export function srgbToOklab(rgb: readonly number[]): [number, number, number] {
  return linearToOklab(srgbToLinear(rgb[0]!), srgbToLinear(rgb[1]!), srgbToLinear(rgb[2]!));
}

/** OKLab → sRGB bytes (rounded, clamped to 0..255). */
export function oklabToSrgb(lab: readonly number[]): Rgb {
  const lin = oklabToLinear(lab[0]!, lab[1]!, lab[2]!);
  return lin.map((v) => Math.min(255, Math.max(0, Math.round(linearToSrgb(Math.max(0, v)))))) as Rgb;
}

/** WCAG relative luminance (0 black .. 1 white) of sRGB bytes. */
export function relativeLuminance(rgb: readonly number[]): number {
  return 0.2126 * srgbToLinear(rgb[0]!) + 0.7152 * srgbToLinear(rgb[1]!) + 0.0722 * srgbToLinear(rgb[2]!);
}

/** Parse '#rgb', '#rrggbb' into sRGB bytes. */
export function parseHex(hex: string): Rgb {
  let h = hex.trim().replace(/^#/, '');
  if (h.length === 3 || h.length === 4) h = [...h].map((c) => c + c).join('');
  if (!/^[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/.test(h)) throw new RangeError(`not a hex colour: ${hex}`);
  return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
}

// ---------------------------------------------------------------------------------------------
// Lookup tables

const LUT_SIZE = 256;

/** A periodic colour map from an n-entry table (entry i at t = i/n), linearly interpolated. */
function periodic(table: Uint8Array): Colormap {
  const n = table.length / 3;
  return (t: number): Rgb => {
    let u = t - Math.floor(t);
    if (!Number.isFinite(u)) u = 0;
    const x = u * n;
    const k = Math.floor(x) % n;
    const f = x - Math.floor(x);
    const j = (k + 1) % n;
    return [0, 1, 2].map((c) => Math.round(table[k * 3 + c]! + f * (table[j * 3 + c]! - table[k * 3 + c]!))) as Rgb;
  };
}

/** Sample a colour map into an n-entry RGB lookup table (n*3 bytes, entry i at t = i/(n-1)). */
export function lut(cmap: Colormap, n = LUT_SIZE): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) out.set(cmap(n === 1 ? 0 : i / (n - 1)), i * 3);
  return out;
}

/**
 * A colour map through evenly spaced colour stops, interpolated linearly in OKLab
 * (perceptually smoother than interpolating sRGB).
 */
export function interpolateStops(stops: readonly (string | readonly number[])[]): Colormap {
  if (stops.length < 2) throw new RangeError('a colour map needs at least two stops');
  const labs = stops.map((s) => srgbToOklab(typeof s === 'string' ? parseHex(s) : s));
  const last = labs.length - 1;
  return (t: number): Rgb => {
    const u = Number.isNaN(t) ? 0 : Math.min(1, Math.max(0, t));
    const x = u * last;
    const k = Math.min(last - 1, Math.floor(x));
    const f = x - k;
    const p = labs[k]!;
    const q = labs[k + 1]!;
    return oklabToSrgb([p[0] + f * (q[0] - p[0]), p[1] + f * (q[1] - p[1]), p[2] + f * (q[2] - p[2])]);
  };
}

function inGamut(lin: readonly number[]): boolean {
  return lin.every((v) => v >= -1e-4 && v <= 1 + 1e-4);
}

/** Build the cyclic hue wheel: OKLCH path, chroma kept inside sRGB, re-spaced to constant ΔE. */
function buildCyclic(): Uint8Array {
  const N = 2048;
  const deg = Math.PI / 180;
  const hue0 = 25 * deg; // t = 0 starts at red
  const lightness = (h: number) => 0.70 + 0.10 * Math.cos(h - 105 * deg); // yellow light, blue dark
  const maxChroma = (L: number, h: number) => {
    let lo = 0;
    let hi = 0.4;
    for (let k = 0; k < 30; k++) {
      const c = (lo + hi) / 2;
      if (inGamut(oklabToLinear(L, c * Math.cos(h), c * Math.sin(h)))) lo = c; else hi = c;
    }
    return lo;
  };
  const hues = new Float64Array(N);
  const chroma = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    hues[i] = hue0 + (2 * Math.PI * i) / N;
    chroma[i] = Math.min(0.2, 0.97 * maxChroma(lightness(hues[i]!), hues[i]!));
  }
  // Smooth chroma around the circle (removes kinks where the gamut boundary is sharp), then re-clip.
  const smooth = new Float64Array(N);
  const w = 96;
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let k = -w; k <= w; k++) s += chroma[(i + k + N) % N]!;
    smooth[i] = s / (2 * w + 1);
  }
  const labs: [number, number, number][] = [];
  for (let i = 0; i < N; i++) {
    const h = hues[i]!;
    const L = lightness(h);
    const c = Math.min(smooth[i]!, 0.97 * maxChroma(L, h));
    labs.push([L, c * Math.cos(h), c * Math.sin(h)]);
  }
  // Cumulative perceptual distance around the closed loop.
  const cum = new Float64Array(N + 1);
  for (let i = 0; i < N; i++) {
    const p = labs[i]!;
    const q = labs[(i + 1) % N]!;
    cum[i + 1] = cum[i]! + Math.hypot(q[0] - p[0], q[1] - p[1], q[2] - p[2]);
  }
  const total = cum[N]!;
  const table = new Uint8Array(LUT_SIZE * 3);
  let j = 0;
  for (let i = 0; i < LUT_SIZE; i++) {
    const target = (i / LUT_SIZE) * total;
    while (cum[j + 1]! < target) j++;
    const f = (target - cum[j]!) / (cum[j + 1]! - cum[j]! || 1);
    const p = labs[j]!;
    const q = labs[(j + 1) % N]!;
    table.set(oklabToSrgb([p[0] + f * (q[0] - p[0]), p[1] + f * (q[1] - p[1]), p[2] + f * (q[2] - p[2])]), i * 3);
  }
  return table;
}

/** Cyclic hue wheel for wrapped phase; t wraps, so cyclic(0) equals cyclic(1). */
export const cyclic: Colormap = periodic(buildCyclic());

/** Blue → white → red (low → high). */
export const diverging: Colormap = interpolateStops([
  '#053061', '#2166ac', '#4393c3', '#92c5de', '#d1e5f0', '#f7f7f7',
  '#fddbc7', '#f4a582', '#d6604d', '#b2182b', '#67001f',
]);

/** Viridis-like sequential map: dark purple → blue → green → yellow, lightness increasing. */
export const viridis: Colormap = interpolateStops([
  '#440154', '#482878', '#3e4989', '#31688e', '#26828e',
  '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725',
]);

/** Light → dark blue (ColorBrewer Blues). */
export const blues: Colormap = interpolateStops([
  '#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b',
]);

/** Black → white. */
export const greys: Colormap = (t: number): Rgb => {
  const v = Math.round((Number.isNaN(t) ? 0 : Math.min(1, Math.max(0, t))) * 255);
  return [v, v, v];
};

/** Hypsometric tint for land DEMs: green lowlands → tan → brown → grey → snow. */
export const terrain: Colormap = interpolateStops([
  '#2f6b3f', '#5d8f4c', '#a3b36b', '#d8cb93', '#bb9a6c', '#8f6f55', '#a89e96', '#f4f4f4',
]);

/** The named colour maps. */
export const colormaps: Readonly<Record<'cyclic' | 'diverging' | 'viridis' | 'blues' | 'greys' | 'terrain', Colormap>> = {
  cyclic, diverging, viridis, blues, greys, terrain,
};

// ---------------------------------------------------------------------------------------------
// Raster → RGBA

/** A mask: nonzero / true marks a pixel as masked (numpy.ma convention), either flat or as a raster. */
export type Mask =
  | ArrayLike<number | boolean>
  | { readonly width?: number; readonly height?: number; readonly data: ArrayLike<number | boolean> };

function maskData(mask: Mask | undefined, n: number): ArrayLike<number | boolean> | undefined {
  if (!mask) return undefined;
  const d = 'data' in mask ? mask.data : mask;
  if (d.length !== n) throw new RangeError(`mask has ${d.length} values, expected ${n}`);
  return d;
}

export interface ColouriseOptions {
  /** Value mapped to t = 0 (default: finite minimum). */
  readonly min?: number;
  /** Value mapped to t = 1 (default: finite maximum). */
  readonly max?: number;
  /** Pixels where the mask is nonzero/true are drawn in nodata colour. */
  readonly mask?: Mask;
  /** Colour for NaN, ±Infinity and masked pixels (default mid-grey). */
  readonly nodata?: readonly number[];
}

/**
 * Map a raster through a colour map into an opaque RGBA image. Values are scaled linearly so min → 0
 * and max → 1 (values outside are clamped). Non-finite and masked pixels → nodata.
 */
export function colourise(r: Raster<Float32Array | Float64Array>, cmap: Colormap, options: ColouriseOptions = {}): Canvas {
  const n = r.width * r.height;
  const mask = maskData(options.mask, n);
  let { min, max } = options;
  if (min === undefined || max === undefined) {
    const [lo, hi] = finiteMinMax(r.data);
    min ??= Number.isFinite(lo) ? lo : 0;
    max ??= Number.isFinite(hi) ? hi : 1;
  }
  const span = max - min;
  const nd = options.nodata ?? NODATA_GREY;
  const out = new Uint8ClampedArray(n * 4);
  // Quantise through a 1024-entry table: one colour-map call per entry, not per pixel.
  const Q = 1024;
  const table = new Uint8Array(Q * 3);
  for (let i = 0; i < Q; i++) table.set(cmap(i / (Q - 1)), i * 3);
  for (let i = 0; i < n; i++) {
    const v = r.data[i]!;
    const o = i * 4;
    out[o + 3] = 255;
    if (!Number.isFinite(v) || (mask && mask[i])) {
      out[o] = nd[0]!; out[o + 1] = nd[1]!; out[o + 2] = nd[2]!;
      continue;
    }
    const t = span > 0 ? (v - min) / span : 0.5;
    const k = Math.round(Math.min(1, Math.max(0, t)) * (Q - 1)) * 3;
    out[o] = table[k]!; out[o + 1] = table[k + 1]!; out[o + 2] = table[k + 2]!;
  }
  return { width: r.width, height: r.height, data: out };
}

/**
 * Wrapped phase (radians, −π..π; other values wrap) → RGBA with the cyclic map.
 * NaN and masked pixels are mid-grey.
 */
export function wrappedPhaseToRgba(
  phase: Raster<Float32Array | Float64Array>,
  options: { mask?: Mask; cmap?: Colormap } = {},
): Canvas {
  const n = phase.width * phase.height;
  const mask = maskData(options.mask, n);
  const cmap = options.cmap ?? cyclic;
  const Q = 512;
  const table = new Uint8Array(Q * 3);
  for (let i = 0; i < Q; i++) table.set(cmap(i / Q), i * 3);
  const out = new Uint8ClampedArray(n * 4);
  const twoPi = 2 * Math.PI;
  for (let i = 0; i < n; i++) {
    const v = phase.data[i]!;
    const o = i * 4;
    out[o + 3] = 255;
    if (!Number.isFinite(v) || (mask && mask[i])) {
      out[o] = NODATA_GREY[0]; out[o + 1] = NODATA_GREY[1]; out[o + 2] = NODATA_GREY[2];
      continue;
    }
    let t = (v + Math.PI) / twoPi;
    t -= Math.floor(t);
    const k = (Math.round(t * Q) % Q) * 3;
    out[o] = table[k]!; out[o + 1] = table[k + 1]!; out[o + 2] = table[k + 2]!;
  }
  return { width: phase.width, height: phase.height, data: out };
}

/**
 * Signed values → RGBA with the diverging map and symmetric limits ±limit (default: the largest
 * absolute finite value), so zero is always white. NaN and masked pixels are mid-grey.
 */
export function divergingToRgba(
  r: Raster<Float32Array | Float64Array>,
  options: { limit?: number; mask?: Mask; cmap?: Colormap } = {},
): Canvas {
  let limit = options.limit ?? maxAbsFinite(r.data);
  if (!(limit > 0)) limit = 1;
  return colourise(r, options.cmap ?? diverging, { min: -limit, max: limit, mask: options.mask });
}

/** Minimum and maximum of the finite values (NaN and ±Infinity ignored); [NaN, NaN] when none. */
export function finiteMinMax(a: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [NaN, NaN];
}

/** Values → RGBA with a sequential map (default viridis) between min and max (default: finite range). */
export function sequentialToRgba(
  r: Raster<Float32Array | Float64Array>,
  options: { min?: number; max?: number; mask?: Mask; cmap?: Colormap } = {},
): Canvas {
  return colourise(r, options.cmap ?? viridis, options);
}

/**
 * Hillshade of a DEM (row 0 = north) by Horn's 3x3 gradient, with edges replicated.
 * spacingM is the pixel size in metres (or [east, north] when they differ, e.g. geographic grids).
 * Light comes from azimuthDeg (clockwise from north, default 315 = north-west) at altitudeDeg above
 * the horizon. Returns cos(angle between surface normal and light), clamped to 0..1: a flat surface
 * gives sin(altitude). NaN heights give NaN; NaN neighbours are replaced by the centre height.
 */
export function hillshade(
  dem: Raster<Float32Array | Float64Array>,
  spacingM: number | readonly [number, number],
  azimuthDeg = 315,
  altitudeDeg = 45,
): Raster {
  const [dx, dy] = typeof spacingM === 'number' ? [spacingM, spacingM] : spacingM;
  if (!(dx > 0) || !(dy > 0)) throw new RangeError(`hillshade spacing must be positive, got ${spacingM}`);
  const { width: w, height: h, data } = dem;
  const az = (azimuthDeg * Math.PI) / 180;
  const alt = (altitudeDeg * Math.PI) / 180;
  const lx = Math.sin(az) * Math.cos(alt);
  const ly = Math.cos(az) * Math.cos(alt);
  const lz = Math.sin(alt);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const yn = y > 0 ? y - 1 : 0;
    const ys = y < h - 1 ? y + 1 : h - 1;
    for (let x = 0; x < w; x++) {
      const e = data[y * w + x]!;
      if (Number.isNaN(e)) { out[y * w + x] = NaN; continue; }
      const xw = x > 0 ? x - 1 : 0;
      const xe = x < w - 1 ? x + 1 : w - 1;
      const z = (yy: number, xx: number) => {
        const v = data[yy * w + xx]!;
        return Number.isNaN(v) ? e : v;
      };
      const a = z(yn, xw), b = z(yn, x), c = z(yn, xe);
      const d = z(y, xw), f = z(y, xe);
      const g = z(ys, xw), hh = z(ys, x), i = z(ys, xe);
      const dzdx = (c + 2 * f + i - (a + 2 * d + g)) / (8 * dx); // towards east
      const dzdy = (a + 2 * b + c - (g + 2 * hh + i)) / (8 * dy); // towards north
      const dot = (-dzdx * lx - dzdy * ly + lz) / Math.sqrt(dzdx * dzdx + dzdy * dzdy + 1);
      out[y * w + x] = dot > 0 ? Math.min(1, dot) : 0;
    }
  }
  return { width: w, height: h, data: out };
}

/**
 * Drape a colour image over a hillshade: each colour is multiplied by
 * (1 - strength) + strength * shade / sin(45°) (clamped), so flat ground keeps its colour,
 * slopes facing the light brighten and slopes facing away darken. NaN shade leaves the pixel as is.
 */
export function drapeOnHillshade(rgba: Canvas, shade: Raster, strength = 0.5): Canvas {
  if (rgba.width !== shade.width || rgba.height !== shade.height) {
    throw new RangeError(`drape: image ${rgba.width}x${rgba.height} and shade ${shade.width}x${shade.height} differ`);
  }
  const out = new Uint8ClampedArray(rgba.data);
  const ref = Math.SQRT1_2;
  for (let i = 0; i < shade.data.length; i++) {
    const s = shade.data[i]!;
    if (Number.isNaN(s)) continue;
    const k = Math.min(1.6, (1 - strength) + (strength * s) / ref);
    out[i * 4] = out[i * 4]! * k;
    out[i * 4 + 1] = out[i * 4 + 1]! * k;
    out[i * 4 + 2] = out[i * 4 + 2]! * k;
  }
  return { width: rgba.width, height: rgba.height, data: out };
}
