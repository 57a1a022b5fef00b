/**
 * Data augmentation of real interferograms with exactly transformed labels, as Gaddes et al.
 * (2021, section 2.3) did to stretch their few labelled real interferograms (VolcNet) into a
 * training set: a random flip (none, up-down, left-right or both), a rotation of 0-359 degrees and
 * a translation of up to +-20 pixels, with classes balanced by resampling and many augmented copies
 * of each real sample (they used ~89).
 *
 * The transform is one affine map about the image centre c = ((N-1)/2, (N-1)/2), pixel i centred
 * at i (x right, y down):  p' = R(theta) F (p - c) + c + t.  Images are resampled by its inverse
 * (bilinear over valid pixels; wrapped phase through exp(i phi), see windows.ts), from a source
 * window larger than the output so that rotated corners still hold data. The box is transformed
 * exactly: its centre goes through the map, and its half-sizes are the largest distances from that
 * centre to the transformed outline (the box corners, or a tighter polygon when one is known), so
 * the new box always contains the transformed deformation.
 */
import type { Rng } from '../core/rng.js';
import { resampleLayers } from './resample.js';
import type { IfgLayers } from '../core/layers.js';
import { type CentreBox } from '../core/box.js';
import { InputError } from '../core/errors.js';

export type Flip = 'none' | 'ud' | 'lr' | 'both';
export const FLIPS: readonly Flip[] = ['none', 'ud', 'lr', 'both'];

export interface Augmentation {
  readonly flip: Flip;
  /** Counter-clockwise as seen on the image (north up), degrees. */
  readonly rotationDeg: number;
  /** Translation in pixels (x right, y down). */
  readonly dx: number;
  readonly dy: number;
}

export const IDENTITY: Augmentation = { flip: 'none', rotationDeg: 0, dx: 0, dy: 0 };

export interface RandomAugmentationOptions {
  /** Largest translation, pixels (default 20, as the paper). */
  readonly maxShift?: number;
  /** Rotate (default true). */
  readonly rotate?: boolean;
}

/** A random augmentation: uniform flip, whole-degree rotation 0..359, integer shifts in +-maxShift. */
export function randomAugmentation(rng: Rng, opts: RandomAugmentationOptions = {}): Augmentation {
  const s = opts.maxShift ?? 20;
  return {
    flip: rng.pick(FLIPS),
    rotationDeg: opts.rotate === false ? 0 : rng.int(0, 359),
    dx: rng.int(-s, s),
    dy: rng.int(-s, s),
  };
}

/** The 2 x 2 linear part A = R F (row-major [a, b, c, d]: x' = a x + b y, y' = c x + d y). */
function linear(a: Augmentation): [number, number, number, number] {
  const fx = a.flip === 'lr' || a.flip === 'both' ? -1 : 1;
  const fy = a.flip === 'ud' || a.flip === 'both' ? -1 : 1;
  // Counter-clockwise on screen with y down: x' = x cos + y sin, y' = -x sin + y cos.
  const t = (a.rotationDeg * Math.PI) / 180;
  let cs = Math.cos(t), sn = Math.sin(t);
  // Exact values for quarter turns, so those are pure pixel permutations.
  if (a.rotationDeg % 90 === 0) { cs = Math.round(cs); sn = Math.round(sn); }
  return [cs * fx, sn * fy, -sn * fx, cs * fy];
}

/** Where the augmentation sends point (x, y) of an N x N image. */
export function transformPoint(a: Augmentation, n: number, x: number, y: number): [number, number] {
  const c = (n - 1) / 2;
  const [p, q, r, s] = linear(a);
  const u = x - c, v = y - c;
  return [p * u + q * v + c + a.dx, r * u + s * v + c + a.dy];
}

