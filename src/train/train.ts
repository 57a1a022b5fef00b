/**
 * The training loop behind `caldera train`: batches from the feeder (a worker thread makes them
 * while this thread trains), `trainStep` with Adam and a warm-up + cosine learning rate, a
 * validation pass after every epoch (accuracy on the inputs and on their negatives, box centre
 * error), and a checkpoint after every epoch that survives a kill at any moment.
 *
 * A run directory (`outDir`):
 *   model.json, weights.bin    the model after the last finished epoch: `caldera predict --model outDir`
 *                              (userDefinedMetadata.calderaModel says its channel format and input size)
 *   checkpoint/                model + Adam state + run state (checkpoint.ts); `resume` continues from it
 *   train.log.jsonl            one JSON line per finished epoch (rewritten from the checkpoint's history)
 *   curves.png                 loss and accuracy per epoch
 *
 * Reproducible: weights from `seed`; batch i of epoch e is a pure function of (config, e, i) (the
 * dataset order and every augmentation draw come from seeded streams), so a resumed run sees the
 * same batches as an uninterrupted one. Training uses both phase signs (random per sample) so the
 * model answers the same for an interferogram and its negative; validation measures it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { Rng } from '../core/rng.js';
import { InputError } from '../core/errors.js';
import { ensureWritableDir, writeFileAtomic } from '../io/atomic.js';
import { cleanStaleTemps, lockDir } from '../io/run-dir.js';
import { encodePng } from '../io/png.js';
import { readManifest } from '../data/dataset.js';
import { channelCount, type ChannelFormat } from '../data/channels.js';
import type { SceneConfig } from '../synth/scene.js';
import { type ClassName } from '../core/classes.js';
import { initBackend } from '../engine/backend.js';
import { findCheckpoint, loadCheckpoint, saveCheckpoint, STATE_JSON } from '../engine/checkpoint.js';
import { oneLine, readInputTextSync } from '../io/input-file.js';
import { realMixer, type RealMixSpec } from '../data/real-mix.js';
import { Feeder, prefetch, type BatchData, type BatchRequest, type DataSource, type WeightedScene, type WeightedTerrain } from '../data/feeder.js';
import { ExamplePool, POOL_DIR, poolBatches } from './pool.js';
import { curvesFigure } from '../evaluate/figures.js';
import { loadModel, saveModel } from '../engine/io-handler.js';
import { boxReport, denormaliseBox, type ScoredSample } from '../evaluate/metrics.js';
import { MODEL_META_KEY, type ModelMeta } from '../engine/trained-model.js';
import { buildNetwork, predict, trainStep, type NetworkVariant } from '../engine/network.js';
import { CLASS_NAMES, NONE_CLASS } from '../core/classes.js';

export type TrainSourceConfig =
  | {
    readonly kind: 'dataset';
    readonly dir: string;
    /** The last fraction of the samples (by index) is the validation set. */
    readonly valFraction: number;
  }
  | {
    readonly kind: 'synthetic';
    readonly terrains: readonly WeightedTerrain[];
    readonly classes: readonly ClassName[];
    /** Scenes for training: epoch e, step s uses scene indices (e·stepsPerEpoch + s)·batch + [0, batch). */
    readonly seed: number;
    /** The fixed validation set: scenes 0..valCount-1 of this seed. */
    readonly valSeed: number;
    readonly valCount: number;
    readonly stepsPerEpoch: number;
    readonly scene?: Partial<SceneConfig>;
    /** Several scene settings, each drawn for its share of the scenes (instead of `scene`). */
    readonly scenes?: readonly WeightedScene[];
    /**
     * Make this many scenes once (an in-memory pool, `pool.ts`, saved in the run folder) and train
     * on them under flips, transposes and phase signs, instead of new scenes every step: for a
     * trainer faster than scene synthesis. An epoch is then one pass over the pool.
     */
    readonly poolSize?: number;
    /**
     * With a pool: half of the training examples stretched along one axis by up to this factor
     * (pool.ts PoolStretch: non-square pixels of lon/lat grids given as plain arrays). Absent = 1, none.
     */
    readonly poolStretch?: number;
  };

