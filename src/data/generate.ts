/**
 * The `synth` job: generate N labelled scenes into a dataset directory, deterministically for a
 * seed (sample i always uses random stream i and class classes[i mod k], whatever the number of
 * workers), in shards written atomically, resumable (existing shards with the same settings are
 * kept), optionally on several worker threads. Reports progress through a callback; prints nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../core/rng.js';
import { InputError } from '../core/errors.js';
import { shardRange, shardText, type Shard } from '../core/shard.js';
import { ensureWritableDir } from '../io/atomic.js';
import { cleanStaleTemps, lockDir } from '../io/run-dir.js';
import { DEFAULT_SCENE_CONFIG, generateScene, type Scene, type SceneConfig, type TerrainProvider } from '../synth/scene.js';
import { type ClassName } from '../core/classes.js';
import { createSpectralCache, spectralSizeFor, type SpectralCache } from '../synth/atmosphere.js';
import {
  DATASET_FORMAT, manifestPath, readManifest, shardFileName, writeManifest, writeShard,
  type DatasetSettings, type Manifest, type ShardInfo,
} from './dataset.js';
import { buildTerrain, type TerrainSpec } from './terrain-source.js';
import { runTaskWorkers } from './worker-pool.js';

export interface SynthOptions {
  readonly outDir: string;
  readonly count: number;
  readonly seed: number;
  readonly classes: readonly ClassName[];
  readonly terrain: TerrainSpec;
  readonly workers: number;
  readonly shardSize?: number;
  readonly scene?: Partial<SceneConfig>;
  /**
   * Array jobs: make only shard K of N, a contiguous block of the dataset's shard files. The folder
   * is a part (its manifest says which); `caldera merge` joins the N parts into the dataset one
   * run makes, file for file.
   */
  readonly shard?: Shard;
  /** Run even one worker on a worker thread, leaving this thread free (a queue worker renews its job locks on it). */
  readonly offThread?: boolean;
}

export interface SynthProgress {
  readonly done: number;
  readonly total: number;
  readonly resumed: number;
}

/** The scene of sample `i`: its own random stream, and classes in rotation so a set is balanced. */
export function sceneForIndex(i: number, seed: number, classes: readonly ClassName[], terrain: TerrainProvider, cfg: SceneConfig, cache?: SpectralCache): Scene {
  const cls = classes[i % classes.length]!;
  return generateScene(Rng.stream(seed, i), cls, terrain, cfg, cache);
}

export function sceneConfig(over: Partial<SceneConfig> | undefined): SceneConfig {
  return { ...DEFAULT_SCENE_CONFIG, ...(over ?? {}) };
}

/**
 * Sample i of a dataset, with a scene that cannot be made from the user's DEM as an InputError
 * (the DEM is the user's input: a tile of noise or of water gives no viable scene; from the
 * procedural terrain it would be a bug).
 */
function sampleScene(i: number, settings: DatasetSettings, terrain: TerrainProvider, cfg: SceneConfig, cache: SpectralCache): Scene {
  try {
    return sceneForIndex(i, settings.seed, settings.classes, terrain, cfg, cache);
  } catch (e) {
    const msg = (e as Error)?.message ?? '';
    if (settings.dem.kind === 'procedural' || !/^no viable /.test(msg)) throw e;
    const where = settings.dem.volcanoes.length ? ` around ${settings.dem.volcanoes.join(', ')}` : '';
    throw new InputError(`${settings.dem.path}: sample ${i}: ${msg.replace(/ \(is the terrain mostly water\?\)$/, '')} on this DEM${where}; ` +
      'is it real elevation data in metres (not noise, not mostly water)? Check the DEM or choose other --volcanoes', { cause: e });
  }
}

/** Generate the samples of shard k and write it. Used inline and by the worker. */
export function makeShard(dir: string, settings: DatasetSettings, cfg: SceneConfig, terrain: TerrainProvider, k: number, onSample?: () => void): ShardInfo {
  const start = k * settings.shardSize;
  const n = Math.min(settings.shardSize, settings.count - start);
  const scenes: Scene[] = [];
  const cache = createSpectralCache(spectralSizeFor(cfg.size, cfg.size));
  for (let i = start; i < start + n; i++) {
    scenes.push(sampleScene(i, settings, terrain, cfg, cache));
    onSample?.();
  }
  return writeShard(dir, k, start, scenes);
}

