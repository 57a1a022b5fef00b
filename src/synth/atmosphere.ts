/**
 * Atmospheric phase screens for synthetic interferograms, after SyInterferoPy (Gaddes et al. 2021,
 * syinterferopy/syinterferopy.py: atmosphere_turb, atmosphere_topo):
 *
 * - turbulent APS: a Gaussian random field with a power-law spectrum, mean removed and rescaled so
 *   that max |value| is a strength drawn from N(0.02, 0.005) m. SyInterferoPy's fft method (Hooper /
 *   Shen) has no length scale; its spectrum is 2-D PSD ~ f^-8/3 for wavelengths above ~1 km and
 *   f^-11/3 below. Here the default is a single Kolmogorov slope f^-11/3 (Hanssen 2001), with an
 *   optional von Karman outer scale; `spectrum: 'syinterferopy'` reproduces the two-slope spectrum.
 * - topographically correlated APS: delay proportional to elevation, (56 + 2 N(0,1)) rad/km at each
 *   of two acquisitions, differenced, converted to metres with the wavelength, mean removed.
 * - orbital ramp: a random plane (not in SyInterferoPy; for the domain gap with real products).
 *
 * The spectral machinery (a fast power-of-two inverse FFT, filter arrays cached per size and
 * spectrum in a caller-held `SpectralCache`) is shared with coherence.ts and terrain.ts.
 *
 * Randomness: every draw comes from the `Rng` argument. Bulk noise (65k coefficients per screen) is
 * made by a local sfc32 stream seeded from four words of that `Rng`, so a seed still reproduces the
 * output exactly; this is ~10x faster than calling `Rng.normal` per coefficient.
 *
 * Screens are made on an n x n periodic grid (n = next power of two of max(width, height)) and the
 * top-left width x height window is kept, so opposite edges of the output are not continuous (at
 * 224 px in a 256 grid the wrap-around distance is >= 32 px).
 */
import { raster, type Raster } from '../core/raster.js';
import type { Rng } from '../core/rng.js';
import { isPowerOfTwo, makeFftPlan, nextPowerOfTwo, ifftColumns, ifftRows, type FftPlan } from '../core/fft.js';
import { C_BAND_WAVELENGTH_M } from '../physics/units.js';
import { InputError } from '../core/errors.js';

/** Sentinel-1 C-band wavelength (m), as SyInterferoPy's atmosphere_topo. */
/** Sentinel-1 C-band wavelength (m), re-exported from physics. */
export const S1_WAVELENGTH_M = C_BAND_WAVELENGTH_M;

// ---------------------------------------------------------------------------------------------
// Lookup tables (constants, filled once at module load; never written afterwards).

const AMP_BITS = 12;
const PHASE_BITS = 12;
const N_PHASE = 1 << PHASE_BITS;
/** |Z| of a standard complex Gaussian Z = X + iY (X, Y ~ N(0,1)): Rayleigh, sqrt(-2 ln u). */
const RAYLEIGH = new Float64Array(1 << AMP_BITS);
const COS_TAB = new Float64Array(N_PHASE);
const SIN_TAB = new Float64Array(N_PHASE);
for (let j = 0; j < RAYLEIGH.length; j++) RAYLEIGH[j] = Math.sqrt(-2 * Math.log((j + 0.5) / RAYLEIGH.length));
for (let j = 0; j < N_PHASE; j++) {
  COS_TAB[j] = Math.cos((2 * Math.PI * (j + 0.5)) / N_PHASE);
  SIN_TAB[j] = Math.sin((2 * Math.PI * (j + 0.5)) / N_PHASE);
}

// ---------------------------------------------------------------------------------------------
// Fast local random stream (sfc32) seeded from an Rng. Internal: hot loops use it through
// `u32()`; state lives in an Int32Array so V8 keeps it unboxed.

/** @internal A fast 32-bit stream derived from `rng` (consumes four words of it). */
export class FastStream {
  private readonly s = new Int32Array(4);
  constructor(rng: Rng) {
    const s = this.s;
    s[0] = rng.nextU32() | 0;
    s[1] = rng.nextU32() | 0;
    s[2] = rng.nextU32() | 0;
    s[3] = (rng.nextU32() | 1) | 0;
    for (let i = 0; i < 12; i++) this.u32();
  }
  /** Next 32-bit word as a signed int32 (use `>>> 0` for unsigned). */
  u32(): number {
    const s = this.s;
    const a = s[0]!, b = s[1]!, c = s[2]!, d = s[3]!;
    const t = (((a + b) | 0) + d) | 0;
    s[3] = (d + 1) | 0;
    s[0] = b ^ (b >>> 9);
    s[1] = (c + (c << 3)) | 0;
    const cr = (c << 21) | (c >>> 11);
    s[2] = (cr + t) | 0;
    return t;
  }
  /** Uniform in [0, 1). */
  uniform(): number {
    return (this.u32() >>> 0) / 4294967296;
  }
  /** Standard normal from one 32-bit word (Box-Muller through tables; tails cut at ~4.2 sigma). */
  normal(): number {
    const t = this.u32();
    return RAYLEIGH[t >>> (32 - AMP_BITS)]! * COS_TAB[t & (N_PHASE - 1)]!;
  }
}

