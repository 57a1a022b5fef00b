/**
 * Procedural volcanic terrain, so caldera can make scenes with no DEM tiles at all.
 *
 * A DEM is the sum of
 * - a regional surface: base level plus a smooth power-law field (2-D PSD ~ k^-4, rolling hills);
 * - volcanic edifices: stratocones (profile H exp(-(r/R)^p), lobed outline, summit crater, radial
 *   erosion gullies), calderas (ignimbrite shield, rim, steep inner wall, flat floor, sometimes a
 *   lake at a flat level and a post-caldera cone), small tuff rings / maars;
 * - ridges (eroded linear highs);
 * - fractal roughness (2-D PSD ~ k^-3.2), modulated by a smooth field (plains to rugged hills);
 * - fluvial incision: D8 flow routing and a stream-power cut (k A^0.45 sqrt S), which carves a
 *   dendritic drainage network and deepens the radial gullies on cones;
 * - sometimes a coastline: the whole scene is tilted towards one side (or left flat for an island)
 *   and a sea level is chosen so a drawn share of pixels is at or below it; those pixels are 0 m.
 *
 * Lengths are in metres, so the terrain scales with `spacingM`. All randomness comes from `rng`.
 * Elevations are metres above sea level; sea (<= 0) is exactly 0.
 */
import { raster, type Raster } from '../core/raster.js';
import type { Rng } from '../core/rng.js';
import { gaussianFieldPair, type SpectralCache, type Spectrum } from './atmosphere.js';
import { InputError } from '../core/errors.js';

export type EdificeKind = 'stratocone' | 'caldera';

/** Pixel position, from the top-left corner (x = column, y = row; may be fractional). */
export interface PixelPosition {
  x: number;
  y: number;
}

export interface Volcano extends PixelPosition {
  /** Summit (cone) or centre (caldera). */
  readonly kind: EdificeKind;
  /** Relief of the edifice above its base (m). */
  readonly reliefM: number;
}

export interface ProceduralDemOptions {
  readonly width: number;
  readonly height: number;
  /** Pixel spacing (m); default 90 (SRTM3). */
  readonly spacingM?: number;
  /**
   * Coastline: true = always, false = never, a number = probability (default 0.35).
   */
  readonly coast?: boolean | number;
}

export interface ProceduralDem {
  /** Elevation (m); <= 0 (exactly 0) is sea. */
  readonly dem: Raster;
  /** Edifice summits / caldera centres that are on land, pixel coordinates. */
  readonly volcanoes: PixelPosition[];
  /** The same edifices with their kind and relief (same order as `volcanoes`). */
  readonly edifices: Volcano[];
  /** Share of sea pixels (0 when there is no coast). */
  readonly seaFraction: number;
}

const REGIONAL: Spectrum = { kind: 'powerLaw', exponent: -4, maxWavelengthM: 400000 };
const MODULATION: Spectrum = { kind: 'powerLaw', exponent: -3.5, maxWavelengthM: 400000 };
const ROUGH: Spectrum = { kind: 'powerLaw', exponent: -3.2, maxWavelengthM: 400000 };
/** Band-limited field (features ~1-3 km) whose zero crossings become valleys. */
const VALLEYS: Spectrum = { kind: 'powerLaw', exponent: -4, outerScaleM: 1500, maxWavelengthM: 400000 };
/** Smooth fields are made on a grid this many times coarser and interpolated. */
const COARSE = 4;

/** Two smooth fields made on a coarse grid (one small FFT), bilinearly interpolated to w x h. */
function coarsePair(rng: Rng, w: number, h: number, dx: number, a: Spectrum, b: Spectrum, cache?: SpectralCache): [Float32Array, Float32Array] {
  const cw = Math.ceil((w - 1) / COARSE) + 2, ch = Math.ceil((h - 1) / COARSE) + 2;
  const pair = gaussianFieldPair(rng, { width: cw, height: ch, spacingM: dx * COARSE }, a, b, cache);
  const [fa, fb] = pair;
  const oa = new Float32Array(w * h), ob = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const fy = y / COARSE, iy = Math.floor(fy), ty = fy - iy;
    for (let x = 0; x < w; x++) {
      const fx = x / COARSE, ix = Math.floor(fx), tx = fx - ix;
      const i00 = iy * cw + ix, i10 = i00 + cw;
      const w00 = (1 - tx) * (1 - ty), w01 = tx * (1 - ty), w10 = (1 - tx) * ty, w11 = tx * ty;
      oa[y * w + x] = w00 * fa[i00]! + w01 * fa[i00 + 1]! + w10 * fa[i10]! + w11 * fa[i10 + 1]!;
      ob[y * w + x] = w00 * fb[i00]! + w01 * fb[i00 + 1]! + w10 * fb[i10]! + w11 * fb[i10 + 1]!;
    }
  }
  const out: [Float32Array, Float32Array] = [oa, ob];
  return out;
}

