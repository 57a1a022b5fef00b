/**
 * The feeder: makes batches of network inputs (through `toExample`, so training, evaluation and
 * prediction see identical inputs) on a worker thread, so the second core generates or reads data
 * while the main thread trains (one wasm instance = one core).
 *
 * A source is a plain, serialisable spec: a dataset directory (samples by index, read shard by
 * shard with a small cache) or synthetic scenes made on the fly (`sceneForIndex`: scene i of a seed
 * is always the same scene, so a run is reproducible). Every random choice of a batch comes from
 * the request (scene seed, augmentation seed, indices), never from the worker's history: the same
 * request gives the same batch on any worker, after a resume too.
 *
 *   const feeder = await Feeder.start({ source: { kind: 'dataset', dir }, format: 'w' });
 *   const b = await feeder.fetch({ indices: [0, 1, 2], augmentSeed: null });
 *   await feeder.close();
 */
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Rng } from '../core/rng.js';
import { InputError, isInputError } from '../core/errors.js';
import { readManifest, readShard, type Manifest, type Sample } from './dataset.js';
import { sceneConfig, sceneForIndex } from './generate.js';
import { toExample, type LayeredSample } from './inputs.js';
import { channelCount, type ChannelFormat } from './channels.js';
import { buildTerrain, type TerrainSpec } from './terrain-source.js';
import { createSpectralCache, spectralSizeFor } from '../synth/atmosphere.js';
import type { SceneConfig, TerrainProvider } from '../synth/scene.js';
import { type ClassName } from '../core/classes.js';
import { type CentreBox } from '../core/box.js';
import { realMixer, type BatchMixer, type RealMixSpec } from './real-mix.js';

/** A terrain and its share of the synthetic scenes. */
export interface WeightedTerrain {
  readonly spec: TerrainSpec;
  readonly weight: number;
}

/** Scene settings and their share of the synthetic scenes. */
export interface WeightedScene {
  readonly scene: Partial<SceneConfig>;
  readonly weight: number;
}

/** A scene mixture from a JSON file: [{ "scene": { ...SceneConfig fields }, "weight": w }, ...]. */
export function readSceneMix(file: string): WeightedScene[] {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`${file}: not a readable JSON scene list (${(e as Error).message})`);
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new InputError(`${file}: expected a non-empty list of {"scene": {...}, "weight": w}`);
  return raw.map((m: unknown, i) => {
    const o = m as { scene?: unknown; weight?: unknown };
    if (!o || typeof o !== 'object' || typeof o.scene !== 'object' || o.scene === null || Array.isArray(o.scene)) throw new InputError(`${file}: entry ${i} needs a "scene" object`);
    if (typeof o.weight !== 'number' || !(o.weight > 0)) throw new InputError(`${file}: entry ${i} needs a positive "weight"`);
    return { scene: o.scene as Partial<SceneConfig>, weight: o.weight };
  });
}

export type DataSource =
  | { readonly kind: 'dataset'; readonly dir: string }
  | {
    readonly kind: 'synthetic';
    readonly terrains: readonly WeightedTerrain[];
    readonly classes: readonly ClassName[];
    readonly scene?: Partial<SceneConfig>;
    /** Several scene settings, scene i drawing one by weight (from its own stream): instead of `scene`. */
    readonly scenes?: readonly WeightedScene[];
  };

export interface FeederInit {
  readonly source: DataSource;
  readonly format: ChannelFormat;
  /** Chance that a training example shows incoherent pixels as random phase (an unmasked product) instead of 0. */
  readonly incoherentRandom?: number;
  /** Augmented labelled real interferograms mixed into training batches. */
  readonly real?: RealMixSpec;
}

export interface BatchRequest {
  readonly indices: readonly number[];
  /** Synthetic sources: the scene seed (training and validation use different ones). */
  readonly sceneSeed?: number;
  /**
   * Augmentation: sample i draws from Rng.stream(augmentSeed, i) a random phase sign and whether
   * incoherent pixels are random phase. null = no augmentation (sign +1, masked pixels 0).
   */
  readonly augmentSeed: number | null;
  /** Without augmentation: the phase sign (default +1). */
  readonly sign?: 1 | -1;
  /** Also return the inputs of the negated interferograms (sign-invariance checks). */
  readonly withNegated?: boolean;
}

export interface BatchData {
  readonly n: number;
  readonly size: number;
  readonly channels: number;
  /** n × size × size × channels. */
  readonly x: Float32Array;
  readonly xNeg?: Float32Array;
  readonly classIndex: Uint8Array;
  /** n × 5: cx/W, cy/H, hw/W, hh/H, hasBox (the [B,5] box target). */
  readonly box: Float32Array;
  /** True boxes in pixels (null for `none`). */
  readonly boxesPx: (CentreBox | null)[];
  readonly terrain: string[];
  readonly indices: number[];
}

