/**
 * What real interferograms have and clean synthetic ones lack (the domain gap, Gaddes et al. 2021
 * section 5): unwrapping errors, decorrelation noise, and atmosphere longer than the crop. Pure
 * functions of an Rng and plain arrays, in LOS metres like scene.ts, for the scene generator to add:
 *
 *   losM += cyclesToLosM(unwrappingErrors(rng, { width, height, near: incoherentMask }).cycles)
 *   losM += decorrelationLosM(rng, coherence)
 *   losM += longWavelengthAtmosphere(rng, { width, height, spacingM, maxAbsM: 0.03 }).data
 *
 * or all at once with `addArtefacts`. (Orbital ramps are orbitalRamp in atmosphere.ts, used by
 * scene.ts's rampMaxM; incoherent pixels rendered as random phase are toExample's
 * `incoherent: 'random'`.)
 */
import { raster, type Raster } from '../core/raster.js';
import type { Rng } from '../core/rng.js';
import { phaseToLosArray, C_BAND_WAVELENGTH_M } from '../physics/units.js';
import { gaussianField, orbitalRamp, type SpectralCache } from './atmosphere.js';
import { decorrelationNoise } from './coherence.js';
import { InputError } from '../core/errors.js';

// ---------------------------------------------------------------------------------------------
// Unwrapping errors

export interface UnwrappingErrorOptions {
  readonly width: number;
  readonly height: number;
  /** Number of patches, drawn uniformly in [min, max] (default [1, 3]). */
  readonly count?: readonly [number, number];
  /** Patch radius in pixels, uniform in [min, max] (default [6, 30]). */
  readonly radiusPx?: readonly [number, number];
  /** Largest jump, whole cycles (default 2): each patch is offset by +-1..maxCycles x 2 pi. */
  readonly maxCycles?: number;
  /**
   * Where patches may be centred (non-zero = allowed), e.g. a dilated incoherence mask: unwrappers
   * fail where they must cross decorrelated ground, so real errors border it. Default anywhere.
   */
  readonly near?: Uint8Array;
}

export interface UnwrappingPatch {
  readonly x: number;
  readonly y: number;
  readonly radiusPx: number;
  readonly cycles: number;
}

export interface UnwrappingErrors {
  /** Whole cycles added per pixel (overlapping patches add up). */
  readonly cycles: Int8Array;
  readonly patches: UnwrappingPatch[];
  /** Share of pixels with a non-zero offset. */
  readonly fraction: number;
}

/**
 * Unwrapping-error patches: irregular blobs (an ellipse whose radius wobbles with the angle, as
 * regions cut off by incoherent ground are) in which the unwrapped phase is off by a whole number
 * of cycles. The wrapped phase is unchanged by construction: only `u` channels see them.
 */
export function unwrappingErrors(rng: Rng, o: UnwrappingErrorOptions): UnwrappingErrors {
  const { width, height } = o;
  const [cMin, cMax] = o.count ?? [1, 3];
  const [rMin, rMax] = o.radiusPx ?? [6, 30];
  const maxCycles = Math.max(1, Math.round(o.maxCycles ?? 2));
  if (!(rMin > 0 && rMax >= rMin)) throw new InputError(`radiusPx must be 0 < min <= max, got [${rMin}, ${rMax}]`);
  const cycles = new Int8Array(width * height);
  const allowed: number[] = [];
  if (o.near) for (let i = 0; i < o.near.length; i++) if (o.near[i]) allowed.push(i);
  const patches: UnwrappingPatch[] = [];
  const n = rng.int(cMin, cMax);
  for (let k = 0; k < n; k++) {
    let x: number, y: number;
    if (o.near) {
      if (allowed.length === 0) break;
      const i = rng.pick(allowed);
      x = i % width; y = Math.floor(i / width);
    } else {
      x = rng.uniform(0, width); y = rng.uniform(0, height);
    }
    const r = rng.uniform(rMin, rMax);
    const aspect = rng.uniform(0.5, 1);
    const theta = rng.uniform(0, Math.PI);
    const harmonics = [2, 3, 4].map((h) => ({ h, a: rng.uniform(0, 0.2), p: rng.uniform(0, 2 * Math.PI) }));
    const jump = (rng.chance(0.5) ? 1 : -1) * rng.int(1, maxCycles);
    const ct = Math.cos(theta), st = Math.sin(theta);
    const reach = Math.ceil(r * 1.7);
    for (let yy = Math.max(0, Math.floor(y - reach)); yy < Math.min(height, Math.ceil(y + reach)); yy++) {
      for (let xx = Math.max(0, Math.floor(x - reach)); xx < Math.min(width, Math.ceil(x + reach)); xx++) {
        const dx = xx - x, dy = yy - y;
        const u = dx * ct + dy * st, v = (-dx * st + dy * ct) / aspect;
        const phi = Math.atan2(v, u);
        let rr = r;
        for (const hm of harmonics) rr *= 1 + hm.a * Math.cos(hm.h * phi + hm.p);
        if (u * u + v * v <= rr * rr) cycles[yy * width + xx] = Math.max(-127, Math.min(127, cycles[yy * width + xx]! + jump));
      }
    }
    patches.push({ x, y, radiusPx: r, cycles: jump });
  }
  let nz = 0;
  for (let i = 0; i < cycles.length; i++) if (cycles[i]) nz++;
  return { cycles, patches, fraction: nz / cycles.length };
}

