/**
 * An example pool: training examples made once (synthetic scenes through the feeder's workers,
 * exactly the inputs `toExample` gives) and kept in memory as int8 (channels in [−1, 1] × 127:
 * 50 KB per 224² single-channel example, 0.025 rad of wrapped phase per step; masked pixels stay
 * exactly 0), so a trainer running at hundreds of images per second on both cores is never starved
 * by scene synthesis (~40–100 scenes/s on this machine). Each epoch visits the pool in a new order,
 * every example under one of the 8 symmetries of the square (flips and transposes, with its box
 * moved to match) and a random phase sign: the pool's N scenes give 16·N distinct inputs.
 *
 * The pool is saved beside the run (`pool/chunk-NNNNN.npz`, numpy-readable: `x` int8
 * [n, size, size, C], `class` uint8 [n], `box` float32 [n, 5]), chunk by chunk as it is made, so a
 * killed run or a later session reloads what was made and makes only the rest.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../core/rng.js';
import { InputError } from '../core/errors.js';
import { readNpz, writeNpz } from '../io/npz.js';
import { prefetch, type BatchData, type BatchRequest, type Feeder } from '../data/feeder.js';
import type { ChannelFormat } from '../data/channels.js';
import type { BatchMixer } from '../data/real-mix.js';

export const POOL_DIR = 'pool';
const CHUNK = 1000;

export interface PoolSpec {
  /** Scenes 0..count−1 of `seed`. */
  readonly count: number;
  readonly seed: number;
}

/** One of the 8 symmetries of the square: transpose first (x↔y), then flips. */
export interface Dihedral { readonly transpose: boolean; readonly flipX: boolean; readonly flipY: boolean }

export const DIHEDRAL: readonly Dihedral[] = [false, true].flatMap((transpose) => [false, true].flatMap((flipX) => [false, true].map((flipY) => ({ transpose, flipX, flipY }))));

/**
 * Apply `d` to an n×n×C image (channels last) into `out`, times `scale`. Output pixel (x, y) reads
 * (u, v) = (flipX ? n−1−x : x, flipY ? n−1−y : y) of the source, or (v, u) when transposed.
 */
export function applyDihedral(src: ArrayLike<number>, n: number, c: number, d: Dihedral, out: Float32Array, scale = 1): void {
  for (let y = 0; y < n; y++) {
    const v = d.flipY ? n - 1 - y : y;
    for (let x = 0; x < n; x++) {
      const u = d.flipX ? n - 1 - x : x;
      const s = (d.transpose ? u * n + v : v * n + u) * c, o = (y * n + x) * c;
      for (let k = 0; k < c; k++) out[o + k] = src[s + k]! * scale;
    }
  }
}

/** The normalised box [cx, cy, hw, hh] under `d` (see applyDihedral). */
export function dihedralBox(b: ArrayLike<number>, n: number, d: Dihedral): [number, number, number, number] {
  // A source centre (sx, sy) lands at (u, v) = (sx, sy), or (sy, sx) when transposed, then flipped.
  const last = (n - 1) / n;
  let [cx, cy, hw, hh] = [b[0]!, b[1]!, b[2]!, b[3]!];
  if (d.transpose) [cx, cy, hw, hh] = [cy, cx, hh, hw];
  if (d.flipX) cx = last - cx;
  if (d.flipY) cy = last - cy;
  return [cx, cy, hw, hh];
}

/**
 * Non-square pixels: a share of the examples is stretched along its columns (before the symmetry,
 * so along either axis in the end) by a factor in [1, maxFactor], as a geocoded lon/lat grid given
 * as a plain array shows a scene (pixels cos(latitude) times narrower east–west than north–south:
 * up to 1.45 at 46°, 1.3 in SyInterferoPy's scenes).
 */
export interface PoolStretch {
  readonly chance: number;
  readonly maxFactor: number;
}

/** The stretch of one example, or null: the crop's left column x0 keeps a box centre within 10–90 % of the window. */
export function drawStretch(rng: Rng, o: PoolStretch, n: number, box: ArrayLike<number>): { factor: number; x0: number } | null {
  if (!(o.maxFactor > 1) || !rng.chance(o.chance)) return null;
  const factor = 1 + rng.next() * (o.maxFactor - 1);
  const w = n / factor;
  let lo = 0, hi = n - w;
  if (box[4]! > 0) {
    const X = box[0]! * n + 0.5; // the centre as a continuous column position
    lo = Math.max(lo, X - 0.9 * w);
    hi = Math.min(hi, X - 0.1 * w);
  }
  if (!(hi >= lo)) return null;
  return { factor, x0: lo + rng.next() * (hi - lo) };
}

