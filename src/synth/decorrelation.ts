/**
 * Decorrelation as real wrapped products show it (LiCSAR diff_pha): where coherence is lost the
 * phase is uniform random noise, with the spatial structure of real decorrelation, and products
 * differ in what they do about it (mask it, leave it, or mask part of it).
 *
 * A scene's true coherence gamma is built from features that decorrelate C-band ground:
 *   - water (DEM <= 0): no coherence at all;
 *   - steep slopes (layover, foreshortening) from the DEM's slope above a drawn threshold;
 *   - vegetation / snow / farmland patches: a correlated random field (exponential covariance,
 *     1-6 km) thresholded at a drawn cover fraction, with a soft, fractal edge;
 *   - the scene's own incoherence mask (SyInterferoPy's), so acceptance checks stay meaningful;
 *   - optionally a cut through the deformation (a coast or mask boundary: half rings), see `cutChance`;
 *   - a band of intermediate coherence along the edges of all of these;
 *   - per-pixel jitter of gamma, which (with the looks) makes salt-and-pepper near any threshold.
 * Phase noise is that of a multilooked interferogram with L looks: the argument of
 * sum_l x_l conj(gamma x_l + sqrt(1 - gamma^2) y_l) for complex Gaussian x, y, i.e. uniform where
 * gamma ~ 0 and Cramer-Rao-like where coherent; optionally a mild 3 x 3 complex smoothing (the
 * look of Goldstein-filtered products). Noise is stored in the scene's LOS as the wrapped
 * difference (|noise| <= lambda / 4), so the scene's layers stay finite.
 * Then one masking choice per scene, as products differ:
 *   'nan'     pixels whose (jittered) coherence is below a drawn threshold 0.2-0.4 are masked, as
 *             a .cc threshold does (io/licsar.ts masks below 0.3);
 *   'noise'   nothing is masked: decorrelated ground is random phase;
 *   'partial' pixels whose phase-derived coherence (core/phase-coherence.ts, window 5-9 px) is
 *             below a drawn 0.15-0.4 are masked, as a scanner without a .cc file would: the noise
 *             is masked in part, leaving ragged noisy borders and speckles;
 * and water either masked or left as noise. Masked = MASK_INCOHERENT (or MASK_WATER) bits of the
 * scene's mask, which channels.ts renders as 0 / NaN.
 * Scenes without deformation are, with chance `noiseOnlyChance`, mostly noise (50-95 % of the
 * area decorrelated): they stay class `none`. Deformation scenes keep at least `minVisible` of
 * their deformation pixels (|defo| > 0.3 max) coherent and unmasked (0.4 when cut), redrawing
 * the features, then the masking choice, if not (finally: no features but water, the scene's
 * own mask and the cut; no masking).
 */
import type { Rng } from '../core/rng.js';
import { estimateCoherence } from '../core/phase-coherence.js';
import { gradientAt, wrapPhase } from '../core/raster.js';
import { losToPhaseArray, phaseToLosArray } from '../physics/units.js';
import { FastStream, gaussianField, type SpectralCache } from './atmosphere.js';
import type { Scene } from './scene.js';

/** scene.ts's MASK_WATER and MASK_INCOHERENT (repeated here: scene.ts imports this module). */
const WATER = 1;
const INCOHERENT = 2;

export type DecorrelationMode = 'off' | 'products';
export type MaskChoice = 'nan' | 'noise' | 'partial';