const GULLY_TABLE = 1024;
const PROFILE_TABLE = 1024;
const PROFILE_SMAX = 16;

/** atan2 approximation (|error| < 1e-5 rad), returns [0, 2pi). */
function angle(y: number, x: number): number {
  const ax = Math.abs(x), ay = Math.abs(y);
  const mx = ax > ay ? ax : ay;
  if (mx === 0) return 0;
  const a = (ax > ay ? ay : ax) / mx;
  const s = a * a;
  let r = ((((-0.0134804700 * s + 0.0574773140) * s - 0.1212390710) * s + 0.1956359250) * s - 0.3329946950) * s * a + 0.9999956960 * a;
  if (ay > ax) r = 1.5707963267948966 - r;
  if (x < 0) r = Math.PI - r;
  if (y < 0) r = 2 * Math.PI - r;
  return r;
}

/** t[j] += a cos(w j + ph) for all j, by rotation (no trig in the loop). */
function addCosine(t: Float64Array, a: number, w: number, ph: number): void {
  const cw = Math.cos(w), sw = Math.sin(w);
  let c = a * Math.cos(ph), s = a * Math.sin(ph);
  for (let j = 0; j < t.length; j++) {
    t[j]! += c;
    const nc = c * cw - s * sw;
    s = c * sw + s * cw;
    c = nc;
  }
}

/** A periodic random function of angle, unit std, as a table of GULLY_TABLE samples. */
function gullyTable(rng: Rng, mMin: number, mMax: number, beta: number): Float64Array {
  const t = new Float64Array(GULLY_TABLE);
  for (let m = mMin; m <= mMax; m++) {
    const a = Math.pow(m, -beta) * (0.5 + rng.next());
    const ph = rng.uniform(0, 2 * Math.PI);
    addCosine(t, a, (2 * Math.PI * m) / GULLY_TABLE, ph);
  }
  let ss = 0;
  for (let j = 0; j < GULLY_TABLE; j++) ss += t[j]! * t[j]!;
  const g = ss > 0 ? 1 / Math.sqrt(ss / GULLY_TABLE) : 0;
  for (let j = 0; j < GULLY_TABLE; j++) t[j]! *= g;
  return t;
}

/** Outline modulation 1 + sum a_m cos(m theta + phi), as a table. */
function lobeTable(rng: Rng, maxAmp: number): Float64Array {
  const t = new Float64Array(GULLY_TABLE).fill(1);
  for (let m = 1; m <= 4; m++) {
    const a = rng.uniform(0, maxAmp) / m;
    const ph = rng.uniform(0, 2 * Math.PI);
    addCosine(t, a, (2 * Math.PI * m) / GULLY_TABLE, ph);
  }
  return t;
}

function tableAt(t: Float64Array, theta: number): number {
  const f = (theta * GULLY_TABLE) / (2 * Math.PI);
  const i = Math.floor(f);
  const w = f - i;
  const a = t[i & (GULLY_TABLE - 1)]!, b = t[(i + 1) & (GULLY_TABLE - 1)]!;
  return a + w * (b - a);
}

/** Gully envelope (s / 0.9) exp(1 - s / 0.9 - s^2 / 6) tabulated like the profiles. */
const GULLY_ENVELOPE = (() => {
  const t = new Float64Array(PROFILE_TABLE + 1);
  for (let j = 0; j <= PROFILE_TABLE; j++) {
    const s = (j * PROFILE_SMAX) / PROFILE_TABLE;
    t[j] = (s / 0.9) * Math.exp(1 - s / 0.9 - (s * s) / 6);
  }
  return t;
})();

/** exp(-s^p) tabulated on [0, PROFILE_SMAX]. */
function profileTable(p: number): Float64Array {
  const t = new Float64Array(PROFILE_TABLE + 1);
  for (let j = 0; j <= PROFILE_TABLE; j++) t[j] = Math.exp(-Math.pow((j * PROFILE_SMAX) / PROFILE_TABLE, p));
  return t;
}