type Producer = (req: BatchRequest) => BatchData;

/** Samples of a dataset by index: shards are read whole and the last few kept. */
export class DatasetReader {
  readonly manifest: Manifest;
  private readonly cache = new Map<number, Sample[]>();

  constructor(readonly dir: string, private readonly keepShards = 3) {
    this.manifest = readManifest(dir);
  }

  get count(): number {
    return this.manifest.shards.reduce((a, s) => a + s.count, 0);
  }

  /** Shard number holding sample `index`. */
  shardOf(index: number): number {
    const k = this.manifest.shards.findIndex((s) => index >= s.start && index < s.start + s.count);
    if (k < 0) throw new InputError(`${this.dir}: no sample ${index} in the written shards`);
    return k;
  }

  get(index: number): Sample {
    const k = this.shardOf(index);
    let samples = this.cache.get(k);
    if (!samples) {
      samples = readShard(this.dir, this.manifest.shards[k]!, this.manifest.settings.spacingM, this.manifest.settings.size);
      this.cache.set(k, samples);
      while (this.cache.size > this.keepShards) this.cache.delete(this.cache.keys().next().value as number);
    } else {
      this.cache.delete(k);
      this.cache.set(k, samples);
    }
    return samples[index - this.manifest.shards[k]!.start]!;
  }
}

/** A terrain provider drawing from several, by weight (the draw uses the scene's own rng). */
export function mixedTerrain(providers: readonly { provider: TerrainProvider; weight: number }[]): TerrainProvider {
  const total = providers.reduce((a, p) => a + p.weight, 0);
  if (!(total > 0)) throw new RangeError('mixedTerrain: weights must sum to > 0');
  if (providers.length === 1) return providers[0]!.provider;
  return (rng) => {
    let u = rng.next() * total;
    for (const p of providers) {
      if ((u -= p.weight) < 0) return p.provider(rng);
    }
    return providers[providers.length - 1]!.provider(rng);
  };
}

/** Turn samples into one batch. */
export function assembleBatch(samples: readonly LayeredSample[], indices: readonly number[], init: FeederInit, req: BatchRequest): BatchData {
  const n = samples.length;
  const size = samples[0]?.size ?? 0;
  const channels = channelCount(init.format);
  const px = size * size * channels;
  const x = new Float32Array(n * px);
  const xNeg = req.withNegated ? new Float32Array(n * px) : undefined;
  const classIndex = new Uint8Array(n);
  const box = new Float32Array(n * 5);
  const boxesPx: (CentreBox | null)[] = [];
  const terrain: string[] = [];
  samples.forEach((s, j) => {
    if (s.size !== size) throw new InputError('all samples of a batch must have one size');
    let ex;
    if (req.augmentSeed != null) {
      const rng = Rng.stream(req.augmentSeed, indices[j]!);
      const incoherent = rng.chance(init.incoherentRandom ?? 0) ? 'random' : 'zero';
      ex = toExample(s, init.format, { rng, randomSign: true, incoherent });
    } else {
      ex = toExample(s, init.format, { sign: req.sign ?? 1 });
    }
    x.set(ex.x, j * px);
    if (xNeg) xNeg.set(toExample(s, init.format, { sign: req.augmentSeed == null ? (-(req.sign ?? 1) as 1 | -1) : -1 }).x, j * px);
    classIndex[j] = ex.classIndex;
    box.set([...ex.box, ex.hasBox ? 1 : 0], j * 5);
    boxesPx.push(s.box);
    terrain.push((s as { meta: { terrain?: string } }).meta.terrain ?? '');
  });
  return { n, size, channels, x, ...(xNeg ? { xNeg } : {}), classIndex, box, boxesPx, terrain, indices: [...indices] };
}

/** Build the batch maker for a source (loads DEMs: async), with real examples mixed in when asked. */
export async function makeProducer(init: FeederInit): Promise<Producer> {
  const make = await makeSourceProducer(init);
  if (!init.real) return make;
  const size = init.source.kind === 'dataset' ? new DatasetReader(init.source.dir).manifest.settings.size : sceneConfig(init.source.scene).size;
  const mix: BatchMixer = await realMixer(init.real, init.format, size);
  return (req) => mix(make(req), req);
}

