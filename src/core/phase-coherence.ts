/**
 * Coherence estimated from the phase alone: gamma_hat = |mean of exp(i phi)| over a square window
 * (the "phase-only" or pseudo-coherence; e.g. Hanssen 2001, sec. 4.4). It is what a scanner can
 * compute for a wrapped product that comes without a .cc file, and what synthetic scenes use to
 * mask "as products are masked". For Gaussian phase noise of std sigma the expectation of
 * exp(i phi) has modulus exp(-sigma^2 / 2); for uniform random phase it is 0, but a window of N
 * pixels reads about sqrt(pi / (4 N)) (0.127 for 7 x 7) because |mean| of N unit phasors is biased
 * upward (Rayleigh).
 *
 * Box sums come from summed-area tables of cos, sin and a count of valid pixels, so the cost is
 * O(width x height) whatever the window. NaN (or infinite) phase is ignored; at the image edges
 * and next to NaN the mean is over the valid pixels the window holds; a window with none gives NaN.
 * Lives in core (pure array maths) so synth, data and scan can all use it.
 */

/** Summed-area table of `value(i)` for a width x height grid: (width+1) x (height+1), zero first row/column. */
export function summedAreaTable(width: number, height: number, value: (i: number) => number): Float64Array {
  const w1 = width + 1;
  const t = new Float64Array(w1 * (height + 1));
  for (let y = 0; y < height; y++) {
    let row = 0;
    for (let x = 0; x < width; x++) {
      row += value(y * width + x);
      t[(y + 1) * w1 + x + 1] = t[y * w1 + x + 1]! + row;
    }
  }
  return t;
}

/**
 * |local mean of exp(i phase)| over a `windowPx` x `windowPx` window (odd, >= 1) centred on each
 * pixel. Returns a new array (NaN where the window holds no valid pixel).
 */
export function estimateCoherence(phaseRad: Float32Array, width: number, height: number, windowPx = 7): Float32Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`size must be positive integers, got ${width}x${height}`);
  }
  if (phaseRad.length !== width * height) throw new RangeError(`phase has ${phaseRad.length} values, expected ${width}x${height}`);
  if (!Number.isInteger(windowPx) || windowPx < 1 || windowPx % 2 === 0) throw new RangeError(`windowPx must be an odd integer >= 1, got ${windowPx}`);
  const ok = (i: number): boolean => Number.isFinite(phaseRad[i]!);
  const c = summedAreaTable(width, height, (i) => (ok(i) ? Math.cos(phaseRad[i]!) : 0));
  const s = summedAreaTable(width, height, (i) => (ok(i) ? Math.sin(phaseRad[i]!) : 0));
  const n = summedAreaTable(width, height, (i) => (ok(i) ? 1 : 0));
  const r = (windowPx - 1) / 2;
  const w1 = width + 1;
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const y0 = Math.max(0, y - r), y1 = Math.min(height, y + r + 1);
    for (let x = 0; x < width; x++) {
      const x0 = Math.max(0, x - r), x1 = Math.min(width, x + r + 1);
      const a = y0 * w1 + x0, b = y0 * w1 + x1, cc = y1 * w1 + x0, d = y1 * w1 + x1;
      const count = n[d]! - n[b]! - n[cc]! + n[a]!;
      if (count < 0.5) { out[y * width + x] = NaN; continue; }
      const sc = c[d]! - c[b]! - c[cc]! + c[a]!;
      const ss = s[d]! - s[b]! - s[cc]! + s[a]!;
      out[y * width + x] = Math.min(1, Math.hypot(sc, ss) / count);
    }
  }
  return out;
}

/** A copy of `phase` with NaN where `coherence` is below `threshold` or not finite. */
export function maskByCoherence(phase: Float32Array, coherence: Float32Array, threshold: number): Float32Array {
  if (phase.length !== coherence.length) throw new RangeError(`phase (${phase.length}) and coherence (${coherence.length}) differ in length`);
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`threshold must be within 0..1, got ${threshold}`);
  const out = new Float32Array(phase.length);
  for (let i = 0; i < out.length; i++) out[i] = coherence[i]! >= threshold ? phase[i]! : NaN;
  return out;
}

/** The window size's expected estimate for uniform random phase, sqrt(pi / (4 N)) (Rayleigh mean). */
export function randomPhaseCoherenceFloor(windowPx: number): number {
  return Math.sqrt(Math.PI / (4 * windowPx * windowPx));
}