function profileAt(t: Float64Array, s: number): number {
  if (s >= PROFILE_SMAX) return 0;
  const f = (s * PROFILE_TABLE) / PROFILE_SMAX;
  const i = Math.floor(f);
  const a = t[i]!;
  return a + (f - i) * (t[i + 1]! - a);
}

function smoothstep(t: number): number {
  if (t <= 0) return 0;
  if (t >= 1) return 1;
  return t * t * (3 - 2 * t);
}

interface Grid {
  readonly w: number;
  readonly h: number;
  readonly dx: number;
  readonly z: Float64Array;
}

/** Spacing (m) of the `wiggle` table. */
const WIGGLE_STEP = 20;

/**
 * A smooth random function of distance r (m) on [0, rMax]: sum of four sines (wavelengths
 * 0.8-4 km), amplitude ~1, tabulated every WIGGLE_STEP m.
 */
function wiggleTable(rng: Rng, rMax: number): Float64Array {
  const t = new Float64Array(Math.ceil(rMax / WIGGLE_STEP) + 2);
  for (let j = 0; j < 4; j++) {
    const k = (2 * Math.PI) / rng.uniform(800, 4000);
    const ph = rng.uniform(0, 2 * Math.PI);
    const a = rng.uniform(0.3, 1) / 2;
    addCosine(t, a, k * WIGGLE_STEP, ph);
  }
  return t;
}

const TWO_PI = 2 * Math.PI;
function wrapAngle(t: number): number {
  return t < 0 ? t + TWO_PI : t >= TWO_PI ? t - TWO_PI : t;
}

/** Add a stratocone centred at (cx, cy) px with relief H (m) and e-folding radius R (m). */
function addCone(rng: Rng, g: Grid, cx: number, cy: number, H: number, R: number, opts: { crater?: boolean; erosion?: number } = {}): void {
  const p = rng.uniform(1.0, 1.8);
  const prof = profileTable(p);
  const lobes = lobeTable(rng, 0.25);
  const coarse = gullyTable(rng, 6, 30, 0.5);
  const fine = gullyTable(rng, 25, 90, 0.5);
  const erosion = (opts.erosion ?? rng.uniform(0.3, 1)) * rng.uniform(0.03, 0.07) * H;
  const crater = opts.crater ?? rng.chance(0.8);
  const rc = crater ? rng.uniform(150, 450) : 0;
  const cd = crater ? Math.min(0.25 * H, rng.uniform(0.25, 0.7) * rc) : 0;
  const disp = rng.uniform(50, 250); // lateral meander of the gullies (m)
  // the profile starts at the crater rim (r = rc), so the crater sits on a summit plateau of height H
  const { w, h, dx, z } = g;
  const rMax = rc + R * Math.pow(Math.log(H), 1 / p) * 1.4;
  const wig = wiggleTable(rng, rMax * 1.5 + 12000);
  const wigLast = wig.length - 1;
  const x0 = Math.max(0, Math.floor(cx - rMax / dx)), x1 = Math.min(w - 1, Math.ceil(cx + rMax / dx));
  const y0 = Math.max(0, Math.floor(cy - rMax / dx)), y1 = Math.min(h - 1, Math.ceil(cy + rMax / dx));
  for (let y = y0; y <= y1; y++) {
    const vy = (y - cy) * dx;
    for (let x = x0; x <= x1; x++) {
      const vx = (x - cx) * dx;
      const r = Math.sqrt(vx * vx + vy * vy);
      const th = angle(vy, vx);
      const s = (r > rc ? r - rc : 0) / (R * tableAt(lobes, th));
      let v = H * profileAt(prof, s);
      // radial gullies: V-shaped valleys at zero crossings of a random function of angle, strongest
      // on the mid flanks, more and finer further out, meandering a little
      const env = profileAt(GULLY_ENVELOPE, s);
      if (env > 0.02) {
        // the meander phase differs between gullies (shifted by a smooth function of angle)
        const rr = Math.round((r + 2000 * (2 + tableAt(coarse, th))) / WIGGLE_STEP);
        const wv = wig[rr < 0 ? 0 : rr > wigLast ? wigLast : rr]!;
        const thw = wrapAngle(th + (disp * wv) / Math.max(r, 300));
        const f = smoothstep(s / 2);
        const gv = (1 - f) * tableAt(coarse, thw) + f * tableAt(fine, thw);
        v += erosion * env * (Math.abs(gv) - 0.7);
      }
      if (r < rc * 1.6 && rc > 0) {
        const q = r / rc;
        // bowl inside, small raised rim just outside
        if (q < 1) v -= cd * (1 - q * q) - 0.15 * cd * q * q;
        else v += 0.15 * cd * (1 - smoothstep((q - 1) / 0.6));
      }
      z[y * w + x]! += v;
    }
  }
}

