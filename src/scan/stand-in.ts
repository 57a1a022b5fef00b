/**
 * A stand-in for the trained network, for developing and demonstrating `scan` before a model
 * exists (`--model stand-in`). It is NOT the paper's method and is labelled as such in every
 * output. It looks for spatially coherent, dense fringes: the local phase gradient
 * exp(i phi[x+1]) exp(-i phi[x]) averaged over a 13 x 13 neighbourhood has a large magnitude
 * where fringes are consistent (random incoherent phase averages to ~0) and a large angle where
 * they are dense (long-wavelength atmosphere and ramps give small angles). The peak of that
 * "coherent fringe rate" map, against the image's median, gives a deformation probability; the
 * connected region above half the peak gives the box; an elongated region is called a dyke.
 */
import { InputError } from '../core/errors.js';
import type { ChannelFormat } from '../data/channels.js';
import type { ModelOutput, Detector } from './detector.js';
import { median } from '../core/arrays.js';

/** Sum of a w x h plane over (2r+1)^2 neighbourhoods (clipped at the edges), by an integral image. */
function boxSum(a: Float64Array, w: number, h: number, r: number): Float64Array {
  const I = new Float64Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += a[y * w + x]!;
      I[(y + 1) * (w + 1) + x + 1] = I[y * (w + 1) + x + 1]! + row;
    }
  }
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - r), y1 = Math.min(h, y + r + 1);
    for (let x = 0; x < w; x++) {
      const x0 = Math.max(0, x - r), x1 = Math.min(w, x + r + 1);
      out[y * w + x] = I[y1 * (w + 1) + x1]! - I[y0 * (w + 1) + x1]! - I[y1 * (w + 1) + x0]! + I[y0 * (w + 1) + x0]!;
    }
  }
  return out;
}

/** The coherent fringe rate map (rad per pixel, 0 where there is too little data). */
export function fringeRateMap(phase: Float32Array, valid: Uint8Array, size: number, radius = 6): Float64Array {
  const n = size * size;
  const re = [new Float64Array(n), new Float64Array(n)];
  const im = [new Float64Array(n), new Float64Array(n)];
  const cnt = [new Float64Array(n), new Float64Array(n)];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      if (!valid[i]) continue;
      if (x + 1 < size && valid[i + 1]) {
        const d = phase[i + 1]! - phase[i]!;
        re[0]![i] = Math.cos(d); im[0]![i] = Math.sin(d); cnt[0]![i] = 1;
      }
      if (y + 1 < size && valid[i + size]) {
        const d = phase[i + size]! - phase[i]!;
        re[1]![i] = Math.cos(d); im[1]![i] = Math.sin(d); cnt[1]![i] = 1;
      }
    }
  }
  const out = new Float64Array(n);
  const minCount = (2 * radius + 1) ** 2 * 0.4;
  for (let k = 0; k < 2; k++) {
    const sr = boxSum(re[k]!, size, size, radius), si = boxSum(im[k]!, size, size, radius), sc = boxSum(cnt[k]!, size, size, radius);
    for (let i = 0; i < n; i++) {
      if (sc[i]! < minCount) continue;
      const mr = sr[i]! / sc[i]!, mi = si[i]! / sc[i]!;
      out[i] = out[i]! + Math.hypot(mr, mi) * Math.abs(Math.atan2(mi, mr));
    }
  }
  return out;
}

/** One stand-in prediction on an H x W x C input whose channel `k` is wrapped phase / pi. */
export function standInPredict(x: Float32Array, size: number, channels: number, k: number): ModelOutput {
  const n = size * size;
  const phase = new Float32Array(n);
  const valid = new Uint8Array(n);
  let nValid = 0;
  for (let i = 0; i < n; i++) {
    let any = false;
    for (let c = 0; c < channels; c++) if (x[i * channels + c] !== 0) any = true;
    if (any) { valid[i] = 1; nValid++; }
    phase[i] = x[i * channels + k]! * Math.PI;
  }
  const none: ModelOutput = { probs: [0.02, 0.03, 0.95], box: [0.5, 0.5, 0, 0] };
  if (nValid < n * 0.1) return none;
  const rate = fringeRateMap(phase, valid, size);
  const blob = boxSum(rate, size, size, 8);
  let peak = 0, px = 0, py = 0;
  const vals: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!valid[i]) continue;
    vals.push(blob[i]!);
    if (blob[i]! > peak) { peak = blob[i]!; px = i % size; py = Math.floor(i / size); }
  }
  const norm = 17 * 17;
  const contrast = (peak - median(vals)) / norm; // rad / pixel above the background
  const pDef = 1 / (1 + Math.exp(-(contrast - 0.25) / 0.05));
  if (peak <= 0) return none;
  // Flood fill the region above half the peak, from the peak.
  const thr = 0.5 * peak;
  const seen = new Uint8Array(n);
  const stack = [py * size + px];
  seen[stack[0]!] = 1;
  let x0 = px, x1 = px, y0 = py, y1 = py;
  while (stack.length) {
    const i = stack.pop()!;
    const cx = i % size, cy = (i - cx) / size;
    if (cx < x0) x0 = cx; if (cx > x1) x1 = cx; if (cy < y0) y0 = cy; if (cy > y1) y1 = cy;
    for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]] as const) {
      const nx = cx + dx, ny = cy + dy;
      if (nx < 0 || ny < 0 || nx >= size || ny >= size) continue;
      const j = ny * size + nx;
      if (seen[j] || blob[j]! < thr) continue;
      seen[j] = 1;
      stack.push(j);
    }
  }
  const hw = Math.max(4, (x1 - x0) / 2), hh = Math.max(4, (y1 - y0) / 2);
  const elongation = Math.max(hw, hh) / Math.min(hw, hh);
  const dykeShare = Math.min(0.9, Math.max(0.1, (elongation - 1.2) / 1.5));
  return {
    probs: [pDef * dykeShare, pDef * (1 - dykeShare), 1 - pDef],
    box: [(x0 + x1) / 2 / size, (y0 + y1) / 2 / size, hw / size, hh / size],
  };
}

/** The stand-in as a scan model (channel format with a wrapped channel; default www). */
export function standInModel(format: ChannelFormat = 'www', size = 224): Detector {
  const k = format.indexOf('w');
  if (k < 0) throw new InputError(`the stand-in model reads wrapped phase; channel format ${format} has no w channel`);
  const C = format.length;
  return {
    run: async (inputs) => inputs.map((x) => standInPredict(x, size, C, k)),
    format, size, batchSize: 16,
    name: 'stand-in (fringe-rate heuristic, not a trained network)',
  };
}