export interface TrainConfig {
  readonly source: TrainSourceConfig;
  readonly format: ChannelFormat;
  readonly arch: NetworkVariant;
  readonly epochs: number;
  readonly batch: number;
  /** Peak learning rate (Adam). */
  readonly lr: number;
  readonly lrSchedule: 'cosine' | 'constant';
  /** Linear warm-up from lr/10 over this many steps. */
  readonly warmupSteps: number;
  readonly classWeight: number;
  readonly boxWeight: number;
  /** Weights, dataset order and augmentation. */
  readonly seed: number;
  /** Chance a training example shows incoherent pixels as random phase rather than 0. */
  readonly incoherentRandom: number;
  readonly size: number;
  /** Start from this trained model's weights (fine-tuning) instead of a fresh seeded network. */
  readonly init?: string;
  /** Mix augmented labelled real interferograms into the training batches (real-mix.ts). */
  readonly real?: RealMixSpec;
}

export const DEFAULT_TRAIN_CONFIG = {
  arch: 'default', epochs: 10, batch: 16, lr: 1e-3, lrSchedule: 'cosine', warmupSteps: 200,
  classWeight: 1, boxWeight: 10, seed: 1, incoherentRandom: 0.25, size: 224,
} as const satisfies Partial<TrainConfig>;

export interface EpochRecord {
  readonly epoch: number;
  readonly steps: number;
  /** Training images seen since the start of the run. */
  readonly imagesSeen: number;
  readonly lr: number;
  readonly trainLoss: number;
  readonly trainClassLoss: number;
  readonly trainBoxLoss: number;
  readonly trainAccuracy: number;
  readonly valLoss: number;
  readonly valClassLoss: number;
  readonly valBoxLoss: number;
  readonly valAccuracy: number;
  /** Accuracy on the negated validation interferograms. */
  readonly valAccuracyNegated: number;
  /** Share of validation samples whose class is the same for the input and its negative. */
  readonly valSignAgreement: number;
  readonly valCentreErrorMedianPx: number;
  readonly valIoUMean: number;
  readonly seconds: number;
  readonly trainImgPerS: number;
  readonly finishedAt: string;
}

/** What a checkpoint's state.json holds. */
export interface TrainState {
  readonly config: TrainConfig;
  /** Epochs finished. */
  readonly epoch: number;
  readonly step: number;
  readonly imagesSeen: number;
  readonly elapsedSeconds: number;
  readonly history: EpochRecord[];
  /** The command lines that ran this run (one per start or resume), when the caller gave them. */
  readonly commands?: string[];
}

export type TrainEvent =
  | { type: 'start'; resumedAtEpoch: number; stepsPerEpoch: number; epochs: number; trainCount: number | null; valCount: number }
  | { type: 'step'; epoch: number; step: number; stepsPerEpoch: number; loss: number; classLoss: number; boxLoss: number; accuracy: number; lr: number }
  | { type: 'pool'; done: number; total: number }
  | { type: 'validating'; epoch: number }
  | { type: 'epoch'; record: EpochRecord }
  | { type: 'done'; epochs: number; imagesSeen: number; elapsedSeconds: number };

/** What runs the training step. */
export type TrainEngine = 'onnx' | 'tfjs';

export interface TrainOptions {
  readonly outDir: string;
  readonly config: TrainConfig;
  /**
   * 'onnx' (default): the step as one ONNX graph on ONNX Runtime (`onnx-step.ts`, all cores);
   * 'tfjs': the wasm backend with caldera's kernels (one core). Checkpoints are the same tfjs
   * files either way; a resume is bit-identical to an uninterrupted run on the same engine.
   */
  readonly engine?: TrainEngine;
  /** ONNX Runtime threads (default: all cores). */
  readonly threads?: number;
  /** Continue from outDir/checkpoint (a fresh start when there is none). */
  readonly resume?: boolean;
  /** Feeder worker threads (0 = make batches inline). Default 1: the second core. */
  readonly workers?: number;
  /** Stop (as if killed) after this many epochs of this call; the schedule still plans for config.epochs. */
  readonly stopAfterEpochs?: number;
  readonly onEvent?: (e: TrainEvent) => void;
  /** The command line, recorded in the run state (provenance for model cards). */
  readonly command?: string;
}

export interface TrainResult {
  readonly state: TrainState;
  readonly outDir: string;
}