export interface DecorrelationConfig {
  /** Relative chances of the masking choices (default nan 0.3, noise 0.35, partial 0.35). */
  readonly maskChoice?: { readonly nan: number; readonly noise: number; readonly partial: number };
  /** 'nan': coherence threshold range (default [0.2, 0.4]). */
  readonly cohMaskRange?: readonly [number, number];
  /** 'partial': phase-derived coherence threshold range (default [0.15, 0.4]). */
  readonly partialThresholdRange?: readonly [number, number];
  /** 'partial': estimator windows to draw from (default [5, 7, 9]). */
  readonly partialWindowsPx?: readonly number[];
  /** Chance that water is left as noise rather than masked (default 0.4). */
  readonly waterNoiseChance?: number;
  /** Looks of the multilooked interferogram (default [4, 16]). */
  readonly looksRange?: readonly [number, number];
  /**
   * Coherence of coherent ground (default [0.55, 0.95]) and of decorrelated ground (default [0, 0.02]:
   * with 16 looks even gamma = 0.1 gives visibly consistent phase, which products' noise does not show).
   */
  readonly coherentRange?: readonly [number, number];
  readonly decorrelatedRange?: readonly [number, number];
  /** Chance a scene without deformation is mostly noise (default 0.3). */
  readonly noiseOnlyChance?: number;
  /** Chance of slope decorrelation and its threshold range, degrees (default 0.6, [12, 30]). */
  readonly slopeChance?: number;
  readonly slopeDegRange?: readonly [number, number];
  /** Chance of vegetation-like patches, their cover and correlation length (default 0.7, [0.05, 0.45], [1000, 6000] m). */
  readonly vegetationChance?: number;
  readonly vegetationCoverRange?: readonly [number, number];
  readonly vegetationCorrelationM?: readonly [number, number];
  /** Width of the intermediate-coherence band along decorrelated edges, px (default [1, 5]). */
  readonly edgePxRange?: readonly [number, number];
  /** Std of the per-pixel coherence jitter (salt and pepper), default [0.02, 0.1]. */
  readonly jitterRange?: readonly [number, number];
  /** Chance of a mild 3 x 3 complex smoothing (filtered products), default 0.4. */
  readonly filterChance?: number;
  /** Share of deformation pixels (|defo| > 0.3 max) that must stay coherent (default 0.5). */
  readonly minVisible?: number;
  /** Chance that a mask boundary cuts through the deformation (default 0: the randomised domain sets it). */
  readonly cutChance?: number;
  /** Share of deformation pixels a cut hides (default [0.2, 0.5]). */
  readonly cutShareRange?: readonly [number, number];
}

export interface DecorrelationMeta {
  readonly mode: DecorrelationMode;
  readonly maskChoice: MaskChoice | null;
  /** 'nan': coherence threshold; 'partial': phase-derived coherence threshold; else null. */
  readonly maskThreshold: number | null;
  readonly estimatorWindowPx: number | null;
  readonly water: 'masked' | 'noise' | 'none';
  readonly looks: number | null;
  readonly filtered: boolean;
  readonly noiseOnly: boolean;
  readonly slopeDeg: number | null;
  readonly vegetationCover: number | null;
  /** Share of deformation pixels hidden by a cut, or null when there is none. */
  readonly cutShare: number | null;
  /** Share of pixels with coherence < 0.3. */
  readonly decorrelatedFraction: number;
  /** Share of masked pixels (any bit). */
  readonly maskedFraction: number;
  /** Share of deformation pixels unmasked with coherence >= 0.35 (null without deformation). */
  readonly visibleShare: number | null;
  readonly tries: number;
}

/** Coherence below which a pixel counts as decorrelated in meta and tests. */
export const DECORRELATED_BELOW = 0.3;
/** Coherence at or above which a deformation pixel counts as visible. */
const VISIBLE_FROM = 0.35;

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

/** Slope of a DEM in degrees (central differences; NaN heights count as flat). */
export function slopeDeg(dem: Float32Array, width: number, height: number, spacingM: number): Float32Array {
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const [gx, gy] = gradientAt(dem, width, height, x, y, spacingM);
      out[i] = (Math.atan(Math.hypot(gx, gy)) * 180) / Math.PI;
    }
  }
  return out;
}