// ---------------------------------------------------------------------------------------------
// Spectra and the caller-held cache.

/**
 * Shape of a 2-D power spectral density P(k), k the radial spatial frequency in cycles/m.
 * - `powerLaw`: P = (k^2 + 1/outerScaleM^2)^(exponent/2), zero for wavelengths > maxWavelengthM
 *   (default 50 km as SyInterferoPy) and at k = 0. Kolmogorov turbulence: exponent -11/3.
 * - `syinterferopy`: SyInterferoPy's fft spectrum (f = k/sqrt(2) in cycles/km): f^-11/3 above
 *   f = 2/3, 1.5 f^-8/3 below, zero below f = 1/50.
 * - `exponentialCovariance`: the spectrum of covariance exp(-r/L) in 2-D,
 *   P = (1 + (2 pi k L)^2)^(-3/2) (what SyInterferoPy's 'cov' method uses, with L = cov_Lc).
 */
export type Spectrum =
  | { readonly kind: 'powerLaw'; readonly exponent: number; readonly outerScaleM?: number; readonly maxWavelengthM?: number }
  | { readonly kind: 'syinterferopy' }
  | { readonly kind: 'exponentialCovariance'; readonly correlationLengthM: number };

export const KOLMOGOROV: Spectrum = { kind: 'powerLaw', exponent: -11 / 3 };

/**
 * Per-size precomputed state for spectral synthesis: the FFT plan, two n*n work arrays and the
 * filter (sqrt PSD) arrays for each (spacing, spectrum) used so far. Hold one per worker and pass it
 * to the functions here; it is not safe to share between concurrent calls (there are none in
 * single-threaded JS unless you interleave generators yourself).
 */
export interface SpectralCache {
  /** FFT size of this cache's main grid. */
  readonly n: number;
  /** @internal */ readonly plan: FftPlan;
  /** @internal */ readonly re: Float64Array;
  /** @internal */ readonly im: Float64Array;
  /** @internal */ readonly filters: Map<string, Float64Array>;
  /** @internal caches for other FFT sizes, made on first use */ readonly others: Map<number, SpectralCache>;
}

/**
 * A cache for spectral synthesis. `n` (a power of two, e.g. 256 for 224 px outputs) is the size it
 * is ready for; other sizes get their own sub-cache inside it on first use, so one cache per worker
 * serves every function here (atmosphere, coherence, terrain).
 */
export function createSpectralCache(n = 256): SpectralCache {
  if (!isPowerOfTwo(n) || n < 4) throw new RangeError(`spectral cache size must be a power of two >= 4, got ${n}`);
  return {
    n,
    plan: makeFftPlan(n),
    re: new Float64Array(n * n),
    im: new Float64Array(n * n),
    filters: new Map(),
    others: new Map(),
  };
}

/** FFT size used for a width x height field. */
export function spectralSizeFor(width: number, height: number): number {
  return Math.max(4, nextPowerOfTwo(Math.max(width, height)));
}

function cacheFor(width: number, height: number, cache: SpectralCache | undefined): SpectralCache {
  const n = spectralSizeFor(width, height);
  if (!cache) return createSpectralCache(n);
  if (cache.n === n) return cache;
  let c = cache.others.get(n);
  if (!c) {
    c = createSpectralCache(n);
    cache.others.set(n, c);
  }
  return c;
}

function psd(k: number, s: Spectrum): number {
  if (k === 0) return 0;
  switch (s.kind) {
    case 'powerLaw': {
      if (k < 1 / (s.maxWavelengthM ?? 50000)) return 0;
      const k0 = s.outerScaleM ? 1 / s.outerScaleM : 0;
      return Math.pow(k * k + k0 * k0, s.exponent / 2);
    }
    case 'syinterferopy': {
      const f = (k * 1000) / Math.SQRT2;
      if (f < 1 / 50) return 0;
      return f >= 2 / 3 ? Math.pow(f, -11 / 3) : 1.5 * Math.pow(f, -8 / 3);
    }
    case 'exponentialCovariance': {
      const a = 2 * Math.PI * k * s.correlationLengthM;
      return Math.pow(1 + a * a, -1.5);
    }
  }
}

