/**
 * Coherence from the wrapped phase itself, for products that come without a `.cc` file (and for
 * training scenes, so that scanning and training mask the same way), and masking by it like a
 * `.cc` file.
 *
 * The estimate is the phase-only coherence |mean of exp(iφ)| over a `windowPx` × `windowPx`
 * window (core/phase-coherence.ts), with the local fringe gradient removed first: dense fringes
 * (more than ~0.5 rad/px) turn inside a 7 × 7 window and cancel in a plain mean, so a plain
 * estimate masks the centre of strong deformation. Here each window's phase gradient (gx, gy) is
 * estimated from the mean of the neighbour-difference phasors exp(i(φ[x+1] − φ[x])) and
 * exp(i(φ[y+1] − φ[y])) over the same window (the standard complex phase-gradient estimate), and
 * the coherence is
 *
 *   γ̂ = | Σ_k exp(i(φ_k − gx·dx_k − gy·dy_k)) | / n      over the n valid pixels of the window,
 *
 * i.e. the phase minus its local plane, the gradient being estimated over a wider window
 * (3 × windowPx) so that it follows the fringes rather than the noise. A plane of any slope up to
 * the Nyquist rate (π rad/px) reads 1; Gaussian phase noise of std σ on it reads exp(−σ²/2) (up to
 * the small-window upward bias of the plain estimate) while σ ≲ 1 rad, and a little less beyond
 * (0.25 instead of 0.33 at σ = 1.5: the fitted gradient gets noisy); uniform random phase reads
 * ~0.14 for 7 × 7 (the plain estimate's floor sqrt(π / 4n) = 0.13, plus a little for the fitted
 * plane). A window with fewer than `minValidShare` of its pixels (those inside the image) valid
 * gives NaN (masked): a few isolated survivors of a coherence threshold (salt and pepper) are not
 * enough to say their phase is signal.
 *
 * What it measures: the spread of the product's (already multilooked and often filtered) phase,
 * not the interferometric coherence of the looks. A multilooked product's phase is much smoother
 * than its interferometric coherence suggests (20 looks at γ = 0.3 give a phase std of ~0.5 rad,
 * which reads ~0.9 here), so the shared threshold 0.3 masks only phase that is close to uniform
 * noise: decorrelated water, vegetation and steep slopes as LiCSAR's wrapped products show them.
 *
 * Cost: O(W·H·windowPx²) (the plane differs per pixel), ~0.2 s for a 636 × 420 product.
 */
import { MASK_INCOHERENT, type Product } from '../io/product.js';
import { summedAreaTable } from '../core/phase-coherence.js';

/** Default estimation window (pixels of the product's own grid), as processors and the experiment. */
export const PHASE_COHERENCE_WINDOW_PX = 7;
/** Default least share of valid pixels in the window for an estimate. */
export const PHASE_COHERENCE_MIN_VALID_SHARE = 0.5;

export interface PhaseCoherenceOptions {
  /** Window side, odd, >= 3 (default 7). */
  readonly windowPx?: number;
  /** Remove the local phase gradient before estimating (default true). */
  readonly detrend?: boolean;
  /** Window side over which the local gradient is estimated, odd (default 3 × windowPx: a wider window than the estimate's, so the fitted plane follows the fringes, not the noise). */
  readonly gradientWindowPx?: number;
  /** Fewer valid pixels than this share of the window (its part inside the image): NaN (default 0.5). */
  readonly minValidShare?: number;
}

/**
 * Phase-only coherence with the local plane removed (see the module comment). `phaseRad` is
 * wrapped or unwrapped phase (only exp(iφ) is used); NaN / infinite = invalid. `valid`, when
 * given, marks further pixels invalid (0 = invalid). Returns NaN where the window has too few
 * valid pixels, and at invalid pixels.
 */