/** Chamfer distance (1, sqrt 2) in pixels to the nearest pixel where `inside` is non-zero (Infinity if none). */
export function distanceTo(inside: Uint8Array, width: number, height: number): Float32Array {
  const d = new Float32Array(width * height);
  for (let i = 0; i < d.length; i++) d[i] = inside[i] ? 0 : Infinity;
  const r2 = Math.SQRT2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      let v = d[i]!;
      if (x > 0) v = Math.min(v, d[i - 1]! + 1);
      if (y > 0) {
        v = Math.min(v, d[i - width]! + 1);
        if (x > 0) v = Math.min(v, d[i - width - 1]! + r2);
        if (x < width - 1) v = Math.min(v, d[i - width + 1]! + r2);
      }
      d[i] = v;
    }
  }
  for (let y = height - 1; y >= 0; y--) {
    for (let x = width - 1; x >= 0; x--) {
      const i = y * width + x;
      let v = d[i]!;
      if (x < width - 1) v = Math.min(v, d[i + 1]! + 1);
      if (y < height - 1) {
        v = Math.min(v, d[i + width]! + 1);
        if (x < width - 1) v = Math.min(v, d[i + width + 1]! + r2);
        if (x > 0) v = Math.min(v, d[i + width - 1]! + r2);
      }
      d[i] = v;
    }
  }
  return d;
}

function quantile(values: Float32Array | number[], q: number): number {
  const v = Float64Array.from(values).sort();
  return v[Math.min(v.length - 1, Math.max(0, Math.floor(q * v.length)))]!;
}

function pickChoice(rng: Rng, w: { nan: number; noise: number; partial: number }): MaskChoice {
  const t = w.nan + w.noise + w.partial;
  if (!(t > 0)) throw new RangeError('maskChoice weights must not all be 0');
  const u = rng.next() * t;
  return u < w.nan ? 'nan' : u < w.nan + w.noise ? 'noise' : 'partial';
}

/** Indices of deformation pixels (|defo| > 0.3 max), empty when there is none. */
function deformationPixels(defo: Float32Array): number[] {
  let m = 0;
  for (let i = 0; i < defo.length; i++) m = Math.max(m, Math.abs(defo[i]!));
  const out: number[] = [];
  if (!(m > 0)) return out;
  for (let i = 0; i < defo.length; i++) if (Math.abs(defo[i]!) > 0.3 * m) out.push(i);
  return out;
}

interface Features { d: Float32Array; slopeDeg: number | null; cover: number | null; cutShare: number | null; noiseOnly: boolean }

/** Decorrelation degree d in 0..1 per pixel (1 = no coherence) from the drawn features. */
function drawFeatures(rng: Rng, s: Scene, o: Required<DecorrelationConfig>, defoPx: number[], noiseOnly: boolean, plain: boolean, cut: boolean, cache?: SpectralCache): Features {
  const n = s.size;
  const N = n * n;
  const d = new Float32Array(N);
  for (let i = 0; i < N; i++) if (!(s.dem[i]! > 0) || (s.mask[i]! & INCOHERENT)) d[i] = 1;
  let slope: number | null = null;
  if (!plain && rng.chance(o.slopeChance)) {
    slope = rng.uniform(o.slopeDegRange[0], o.slopeDegRange[1]);
    const sl = slopeDeg(s.dem, n, n, s.spacingM);
    for (let i = 0; i < N; i++) d[i] = Math.max(d[i]!, clamp01((sl[i]! - slope + 4) / 8));
  }
  let cover: number | null = null;
  if (noiseOnly || (!plain && rng.chance(o.vegetationChance))) {
    cover = noiseOnly ? rng.uniform(0.5, 0.95) : rng.uniform(o.vegetationCoverRange[0], o.vegetationCoverRange[1]);
    const L = rng.uniform(o.vegetationCorrelationM[0], o.vegetationCorrelationM[1]);
    const f = gaussianField(rng, { width: n, height: n, spacingM: s.spacingM }, { kind: 'exponentialCovariance', correlationLengthM: Math.round(L / 100) * 100 }, cache);
    const t = quantile(f, 1 - cover);
    const soft = rng.uniform(0.05, 0.3); // edge softness in field std
    for (let i = 0; i < N; i++) d[i] = Math.max(d[i]!, clamp01((f[i]! - t) / soft + 0.5));
  }
  let cutShare: number | null = null;
  if (cut && defoPx.length > 0 && s.meta.sourceXY) {
    const [sx, sy] = s.meta.sourceXY;
    const a = rng.uniform(0, 2 * Math.PI);
    const ca = Math.cos(a), sa = Math.sin(a);
    const proj = defoPx.map((i) => (i % n - sx) * ca + (Math.floor(i / n) - sy) * sa);
    const want = rng.uniform(o.cutShareRange[0], o.cutShareRange[1]);
    const offset = quantile(proj, 1 - want);
    // A wobbly boundary (coastlines and mask edges are not straight): a smooth field of a few px.
    const wob = gaussianField(rng, { width: n, height: n, spacingM: s.spacingM }, { kind: 'exponentialCovariance', correlationLengthM: 3000 }, cache);
    const amp = rng.uniform(1, 6);
    const inCut = new Uint8Array(N);
    for (let i = 0; i < N; i++) {
      const p = (i % n - sx) * ca + (Math.floor(i / n) - sy) * sa - offset + amp * wob[i]!;
      if (p > 0) { d[i] = 1; inCut[i] = 1; }
    }
    let hidden = 0;
    for (const i of defoPx) hidden += inCut[i]!;
    cutShare = hidden / defoPx.length;
  }
  // Intermediate coherence along the edges of decorrelated ground.
  const e = rng.uniform(o.edgePxRange[0], o.edgePxRange[1]);
  const core = new Uint8Array(N);
  for (let i = 0; i < N; i++) core[i] = d[i]! >= 0.5 ? 1 : 0;
  const dist = distanceTo(core, n, n);
  for (let i = 0; i < N; i++) if (dist[i]! > 0 && dist[i]! <= e) d[i] = Math.max(d[i]!, 0.6 * (1 - dist[i]! / (e + 1)));
  return { d, slopeDeg: slope, cover, cutShare, noiseOnly };
}