export const CHECKPOINT_DIR = 'checkpoint';
export const TRAIN_LOG = 'train.log.jsonl';
export const CURVES_PNG = 'curves.png';
/** Key of the model metadata (in model.json userDefinedMetadata) that predict/eval read. */
/** Learning rate at global step `step` of `total`: linear warm-up from lr/10, then cosine down to lr/50 (or constant). */
export function learningRateAt(step: number, total: number, lr: number, schedule: 'cosine' | 'constant', warmupSteps: number): number {
  if (warmupSteps > 0 && step < warmupSteps) return lr * (0.1 + 0.9 * (step / warmupSteps));
  if (schedule === 'constant') return lr;
  const span = Math.max(1, total - warmupSteps);
  const t = Math.min(1, Math.max(0, (step - warmupSteps) / span));
  const floor = lr / 50;
  return floor + (lr - floor) * 0.5 * (1 + Math.cos(Math.PI * t));
}

/** A seed for epoch e's shuffles and augmentation, from the run seed. */
export function epochSeed(seed: number, epoch: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0;
}

/** Fisher–Yates shuffle in place; returns `xs`. */
export function shuffle<T>(rng: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/**
 * The order of an epoch over a sharded dataset: shards in random order, taken two at a time and
 * mixed, so each shard is read once per epoch while batches still mix samples of several shards.
 */
export function epochOrder(indices: readonly number[], shardOf: (i: number) => number, rng: Rng, shardsPerGroup = 2): number[] {
  const byShard = new Map<number, number[]>();
  for (const i of indices) {
    const k = shardOf(i);
    const list = byShard.get(k) ?? [];
    list.push(i);
    byShard.set(k, list);
  }
  const shards = shuffle(rng, [...byShard.keys()].sort((a, b) => a - b));
  const out: number[] = [];
  for (let g = 0; g < shards.length; g += shardsPerGroup) {
    const group = shards.slice(g, g + shardsPerGroup).flatMap((k) => byShard.get(k)!);
    out.push(...shuffle(rng, group));
  }
  return out;
}

/** The training and validation sample indices of a dataset of `count` samples (validation = the last fraction). */
export function splitIndices(count: number, valFraction: number): { train: number[]; val: number[] } {
  if (!(valFraction >= 0 && valFraction < 1)) throw new InputError(`the validation fraction must be in [0, 1), got ${valFraction}`);
  const nVal = valFraction > 0 ? Math.max(1, Math.round(count * valFraction)) : 0;
  const nTrain = count - nVal;
  return { train: Array.from({ length: nTrain }, (_, i) => i), val: Array.from({ length: nVal }, (_, i) => nTrain + i) };
}

function describeSource(s: TrainSourceConfig): string {
  if (s.kind === 'dataset') return `dataset ${s.dir}`;
  const t = s.terrains.map((w) => (w.spec.kind === 'procedural' ? `procedural×${w.weight}` : `${w.spec.path}${w.spec.volcanoes ? ` (${w.spec.volcanoes.join(', ')})` : ''}×${w.weight}`));
  return `synthetic on the fly (seed ${s.seed}; terrain ${t.join(' + ')})`;
}

function validateConfig(c: TrainConfig): void {
  const posInt = (v: number, name: string): void => {
    if (!Number.isInteger(v) || v < 1) throw new InputError(`--${name} must be a positive integer, got ${v}`);
  };
  posInt(c.epochs, 'epochs');
  posInt(c.batch, 'batch');
  if (!(c.lr > 0)) throw new InputError(`the learning rate must be > 0, got ${c.lr}`);
  if (!(c.classWeight >= 0) || !(c.boxWeight >= 0)) throw new InputError('the class and box loss weights must be >= 0');
  if (!(c.incoherentRandom >= 0 && c.incoherentRandom <= 1)) throw new InputError(`the share of samples with random incoherent phase must be in [0, 1], got ${c.incoherentRandom}`);
  if (c.source.kind === 'synthetic') {
    posInt(c.source.stepsPerEpoch, 'steps-per-epoch');
    posInt(c.source.valCount, 'val-count');
    if (c.source.seed === c.source.valSeed) throw new InputError('the validation seed must differ from the training seed');
  }
}

/** Differences between two configs that a resume cannot accept (all but `epochs`). */
export function configDifferences(a: TrainConfig, b: TrainConfig): string[] {
  const flat = (o: unknown, prefix = ''): Map<string, string> => {
    const m = new Map<string, string>();
    if (o !== null && typeof o === 'object' && !Array.isArray(o)) {
      for (const [k, v] of Object.entries(o)) for (const [kk, vv] of flat(v, prefix ? `${prefix}.${k}` : k)) m.set(kk, vv);
    } else m.set(prefix, JSON.stringify(o));
    return m;
  };
  const fa = flat({ ...a, epochs: 0 }), fb = flat({ ...b, epochs: 0 });
  const keys = new Set([...fa.keys(), ...fb.keys()]);
  return [...keys].filter((k) => fa.get(k) !== fb.get(k)).map((k) => `${k}: checkpoint ${fa.get(k) ?? 'unset'}, now ${fb.get(k) ?? 'unset'}`);
}

/** Resolve paths so a resume from another working directory compares equal. */
function normaliseConfig(c: TrainConfig): TrainConfig {
  if (c.init) c = { ...c, init: path.resolve(c.init) };
  if (c.source.kind === 'dataset') return { ...c, source: { ...c.source, dir: path.resolve(c.source.dir) } };
  return {
    ...c,
    source: { ...c.source, terrains: c.source.terrains.map((t) => (t.spec.kind === 'procedural' ? t : { ...t, spec: { ...t.spec, path: path.resolve(t.spec.path) } })) },
  };
}

function toTensors(tf: typeof tfTypes, b: BatchData, x = b.x): { x: tfTypes.Tensor4D; yClass: tfTypes.Tensor2D; yBox: tfTypes.Tensor2D } {
  return tf.tidy(() => ({
    x: tf.tensor4d(x, [b.n, b.size, b.size, b.channels]),
    yClass: tf.oneHot(tf.tensor1d(Int32Array.from(b.classIndex), 'int32'), CLASS_NAMES.length).toFloat() as tfTypes.Tensor2D,
    yBox: tf.tensor2d(b.box, [b.n, 5]),
  }));
}

/** Validation scores of `model` on cached batches (inputs and their negatives). */
export function validate(tf: typeof tfTypes, model: tfTypes.LayersModel, batches: readonly BatchData[]): {
  loss: number; classLoss: number; boxLoss: number; accuracy: number; accuracyNegated: number; signAgreement: number; centreErrorMedianPx: number; iouMean: number;
} {
  let n = 0, nBox = 0, ce = 0, bl = 0, correct = 0, correctNeg = 0, agree = 0;
  const scored: ScoredSample[] = [];
  for (const b of batches) {
    const t = toTensors(tf, b);
    const { classProbs, box } = predict(model, t.x);
    const probs = classProbs.dataSync();
    const boxes = box.dataSync();
    let negPred: Int32Array | null = null;
    if (b.xNeg) {
      const xn = tf.tensor4d(b.xNeg, [b.n, b.size, b.size, b.channels]);
      const r = predict(model, xn);
      negPred = Int32Array.from(tf.tidy(() => tf.argMax(r.classProbs, -1)).dataSync());
      tf.dispose([xn, r.classProbs, r.box]);
    }
    for (let j = 0; j < b.n; j++) {
      const c = b.classIndex[j]!;
      let pred = 0;
      for (let k = 1; k < CLASS_NAMES.length; k++) if (probs[j * 3 + k]! > probs[j * 3 + pred]!) pred = k;
      ce -= Math.log(Math.max(1e-7, probs[j * 3 + c]!));
      if (pred === c) correct++;
      if (negPred) {
        if (negPred[j] === c) correctNeg++;
        if (negPred[j] === pred) agree++;
      }
      if (b.box[j * 5 + 4]! > 0) {
        let se = 0;
        for (let q = 0; q < 4; q++) se += (boxes[j * 4 + q]! - b.box[j * 5 + q]!) ** 2;
        bl += se / 4;
        nBox++;
      }
      scored.push({ trueClass: c, predictedClass: pred, trueBox: b.boxesPx[j] ?? null, predictedBox: denormaliseBox(boxes.subarray(j * 4, j * 4 + 4), b.size, b.size) });
    }
    n += b.n;
    tf.dispose([t.x, t.yClass, t.yBox, classProbs, box]);
  }
  const br = boxReport(scored, NONE_CLASS);
  const classLoss = n ? ce / n : NaN;
  const boxLoss = nBox ? bl / nBox : 0;
  const withNeg = batches.every((b) => b.xNeg);
  return {
    loss: classLoss + boxLoss, classLoss, boxLoss, accuracy: n ? correct / n : NaN,
    accuracyNegated: withNeg && n ? correctNeg / n : NaN, signAgreement: withNeg && n ? agree / n : NaN,
    centreErrorMedianPx: br.detected.centreErrorPx.median, iouMean: br.detected.iou.mean,
  };
}

function chunk<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** Write the log (from the history) and the curves figure. */
async function writeReports(outDir: string, history: readonly EpochRecord[]): Promise<void> {
  await writeFileAtomic(path.join(outDir, TRAIN_LOG), history.map((r) => JSON.stringify(r)).join('\n') + (history.length ? '\n' : ''));
  if (history.length > 0) await writeFileAtomic(path.join(outDir, CURVES_PNG), encodePng(curvesFigure(history)));
}

/** Train (or resume) a model into `outDir`. */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const tf = await initBackend();
  let config = normaliseConfig(o.config);
  validateConfig(config);
  ensureWritableDir(o.outDir);
  // One run per folder at a time; then clear what killed runs left (temp files of dead PIDs).
  const lock = lockDir(o.outDir, 'caldera train');
  try {
    cleanStaleTemps(o.outDir);
    return await trainLocked(tf, o, config);
  } finally {
    lock.release();
  }
}