interface CalderaLake {
  readonly cx: number;
  readonly cy: number;
  readonly rPx: number;
  readonly fill: number;
}

/**
 * Add a caldera (rim Hr above the surroundings, floor Hr - D). Returns the floor height relative to
 * the surroundings and a lake to flood at the end (or null).
 */
function addCaldera(rng: Rng, g: Grid, cx: number, cy: number, Rc: number, Hr: number): { floorM: number; lake: CalderaLake | null } {
  const D = rng.uniform(0.5, 1.2) * Hr;
  const wall = rng.uniform(250, 900);
  const wOut = rng.uniform(2500, 7000);
  const pOut = rng.uniform(0.9, 1.5);
  const prof = profileTable(pOut);
  const lobes = lobeTable(rng, 0.3);
  const ell = rng.uniform(0, 0.25);
  const ellTh = rng.uniform(0, Math.PI);
  const gully = gullyTable(rng, 10, 50, 0.5);
  const erosion = rng.uniform(0.02, 0.08) * Hr;
  const { w, h, dx, z } = g;
  const rMax = Rc * 1.5 + wOut * 8;
  const x0 = Math.max(0, Math.floor(cx - rMax / dx)), x1 = Math.min(w - 1, Math.ceil(cx + rMax / dx));
  const y0 = Math.max(0, Math.floor(cy - rMax / dx)), y1 = Math.min(h - 1, Math.ceil(cy + rMax / dx));
  const ce = Math.cos(ellTh), se = Math.sin(ellTh);
  for (let y = y0; y <= y1; y++) {
    const vy = (y - cy) * dx;
    for (let x = x0; x <= x1; x++) {
      const vx = (x - cx) * dx;
      // elliptical distance
      const a = vx * ce + vy * se, b = -vx * se + vy * ce;
      const r = Math.sqrt(a * a * (1 - ell) + (b * b) / (1 - ell));
      const th = angle(vy, vx);
      const R = Rc * tableAt(lobes, th);
      let v: number;
      if (r >= R) {
        const s = (r - R) / wOut;
        v = Hr * profileAt(prof, s);
        const env = Math.min(1, s * 3) * Math.exp(-2 * s);
        v += erosion * env * (Math.abs(tableAt(gully, th)) - 0.8);
      } else {
        // inner wall: from the rim down to the floor over `wall` metres
        v = Hr - D * smoothstep((R - r) / wall);
      }
      z[y * w + x]! += v;
    }
  }
  const lake = rng.chance(0.5) ? { cx, cy, rPx: (Rc * 0.95) / dx, fill: rng.uniform(0.3, 0.85) } : null;
  return { floorM: Hr - D, lake };
}

/** Small tuff ring / maar: low rim around a crater. */
function addTuffRing(rng: Rng, g: Grid, cx: number, cy: number): void {
  const Rr = rng.uniform(300, 900);
  const Hr = rng.uniform(30, 150);
  const depth = rng.uniform(0.3, 1.2) * Hr;
  const width = rng.uniform(0.3, 0.6) * Rr;
  const { w, h, dx, z } = g;
  const rMax = Rr + 4 * width;
  const x0 = Math.max(0, Math.floor(cx - rMax / dx)), x1 = Math.min(w - 1, Math.ceil(cx + rMax / dx));
  const y0 = Math.max(0, Math.floor(cy - rMax / dx)), y1 = Math.min(h - 1, Math.ceil(cy + rMax / dx));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const r = Math.hypot(x - cx, y - cy) * dx;
      const d = (r - Rr) / width;
      let v = Hr * Math.exp(-d * d);
      if (r < Rr) v -= depth * (1 - (r / Rr) ** 2) * smoothstep((Rr - r) / (0.5 * Rr));
      z[y * w + x]! += v;
    }
  }
}