/** The settings that differ between an existing dataset and this run, as 'key: old → new'. */
function settingsDifferences(a: unknown, b: unknown, prefix = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => settingsDifferences(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  const ja = JSON.stringify(a), jb = JSON.stringify(b);
  return ja === jb ? [] : [`${prefix}: ${ja ?? 'unset'} → ${jb ?? 'unset'}`];
}

function validate(o: SynthOptions): void {
  if (!Number.isInteger(o.count) || o.count < 1) throw new InputError(`the scene count must be a positive integer, got ${o.count}`);
  if (!Number.isInteger(o.seed)) throw new InputError(`the seed must be an integer, got ${o.seed}`);
  if (o.classes.length === 0) throw new InputError('the list of classes is empty');
  if (!Number.isInteger(o.workers) || o.workers < 1) throw new InputError(`the number of workers must be a positive integer, got ${o.workers}`);
}

/** Run (or resume) the job. Resolves with the finished manifest. */
export async function synthesise(o: SynthOptions, onProgress: (p: SynthProgress) => void = () => {}): Promise<Manifest> {
  validate(o);
  ensureWritableDir(o.outDir);
  // One writer per dataset folder; then clear the temp files of killed runs.
  const lock = lockDir(o.outDir, 'caldera synth');
  try {
    cleanStaleTemps(o.outDir);
    return await synthesiseLocked(o, onProgress);
  } finally {
    lock.release();
  }
}

async function synthesiseLocked(o: SynthOptions, onProgress: (p: SynthProgress) => void): Promise<Manifest> {
  const cfg = sceneConfig(o.scene);
  const shardSize = o.shardSize ?? 100;
  // Build the terrain once here too: it validates the DEM before any worker starts.
  const terrain = await buildTerrain(o.terrain, cfg.size, cfg.spacingM);
  const settings: DatasetSettings = {
    seed: o.seed, count: o.count, shardSize, classes: [...o.classes], size: cfg.size, spacingM: cfg.spacingM,
    dem: o.terrain.kind === 'procedural' ? { kind: 'procedural' } : { kind: o.terrain.kind, path: path.resolve(o.terrain.path), volcanoes: terrain.volcanoes },
    scene: { ...cfg },
  };
  const nShards = Math.ceil(o.count / shardSize);
  const part = o.shard ? { k: o.shard.k, n: o.shard.n } : undefined;
  const mine = shardRange(nShards, part);
  let shards: ShardInfo[] = [];
  // Complete shards only (a shard is complete when its .npz exists); a lone sidecar is rewritten.
  const hasShardFiles = (): boolean => fs.readdirSync(o.outDir).some((f) => /^shard-.*\.npz$/.test(f));
  if (fs.existsSync(manifestPath(o.outDir))) {
    const old = readManifest(o.outDir);
    shards = old.shards.filter((s) => fs.existsSync(path.join(o.outDir, s.file)));
    const diffs = settingsDifferences(old.settings, settings);
    if (JSON.stringify(old.part ?? null) !== JSON.stringify(part ?? null) && (shards.length > 0 || hasShardFiles())) {
      const what = (s: Shard | undefined): string => (s ? `part ${shardText(s)} of a dataset` : 'a whole dataset');
      throw new InputError(`${o.outDir} holds ${what(old.part)}, this run makes ${what(part)}; ` +
        `rerun with ${old.part ? `shard ${shardText(old.part)}` : 'no shard'}, or join parts with caldera merge into another folder`);
    }
    if (diffs.length > 0) {
      // A manifest without a single written shard (a run that failed before its first shard was
      // done, e.g. on a bad DEM) holds nothing: a rerun with corrected settings replaces it.
      if (shards.length > 0 || hasShardFiles()) {
        throw new InputError(`${o.outDir} holds a dataset made with other settings (${diffs.slice(0, 4).join('; ')}${diffs.length > 4 ? '; …' : ''}); ` +
          'rerun with the same options to finish or extend it, or choose another output folder, or delete it');
      }
      shards = [];
      fs.rmSync(manifestPath(o.outDir));
    }
  } else if (hasShardFiles()) {
    throw new InputError(`${o.outDir} has shard files but no manifest.json; choose another output folder or empty it`);
  }
  const have = new Set(shards.map((s) => s.file));
  const todo = Array.from({ length: mine.end - mine.start }, (_, j) => mine.start + j).filter((k) => !have.has(shardFileName(k)));
  const resumed = shards.reduce((a, s) => a + s.count, 0);
  // Scenes of this run (a part makes a block of them).
  const total = Math.min(o.count, mine.end * shardSize) - Math.min(o.count, mine.start * shardSize);
  const save = (complete: boolean): void => {
    shards.sort((a, b) => a.start - b.start);
    writeManifest(o.outDir, { format: DATASET_FORMAT, createdBy: 'caldera synth', settings, shards, complete, ...(part ? { part } : {}) });
  };
  // The manifest is written once a shard exists (or is already there): a run that fails before
  // its first shard (a bad DEM, bad settings) leaves nothing that would block a corrected rerun.
  if (shards.length > 0) save(todo.length === 0);
  let done = resumed;
  onProgress({ done, total, resumed });
  const tick = (): void => { done++; onProgress({ done, total, resumed }); };
  const finished = (info: ShardInfo): void => { shards.push(info); save(false); };

  const nWorkers = Math.min(o.workers, todo.length);
  if (todo.length === 0 || (nWorkers <= 1 && !o.offThread)) {
    for (const k of todo) {
      finished(makeShard(o.outDir, settings, cfg, terrain.provider, k, tick));
      await new Promise((r) => setImmediate(r));
    }
  } else {
    await runWorkers(nWorkers, todo, { dir: o.outDir, settings, cfg, terrain: o.terrain }, tick, finished);
  }
  save(true);
  return readManifest(o.outDir);
}

export interface WorkerInit {
  readonly dir: string;
  readonly settings: DatasetSettings;
  readonly cfg: SceneConfig;
  readonly terrain: TerrainSpec;
}

export type WorkerMessage = { type: 'ready' } | { type: 'sample' } | { type: 'shard'; info: ShardInfo } | { type: 'error'; message: string; input: boolean };

function runWorkers(n: number, todo: number[], init: WorkerInit, tick: () => void, finished: (s: ShardInfo) => void): Promise<void> {
  return runTaskWorkers<number, WorkerMessage>(new URL('./generate-worker.js', import.meta.url), n, todo, init, (m, next) => {
    if (m.type === 'sample') tick();
    else if (m.type === 'shard') { finished(m.info); next(); }
  });
}
