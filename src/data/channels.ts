/**
 * Channel formats: how a sample's physical layers become the network's input, made at read time
 * so one dataset serves every channel study (Gaddes et al. 2021, section 3 and Fig. 5).
 * Letters: u = unwrapped phase, w = wrapped phase, d = DEM, c = coherence, and `rid` = real and
 * imaginary parts of (amplitude x e^{i wrapped}) with a DEM channel, where the amplitude is a
 * radar-brightness-like shading of the DEM seen from the satellite.
 * Each channel is rescaled per image (u and d: min-max to [-1, 1] over valid pixels; w: / pi;
 * c: 2c-1), then masked pixels are set to 0. Output is H x W x C, channels last.
 */
import { gradientAt, wrapPhase } from '../core/raster.js';
import type { Rng } from '../core/rng.js';
import { InputError } from '../core/errors.js';

export const CHANNEL_FORMATS = ['uuu', 'uud', 'www', 'wwd', 'rid', 'u', 'w', 'wc', 'wwc'] as const;
export type ChannelFormat = (typeof CHANNEL_FORMATS)[number];

export function parseChannelFormat(s: string): ChannelFormat {
  if ((CHANNEL_FORMATS as readonly string[]).includes(s)) return s as ChannelFormat;
  throw new InputError(`unknown channel format '${s}' (expected one of ${CHANNEL_FORMATS.join(', ')})`);
}

export function channelCount(f: ChannelFormat): number {
  return f.length;
}

/** The layers a channel format is made from. */
export interface PhaseLayers {
  readonly width: number;
  readonly height: number;
  /** Unwrapped phase, radians (NaN allowed where unknown). */
  readonly phaseRad: Float32Array;
  /** Elevation in metres, when known. */
  readonly dem?: Float32Array | undefined;
  /** Coherence 0..1, when known. */
  readonly coherence?: Float32Array | undefined;
  /** Non-zero = masked (water, incoherent, no data). */
  readonly mask: Uint8Array;
  /** Satellite heading, for the `rid` amplitude shading. */
  readonly headingDeg?: number | undefined;
  readonly spacingM?: number | undefined;
}

export interface ChannelOptions {
  /**
   * How masked-but-not-water pixels look in wrapped channels: 'zero' (a processed, masked product)
   * or 'random' (uniform random phase, as an unmasked real product). Needs `rng` for 'random'.
   */
  readonly incoherent?: 'zero' | 'random';
  /** Pixels to render as random phase when incoherent = 'random' (default: all masked pixels). */
  readonly randomMask?: Uint8Array | undefined;
  readonly rng?: Rng | undefined;
  /** Multiply the phase by this (use -1 to flip the sign convention). */
  readonly sign?: 1 | -1;
  /** Std of Gaussian speckle added to `rid` real/imaginary parts (SyInterferoPy: 0.05). */
  readonly speckle?: number;
}

function minMax(a: Float32Array, mask: Uint8Array): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    if (mask[i]) continue;
    const v = a[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

/** Rescale to [-1, 1] by the valid pixels' min and max (a flat image gives 0). */
function rescaleMinMax(a: Float32Array, mask: Uint8Array): Float32Array {
  const [lo, hi] = minMax(a, mask);
  const out = new Float32Array(a.length);
  const s = hi > lo ? 2 / (hi - lo) : 0;
  for (let i = 0; i < a.length; i++) out[i] = mask[i] || !Number.isFinite(a[i]!) ? 0 : (a[i]! - lo) * s - (s > 0 ? 1 : 0);
  return out;
}

/**
 * Radar-brightness-like amplitude 0..1: cosine of the angle between the terrain normal and the
 * direction to the satellite (look azimuth = heading + 90 deg for right-looking SAR).
 */
export function radarAmplitude(dem: Float32Array, width: number, height: number, spacingM: number, headingDeg: number, incidenceDeg = 37): Float32Array {
  const az = ((headingDeg + 90) * Math.PI) / 180;
  const inc = (incidenceDeg * Math.PI) / 180;
  // Unit vector from ground to satellite (east, north, up).
  const se = -Math.sin(az) * Math.sin(inc), sn = -Math.cos(az) * Math.sin(inc), su = Math.cos(inc);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const [dzdx, dzdy] = gradientAt(dem, width, height, x, y, spacingM); // dzdy north-positive
      const norm = Math.hypot(dzdx, dzdy, 1);
      const c = (-dzdx * se - dzdy * sn + su) / norm;
      out[i] = Math.max(0, c);
    }
  }
  return out;
}