/**
 * Columns x0 … x0 + n/factor of an n×n×C int8-valued image resampled to n columns (linear;
 * wrapped-phase channels through their angle, ±127 = ±π; a masked neighbour, exactly 0 in every
 * channel, gives the nearest pixel instead).
 */
export function stretchColumns(src: ArrayLike<number>, n: number, c: number, factor: number, x0: number, wrapped: readonly boolean[]): Float32Array {
  const out = new Float32Array(n * n * c);
  const k = Math.PI / 127;
  const masked = (p: number): boolean => { for (let q = 0; q < c; q++) if (src[p + q] !== 0) return false; return true; };
  for (let x = 0; x < n; x++) {
    const f = Math.min(n - 1, Math.max(0, x0 + (x + 0.5) / factor - 0.5));
    const a = Math.min(n - 2, Math.floor(f)), t = f - a;
    for (let y = 0; y < n; y++) {
      const pa = (y * n + a) * c, pb = pa + c, o = (y * n + x) * c;
      if (masked(pa) || masked(pb)) {
        const pn = t < 0.5 ? pa : pb;
        for (let q = 0; q < c; q++) out[o + q] = src[pn + q]!;
        continue;
      }
      for (let q = 0; q < c; q++) {
        const va = src[pa + q]!, vb = src[pb + q]!;
        if (wrapped[q]) {
          const re = (1 - t) * Math.cos(va * k) + t * Math.cos(vb * k), im = (1 - t) * Math.sin(va * k) + t * Math.sin(vb * k);
          const v = Math.round(Math.atan2(im, re) / k);
          out[o + q] = v === 0 ? (va >= 0 ? 1 : -1) : v; // 0 means masked: keep a valid pixel valid
        } else {
          out[o + q] = (1 - t) * va + t * vb;
        }
      }
    }
  }
  return out;
}

/** A normalised box [cx, cy, hw, hh, has] after stretchColumns(…, factor, x0). */
export function stretchBox(b: ArrayLike<number>, n: number, factor: number, x0: number): number[] {
  if (!(b[4]! > 0)) return [0, 0, 0, 0, 0];
  return [((b[0]! * n + 0.5 - x0) * factor - 0.5) / n, b[1]!, b[2]! * factor, b[3]!, 1];
}

/** Examples held as int8, with their labels. */
export class ExamplePool {
  private constructor(
    readonly size: number,
    readonly channels: number,
    private readonly chunks: Int8Array[],
    readonly classIndex: Uint8Array,
    /** count × 5: cx, cy, hw, hh, hasBox. */
    readonly box: Float32Array,
  ) {}

  get count(): number {
    return this.classIndex.length;
  }

  /**
   * Load the saved chunks of `dir` and make the missing ones with `feeder` (synthetic source;
   * scenes of `spec.seed`), saving each as it is done. `onProgress(done, total)`.
   */
  static async build(feeder: Feeder, spec: PoolSpec, dir: string, format: ChannelFormat, onProgress: (done: number, total: number) => void = () => {}): Promise<ExamplePool> {
    fs.mkdirSync(dir, { recursive: true });
    const nChunks = Math.ceil(spec.count / CHUNK);
    const chunks: Int8Array[] = [];
    const classIndex = new Uint8Array(spec.count);
    const box = new Float32Array(spec.count * 5);
    let size = 0, channels = format.length;
    let done = 0;
    for (let k = 0; k < nChunks; k++) {
      const start = k * CHUNK, n = Math.min(CHUNK, spec.count - start);
      const file = path.join(dir, `chunk-${String(k).padStart(5, '0')}.npz`);
      let x: Int8Array, cls: Uint8Array, bx: Float32Array;
      if (fs.existsSync(file)) {
        const z = readNpz(file);
        const zx = z.x, zc = z.class, zb = z.box;
        if (!zx || !zc || !zb || zx.shape[0] !== n || zx.shape[3] !== channels) throw new InputError(`${file}: not a chunk of this pool (remove ${dir} to remake it)`);
        x = zx.data as Int8Array; cls = zc.data as Uint8Array; bx = zb.data as Float32Array;
        size = zx.shape[1]!;
      } else {
        x = new Int8Array(0); cls = new Uint8Array(n); bx = new Float32Array(n * 5);
        const reqs: BatchRequest[] = [];
        for (let i = 0; i < n; i += 32) {
          const indices = Array.from({ length: Math.min(32, n - i) }, (_, j) => start + i + j);
          reqs.push({ indices, sceneSeed: spec.seed, augmentSeed: spec.seed ^ 0x2545f491 });
        }
        let at = 0;
        for await (const b of prefetch(feeder, reqs, 4)) {
          if (x.length === 0) { size = b.size; channels = b.channels; x = new Int8Array(n * size * size * channels); }
          quantise(b, x, at * size * size * channels);
          cls.set(b.classIndex, at);
          bx.set(b.box, at * 5);
          at += b.n;
          onProgress(done + at, spec.count);
        }
        writeNpz(file, {
          x: { data: x, shape: [n, size, size, channels] }, class: { data: cls, shape: [n] }, box: { data: bx, shape: [n, 5] },
        });
      }
      chunks.push(x);
      classIndex.set(cls, start);
      box.set(bx, start * 5);
      done += n;
      onProgress(done, spec.count);
    }
    return new ExamplePool(size, channels, chunks, classIndex, box);
  }

