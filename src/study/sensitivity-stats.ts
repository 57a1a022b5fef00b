/**
 * The statistics of the sensitivity study (pure): Wilson score intervals for detection rates, a
 * monotone (non-decreasing) fit of a detection curve, the displacement (or SNR) at which a curve
 * reaches a detection level, and a paired bootstrap of those thresholds over scene draws.
 */
import { Rng } from '../core/rng.js';

/** z of a two-sided 95 % interval. */
export const Z95 = 1.959963984540054;

export interface Rate {
  /** Scenes. */
  readonly n: number;
  /** Successes (detections, or false alarms). */
  readonly k: number;
  /** k / n (NaN when n = 0). */
  readonly p: number;
  /** Wilson score interval (95 %). */
  readonly lo: number;
  readonly hi: number;
}

/** The Wilson score interval of k successes in n trials (Wilson 1927); [0, 1] when n = 0. */
export function wilson(k: number, n: number, z = Z95): { lo: number; hi: number } {
  if (!(n > 0)) return { lo: 0, hi: 1 };
  const p = k / n;
  const z2 = z * z;
  const den = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / den;
  return { lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

export function rate(k: number, n: number): Rate {
  return { n, k, p: n > 0 ? k / n : NaN, ...wilson(k, n) };
}

/** The largest Wilson half-width over rates of n trials (reached at p = 0.5). */
export function worstHalfWidth(n: number): number {
  const w = wilson(n / 2, n);
  return (w.hi - w.lo) / 2;
}

/**
 * Pool-adjacent-violators: the non-decreasing sequence closest to `p` in weighted least squares
 * (weights `w`, e.g. the scene counts). NaN entries (no scenes) are left out and come back NaN.
 */
export function monotoneFit(p: readonly number[], w: readonly number[]): number[] {
  const idx = p.map((_, i) => i).filter((i) => Number.isFinite(p[i]!) && w[i]! > 0);
  const blocks: { v: number; w: number; n: number }[] = [];
  for (const i of idx) {
    blocks.push({ v: p[i]!, w: w[i]!, n: 1 });
    while (blocks.length > 1 && blocks[blocks.length - 2]!.v > blocks[blocks.length - 1]!.v) {
      const b = blocks.pop()!, a = blocks.pop()!;
      blocks.push({ v: (a.v * a.w + b.v * b.w) / (a.w + b.w), w: a.w + b.w, n: a.n + b.n });
    }
  }
  const out = p.map(() => NaN);
  let j = 0;
  for (const b of blocks) for (let m = 0; m < b.n; m++) out[idx[j++]!] = b.v;
  return out;
}

/** Where a threshold lies against the grid: inside it, below its first point or above its last. */
export interface Threshold {
  /** The interpolated value, or null when the curve does not cross the level inside the grid. */
  readonly value: number | null;
  /** 'below': the curve is already at the level at the smallest x; 'above': it never reaches it. */
  readonly bound: 'inside' | 'below' | 'above';
}

/**
 * The x at which a non-decreasing curve first reaches `level`, by linear interpolation in log x
 * between the grid points around the crossing (xs increasing, all > 0). Fit the curve with
 * `monotoneFit` first.
 */
export function crossing(xs: readonly number[], ys: readonly number[], level: number): Threshold {
  const pts = xs.map((x, i) => [x, ys[i]!] as const).filter(([x, y]) => x > 0 && Number.isFinite(y));
  if (pts.length === 0) return { value: null, bound: 'above' };
  if (pts[0]![1] >= level) return { value: null, bound: 'below' };
  for (let i = 1; i < pts.length; i++) {
    const [x0, y0] = pts[i - 1]!, [x1, y1] = pts[i]!;
    if (y1 >= level) {
      const t = y1 > y0 ? (level - y0) / (y1 - y0) : 1;
      return { value: Math.exp(Math.log(x0) + t * (Math.log(x1) - Math.log(x0))), bound: 'inside' };
    }
  }
  return { value: null, bound: 'above' };
}

/** The threshold of a curve given by successes and trials per grid point (monotone fit, then crossing). */
export function curveThreshold(xs: readonly number[], k: readonly number[], n: readonly number[], level: number): Threshold {
  return crossing(xs, monotoneFit(k.map((v, i) => (n[i]! > 0 ? v / n[i]! : NaN)), n), level);
}

export interface BootstrapThreshold extends Threshold {
  /** 95 % percentile interval of the bootstrap replicates (null ends: the replicate fell off the grid). */
  readonly ci: readonly [number | null, number | null];
  /** Share of replicates whose curve crossed the level inside the grid. */
  readonly insideShare: number;
}

/**
 * A threshold with a paired bootstrap interval: `hits[d][j]` says whether scene draw d was
 * detected at grid point j (the same scenes at every point), so replicates resample draws.
 * Replicates below the grid count as its first x, above it as +infinity (reported as null).
 */
export function bootstrapThreshold(xs: readonly number[], hits: readonly (readonly boolean[])[], level: number, replicates = 400, seed = 1): BootstrapThreshold {
  const count = (rows: readonly (readonly boolean[])[]): { k: number[]; n: number[] } => {
    const k = xs.map(() => 0), n = xs.map(() => 0);
    for (const r of rows) for (let j = 0; j < xs.length; j++) { n[j]!++; if (r[j]) k[j]!++; }
    return { k, n };
  };
  const all = count(hits);
  const point = curveThreshold(xs, all.k, all.n, level);
  if (hits.length === 0) return { ...point, ci: [null, null], insideShare: 0 };
  const rng = new Rng(seed);
  const vals: number[] = [];
  let inside = 0;
  for (let b = 0; b < replicates; b++) {
    const k = xs.map(() => 0);
    for (let d = 0; d < hits.length; d++) {
      const r = hits[rng.int(0, hits.length - 1)]!;
      for (let j = 0; j < xs.length; j++) if (r[j]) k[j]!++;
    }
    const t = curveThreshold(xs, k, all.n, level);
    if (t.bound === 'inside') inside++;
    vals.push(t.bound === 'inside' ? t.value! : t.bound === 'below' ? xs[0]! : Infinity);
  }
  vals.sort((a, b) => a - b);
  const q = (f: number): number | null => {
    const v = vals[Math.min(vals.length - 1, Math.max(0, Math.round(f * (vals.length - 1))))]!;
    return Number.isFinite(v) ? v : null;
  };
  return { ...point, ci: [q(0.025), q(0.975)], insideShare: inside / replicates };
}