function filterFor(cache: SpectralCache, spacingM: number, s: Spectrum): Float64Array {
  const key = `${spacingM}|${JSON.stringify(s)}`;
  let f = cache.filters.get(key);
  if (f) return f;
  const n = cache.n;
  f = new Float64Array(n * n);
  const dk = 1 / (n * spacingM);
  for (let iy = 0; iy < n; iy++) {
    const ky = (iy <= n / 2 ? iy : iy - n) * dk;
    for (let ix = 0; ix < n; ix++) {
      const kx = (ix <= n / 2 ? ix : ix - n) * dk;
      f[iy * n + ix] = Math.sqrt(psd(Math.sqrt(kx * kx + ky * ky), s));
    }
  }
  // normalise so that the expected field variance is 1 (the sum of P over the grid is then 1)
  let sum = 0;
  for (let i = 0; i < f.length; i++) sum += f[i]! * f[i]!;
  if (sum > 0) {
    const g = 1 / Math.sqrt(sum);
    for (let i = 0; i < f.length; i++) f[i]! *= g;
  }
  if (cache.filters.size > 64) cache.filters.clear();
  cache.filters.set(key, f);
  return f;
}

export interface FieldGrid {
  readonly width: number;
  readonly height: number;
  /** Pixel spacing in metres (the same in x and y). */
  readonly spacingM: number;
}

function checkGrid(g: FieldGrid): void {
  if (!Number.isInteger(g.width) || !Number.isInteger(g.height) || g.width <= 0 || g.height <= 0) {
    throw new InputError(`field size must be positive integers, got ${g.width}x${g.height}`);
  }
  if (!(g.spacingM > 0)) throw new InputError(`spacingM must be > 0, got ${g.spacingM}`);
}

/** Copy the real (which = 0) or imaginary (1) part of the work grid, crop, remove mean, unit std. */
function extract(c: SpectralCache, width: number, height: number, which: 0 | 1): Float32Array {
  const src = which === 0 ? c.re : c.im;
  const n = c.n;
  const out = new Float32Array(width * height);
  let sum = 0;
  for (let y = 0; y < height; y++) {
    const o = y * n;
    const q = y * width;
    for (let x = 0; x < width; x++) {
      const v = src[o + x]!;
      out[q + x] = v;
      sum += v;
    }
  }
  const mean = sum / out.length;
  let ss = 0;
  for (let i = 0; i < out.length; i++) {
    const v = out[i]! - mean;
    ss += v * v;
  }
  const g = ss > 0 ? 1 / Math.sqrt(ss / out.length) : 0;
  for (let i = 0; i < out.length; i++) out[i] = (out[i]! - mean) * g;
  return out;
}

/**
 * One zero-mean, unit-variance (over the output window) Gaussian random field with the given
 * spectrum, width*height row-major. Uses one n x n inverse FFT.
 */
export function gaussianField(rng: Rng, grid: FieldGrid, spectrum: Spectrum, cache?: SpectralCache): Float32Array {
  checkGrid(grid);
  const c = cacheFor(grid.width, grid.height, cache);
  const f = filterFor(c, grid.spacingM, spectrum);
  const { re, im } = c;
  const st = new FastStream(rng);
  // Complex white noise times the filter; the real part of the inverse FFT is a real field with
  // PSD ~ F^2 (the imaginary part would be a second, independent one).
  for (let i = 0; i < re.length; i++) {
    const t = st.u32();
    const a = RAYLEIGH[t >>> (32 - AMP_BITS)]! * f[i]!;
    const ph = t & (N_PHASE - 1);
    re[i] = a * COS_TAB[ph]!;
    im[i] = a * SIN_TAB[ph]!;
  }
  ifftColumns(re, im, c.plan, c.n);
  ifftRows(re, im, c.plan, grid.height);
  return extract(c, grid.width, grid.height, 0);
}

/**
 * Two independent zero-mean, unit-variance fields, with spectra `a` and `b`, from a single inverse
 * FFT (the second comes from the imaginary part, using Hermitian noise for each). About half the
 * cost of two `gaussianField` calls.
 */