/** A ridge: Gaussian cross-section along a (slightly bent) segment, height tapering to the ends. */
function addRidge(rng: Rng, g: Grid): void {
  const { w, h, dx, z } = g;
  const cx = rng.uniform(0, w), cy = rng.uniform(0, h);
  const th = rng.uniform(0, Math.PI);
  const L = rng.uniform(6000, 25000) / dx;
  const W = rng.uniform(700, 2500) / dx;
  const H = rng.uniform(100, 600);
  const ux = Math.cos(th), uy = Math.sin(th);
  const bend = rng.uniform(-0.3, 0.3);
  // bounding box of the segment plus 4 widths and the bend
  const reach = 0.65 * L + 4 * W + Math.abs(bend) * 0.85 * L;
  const x0 = Math.max(0, Math.floor(cx - reach)), x1 = Math.min(w - 1, Math.ceil(cx + reach));
  const y0 = Math.max(0, Math.floor(cy - reach)), y1 = Math.min(h - 1, Math.ceil(cy + reach));
  const half = L / 2;
  for (let y = y0; y <= y1; y++) {
    const py = y - cy;
    for (let x = x0; x <= x1; x++) {
      const px = x - cx;
      const tt = (px * ux + py * uy) / half;
      if (tt <= -1 || tt >= 1) continue;
      const q = (-px * uy + py * ux - bend * half * tt * tt) / W;
      if (q * q > 16) continue;
      z[y * w + x]! += H * (1 - tt * tt) * Math.exp(-q * q);
    }
  }
}

/** Integer powers acc^m for small accumulations (acc counts pixels). */
function powTable(m: number, size: number): Float64Array {
  const t = new Float64Array(size);
  for (let i = 0; i < size; i++) t[i] = Math.pow(i, m);
  return t;
}

/**
 * Fluvial incision: route flow to the steepest of the 8 neighbours, accumulate upstream area in
 * topological order (no sort), and lower each pixel by k * A^m * sqrt(S) (a stream-power law; A in
 * pixels, S the slope to the receiver), capped at `maxDepth`. The cut is widened by a 3x3 box blur
 * so channels become V-shaped valleys. Makes dendritic drainage, and radial gullies on cones.
 */
function incise(g: Grid, k: number, m: number, maxDepth: number, pw: Float64Array): void {
  const { w, h, dx, z } = g;
  const n = w * h;
  const recv = new Int32Array(n);
  const cut = new Float32Array(n);
  const indeg = new Uint8Array(n);
  const inv = [1 / dx, 1 / (Math.SQRT2 * dx)];
  for (let y = 0; y < h; y++) {
    const interiorRow = y > 0 && y < h - 1;
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const zi = z[i]!;
      let best = 0, bj = -1;
      if (interiorRow && x > 0 && x < w - 1) {
        // unrolled: orthogonal neighbours, then diagonals (scaled by 1/sqrt 2)
        let s = zi - z[i + 1]!;
        if (s > best) { best = s; bj = i + 1; }
        s = zi - z[i - 1]!;
        if (s > best) { best = s; bj = i - 1; }
        s = zi - z[i + w]!;
        if (s > best) { best = s; bj = i + w; }
        s = zi - z[i - w]!;
        if (s > best) { best = s; bj = i - w; }
        s = (zi - z[i + w + 1]!) * Math.SQRT1_2;
        if (s > best) { best = s; bj = i + w + 1; }
        s = (zi - z[i + w - 1]!) * Math.SQRT1_2;
        if (s > best) { best = s; bj = i + w - 1; }
        s = (zi - z[i - w + 1]!) * Math.SQRT1_2;
        if (s > best) { best = s; bj = i - w + 1; }
        s = (zi - z[i - w - 1]!) * Math.SQRT1_2;
        if (s > best) { best = s; bj = i - w - 1; }
        best /= dx;
      } else {
        for (let d = 0; d < 8; d++) {
          const xx = x + (d === 0 || d === 1 || d === 7 ? 1 : d >= 3 && d <= 5 ? -1 : 0);
          const yy = y + (d >= 1 && d <= 3 ? 1 : d >= 5 ? -1 : 0);
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          const j = yy * w + xx;
          const s = (zi - z[j]!) * inv[d & 1]!;
          if (s > best) { best = s; bj = j; }
        }
      }
      recv[i] = bj;
      cut[i] = best; // slope for now
      if (bj >= 0) indeg[bj]!++;
    }
  }
  const acc = new Int32Array(n).fill(1);
  const queue = new Int32Array(n);
  let qh = 0, qt = 0;
  for (let i = 0; i < n; i++) if (indeg[i] === 0) queue[qt++] = i;
  while (qh < qt) {
    const i = queue[qh++]!;
    const j = recv[i]!;
    if (j < 0) continue;
    acc[j]! += acc[i]!;
    if (--indeg[j]! === 0) queue[qt++] = j;
  }
  const np = pw.length;
  for (let i = 0; i < n; i++) {
    const a = acc[i]!;
    const sl = cut[i]!;
    const c = k * (a < np ? pw[a]! : Math.pow(a, m)) * Math.sqrt(sl < 1 ? sl : 1);
    cut[i] = c < maxDepth ? c : maxDepth;
  }
  // separable 3x3 box blur of the cut (max with half the raw cut so channel floors stay deepest)
  const row = new Float32Array(n);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let x = 0; x < w; x++) {
      const l = x > 0 ? cut[o + x - 1]! : cut[o + x]!;
      const r = x < w - 1 ? cut[o + x + 1]! : cut[o + x]!;
      row[o + x] = l + cut[o + x]! + r;
    }
  }
  for (let y = 0; y < h; y++) {
    const o = y * w;
    const up = y > 0 ? o - w : o, dn = y < h - 1 ? o + w : o;
    for (let x = 0; x < w; x++) {
      const b = (row[up + x]! + row[o + x]! + row[dn + x]!) / 9;
      const c = 0.5 * cut[o + x]!;
      z[o + x]! -= b > c ? b : c;
    }
  }
}