async function trainLocked(tf: typeof tfTypes, o: TrainOptions, config: TrainConfig): Promise<TrainResult> {
  const ckptDir = path.join(o.outDir, CHECKPOINT_DIR);
  const loaded = await loadCheckpointIfAny(ckptDir, o.resume === true);
  if (loaded) {
    const diffs = configDifferences(loaded.state.config, config);
    if (diffs.length > 0) {
      loaded.model.dispose();
      throw new InputError(`${o.outDir}: --resume with settings that differ from the checkpoint (${diffs.join('; ')}); give the same options (only the number of epochs may change) or choose another --out`);
    }
    config = { ...loaded.state.config, epochs: config.epochs };
  }
  const src = config.source;

  // Indices.
  let trainIdx: number[] = [];
  let valIdx: number[];
  let shardOf: (i: number) => number = () => 0;
  let stepsPerEpoch: number;
  let dataSource: DataSource;
  if (src.kind === 'dataset') {
    const m = readManifest(src.dir);
    if (m.settings.size !== config.size) throw new InputError(`${src.dir}: samples are ${m.settings.size} px, the model takes ${config.size}`);
    const count = m.shards.reduce((a, s) => a + s.count, 0);
    const split = splitIndices(count, src.valFraction);
    trainIdx = split.train.filter((i) => m.shards.some((s) => i >= s.start && i < s.start + s.count));
    valIdx = split.val.filter((i) => m.shards.some((s) => i >= s.start && i < s.start + s.count));
    const starts = [...m.shards].sort((a, b) => a.start - b.start);
    shardOf = (i) => starts.findIndex((s) => i >= s.start && i < s.start + s.count);
    stepsPerEpoch = Math.floor(trainIdx.length / config.batch);
    if (stepsPerEpoch < 1) throw new InputError(`${src.dir}: ${trainIdx.length} training samples, fewer than one batch of ${config.batch}`);
    dataSource = { kind: 'dataset', dir: src.dir };
  } else {
    valIdx = Array.from({ length: src.valCount }, (_, i) => i);
    stepsPerEpoch = src.poolSize ? Math.floor(src.poolSize / config.batch) : src.stepsPerEpoch;
    dataSource = {
      kind: 'synthetic', terrains: src.terrains, classes: src.classes,
      ...(src.scene ? { scene: src.scene } : {}), ...(src.scenes ? { scenes: src.scenes } : {}),
    };
  }
  const totalSteps = stepsPerEpoch * config.epochs;

  const model = loaded?.model ?? (config.init ? await initialModel(config) : buildNetwork({ inputChannels: channelCount(config.format), width: config.size, height: config.size, variant: config.arch, seed: config.seed }));
  const optimizer = tf.train.adam(config.lr);
  const setLr = (v: number): void => { (optimizer as unknown as { learningRate: number }).learningRate = v; };
  if (loaded) await loaded.restoreOptimizer(optimizer);
  const engine = o.engine ?? 'onnx';
  const ort = engine === 'onnx'
    ? await (await importOnnxTrainer()).OnnxTrainer.create(model, { batch: config.batch, threads: o.threads ?? os.availableParallelism(), lossWeights: { class: config.classWeight, box: config.boxWeight } })
    : null;
  if (ort && loaded) await ort.readAdamFrom(optimizer, model);
  let state: TrainState = loaded?.state
    ? { ...loaded.state, config }
    : { config, epoch: 0, step: 0, imagesSeen: 0, elapsedSeconds: 0, history: [] };
  if (o.command) state = { ...state, commands: [...(state.commands ?? []), o.command] };

  const meta = (): Record<string, unknown> => ({
    [MODEL_META_KEY]: {
      channelFormat: config.format, inputSize: config.size, classes: [...CLASS_NAMES], arch: config.arch,
      epoch: state.epoch, imagesSeen: state.imagesSeen, box: 'cx/W, cy/H, halfWidth/W, halfHeight/H', source: describeSource(src),
    } satisfies ModelMeta,
  });

  // With a pool, real examples are mixed into each epoch's pool batches (freshly augmented every
  // time), not baked into the pool by the feeder: the pool holds synthetic scenes only.
  const usesPool = src.kind === 'synthetic' && src.poolSize !== undefined;
  const feeder = await Feeder.start({ source: dataSource, format: config.format, incoherentRandom: config.incoherentRandom, ...(config.real && !usesPool ? { real: config.real } : {}) }, o.workers ?? 1);
  try {
    if (loaded) {
      // Bring the exported model and the log in line with the checkpoint (a kill may have come between them).
      await saveModel(model, o.outDir, meta());
      await writeReports(o.outDir, state.history);
    }
    o.onEvent?.({ type: 'start', resumedAtEpoch: state.epoch, stepsPerEpoch, epochs: config.epochs, trainCount: src.kind === 'dataset' ? trainIdx.length : (src.poolSize ?? null), valCount: valIdx.length });

    // The validation set, made once (with the negatives, for the sign-invariance score).
    const valReqs: BatchRequest[] = chunk(valIdx, Math.max(config.batch, 32)).map((indices) => ({
      indices, augmentSeed: null, withNegated: true, ...(src.kind === 'synthetic' ? { sceneSeed: src.valSeed } : {}),
    }));
    let valCache: BatchData[] | null = null;
    const pool = usesPool
      ? await ExamplePool.build(feeder, { count: src.poolSize, seed: src.seed }, path.join(o.outDir, POOL_DIR), config.format,
        (done, total) => o.onEvent?.({ type: 'pool', done, total }))
      : null;
    const poolMix = pool && config.real ? await realMixer(config.real, config.format, pool.size) : null;
    const poolStretch = src.kind === 'synthetic' && src.poolStretch ? { chance: 0.5, maxFactor: src.poolStretch } : null;

    const startEpoch = state.epoch;
    const lastEpoch = o.stopAfterEpochs != null ? Math.min(config.epochs, startEpoch + o.stopAfterEpochs) : config.epochs;
    for (let epoch = startEpoch; epoch < lastEpoch; epoch++) {
      const eSeed = epochSeed(config.seed, epoch);
      let requests: BatchRequest[];
      if (src.kind === 'dataset') {
        const order = epochOrder(trainIdx, shardOf, new Rng(eSeed));
        requests = chunk(order, config.batch).filter((c) => c.length === config.batch).map((indices) => ({ indices, augmentSeed: eSeed }));
      } else if (pool) {
        const order = shuffle(new Rng(eSeed), Array.from({ length: pool.count }, (_, i) => i));
        requests = chunk(order, config.batch).filter((c) => c.length === config.batch).map((indices) => ({ indices, augmentSeed: eSeed }));
      } else {
        requests = Array.from({ length: stepsPerEpoch }, (_, s) => {
          const start = (epoch * stepsPerEpoch + s) * config.batch;
          return { indices: Array.from({ length: config.batch }, (_, j) => start + j), sceneSeed: src.seed, augmentSeed: eSeed };
        });
      }
      const t0 = performance.now();
      let sumLoss = 0, sumCls = 0, sumBox = 0, correct = 0, seen = 0, steps = 0, lr = config.lr;
      let trainMs = 0;
      const batches = pool ? poolBatches(pool, requests, config.format, poolMix, poolStretch) : prefetch(feeder, requests, 4);
      for await (const b of batches) {
        const ts = performance.now();
        lr = learningRateAt(state.step, totalSteps, config.lr, config.lrSchedule, config.warmupSteps);
        const dropoutSeed = epochSeed(config.seed ^ 0x5bd1e995, state.step);
        let r: { loss: number; classLoss: number; boxLoss: number; predictedClass: ArrayLike<number> };
        if (ort) {
          r = await ort.step(b.x, Int32Array.from(b.classIndex), b.box, { lr, dropoutSeed });
        } else {
          setLr(lr);
          seedDropout(model, dropoutSeed);
          const t = toTensors(tf, b);
          r = trainStep(model, optimizer, t.x, t.yClass, t.yBox, { class: config.classWeight, box: config.boxWeight });
          tf.dispose([t.x, t.yClass, t.yBox]);
        }
        if (!Number.isFinite(r.loss)) throw new Error(`training diverged at epoch ${epoch + 1}, step ${steps + 1} (loss ${r.loss}); try a smaller learning rate`);
        trainMs += performance.now() - ts;
        for (let j = 0; j < b.n; j++) if (r.predictedClass[j] === b.classIndex[j]) correct++;
        sumLoss += r.loss * b.n; sumCls += r.classLoss * b.n; sumBox += r.boxLoss * b.n;
        seen += b.n; steps++;
        state = { ...state, step: state.step + 1, imagesSeen: state.imagesSeen + b.n };
        o.onEvent?.({ type: 'step', epoch, step: steps, stepsPerEpoch: requests.length, loss: sumLoss / seen, classLoss: sumCls / seen, boxLoss: sumBox / seen, accuracy: correct / seen, lr });
      }
      o.onEvent?.({ type: 'validating', epoch });
      if (ort) {
        // The tfjs model and optimizer hold the state for validation, checkpoints and export.
        ort.writeTo(model, tf);
        await ort.writeAdamTo(optimizer, model, tf);
      }
      if (valCache === null && valReqs.length > 0) {
        const got: BatchData[] = [];
        for await (const b of prefetch(feeder, valReqs, 2)) got.push(b);
        valCache = got;
      }
      const v = validate(tf, model, valCache ?? []);
      const seconds = (performance.now() - t0) / 1000;
      const record: EpochRecord = {
        epoch: epoch + 1, steps, imagesSeen: state.imagesSeen, lr,
        trainLoss: sumLoss / seen, trainClassLoss: sumCls / seen, trainBoxLoss: sumBox / seen, trainAccuracy: correct / seen,
        valLoss: config.classWeight * v.classLoss + config.boxWeight * v.boxLoss, valClassLoss: v.classLoss, valBoxLoss: v.boxLoss, valAccuracy: v.accuracy,
        valAccuracyNegated: v.accuracyNegated, valSignAgreement: v.signAgreement,
        valCentreErrorMedianPx: v.centreErrorMedianPx, valIoUMean: v.iouMean,
        seconds, trainImgPerS: seen / (trainMs / 1000), finishedAt: new Date().toISOString(),
      };
      state = { ...state, epoch: epoch + 1, elapsedSeconds: state.elapsedSeconds + seconds, history: [...state.history, record] };
      // Checkpoint first (the commit point), then the exported model and the reports.
      await saveCheckpoint(ckptDir, model, optimizer, state, meta());
      await saveModel(model, o.outDir, meta());
      await writeReports(o.outDir, state.history);
      o.onEvent?.({ type: 'epoch', record });
    }
    if (state.epoch >= config.epochs) o.onEvent?.({ type: 'done', epochs: state.epoch, imagesSeen: state.imagesSeen, elapsedSeconds: state.elapsedSeconds });
    return { state, outDir: o.outDir };
  } finally {
    await feeder.close();
    await ort?.release();
    model.dispose();
    optimizer.dispose();
  }
}