/** Build the H x W x C input for `format`. Throws when the format needs a layer that is missing. */
export function makeChannels(layers: PhaseLayers, format: ChannelFormat, opts: ChannelOptions = {}): Float32Array {
  const { width, height, mask } = layers;
  const n = width * height;
  const sign = opts.sign ?? 1;
  const invalid = new Uint8Array(n);
  for (let i = 0; i < n; i++) invalid[i] = mask[i] || !Number.isFinite(layers.phaseRad[i]!) ? 1 : 0;

  const cache = new Map<string, Float32Array>();
  const unwrapped = (): Float32Array => {
    let u = cache.get('u');
    if (!u) {
      const p = new Float32Array(n);
      for (let i = 0; i < n; i++) p[i] = sign * layers.phaseRad[i]!;
      u = rescaleMinMax(p, invalid);
      cache.set('u', u);
    }
    return u;
  };
  const wrappedRad = (): Float32Array => {
    let w = cache.get('wr');
    if (!w) {
      w = new Float32Array(n);
      const random = opts.incoherent === 'random';
      if (random && !opts.rng) throw new RangeError("incoherent: 'random' needs an rng");
      const rmask = opts.randomMask ?? mask;
      for (let i = 0; i < n; i++) {
        if (random && rmask[i]) w[i] = opts.rng!.uniform(-Math.PI, Math.PI);
        else if (invalid[i]) w[i] = NaN;
        else w[i] = wrapPhase(sign * layers.phaseRad[i]!);
      }
      cache.set('wr', w);
    }
    return w;
  };
  const wrapped = (): Float32Array => {
    const wr = wrappedRad();
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = Number.isNaN(wr[i]!) ? 0 : wr[i]! / Math.PI;
    return out;
  };
  const demCh = (): Float32Array => {
    if (!layers.dem) throw new InputError(`channel format '${format}' needs a DEM, and this sample has none`);
    return rescaleMinMax(layers.dem, invalid);
  };
  const cohCh = (): Float32Array => {
    if (!layers.coherence) throw new InputError(`channel format '${format}' needs coherence, and this sample has none`);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = invalid[i] ? 0 : 2 * layers.coherence[i]! - 1;
    return out;
  };

  const planes: Float32Array[] = [];
  if (format === 'rid') {
    if (!layers.dem) throw new InputError("channel format 'rid' needs a DEM, and this sample has none");
    const amp = radarAmplitude(layers.dem, width, height, layers.spacingM ?? 90, layers.headingDeg ?? 348);
    const wr = wrappedRad();
    const re = new Float32Array(n), im = new Float32Array(n);
    const sp = opts.speckle ?? 0.05;
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(wr[i]!)) continue;
      re[i] = amp[i]! * Math.cos(wr[i]!) + (opts.rng && sp > 0 ? sp * opts.rng.normal() : 0);
      im[i] = amp[i]! * Math.sin(wr[i]!) + (opts.rng && sp > 0 ? sp * opts.rng.normal() : 0);
    }
    planes.push(re, im, demCh());
  } else {
    for (const ch of format) {
      if (ch === 'u') planes.push(unwrapped());
      else if (ch === 'w') planes.push(wrapped());
      else if (ch === 'd') planes.push(demCh());
      else if (ch === 'c') planes.push(cohCh());
    }
  }
  const c = planes.length;
  const out = new Float32Array(n * c);
  for (let k = 0; k < c; k++) {
    const p = planes[k]!;
    for (let i = 0; i < n; i++) out[i * c + k] = p[i]!;
  }
  return out;
}

/** What a format needs beyond the phase. */
export function formatNeeds(format: ChannelFormat): { dem: boolean; coherence: boolean } {
  return { dem: format.includes('d'), coherence: format.includes('c') };
}