export function estimatePhaseCoherence(phaseRad: Float32Array, width: number, height: number,
  opts: PhaseCoherenceOptions & { readonly valid?: Uint8Array } = {}): Float32Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`size must be positive integers, got ${width}x${height}`);
  }
  const n = width * height;
  if (phaseRad.length !== n) throw new RangeError(`phase has ${phaseRad.length} values, expected ${width}x${height}`);
  const win = opts.windowPx ?? PHASE_COHERENCE_WINDOW_PX;
  if (!Number.isInteger(win) || win < 3 || win % 2 === 0) throw new RangeError(`windowPx must be an odd integer >= 3, got ${win}`);
  const minShare = opts.minValidShare ?? PHASE_COHERENCE_MIN_VALID_SHARE;
  if (!(minShare > 0 && minShare <= 1)) throw new RangeError(`minValidShare must be within (0, 1], got ${minShare}`);
  if (opts.valid && opts.valid.length !== n) throw new RangeError(`valid has ${opts.valid.length} values, expected ${n}`);
  const detrend = opts.detrend ?? true;
  const gwin = opts.gradientWindowPx ?? 3 * win;
  if (!Number.isInteger(gwin) || gwin < 3 || gwin % 2 === 0) throw new RangeError(`gradientWindowPx must be an odd integer >= 3, got ${gwin}`);
  const gr = (gwin - 1) / 2;
  const re = new Float32Array(n), im = new Float32Array(n), ok = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = phaseRad[i]!;
    if (!Number.isFinite(v) || (opts.valid && !opts.valid[i])) continue;
    ok[i] = 1;
    re[i] = Math.cos(v);
    im[i] = Math.sin(v);
  }
  const r = (win - 1) / 2;
  const w1 = width + 1;
  const boxSum = (t: Float64Array, x0: number, y0: number, x1: number, y1: number): number =>
    t[y1 * w1 + x1]! - t[y0 * w1 + x1]! - t[y1 * w1 + x0]! + t[y0 * w1 + x0]!;
  const count = summedAreaTable(width, height, (i) => ok[i]!);
  // Neighbour-difference phasors z[i+1]·conj(z[i]) (x) and z[i+W]·conj(z[i]) (y), stored at i.
  let gxr: Float64Array | null = null, gxi: Float64Array | null = null, gyr: Float64Array | null = null, gyi: Float64Array | null = null;
  if (detrend) {
    const dx = (i: number, j: number, part: 0 | 1): number => {
      if (!ok[i] || !ok[j]) return 0;
      return part === 0 ? re[j]! * re[i]! + im[j]! * im[i]! : im[j]! * re[i]! - re[j]! * im[i]!;
    };
    gxr = summedAreaTable(width, height, (i) => (i % width < width - 1 ? dx(i, i + 1, 0) : 0));
    gxi = summedAreaTable(width, height, (i) => (i % width < width - 1 ? dx(i, i + 1, 1) : 0));
    gyr = summedAreaTable(width, height, (i) => (i + width < n ? dx(i, i + width, 0) : 0));
    gyi = summedAreaTable(width, height, (i) => (i + width < n ? dx(i, i + width, 1) : 0));
  }
  const out = new Float32Array(n);
  const exr = new Float64Array(win), exi = new Float64Array(win), eyr = new Float64Array(win), eyi = new Float64Array(win);
  for (let y = 0; y < height; y++) {
    const y0 = Math.max(0, y - r), y1 = Math.min(height, y + r + 1);
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!ok[i]) { out[i] = NaN; continue; }
      const x0 = Math.max(0, x - r), x1 = Math.min(width, x + r + 1);
      const cnt = boxSum(count, x0, y0, x1, y1);
      if (cnt < minShare * (x1 - x0) * (y1 - y0)) { out[i] = NaN; continue; }
      let gx = 0, gy = 0;
      if (detrend) {
        // Pairs with both pixels in the gradient window: x pairs start in gx0..gx1-2, y pairs in gy0..gy1-2.
        const gx0 = Math.max(0, x - gr), gx1 = Math.min(width, x + gr + 1), gy0 = Math.max(0, y - gr), gy1 = Math.min(height, y + gr + 1);
        gx = Math.atan2(boxSum(gxi!, gx0, gy0, Math.max(gx0, gx1 - 1), gy1), boxSum(gxr!, gx0, gy0, Math.max(gx0, gx1 - 1), gy1));
        gy = Math.atan2(boxSum(gyi!, gx0, gy0, gx1, Math.max(gy0, gy1 - 1)), boxSum(gyr!, gx0, gy0, gx1, Math.max(gy0, gy1 - 1)));
      }
      for (let d = -r; d <= r; d++) {
        exr[d + r] = Math.cos(gx * d); exi[d + r] = -Math.sin(gx * d);
        eyr[d + r] = Math.cos(gy * d); eyi[d + r] = -Math.sin(gy * d);
      }
      let sr = 0, si = 0;
      for (let yy = y0; yy < y1; yy++) {
        let rr = 0, ri = 0;
        const row = yy * width;
        for (let xx = x0; xx < x1; xx++) {
          const k = row + xx;
          if (!ok[k]) continue;
          const a = re[k]!, b = im[k]!, c = exr[xx - x + r]!, s = exi[xx - x + r]!;
          rr += a * c - b * s;
          ri += a * s + b * c;
        }
        const c = eyr[yy - y + r]!, s = eyi[yy - y + r]!;
        sr += rr * c - ri * s;
        si += rr * s + ri * c;
      }
      out[i] = Math.min(1, Math.hypot(sr, si) / cnt);
    }
  }
  return out;
}