/**
 * Give every Dropout layer a seed for this step: a new mask each step (a fixed seed would draw the
 * same mask every time), yet a function of (run seed, step), so a resumed run repeats the
 * uninterrupted one. tfjs' Dropout reads `this.seed` at each call.
 */
export function seedDropout(model: tfTypes.LayersModel, seed: number): void {
  for (const l of model.layers) if (l.getClassName() === 'Dropout') (l as unknown as { seed?: number }).seed = seed;
}

/** The model of `config.init`, checked against the run's channel format and input size. */
async function initialModel(config: TrainConfig): Promise<tfTypes.LayersModel> {
  const model = await loadModel(config.init!);
  const shape = model.inputs[0]?.shape;
  if (!shape || shape[1] !== config.size || shape[2] !== config.size || shape[3] !== channelCount(config.format)) {
    model.dispose();
    throw new InputError(`${config.init}: its input [${shape?.slice(1).join('×')}] does not fit channel format ${config.format} at ${config.size}×${config.size}`);
  }
  return model;
}

/**
 * The configuration of the run in `outDir`, from its last checkpoint's state.json (null when no
 * epoch has been checkpointed yet), so `caldera train --out RUN --resume` needs no other option.
 * InputError when the state is corrupt. Reads no weights.
 */
export function readRunConfig(outDir: string): TrainConfig | null {
  const d = findCheckpoint(path.join(outDir, CHECKPOINT_DIR));
  if (!d) return null;
  const f = path.join(d, STATE_JSON);
  let state: unknown;
  try {
    state = (JSON.parse(readInputTextSync(f, { maxBytes: 256 << 20 })) as { state?: unknown } | null)?.state;
  } catch (e) {
    throw new InputError(`${f}: corrupt checkpoint state (${oneLine((e as Error).message)})`, { cause: e });
  }
  const problem = trainStateProblem(state);
  if (problem) throw new InputError(`${f}: corrupt run state (${problem})`);
  return (state as TrainState).config;
}