/** Where a point of the augmented image came from (the inverse map). */
export function inversePoint(a: Augmentation, n: number, x: number, y: number): [number, number] {
  const c = (n - 1) / 2;
  const [p, q, r, s] = linear(a);
  const det = p * s - q * r; // +-1
  const u = x - c - a.dx, v = y - c - a.dy;
  return [(s * u - q * v) / det + c, (-r * u + p * v) / det + c];
}

/**
 * The box of the transformed deformation: centre through the map, half-sizes reaching the farthest
 * transformed vertex of `outline` (default: the box's own corners) on each axis.
 */
export function transformBox(a: Augmentation, n: number, box: CentreBox, outline?: readonly (readonly [number, number])[]): CentreBox {
  const pts = outline ?? [
    [box.x - box.halfWidth, box.y - box.halfHeight], [box.x + box.halfWidth, box.y - box.halfHeight],
    [box.x + box.halfWidth, box.y + box.halfHeight], [box.x - box.halfWidth, box.y + box.halfHeight],
  ];
  const [cx, cy] = transformPoint(a, n, box.x, box.y);
  let hw = 0, hh = 0;
  for (const [x, y] of pts) {
    const [tx, ty] = transformPoint(a, n, x, y);
    hw = Math.max(hw, Math.abs(tx - cx));
    hh = Math.max(hh, Math.abs(ty - cy));
  }
  return { x: cx, y: cy, halfWidth: hw, halfHeight: hh };
}

/** Square layers of one interferogram (size x size, row-major), as windows.ts cuts them. */
/** Square layers (width = height). */
export type SquareLayers = IfgLayers;

/**
 * Apply an augmentation: the N x N output (N = `outSize`, default the source size) is sampled from
 * `src`, whose centre is the output's centre (a source larger than N supplies the corners a
 * rotation brings in). Out-of-source pixels are masked (MASK_NODATA).
 */
export function augmentLayers(src: SquareLayers, a: Augmentation, outSize = src.width): SquareLayers {
  const n = outSize;
  const off = (src.width - n) / 2; // source coordinate = output-frame coordinate + off
  const r = resampleLayers(src, n, n, (x, y, at) => {
    const [ix, iy] = inversePoint(a, n, x, y);
    at[0] = ix + off;
    at[1] = iy + off;
  });
  return { width: n, height: n, wrappedRad: r.wrappedRad, unwrappedRad: r.unwrappedRad, coherence: r.coherence, mask: r.mask };
}

/**
 * Source window side needed so that any rotation and a shift of up to `maxShift` pixels of an
 * N x N output stays inside it: N sqrt 2 + 2 maxShift, plus a pixel of margin each side.
 */
export function sourceSizeFor(n: number, maxShift = 20): number {
  return Math.ceil(n * Math.SQRT2 + 2 * maxShift) + 2;
}

/** Source-window box -> output-frame box (same centre, offset by the size difference). */
export function sourceToOutput(b: CentreBox, srcSize: number, outSize: number): CentreBox {
  const off = (srcSize - outSize) / 2;
  return { ...b, x: b.x - off, y: b.y - off };
}

/**
 * Class balancing by resampling: indices into `classes` such that every class present gets the
 * same number of draws, round(factor x the largest class's count); within a class the samples are
 * used in turn (each floor or ceil of its share), in a random order.
 */
export function balancedPlan(classes: readonly string[], factor: number, rng: Rng): number[] {
  if (!(factor > 0)) throw new InputError(`augmentation factor must be > 0, got ${factor}`);
  const by = new Map<string, number[]>();
  classes.forEach((c, i) => by.set(c, [...(by.get(c) ?? []), i]));
  if (by.size === 0) return [];
  const largest = Math.max(...[...by.values()].map((v) => v.length));
  const per = Math.max(1, Math.round(factor * largest));
  const plan: number[] = [];
  for (const idx of by.values()) {
    const order = shuffle([...idx], rng);
    for (let k = 0; k < per; k++) plan.push(order[k % order.length]!);
  }
  return shuffle(plan, rng);
}

function shuffle<T>(a: T[], rng: Rng): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