export interface PhaseCoherenceMask {
  /** The estimate (NaN where it could not be made). */
  readonly coherence: Float32Array;
  /** The input mask with MASK_INCOHERENT added where the estimate is below the threshold or NaN. */
  readonly mask: Uint8Array;
  /** Pixels newly masked (valid before). */
  readonly newlyMasked: number;
  readonly maskedCount: number;
}

/**
 * Mask layers by their phase-derived coherence: the estimate on the valid pixels (mask 0) of
 * `wrappedRad`, and MASK_INCOHERENT added where it is below `minCoherence` (or cannot be made).
 * The same function for a product's grid (scan) and a training scene's grid (train).
 */
export function phaseCoherenceMask(layers: { readonly width: number; readonly height: number; readonly wrappedRad: Float32Array; readonly mask: Uint8Array },
  minCoherence: number, opts: PhaseCoherenceOptions = {}): PhaseCoherenceMask {
  if (!(minCoherence >= 0 && minCoherence <= 1)) throw new RangeError(`min coherence must be within 0..1, got ${minCoherence}`);
  const { width, height } = layers;
  const valid = new Uint8Array(width * height);
  for (let i = 0; i < valid.length; i++) valid[i] = layers.mask[i] ? 0 : 1;
  const coherence = estimatePhaseCoherence(layers.wrappedRad, width, height, { ...opts, valid });
  const mask = Uint8Array.from(layers.mask);
  let newly = 0, masked = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i] && !(coherence[i]! >= minCoherence)) { mask[i] = MASK_INCOHERENT; newly++; }
    if (mask[i]) masked++;
  }
  return { coherence, mask, newlyMasked: newly, maskedCount: masked };
}

/**
 * A phase array (NaN = masked) with NaN also where its phase-derived coherence is below
 * `minCoherence`: the form synthetic training scenes use (wrapped or unwrapped phase, radians).
 */
export function maskPhaseByPhaseCoherence(phaseRad: Float32Array, width: number, height: number, minCoherence: number,
  opts: PhaseCoherenceOptions = {}): Float32Array {
  const mask = new Uint8Array(phaseRad.length);
  for (let i = 0; i < mask.length; i++) mask[i] = Number.isFinite(phaseRad[i]!) ? 0 : 1;
  const m = phaseCoherenceMask({ width, height, wrappedRad: phaseRad, mask }, minCoherence, opts);
  return phaseRad.map((v, i) => (m.mask[i] ? NaN : v));
}

/** When to estimate coherence from the phase: products without a .cc (auto, the default), every product (on), never (off). */
export type PhaseCoherenceMode = 'auto' | 'on' | 'off';
export const PHASE_COHERENCE_MODES: readonly PhaseCoherenceMode[] = ['auto', 'on', 'off'];

/**
 * A product masked by its phase-derived coherence (threshold `p.minCoherence`, shared with the
 * .cc threshold), when `mode` asks for it: 'auto' only when the product has no coherence layer,
 * 'on' always (the union with the .cc mask), 'off' never. The product is returned unchanged when
 * nothing is to be done; otherwise a copy with the new mask, `coherenceSource` and a note.
 * Every pixel may end up masked: the caller decides what that means (scan reports the product).
 */
export function applyPhaseCoherence(p: Product, mode: PhaseCoherenceMode = 'auto', opts: PhaseCoherenceOptions = {}): Product {
  if (mode === 'off' || (mode === 'auto' && p.coherence) || p.maskedFraction >= 1) return p;
  const m = phaseCoherenceMask(p, p.minCoherence, opts);
  const n = p.width * p.height;
  const validBefore = n - Math.round(p.maskedFraction * n);
  const win = opts.windowPx ?? PHASE_COHERENCE_WINDOW_PX;
  const note = `coherence estimated from the wrapped phase (${win}×${win} px, local fringe gradient removed): ` +
    `${(100 * m.newlyMasked / Math.max(1, validBefore)).toFixed(1)} % of the valid pixels below ${p.minCoherence} masked`;
  return {
    ...p, mask: m.mask, maskedFraction: m.maskedCount / n,
    coherenceSource: p.coherence ? 'file+phase' : 'phase',
    notes: [...p.notes, note],
  };
}