/** The output folder already holds a run and resuming was not asked for. */
export class RunExistsError extends InputError {}

async function loadCheckpointIfAny(dir: string, resume: boolean): Promise<Awaited<ReturnType<typeof loadCheckpoint<TrainState>>>> {
  if (!resume) {
    if (fs.existsSync(dir) || fs.existsSync(`${dir}.old`)) {
      throw new RunExistsError(`${path.dirname(dir)} already holds a training run; resume it, or choose another output folder`);
    }
    return null;
  }
  const loaded = await loadCheckpoint<TrainState>(dir);
  if (loaded) {
    const problem = trainStateProblem(loaded.state);
    if (problem) {
      loaded.model.dispose();
      throw new InputError(`${path.join(loaded.dir, 'state.json')}: corrupt run state (${problem})`);
    }
  }
  return loaded;
}

/** What is wrong with a checkpoint's run state, or null. */
function trainStateProblem(s: unknown): string | null {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) return 'not an object';
  const o = s as Record<string, unknown>;
  const count = (k: string): boolean => typeof o[k] === 'number' && Number.isSafeInteger(o[k]) && (o[k] as number) >= 0;
  for (const k of ['epoch', 'step', 'imagesSeen']) if (!count(k)) return `${k} must be an integer >= 0`;
  if (typeof o.elapsedSeconds !== 'number' || !Number.isFinite(o.elapsedSeconds)) return 'elapsedSeconds must be a number';
  if (!Array.isArray(o.history) || o.history.length !== o.epoch || !o.history.every((r) => r !== null && typeof r === 'object')) return 'history must list one record per finished epoch';
  const c = o.config as Record<string, unknown> | null;
  if (c === null || typeof c !== 'object' || Array.isArray(c) || c.source === null || typeof c.source !== 'object') return 'config must be an object with a source';
  if (o.commands !== undefined && !(Array.isArray(o.commands) && o.commands.every((x) => typeof x === 'string'))) return 'commands must be a list of strings';
  return null;
}


/** The ONNX Runtime trainer, loaded only when used; a one-line InputError when ONNX Runtime cannot load here. */
async function importOnnxTrainer(): Promise<typeof import('./onnx-trainer.js')> {
  try {
    return await import('./onnx-trainer.js');
  } catch (e) {
    const why = ((e as Error).message ?? String(e)).split('\n')[0];
    throw new InputError(`ONNX Runtime cannot be loaded on this machine (${why}); train with the tfjs engine (--engine tfjs)`, { cause: e });
  }
}