/** Whole cycles -> LOS metres (2 pi of phase = half a wavelength of LOS; LiCSAR sign as units.ts). */
export function cyclesToLosM(cycles: Int8Array, wavelengthM = C_BAND_WAVELENGTH_M): Float32Array {
  const phase = new Float32Array(cycles.length);
  for (let i = 0; i < cycles.length; i++) phase[i] = cycles[i]! * 2 * Math.PI;
  return phaseToLosArray(phase, { wavelengthM });
}

// ---------------------------------------------------------------------------------------------
// Decorrelation noise

export interface DecorrelationLosOptions {
  /** Independent looks (default 20: Sentinel-1 multilooked to ~90 m). */
  readonly looks?: number;
  readonly wavelengthM?: number;
}

/**
 * Decorrelation phase noise for a coherence map (Cramer-Rao std, coherence.ts) as LOS metres, so
 * that low-coherence ground is noisy rather than clean (real products are not masked everywhere
 * they decorrelate).
 */
export function decorrelationLosM(rng: Rng, coherence: Float32Array, o: DecorrelationLosOptions = {}): Float32Array {
  const phase = decorrelationNoise(rng, coherence, o.looks === undefined ? {} : { looks: o.looks });
  return phaseToLosArray(phase, { wavelengthM: o.wavelengthM ?? C_BAND_WAVELENGTH_M });
}

// ---------------------------------------------------------------------------------------------
// Long-wavelength atmosphere

export interface LongWavelengthOptions {
  readonly width: number;
  readonly height: number;
  readonly spacingM: number;
  /** Max |value| over the crop, metres. */
  readonly maxAbsM: number;
  /**
   * 'ramp' (a plane), 'quadratic' (plane + curvature), or 'screen' (default): a Kolmogorov field
   * over an area `extent` times the crop, of which the crop sees a random part, so most of its
   * power is at wavelengths longer than the crop (smooth gradients and bends, as real APS).
   */
  readonly kind?: 'ramp' | 'quadratic' | 'screen';
  /** 'screen': side of the simulated area in crop sizes, >= 1.1 (default 4). */
  readonly extent?: number;
}

const COARSE = 64;

/** Long-wavelength atmospheric delay (m), zero mean, max |value| = maxAbsM over the crop. */
export function longWavelengthAtmosphere(rng: Rng, o: LongWavelengthOptions, cache?: SpectralCache): Raster {
  const { width, height } = o;
  if (!(o.maxAbsM >= 0)) throw new InputError(`maxAbsM must be >= 0, got ${o.maxAbsM}`);
  const kind = o.kind ?? 'screen';
  if (kind !== 'screen') return orbitalRamp(rng, { width, height, maxAbsM: o.maxAbsM, quadratic: kind === 'quadratic' });
  const extent = o.extent ?? 4;
  // The crop's cells plus one for the bilinear step must fit in the coarse grid.
  if (!(extent >= 1.1)) throw new InputError(`extent must be >= 1.1, got ${extent}`);
  const side = Math.max(width, height) * o.spacingM * extent;
  const coarseM = side / COARSE;
  // No upper wavelength cut: the point is the long wavelengths.
  const f = gaussianField(rng, { width: COARSE, height: COARSE, spacingM: coarseM },
    { kind: 'powerLaw', exponent: -11 / 3, maxWavelengthM: 1e12 }, cache);
  // The crop covers COARSE / extent coarse cells; place it at random and interpolate bilinearly.
  const cells = COARSE / extent;
  const ox = rng.uniform(0, COARSE - 1 - cells * (width / Math.max(width, height)));
  const oy = rng.uniform(0, COARSE - 1 - cells * (height / Math.max(width, height)));
  const step = cells / Math.max(width, height);
  const out = new Float32Array(width * height);
  let sum = 0;
  for (let y = 0; y < height; y++) {
    const fy = oy + y * step;
    const y0 = Math.min(COARSE - 2, Math.floor(fy));
    const ty = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = ox + x * step;
      const x0 = Math.min(COARSE - 2, Math.floor(fx));
      const tx = fx - x0;
      const i = y0 * COARSE + x0;
      const v = (1 - ty) * ((1 - tx) * f[i]! + tx * f[i + 1]!) + ty * ((1 - tx) * f[i + COARSE]! + tx * f[i + COARSE + 1]!);
      out[y * width + x] = v;
      sum += v;
    }
  }
  const mean = sum / out.length;
  let m = 0;
  for (let i = 0; i < out.length; i++) { out[i] = out[i]! - mean; m = Math.max(m, Math.abs(out[i]!)); }
  const g = m > 0 ? o.maxAbsM / m : 0;
  for (let i = 0; i < out.length; i++) out[i] = out[i]! * g;
  return raster(width, height, out);
}