export function gaussianFieldPair(
  rng: Rng, grid: FieldGrid, a: Spectrum, b: Spectrum, cache?: SpectralCache,
): [Float32Array, Float32Array] {
  checkGrid(grid);
  const c = cacheFor(grid.width, grid.height, cache);
  const fa = filterFor(c, grid.spacingM, a);
  const fb = filterFor(c, grid.spacingM, b);
  const { re, im } = c;
  const n = c.n;
  const st = new FastStream(rng);
  // For each pair (k, -k) draw W1 = p+iq, W2 = r+is and set C(k) = Fa W1 + i Fb W2,
  // C(-k) = Fa conj(W1) + i Fb conj(W2). Self-conjugate frequencies get real W1, W2.
  const h = Math.SQRT1_2;
  for (let iy = 0; iy < n; iy++) {
    const jy = (n - iy) & (n - 1);
    for (let ix = 0; ix < n; ix++) {
      const jx = (n - ix) & (n - 1);
      const i = iy * n + ix;
      const j = jy * n + jx;
      if (j < i) continue;
      const t1 = st.u32();
      const t2 = st.u32();
      const r1 = RAYLEIGH[t1 >>> (32 - AMP_BITS)]!, c1 = t1 & (N_PHASE - 1);
      const r2 = RAYLEIGH[t2 >>> (32 - AMP_BITS)]!, c2 = t2 & (N_PHASE - 1);
      // p, q, r, s ~ N(0, 1)
      const p = r1 * COS_TAB[c1]!, q = r1 * SIN_TAB[c1]!;
      const r = r2 * COS_TAB[c2]!, s = r2 * SIN_TAB[c2]!;
      const A = fa[i]!, B = fb[i]!;
      if (i === j) {
        // self-conjugate frequency: real W1 = p, W2 = r (variance 1, like |W|^2 of the pairs)
        re[i] = A * p;
        im[i] = B * r;
      } else {
        // W1 = (p + iq)/sqrt2, W2 = (r + is)/sqrt2
        re[i] = h * (A * p - B * s);
        im[i] = h * (A * q + B * r);
        re[j] = h * (A * p + B * s);
        im[j] = h * (-A * q + B * r);
      }
    }
  }
  ifftColumns(re, im, c.plan, n);
  ifftRows(re, im, c.plan, grid.height);
  return [extract(c, grid.width, grid.height, 0), extract(c, grid.width, grid.height, 1)];
}

// ---------------------------------------------------------------------------------------------
// Turbulent APS.

/** Strength (max |value|, m) of one turbulent screen: N(0.02, 0.005) m as SyInterferoPy, >= 0.002. */
export function sampleTurbulenceStrengthM(rng: Rng, meanM = 0.02, sigmaM = 0.005): number {
  return Math.max(0.002, meanM + sigmaM * rng.normal());
}

export interface TurbulentScreenOptions extends FieldGrid {
  /** The screen is scaled so that max |value| is exactly this (m). */
  readonly maxAbsM: number;
  /**
   * Spectrum: 'kolmogorov' (default; 2-D PSD ~ k^-11/3), 'syinterferopy' (SyInterferoPy's fft
   * two-slope spectrum), or any `Spectrum`.
   */
  readonly spectrum?: 'kolmogorov' | 'syinterferopy' | Spectrum;
  /** Von Karman outer scale (m) for the Kolmogorov spectrum; default none (features up to the scene size). */
  readonly outerScaleM?: number;
}

function turbulenceSpectrum(o: TurbulentScreenOptions): Spectrum {
  const s = o.spectrum ?? 'kolmogorov';
  if (s === 'kolmogorov') return o.outerScaleM ? { kind: 'powerLaw', exponent: -11 / 3, outerScaleM: o.outerScaleM } : KOLMOGOROV;
  if (s === 'syinterferopy') return { kind: 'syinterferopy' };
  return s;
}

/** Mean-centred field rescaled so max |value| = maxAbs (in place). */
function scaleToMaxAbs(a: Float32Array, maxAbs: number): Float32Array {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]!);
    if (v > m) m = v;
  }
  const g = m > 0 ? maxAbs / m : 0;
  for (let i = 0; i < a.length; i++) a[i] = a[i]! * g;
  return a;
}

/**
 * Turbulent atmospheric delay (m): a power-law Gaussian random field, mean removed, scaled so
 * max |value| = maxAbsM (draw that with `sampleTurbulenceStrengthM`). One 256^2 inverse FFT at
 * 224 x 224: ~2-3 ms with a `cache`, ~6-7 ms without (the filter is rebuilt) - pass one.
 */
export function turbulentScreen(rng: Rng, opts: TurbulentScreenOptions, cache?: SpectralCache): Raster {
  if (!(opts.maxAbsM >= 0)) throw new InputError(`maxAbsM must be >= 0, got ${opts.maxAbsM}`);
  const f = gaussianField(rng, opts, turbulenceSpectrum(opts), cache);
  return raster(opts.width, opts.height, scaleToMaxAbs(f, opts.maxAbsM));
}

