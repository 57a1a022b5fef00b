/**
 * Incoherence and decorrelation for synthetic interferograms.
 *
 * SyInterferoPy (syinterferopy.py: coherence_mask) makes its incoherence mask from one turbulent
 * field (its fft method), rescales it to 0..1 by min/max and calls pixels above 0.8 incoherent
 * (its `coh_threshold` argument is ignored). Its 'cov' method instead uses an exponential covariance
 * exp(-r / cov_Lc) with cov_Lc = 5000 m. Here the default field is that exponential-covariance field
 * (correlation length `correlationLengthM`, made by FFT rather than Cholesky), and
 * `model: 'syinterferopy'` gives the fft-method field. With min/max scaling only the top ~20-30 % of
 * the range is masked, so the incoherent fraction is small on average (a few %) and varies a lot
 * between draws, as in SyInterferoPy.
 *
 * Decorrelation phase noise follows the Cramer-Rao bound for L looks,
 * sigma = sqrt((1 - g^2) / (2 L g^2)) (Rodriguez & Martin 1992), capped at the std of a uniform
 * phase (pi / sqrt 3).
 */
import type { Rng } from '../core/rng.js';
import { FastStream, gaussianField, type FieldGrid, type SpectralCache, type Spectrum } from './atmosphere.js';
import { InputError } from '../core/errors.js';

export interface IncoherenceOptions extends FieldGrid {
  /** Correlation length of the exponential-covariance field (m); default 5000 (SyInterferoPy's cov_Lc). */
  readonly correlationLengthM?: number;
  /** Field values above this are incoherent; default 0.8 (SyInterferoPy). Typical 0.7-0.8. */
  readonly threshold?: number;
  /** 'exponential' (default) or 'syinterferopy' (its fft turbulence field, no length scale). */
  readonly model?: 'exponential' | 'syinterferopy';
}

export interface Incoherence {
  /** The correlated field scaled to 0..1 by min/max (high = incoherent), width*height row-major. */
  readonly field: Float32Array;
  /** 1 = incoherent (field > threshold), 0 = coherent. */
  readonly mask: Uint8Array;
  /** Share of incoherent pixels. */
  readonly fraction: number;
  readonly threshold: number;
}

/** Min/max-scale a field to 0..1 and threshold it (the field is copied). */
export function incoherenceFromField(values: Float32Array, threshold: number): Incoherence {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const g = hi > lo ? 1 / (hi - lo) : 0;
  const field = new Float32Array(values.length);
  const mask = new Uint8Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const f = (values[i]! - lo) * g;
    field[i] = f;
    if (f > threshold) { mask[i] = 1; n++; }
  }
  return { field, mask, fraction: values.length ? n / values.length : 0, threshold };
}

/** The spectrum `incoherenceMask` uses for given options. */
export function incoherenceSpectrum(opts: Pick<IncoherenceOptions, 'correlationLengthM' | 'model'> = {}): Spectrum {
  if (opts.model === 'syinterferopy') return { kind: 'syinterferopy' };
  const L = opts.correlationLengthM ?? 5000;
  if (!(L > 0)) throw new InputError(`correlationLengthM must be > 0, got ${L}`);
  return { kind: 'exponentialCovariance', correlationLengthM: L };
}

/**
 * A spatially correlated incoherence field (0..1) and its mask (field > threshold). One FFT of the
 * cache size (~2-3 ms at 224 px with a `cache`, ~6-7 ms without; pass one).
 */
export function incoherenceMask(rng: Rng, opts: IncoherenceOptions, cache?: SpectralCache): Incoherence {
  const threshold = opts.threshold ?? 0.8;
  const f = gaussianField(rng, opts, incoherenceSpectrum(opts), cache);
  return incoherenceFromField(f, threshold);
}

export interface CoherenceMapOptions {
  /** Incoherence threshold used for the mask (field value where coherence reaches `gammaAtThreshold`). */
  readonly threshold: number;
  /** Coherence where the field is 0 (default 0.9). */
  readonly gammaMax?: number;
  /** Coherence at the threshold (default 0.25). */
  readonly gammaAtThreshold?: number;
  /** Coherence where the field is 1 (default 0.05). */
  readonly gammaMin?: number;
}

/**
 * A plausible interferometric coherence map from an incoherence field: piecewise linear from
 * gammaMax (field 0) to gammaAtThreshold (field = threshold) to gammaMin (field 1).
 */
export function coherenceFromField(field: Float32Array, opts: CoherenceMapOptions): Float32Array {
  const t = opts.threshold;
  const gMax = opts.gammaMax ?? 0.9;
  const gThr = opts.gammaAtThreshold ?? 0.25;
  const gMin = opts.gammaMin ?? 0.05;
  const out = new Float32Array(field.length);
  for (let i = 0; i < field.length; i++) {
    const f = field[i]!;
    out[i] = f <= t ? gMax + ((gThr - gMax) * f) / t : gThr + ((gMin - gThr) * (f - t)) / Math.max(1e-9, 1 - t);
  }
  return out;
}

const UNIFORM_PHASE_STD = Math.PI / Math.sqrt(3);

/** Cramer-Rao phase std (rad) for coherence `gamma` and `looks` looks, capped at pi/sqrt(3). */
export function decorrelationStdRad(gamma: number, looks: number): number {
  const g = Math.min(1, Math.max(0, gamma));
  if (g <= 0) return UNIFORM_PHASE_STD;
  const s = Math.sqrt((1 - g * g) / (2 * looks * g * g));
  return Math.min(UNIFORM_PHASE_STD, s);
}

export interface DecorrelationOptions {
  /** Number of independent looks (default 20, e.g. Sentinel-1 multilooked to ~90 m). */
  readonly looks?: number;
}

/** Zero-mean Gaussian phase noise (rad), std from `decorrelationStdRad(coherence[i], looks)`. */
export function decorrelationNoise(rng: Rng, coherence: Float32Array, opts: DecorrelationOptions = {}): Float32Array {
  const looks = opts.looks ?? 20;
  if (!(looks >= 1)) throw new InputError(`looks must be >= 1, got ${looks}`);
  const st = new FastStream(rng);
  const out = new Float32Array(coherence.length);
  for (let i = 0; i < out.length; i++) {
    const g = coherence[i]!;
    const s = Number.isFinite(g) ? decorrelationStdRad(g, looks) : UNIFORM_PHASE_STD;
    out[i] = s * st.normal();
  }
  return out;
}

/**
 * `n` phases uniform in (-pi, pi] (+pi stored as Math.fround(pi)), e.g. to render incoherent
 * pixels as real unmasked products show them.
 */
export function randomPhase(rng: Rng, n: number): Float32Array {
  const st = new FastStream(rng);
  const out = new Float32Array(n);
  const lowest = Math.fround(-Math.PI); // below -pi: fold onto +pi so the interval stays half-open
  for (let i = 0; i < n; i++) {
    const v = Math.fround(Math.PI - 2 * Math.PI * st.uniform());
    out[i] = v === lowest ? -lowest : v;
  }
  return out;
}