// ---------------------------------------------------------------------------------------------
// All together

export interface ArtefactConfig {
  /** Chance that a scene gets unwrapping errors (default 0.3). */
  readonly unwrappingChance?: number;
  readonly unwrapping?: Omit<UnwrappingErrorOptions, 'width' | 'height' | 'near'>;
  /** Add decorrelation noise from the coherence map (default true). */
  readonly decorrelation?: boolean;
  readonly looks?: number;
  /** Long-wavelength atmosphere max |value| range, metres (default [0, 0.04]; [0, 0] = off). */
  readonly longWavelengthM?: readonly [number, number];
  /**
   * Range of the long-wavelength screen's `extent` (area in crop sizes), drawn per scene; absent =
   * 4 and no draw (the same scenes for a seed as before). Smaller extents put more of the power at
   * the crop's own scale: broad bowls and saddles across the window, as strong weather fronts give.
   */
  readonly longWavelengthExtent?: readonly [number, number];
}

export interface ArtefactResult {
  /** The scene's LOS with artefacts added (a new array). */
  readonly losM: Float32Array;
  /** Unwrapping-error cycles per pixel (all zero when none were drawn). */
  readonly cycles: Int8Array;
}

/**
 * Add the artefacts above to a scene's LOS (metres). Unwrapping errors are centred next to masked
 * pixels (`mask` non-zero) when there are any. Pure: the inputs are not changed.
 */
export function addArtefacts(rng: Rng, s: { readonly width: number; readonly height: number; readonly spacingM: number; readonly losM: Float32Array; readonly coherence: Float32Array; readonly mask?: Uint8Array },
  cfg: ArtefactConfig = {}, cache?: SpectralCache): ArtefactResult {
  const { width, height } = s;
  const out = Float32Array.from(s.losM);
  let cycles: Int8Array = new Int8Array(width * height);
  if (rng.chance(cfg.unwrappingChance ?? 0.3)) {
    const near = s.mask ? dilate(s.mask, width, height, 3) : undefined;
    const hasNear = near ? near.some((v) => v !== 0) : false;
    cycles = unwrappingErrors(rng, { width, height, ...cfg.unwrapping, ...(hasNear ? { near } : {}) }).cycles;
    const off = cyclesToLosM(cycles);
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + off[i]!;
  }
  if (cfg.decorrelation ?? true) {
    const noise = decorrelationLosM(rng, s.coherence, cfg.looks === undefined ? {} : { looks: cfg.looks });
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + noise[i]!;
  }
  const [lo, hi] = cfg.longWavelengthM ?? [0, 0.04];
  if (hi > 0) {
    const maxAbsM = rng.uniform(lo, hi);
    const ex = cfg.longWavelengthExtent;
    if (ex && !(ex[0] >= 1.1 && ex[1] >= ex[0])) throw new InputError(`longWavelengthExtent must be 1.1 <= min <= max, got [${ex.join(', ')}]`);
    const extent = ex ? rng.uniform(ex[0], ex[1]) : 4;
    const lw = longWavelengthAtmosphere(rng, { width, height, spacingM: s.spacingM, maxAbsM, extent }, cache);
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + lw.data[i]!;
  }
  return { losM: out, cycles };
}

/** Pixels within `r` (Chebyshev) of a non-zero pixel, minus the non-zero pixels themselves: the border ring. */
function dilate(mask: Uint8Array, width: number, height: number, r: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      for (let dy = -r; dy <= r; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -r; dx <= r; dx++) {
          const xx = x + dx;
          if (xx >= 0 && xx < width && !mask[yy * width + xx]) out[yy * width + xx] = 1;
        }
      }
    }
  }
  return out;
}