/** Elevation below which a share `f` of values lie (histogram on a 1 m grid). */
function quantile(z: Float64Array, f: number): number {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < z.length; i++) {
    const v = z[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const nb = Math.max(1, Math.ceil(hi - lo) + 1);
  const hist = new Uint32Array(nb);
  for (let i = 0; i < z.length; i++) hist[Math.floor(z[i]! - lo)]!++;
  const target = f * z.length;
  let acc = 0;
  for (let b = 0; b < nb; b++) {
    acc += hist[b]!;
    if (acc >= target) return lo + b + 1;
  }
  return hi;
}

function floodLake(g: Grid, lake: CalderaLake): void {
  const { w, h, z } = g;
  const r = lake.rPx;
  const x0 = Math.max(0, Math.floor(lake.cx - r)), x1 = Math.min(w - 1, Math.ceil(lake.cx + r));
  const y0 = Math.max(0, Math.floor(lake.cy - r)), y1 = Math.min(h - 1, Math.ceil(lake.cy + r));
  const inner: number[] = [];
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) {
    if ((x - lake.cx) ** 2 + (y - lake.cy) ** 2 <= r * r) inner.push(z[y * w + x]!);
  }
  if (inner.length < 4) return;
  inner.sort((a, b) => a - b);
  let level = inner[Math.floor(lake.fill * (inner.length - 1))]!;
  // never above the lowest point of the rim crest (the spill point): crest = highest z along each
  // ray between 0.7 r and 1.4 r
  let spill = Infinity;
  for (let a = 0; a < 180; a++) {
    const c = Math.cos((a * Math.PI) / 90), s = Math.sin((a * Math.PI) / 90);
    let crest = -Infinity;
    for (let t = 0.7 * r; t <= 1.4 * r; t += 0.5) {
      const x = Math.round(lake.cx + t * c), y = Math.round(lake.cy + t * s);
      if (x < 0 || y < 0 || x >= w || y >= h) break;
      const v = z[y * w + x]!;
      if (v > crest) crest = v;
    }
    if (crest > -Infinity && crest < spill) spill = crest;
  }
  level = Math.min(level, spill - 2);
  // flood the connected region below `level` that contains the deepest inner pixel
  let seed = -1;
  let best = Infinity;
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) {
    const i = y * w + x;
    if ((x - lake.cx) ** 2 + (y - lake.cy) ** 2 <= r * r && z[i]! < best) { best = z[i]!; seed = i; }
  }
  if (seed < 0) return;
  const seen = new Uint8Array(w * h);
  const stack = [seed];
  seen[seed] = 1;
  while (stack.length) {
    const i = stack.pop()!;
    z[i] = level;
    const x = i % w, y = (i - x) / w;
    if ((x - lake.cx) ** 2 + (y - lake.cy) ** 2 > 1.96 * r * r) continue; // never spill outside
    const nb = [x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, y > 0 ? i - w : -1, y < h - 1 ? i + w : -1];
    for (const j of nb) {
      if (j >= 0 && !seen[j] && z[j]! < level) { seen[j] = 1; stack.push(j); }
    }
  }
}