// ---------------------------------------------------------------------------------------------
// Topographically correlated APS.

export interface TopographicDelayOptions {
  /** Radar wavelength (m); default Sentinel-1 0.055465763. */
  readonly wavelengthM?: number;
  /** Mean delay/elevation rate per acquisition, rad/km (default 56, Pinel et al. 2011 via SyInterferoPy). */
  readonly meanRadPerKm?: number;
  /** Standard deviation of the per-acquisition rate, rad/km (default 2). */
  readonly sigmaRadPerKm?: number;
  /** Optional pixels (1) to leave out of the mean removal, e.g. water and incoherent pixels. */
  readonly excludeFromMean?: Uint8Array;
}

export interface TopographicRates {
  /** Delay/elevation rate of each acquisition (rad/km): m + s N(0,1). */
  readonly ratesRadPerKm: readonly [number, number];
  /** Interferogram coefficient, metres of delay per metre of elevation: (r1 - r2) / 1000 * lambda / (4 pi). */
  readonly coefficientMPerM: number;
}

/** Draw the two per-acquisition rates (two normals from `rng`) and the interferogram coefficient. */
export function sampleTopographicRates(rng: Rng, opts: TopographicDelayOptions = {}): TopographicRates {
  const lambda = opts.wavelengthM ?? S1_WAVELENGTH_M;
  const m = opts.meanRadPerKm ?? 56;
  const s = opts.sigmaRadPerKm ?? 2;
  const r1 = m + s * rng.normal();
  const r2 = m + s * rng.normal();
  return { ratesRadPerKm: [r1, r2], coefficientMPerM: ((r1 - r2) / 1000) * (lambda / (4 * Math.PI)) };
}

export interface TopographicDelay extends TopographicRates {
  /** Delay (m), same size as the DEM; NaN where the DEM is not finite. */
  readonly delayM: Raster;
}

/**
 * Topography-correlated delay (m) as SyInterferoPy's atmosphere_topo(difference=True):
 * coefficient * (dem - mean(dem)), the mean over finite pixels not in `excludeFromMean`
 * (SyInterferoPy takes it over the DEM with water and incoherent pixels masked).
 * Non-finite DEM pixels give NaN. Draws two normals from `rng`.
 */
export function topographicDelayM(rng: Rng, demM: Raster, opts: TopographicDelayOptions = {}): TopographicDelay {
  const rates = sampleTopographicRates(rng, opts);
  const coef = rates.coefficientMPerM;
  const d = demM.data;
  const ex = opts.excludeFromMean;
  if (ex && ex.length !== d.length) throw new RangeError('excludeFromMean must match the DEM size');
  let sum = 0;
  let cnt = 0;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (Number.isFinite(v) && !(ex && ex[i])) { sum += v; cnt++; }
  }
  const mean = cnt > 0 ? sum / cnt : 0;
  const out = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    out[i] = Number.isFinite(v) ? coef * (v - mean) : NaN;
  }
  return { ...rates, delayM: raster(demM.width, demM.height, out) };
}

// ---------------------------------------------------------------------------------------------
// Orbital ramp.

export interface OrbitalRampOptions {
  readonly width: number;
  readonly height: number;
  /** max |value| of the ramp over the scene (m). */
  readonly maxAbsM: number;
  /** Also add a random quadratic part (default false: a plane). */
  readonly quadratic?: boolean;
}

/** A random planar (optionally slightly quadratic) ramp, zero mean, scaled so max |value| = maxAbsM. */
export function orbitalRamp(rng: Rng, opts: OrbitalRampOptions): Raster {
  const { width, height } = opts;
  const th = rng.uniform(0, 2 * Math.PI);
  const ax = Math.cos(th), ay = Math.sin(th);
  const q = opts.quadratic ? [rng.normal() * 0.3, rng.normal() * 0.3, rng.normal() * 0.3] : [0, 0, 0];
  const out = new Float32Array(width * height);
  const s = 1 / Math.max(width, height);
  let sum = 0;
  for (let y = 0; y < height; y++) {
    const v = (y - (height - 1) / 2) * s;
    for (let x = 0; x < width; x++) {
      const u = (x - (width - 1) / 2) * s;
      const val = ax * u + ay * v + q[0]! * u * u + q[1]! * u * v + q[2]! * v * v;
      out[y * width + x] = val;
      sum += val;
    }
  }
  const mean = sum / out.length;
  for (let i = 0; i < out.length; i++) out[i] = out[i]! - mean;
  return raster(width, height, scaleToMaxAbs(out, opts.maxAbsM));
}