/**
 * Phase noise (rad) of an L-look interferogram with coherence gamma per pixel: the argument of
 * sum_l x_l conj(gamma x_l + sqrt(1 - gamma^2) y_l), x_l and y_l standard complex Gaussian.
 */
export function multilookPhaseNoise(rng: Rng, coherence: Float32Array, looks: number): Float32Array {
  if (!(Number.isInteger(looks) && looks >= 1)) throw new RangeError(`looks must be a positive integer, got ${looks}`);
  const st = new FastStream(rng);
  const out = new Float32Array(coherence.length);
  for (let i = 0; i < out.length; i++) {
    const g = clamp01(Number.isFinite(coherence[i]!) ? coherence[i]! : 0);
    const h = Math.sqrt(1 - g * g);
    let pp = 0, cr = 0, ci = 0;
    for (let l = 0; l < looks; l++) {
      const a = st.normal(), b = st.normal(), c = st.normal(), dd = st.normal();
      pp += a * a + b * b;
      cr += a * c + b * dd;
      ci += b * c - a * dd;
    }
    out[i] = Math.atan2(h * ci, g * pp + h * cr);
  }
  return out;
}

/** Mild complex smoothing of a phase (3 x 3, neighbours weighted `w`): the look of filtered products. */
function smoothPhase(phase: Float32Array, n: number, w: number): Float32Array {
  const out = new Float32Array(phase.length);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      let re = 0, im = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= n) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= n) continue;
          const k = dx === 0 && dy === 0 ? 1 : w;
          const p = phase[yy * n + xx]!;
          re += k * Math.cos(p);
          im += k * Math.sin(p);
        }
      }
      out[y * n + x] = Math.atan2(im, re);
    }
  }
  return out;
}

function withDefaults(c: DecorrelationConfig): Required<DecorrelationConfig> {
  return {
    maskChoice: c.maskChoice ?? { nan: 0.3, noise: 0.35, partial: 0.35 },
    cohMaskRange: c.cohMaskRange ?? [0.2, 0.4],
    partialThresholdRange: c.partialThresholdRange ?? [0.15, 0.4],
    partialWindowsPx: c.partialWindowsPx ?? [5, 7, 9],
    waterNoiseChance: c.waterNoiseChance ?? 0.4,
    looksRange: c.looksRange ?? [4, 16],
    coherentRange: c.coherentRange ?? [0.55, 0.95],
    decorrelatedRange: c.decorrelatedRange ?? [0, 0.02],
    noiseOnlyChance: c.noiseOnlyChance ?? 0.3,
    slopeChance: c.slopeChance ?? 0.6,
    slopeDegRange: c.slopeDegRange ?? [12, 30],
    vegetationChance: c.vegetationChance ?? 0.7,
    vegetationCoverRange: c.vegetationCoverRange ?? [0.05, 0.45],
    vegetationCorrelationM: c.vegetationCorrelationM ?? [1000, 6000],
    edgePxRange: c.edgePxRange ?? [1, 5],
    jitterRange: c.jitterRange ?? [0.02, 0.1],
    filterChance: c.filterChance ?? 0.4,
    minVisible: c.minVisible ?? 0.5,
    cutChance: c.cutChance ?? 0,
    cutShareRange: c.cutShareRange ?? [0.2, 0.5],
  };
}