  /** Example i as int8 (a view into its chunk). */
  example(i: number): Int8Array {
    const px = this.size * this.size * this.channels;
    const c = this.chunks[Math.floor(i / CHUNK)]!;
    const j = i % CHUNK;
    return c.subarray(j * px, (j + 1) * px);
  }

  /**
   * A training batch of pool examples `indices`: each under a symmetry and a phase sign drawn from
   * Rng.stream(augmentSeed, index), so a batch is a pure function of its request.
   */
  batch(indices: readonly number[], augmentSeed: number, format: ChannelFormat, stretch: PoolStretch | null = null): BatchData {
    const n = indices.length, { size, channels } = this;
    const px = size * size * channels;
    const x = new Float32Array(n * px);
    const classIndex = new Uint8Array(n);
    const box = new Float32Array(n * 5);
    const phaseChannel = [...format].map((ch) => ch === 'u' || ch === 'w');
    const wrapped = [...format].map((ch) => ch === 'w');
    indices.forEach((i, j) => {
      const rng = Rng.stream(augmentSeed, i);
      const d = DIHEDRAL[rng.int(0, 7)]!;
      const sign = rng.chance(0.5) ? -1 : 1;
      const out = x.subarray(j * px, (j + 1) * px);
      let b: ArrayLike<number> = this.box.subarray(i * 5, i * 5 + 5);
      let src: ArrayLike<number> = this.example(i);
      // Drawn after the symmetry and the sign, so runs without a stretch keep their batches.
      const st = stretch ? drawStretch(rng, stretch, size, b) : null;
      if (st) {
        src = stretchColumns(src, size, channels, st.factor, st.x0, wrapped);
        b = stretchBox(b, size, st.factor, st.x0);
      }
      applyDihedral(src, size, channels, d, out, 1 / 127);
      if (sign < 0) for (let p = 0; p < px; p++) if (phaseChannel[p % channels]) out[p] = -out[p]!;
      classIndex[j] = this.classIndex[i]!;
      box.set(b[4]! > 0 ? [...dihedralBox(b, size, d), 1] : [0, 0, 0, 0, 0], j * 5);
    });
    return { n, size, channels, x, classIndex, box, boxesPx: [], terrain: [], indices: [...indices] };
  }
}

function quantise(b: BatchData, out: Int8Array, offset: number): void {
  for (let i = 0; i < b.x.length; i++) {
    const v = Math.max(-1, Math.min(1, b.x[i]!));
    out[offset + i] = Math.round(v * 127);
  }
}

/**
 * Pool batches for `requests`, made just in time (cheap: int8 → float32 with a symmetry), with
 * real examples swapped in by `mix` (data/real-mix.ts; freshly augmented each epoch, since the
 * requests' augmentation seed changes per epoch).
 */
export function* poolBatches(pool: ExamplePool, requests: readonly BatchRequest[], format: ChannelFormat, mix: BatchMixer | null = null, stretch: PoolStretch | null = null): Generator<BatchData> {
  for (const r of requests) {
    const b = pool.batch(r.indices, r.augmentSeed ?? 0, format, r.augmentSeed == null ? null : stretch);
    yield mix ? mix(b, r) : b;
  }
}
