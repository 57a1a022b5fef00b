/**
 * The one resampler of interferogram layers (wrapped phase, unwrapped phase, coherence, mask):
 * used to cut scan windows from products (`windows.ts`), to fit a raster of any size into the
 * network's square (`scan/predict.ts`) and to rotate and shift training samples (`augment.ts`).
 *
 * Each output pixel samples the source through a square footprint of `footprintPx` source pixels
 * centred where the caller's map puts it (source pixel k is centred at k and covers k ± 0.5). A
 * source pixel's weight is the area it shares with the footprint, so a footprint of 1 pixel is
 * exactly bilinear interpolation (upsampling, rotation) and a wider one is area averaging
 * (downsampling without aliasing). Masked source pixels and pixels outside the source carry no
 * weight; the output pixel is masked when less than half of its footprint falls on valid pixels.
 *
 * Wrapped phase is averaged as the complex signal exp(iφ) and its angle taken: averaging angles
 * directly would smear every fringe edge (−π next to +π averages to 0). Unwrapped phase and
 * coherence are averaged as values.
 */

import type { IfgLayers } from '../core/layers.js';

/** Mask value of output pixels that fall outside the source (as io/licsar's MASK_NODATA). */
export const RESAMPLE_NODATA = 1;

/** Layers to resample (`unwrappedRad`, `coherence` may be absent). */
export type MaskedLayers = Omit<IfgLayers, 'unwrappedRad' | 'coherence'> & Partial<Pick<IfgLayers, 'unwrappedRad' | 'coherence'>>;

/** Resampled layers; masked pixels hold NaN in every float layer. */
export interface ResampledLayers extends IfgLayers {
  readonly maskedCount: number;
}

/**
 * Where output pixel (x, y) looks in the source: writes the footprint centre (source pixel
 * coordinates) into `at[0]`, `at[1]`.
 */
export type PixelMap = (x: number, y: number, at: Float64Array) => void;

/** Taps of a footprint [c − a/2, c + a/2] on an axis of n pixels: first index and area weights. */
function axisTaps(c: number, a: number, n: number, idx: Int32Array, w: Float64Array): number {
  const lo = c - a / 2, hi = c + a / 2;
  let k = 0;
  for (let p = Math.max(0, Math.ceil(lo - 0.5)); p <= Math.min(n - 1, Math.floor(hi + 0.5)); p++) {
    const ov = Math.min(hi, p + 0.5) - Math.max(lo, p - 0.5);
    if (ov > 1e-9) { idx[k] = p; w[k] = ov; k++; }
  }
  return k;
}

/**
 * Resample `src` onto an outWidth × outHeight grid through `map` (see the module comment).
 * `footprintPx` ≥ 1: the footprint side in source pixels (the output spacing / source spacing
 * when downsampling; 1 for bilinear).
 */
export function resampleLayers(src: MaskedLayers, outWidth: number, outHeight: number, map: PixelMap, footprintPx = 1): ResampledLayers {
  const a = Math.max(1, footprintPx);
  const { width, height } = src;
  const n = outWidth * outHeight;
  const wrapped = new Float32Array(n);
  const unwrapped = src.unwrappedRad ? new Float32Array(n) : null;
  const coherence = src.coherence ? new Float32Array(n) : null;
  const mask = new Uint8Array(n);
  const taps = Math.ceil(a) + 2;
  const ix = new Int32Array(taps), iy = new Int32Array(taps);
  const wx = new Float64Array(taps), wy = new Float64Array(taps);
  const at = new Float64Array(2);
  const full = a * a;
  let masked = 0;
  for (let r = 0; r < outHeight; r++) {
    for (let c = 0; c < outWidth; c++) {
      const o = r * outWidth + c;
      map(c, r, at);
      const nx = Number.isFinite(at[0]!) ? axisTaps(at[0]!, a, width, ix, wx) : 0;
      const ny = nx > 0 && Number.isFinite(at[1]!) ? axisTaps(at[1]!, a, height, iy, wy) : 0;
      let re = 0, im = 0, u = 0, cc = 0, sw = 0, bits = 0;
      for (let j = 0; j < ny; j++) {
        const row = iy[j]! * width;
        for (let i = 0; i < nx; i++) {
          const k = row + ix[i]!;
          if (src.mask[k]) { bits |= src.mask[k]!; continue; }
          const w = wx[i]! * wy[j]!;
          const ph = src.wrappedRad[k]!;
          re += w * Math.cos(ph);
          im += w * Math.sin(ph);
          if (unwrapped) u += w * src.unwrappedRad![k]!;
          if (coherence) cc += w * src.coherence![k]!;
          sw += w;
        }
      }
      if (sw < 0.5 * full) {
        mask[o] = bits || RESAMPLE_NODATA;
        wrapped[o] = NaN;
        if (unwrapped) unwrapped[o] = NaN;
        if (coherence) coherence[o] = NaN;
        masked++;
        continue;
      }
      wrapped[o] = Math.atan2(im, re);
      if (unwrapped) unwrapped[o] = u / sw;
      if (coherence) coherence[o] = cc / sw;
    }
  }
  return { width: outWidth, height: outHeight, wrappedRad: wrapped, unwrappedRad: unwrapped, coherence, mask, maskedCount: masked };
}