async function makeSourceProducer(init: FeederInit): Promise<Producer> {
  const src = init.source;
  if (src.kind === 'dataset') {
    const reader = new DatasetReader(src.dir);
    return (req) => assembleBatch(req.indices.map((i) => reader.get(i)), req.indices, init, req);
  }
  const mix = (src.scenes ?? [{ scene: src.scene ?? {}, weight: 1 }]).map((w) => ({ cfg: sceneConfig(w.scene), weight: w.weight }));
  const total = mix.reduce((a, m) => a + m.weight, 0);
  if (!(total > 0)) throw new InputError('scene settings: the weights must sum to more than 0');
  const cfg = mix[0]!.cfg;
  const built = await Promise.all(src.terrains.map(async (t) => ({
    provider: (await buildTerrain(t.spec, cfg.size, cfg.spacingM)).provider, weight: t.weight,
  })));
  const provider = mixedTerrain(built);
  const cache = createSpectralCache(spectralSizeFor(cfg.size, cfg.size));
  /** Scene i's settings: a weighted draw from a stream of its own, so scene i is always the same. */
  const cfgFor = (i: number, seed: number): typeof cfg => {
    if (mix.length === 1) return cfg;
    let u = Rng.stream(seed ^ 0x7f4a7c15, i).next() * total;
    for (const m of mix) if ((u -= m.weight) < 0) return m.cfg;
    return mix[mix.length - 1]!.cfg;
  };
  return (req) => {
    if (req.sceneSeed == null) throw new RangeError('a synthetic source needs a sceneSeed in each request');
    const scenes = req.indices.map((i) => sceneForIndex(i, req.sceneSeed!, src.classes, provider, cfgFor(i, req.sceneSeed!), cache));
    return assembleBatch(scenes, req.indices, init, req);
  };
}

export type ToWorker = { type: 'batch'; id: number; req: BatchRequest };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'batch'; id: number; data: BatchData }
  | { type: 'error'; id: number | null; message: string; input: boolean };

interface Pending { resolve: (b: BatchData) => void; reject: (e: Error) => void; worker: number }

/**
 * Batches from worker threads (or inline with `workers: 0`, for tests and debugging). Requests are
 * answered in any order; each `fetch` resolves with its own batch.
 */
export class Feeder {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly load: number[];
  private failure: Error | null = null;

  private constructor(private readonly workers: Worker[], private readonly inline: Producer | null) {
    this.load = workers.map(() => 0);
  }

  static async start(init: FeederInit, workers = 1): Promise<Feeder> {
    if (workers <= 0) return new Feeder([], await makeProducer(init));
    const url = new URL('./feeder-worker.js', import.meta.url);
    const ws = Array.from({ length: workers }, () => new Worker(url, { workerData: init }));
    const feeder = new Feeder(ws, null);
    try {
      await Promise.all(ws.map((w, k) => new Promise<void>((resolve, reject) => {
        const onMessage = (m: FromWorker): void => {
          if (m.type === 'ready') { w.off('error', reject); resolve(); return; }
          if (m.type === 'error' && m.id === null) reject(m.input ? new InputError(m.message) : new Error(m.message));
        };
        w.on('message', onMessage);
        w.once('error', reject);
        w.on('message', (m: FromWorker) => feeder.onMessage(k, m));
        w.on('error', (e) => feeder.fail(e));
        w.on('exit', (code) => { if (code !== 0) feeder.fail(new Error(`feeder worker exited with code ${code}`)); });
      })));
    } catch (e) {
      await feeder.close();
      throw e;
    }
    return feeder;
  }

  private onMessage(k: number, m: FromWorker): void {
    if (m.type === 'ready') return;
    if (m.type === 'error' && m.id === null) { this.fail(m.input ? new InputError(m.message) : new Error(m.message)); return; }
    if (m.id === null) return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    this.load[k]!--;
    if (m.type === 'batch') p.resolve(m.data);
    else p.reject(m.input ? new InputError(m.message) : new Error(m.message));
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  fetch(req: BatchRequest): Promise<BatchData> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.inline) {
      try {
        return Promise.resolve(this.inline(req));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    const id = this.nextId++;
    let k = 0;
    for (let j = 1; j < this.load.length; j++) if (this.load[j]! < this.load[k]!) k = j;
    this.load[k]!++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: k });
      this.workers[k]!.postMessage({ type: 'batch', id, req } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('feeder closed');
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * Fetch `requests` in order, keeping up to `depth` in flight so the worker prepares the next
 * batches while the caller computes.
 */
export async function* prefetch(feeder: Feeder, requests: Iterable<BatchRequest>, depth = 3): AsyncGenerator<BatchData> {
  const it = requests[Symbol.iterator]();
  const queue: Promise<BatchData>[] = [];
  const fill = (): void => {
    while (queue.length < depth) {
      const r = it.next();
      if (r.done) break;
      const p = feeder.fetch(r.value);
      p.catch(() => undefined); // rejections surface when awaited below
      queue.push(p);
    }
  };
  fill();
  while (queue.length > 0) {
    const b = await queue.shift()!;
    fill();
    yield b;
  }
}

/** Helpful re-export for callers deciding whether an error is the user's. */
export { isInputError };