const MAX_TRIES = 6;

/**
 * The scene as a product would show it: decorrelated ground as noise, masked or not (see the
 * module comment). mode 'off' applies only a cut (when `cutChance` draws one) as masked pixels.
 * Labels and deformation are unchanged; losM, coherence and mask are new arrays; meta gains
 * `decorrelation`.
 */
export function decorrelateScene(rng: Rng, s: Scene, mode: DecorrelationMode, cfg: DecorrelationConfig = {}, cache?: SpectralCache): Scene {
  const o = withDefaults(cfg);
  const n = s.size;
  const N = n * n;
  const defoPx = deformationPixels(s.defoM);
  const cut = defoPx.length > 0 && rng.chance(o.cutChance);

  if (mode === 'off') {
    if (!cut) return s;
    // Only the cut, as masked pixels (a coast or a masked area across the deformation).
    const f = drawFeatures(rng, { ...s, mask: new Uint8Array(N), dem: new Float32Array(N).fill(1) }, o, defoPx, false, true, true, cache);
    const mask = Uint8Array.from(s.mask);
    const coherence = Float32Array.from(s.coherence);
    let masked = 0;
    for (let i = 0; i < N; i++) {
      if (f.d[i] === 1) { mask[i] = mask[i]! | INCOHERENT; coherence[i] = 0; }
      if (mask[i]) masked++;
    }
    let vis = 0;
    for (const i of defoPx) if (!mask[i]) vis++;
    const meta: DecorrelationMeta = {
      mode, maskChoice: 'nan', maskThreshold: null, estimatorWindowPx: null, water: 'masked', looks: null, filtered: false,
      noiseOnly: false, slopeDeg: null, vegetationCover: null, cutShare: f.cutShare, decorrelatedFraction: 0,
      maskedFraction: masked / N, visibleShare: vis / defoPx.length, tries: 1,
    };
    return { ...s, mask, coherence, meta: { ...s.meta, decorrelation: meta } };
  }

  const noiseOnly = defoPx.length === 0 && rng.chance(o.noiseOnlyChance);
  let feat: Features | null = null;
  let gamma: Float32Array = new Float32Array(N);
  let visible: number | null = null;
  let need = 0;
  let tries = 0;
  for (; tries < MAX_TRIES && !feat; ) {
    tries++;
    // The last try keeps only water, the scene's own mask and the cut: those passed the scene's checks.
    const f = drawFeatures(rng, s, o, defoPx, noiseOnly, tries === MAX_TRIES, cut, cache);
    const gHi = rng.uniform(o.coherentRange[0], o.coherentRange[1]);
    const gLo = rng.uniform(o.decorrelatedRange[0], o.decorrelatedRange[1]);
    const jitter = rng.uniform(o.jitterRange[0], o.jitterRange[1]);
    const st = new FastStream(rng);
    const g = new Float32Array(N);
    // Jitter scaled by 2 sqrt(g (1 - g)): salt and pepper near intermediate coherence, none at 0
    // (decorrelated ground stays fully random; a clamped symmetric jitter would bias it upward).
    for (let i = 0; i < N; i++) {
      const g0 = gHi * (1 - f.d[i]!) + gLo * f.d[i]!;
      g[i] = clamp01(g0 + 2 * Math.sqrt(g0 * (1 - g0)) * jitter * st.normal());
    }
    if (defoPx.length > 0) {
      let v = 0;
      for (const i of defoPx) if (g[i]! >= VISIBLE_FROM) v++;
      const share = v / defoPx.length;
      need = f.cutShare === null ? o.minVisible : Math.max(0.4, Math.min(o.minVisible, 1 - f.cutShare - 0.15));
      if (share < need && tries < MAX_TRIES) continue;
      visible = share;
    }
    feat = f;
    gamma = g;
  }
  const f = feat!;

  // Noise of an L-look interferogram, optionally smoothed as filtered products are.
  const looks = rng.int(o.looksRange[0], o.looksRange[1]);
  const signal = losToPhaseArray(s.losM);
  const noise = multilookPhaseNoise(rng, gamma, looks);
  let phase: Float32Array = new Float32Array(N);
  for (let i = 0; i < N; i++) phase[i] = signal[i]! + noise[i]!;
  const filtered = rng.chance(o.filterChance);
  if (filtered) phase = smoothPhase(phase, n, rng.uniform(0.15, 0.5));
  const delta = new Float32Array(N);
  for (let i = 0; i < N; i++) delta[i] = wrapPhase(phase[i]! - signal[i]!);
  const dLos = phaseToLosArray(delta);
  const losM = new Float32Array(N);
  for (let i = 0; i < N; i++) losM[i] = s.losM[i]! + dLos[i]!;

  // What the product masks.
  let hasWater = false;
  for (let i = 0; i < N; i++) if (!(s.dem[i]! > 0)) { hasWater = true; break; }
  const waterNoise = hasWater && rng.chance(o.waterNoiseChance);
  // The deformation must stay visible in the product as masked, not only by coherence: phase-derived
  // coherence also drops on dense fringes (> ~0.5 rad/px in a 7 px window), which would mask a
  // source's centre. Up to 3 draws of the choice, then none (noise left as it is).
  let choice: MaskChoice = 'noise';
  let mask = new Uint8Array(N);
  let threshold: number | null = null;
  let window: number | null = null;
  for (let k = 0; k < 4; k++) {
    choice = k < 3 ? pickChoice(rng, o.maskChoice) : 'noise';
    mask = new Uint8Array(N);
    threshold = null;
    window = null;
    if (choice === 'nan') {
      threshold = rng.uniform(o.cohMaskRange[0], o.cohMaskRange[1]);
      for (let i = 0; i < N; i++) if (gamma[i]! < threshold) mask[i] = INCOHERENT;
    } else if (choice === 'partial') {
      threshold = rng.uniform(o.partialThresholdRange[0], o.partialThresholdRange[1]);
      window = rng.pick(o.partialWindowsPx);
      const est = estimateCoherence(losToPhaseArray(losM), n, n, window); // |mean exp(i phi)| needs no wrapping
      for (let i = 0; i < N; i++) if (!(est[i]! >= threshold)) mask[i] = INCOHERENT;
    }
    for (let i = 0; i < N; i++) if (!(s.dem[i]! > 0) && !waterNoise) mask[i] = mask[i]! | WATER;
    if (defoPx.length === 0) break;
    let v = 0;
    for (const i of defoPx) if (!mask[i] && gamma[i]! >= VISIBLE_FROM) v++;
    visible = v / defoPx.length;
    if (visible >= need) break;
  }
  let masked = 0, decorrelated = 0;
  for (let i = 0; i < N; i++) {
    if (mask[i]) masked++;
    if (gamma[i]! < DECORRELATED_BELOW) decorrelated++;
  }
  const meta: DecorrelationMeta = {
    mode, maskChoice: choice, maskThreshold: threshold, estimatorWindowPx: window,
    water: hasWater ? (waterNoise ? 'noise' : 'masked') : 'none', looks, filtered, noiseOnly: f.noiseOnly,
    slopeDeg: f.slopeDeg, vegetationCover: f.cover, cutShare: f.cutShare,
    decorrelatedFraction: decorrelated / N, maskedFraction: masked / N, visibleShare: visible, tries,
  };
  return { ...s, losM, coherence: gamma, mask, meta: { ...s.meta, decorrelation: meta } };
}