/** Position away from the edges (fraction lo..hi of each axis). */
function place(rng: Rng, w: number, h: number, lo = 0.2, hi = 0.8): [number, number] {
  return [rng.uniform(lo * (w - 1), hi * (w - 1)), rng.uniform(lo * (h - 1), hi * (h - 1))];
}

/**
 * A procedural volcanic DEM. ~15-20 ms at 224 x 224 with a `cache` (two FFTs, the edifices and one
 * pass of flow routing / incision), so scene generators should reuse DEMs (a pool, with random
 * flips / 90-degree turns) rather than make one per scene.
 */
export function proceduralDem(rng: Rng, opts: ProceduralDemOptions, cache?: SpectralCache): ProceduralDem {
  const { width: w, height: h } = opts;
  const dx = opts.spacingM ?? 90;
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 8 || h < 8) throw new InputError(`DEM size must be integers >= 8, got ${w}x${h}`);
  if (!(dx > 0)) throw new InputError(`spacingM must be > 0, got ${dx}`);
  const coastP = opts.coast === undefined ? 0.35 : opts.coast === true ? 1 : opts.coast === false ? 0 : opts.coast;
  const z = new Float64Array(w * h);
  const g: Grid = { w, h, dx, z };

  // 1. regional surface (coarse grid) and the fine fields (one FFT of the full size)
  const [reg, mod] = coarsePair(rng, w, h, dx, REGIONAL, MODULATION, cache);
  const [rough, valleys] = gaussianFieldPair(rng, { width: w, height: h, spacingM: dx }, ROUGH, VALLEYS, cache);
  const base = rng.uniform(0, 500);
  const regAmp = rng.uniform(60, 250);
  for (let i = 0; i < z.length; i++) z[i] = base + regAmp * reg[i]!;

  // 2. edifices
  const volcanoes: Volcano[] = [];
  const style = rng.next();
  const lakes: CalderaLake[] = [];
  const scaleM = Math.min(w, h) * dx; // scene size
  const coneR = (): number => rng.uniform(1500, 4000) * Math.min(1, scaleM / 15000);
  if (style < 0.45) {
    // a stratocone, sometimes with satellite cones
    const [cx, cy] = place(rng, w, h);
    const H = rng.uniform(1000, 2500);
    addCone(rng, g, cx, cy, H, coneR());
    volcanoes.push({ x: cx, y: cy, kind: 'stratocone', reliefM: H });
    const nSat = rng.chance(0.4) ? rng.int(1, 2) : 0;
    for (let k = 0; k < nSat; k++) {
      const a = rng.uniform(0, 2 * Math.PI), d = rng.uniform(4000, 9000) / dx;
      const sx = cx + d * Math.cos(a), sy = cy + d * Math.sin(a);
      const Hs = H * rng.uniform(0.15, 0.5);
      addCone(rng, g, sx, sy, Hs, rng.uniform(600, 1500), { erosion: rng.uniform(0.2, 0.8) });
      if (sx >= 0 && sy >= 0 && sx < w && sy < h) volcanoes.push({ x: sx, y: sy, kind: 'stratocone', reliefM: Hs });
    }
  } else if (style < 0.75) {
    // a caldera, sometimes with a post-caldera cone
    const [cx, cy] = place(rng, w, h, 0.25, 0.75);
    const Rc = rng.uniform(1800, 6000) * Math.min(1, scaleM / 15000);
    const Hr = rng.uniform(150, 600);
    const { floorM, lake } = addCaldera(rng, g, cx, cy, Rc, Hr);
    volcanoes.push({ x: cx, y: cy, kind: 'caldera', reliefM: Hr });
    if (rng.chance(0.4)) {
      const a = rng.uniform(0, 2 * Math.PI), d = (rng.uniform(0, 0.5) * Rc) / dx;
      const sx = cx + d * Math.cos(a), sy = cy + d * Math.sin(a);
      const Hs = rng.uniform(150, 500);
      addCone(rng, g, sx, sy, Hs, rng.uniform(400, 1000), { erosion: 0.3 });
      volcanoes.push({ x: sx, y: sy, kind: 'stratocone', reliefM: Math.max(0, Hs + floorM) });
    }
    if (lake) lakes.push(lake);
  } else {
    // a complex: a cone nested in an older caldera (Somma-Vesuvius) or a chain of cones
    if (rng.chance(0.5)) {
      const [cx, cy] = place(rng, w, h, 0.3, 0.7);
      const Rc = rng.uniform(1500, 3500) * Math.min(1, scaleM / 15000);
      const Hr = rng.uniform(300, 900);
      const { floorM } = addCaldera(rng, g, cx, cy, Rc, Hr);
      const a = rng.uniform(0, 2 * Math.PI), d = (rng.uniform(0, 0.4) * Rc) / dx;
      const sx = cx + d * Math.cos(a), sy = cy + d * Math.sin(a);
      const H = rng.uniform(500, 1500);
      addCone(rng, g, sx, sy, H, rng.uniform(800, 1800));
      volcanoes.push({ x: sx, y: sy, kind: 'stratocone', reliefM: Math.max(0, H + floorM) });
    } else {
      const n = rng.int(2, 4);
      const [cx, cy] = place(rng, w, h, 0.3, 0.7);
      const th = rng.uniform(0, Math.PI);
      const step = rng.uniform(3000, 6000) / dx;
      for (let k = 0; k < n; k++) {
        const o = (k - (n - 1) / 2) * step * rng.uniform(0.8, 1.2);
        const sx = cx + o * Math.cos(th) + rng.normal() * 5, sy = cy + o * Math.sin(th) + rng.normal() * 5;
        const H = rng.uniform(500, 1600);
        addCone(rng, g, sx, sy, H, rng.uniform(1000, 2500));
        if (sx >= 0 && sy >= 0 && sx < w && sy < h) volcanoes.push({ x: sx, y: sy, kind: 'stratocone', reliefM: H });
      }
    }
  }
  // tuff rings / maars scattered around
  if (rng.chance(0.35)) {
    const n = rng.int(1, 6);
    for (let k = 0; k < n; k++) {
      const [tx, ty] = place(rng, w, h, 0.05, 0.95);
      addTuffRing(rng, g, tx, ty);
    }
  }
  // ridges
  const nRidges = rng.chance(0.5) ? rng.int(1, 3) : 0;
  for (let k = 0; k < nRidges; k++) addRidge(rng, g);

  // 3. roughness and drainage-like valleys, stronger on high ground and where `mod` is high
  let zmin = Infinity;
  for (let i = 0; i < z.length; i++) if (z[i]! < zmin) zmin = z[i]!;
  const rAmp = 8 * Math.pow(10, rng.next()); // 8-80 m: plains to rugged hills
  const vAmp = rng.uniform(0, 10);
  const incisionK = rng.uniform(0.7, 2);
  const modAmp = rng.uniform(0.3, 0.8);
  for (let i = 0; i < z.length; i++) {
    const relief = (0.5 + Math.min(1.5, (z[i]! - zmin) / 800)) * Math.max(0.1, 1 + modAmp * mod[i]!);
    z[i]! += relief * (rAmp * rough[i]! - vAmp * (Math.abs(valleys[i]!) - 0.8));
  }
  incise(g, incisionK, 0.45, 150, powTable(0.45, 1024));
  for (const lake of lakes) floodLake(g, lake);

  // 4. coast or keep everything on land
  let seaFraction = 0;
  if (rng.chance(coastP)) {
    const island = rng.chance(0.25);
    if (!island) {
      const th = rng.uniform(0, 2 * Math.PI);
      const drop = rng.uniform(300, 1200) / scaleM; // metres per metre
      const ux = Math.cos(th), uy = Math.sin(th);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        z[y * w + x]! -= drop * dx * ((x - w / 2) * ux + (y - h / 2) * uy);
      }
    }
    const target = island ? rng.uniform(0.4, 0.85) : rng.uniform(0.08, 0.5);
    const level = quantile(z, target);
    let nSea = 0;
    for (let i = 0; i < z.length; i++) {
      const v = z[i]! - level;
      if (v <= 0) { z[i] = 0; nSea++; } else z[i] = v;
    }
    seaFraction = nSea / z.length;
  } else {
    let lo = Infinity;
    for (let i = 0; i < z.length; i++) if (z[i]! < lo) lo = z[i]!;
    const floor = rng.uniform(5, 300);
    if (lo < floor) for (let i = 0; i < z.length; i++) z[i]! += floor - lo;
  }

  const out = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) out[i] = z[i]!;
  const onLand = volcanoes.filter((v) => {
    const xi = Math.round(v.x), yi = Math.round(v.y);
    return xi >= 0 && yi >= 0 && xi < w && yi < h && out[yi * w + xi]! > 0;
  });
  return { dem: raster(w, h, out), volcanoes: onLand.map((v) => ({ x: v.x, y: v.y })), edifices: onLand, seaFraction };
}
