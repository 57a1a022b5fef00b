/**
 * One run of the channel study: train a model for (format, seed) on the study's data, evaluate it
 * on the held-out set (and a labelled real set when given), and save its result. Also the
 * worker-thread entry that runs it, so `--jobs 2` keeps both cores training (one wasm instance
 * per thread).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Rng } from '../core/rng.js';
import { channelCount, type ChannelFormat } from '../data/channels.js';
import { toExample, type Example } from '../data/inputs.js';
import { InputError, isInputError } from '../core/errors.js';
import { shardSlice, type Shard } from '../core/shard.js';
import { initBackend } from '../engine/backend.js';
import { DatasetReader } from '../data/feeder.js';
import { saveTransferModel, transferTrain } from './transfer.js';
import * as tf from '@tensorflow/tfjs';
import { IDENTITY } from '../data/augment.js';
import { loadRealTraining } from '../data/real.js';
import { evaluateDataset, scoreRows, type EvalReport, type EvalRow } from '../evaluate/evaluate.js';
import { denormaliseBox } from '../evaluate/metrics.js';
import { DEFAULT_TRAIN_CONFIG, splitIndices, train, type TrainConfig } from '../train/train.js';
import { loadResults, pendingRuns, runName, saveResult, writeReport, type RunResult, type StudyPlan, type StudyScores } from './study.js';
import { predict, type NetworkVariant } from '../engine/network.js';
import { CLASS_NAMES } from '../core/classes.js';
import { loadTrainedModel, type TrainedModel, MODEL_META_KEY, type ModelMeta } from '../engine/trained-model.js';
import { trainedDetector } from '../scan/detector.js';

export interface StudyBudget {
  readonly epochs: number;
  readonly batch: number;
  readonly lr: number;
  readonly arch: NetworkVariant;
  readonly valFraction: number;
}

export interface RunSpec {
  /** 'scratch' (caldera's network) or the paper's transfer path with a VGG16 base. */
  readonly backbone?: 'scratch' | 'vgg16';
  /** VGG16 weights in the tfjs layers format (random init without). */
  readonly backboneWeights?: string | undefined;
  readonly outDir: string;
  readonly dataDir: string;
  readonly testDir: string;
  readonly realDir?: string | undefined;
  readonly format: ChannelFormat;
  readonly seed: number;
  readonly budget: StudyBudget;
}

export type RunEvent = { type: 'progress'; run: string; epoch: number; epochs: number; step: number; steps: number } | { type: 'done'; run: string; result: RunResult };

export function toScores(r: EvalReport): StudyScores {
  return {
    n: r.n, accuracy: r.accuracy, macroF1: r.macroF1,
    f1: Object.fromEntries(r.classes.map((c) => [c, r.perClass[c]!.f1])),
    centreErrorMedianPx: r.box.detected.centreErrorPx.median, iouMean: r.box.detected.iou.mean,
    accuracyNegated: r.signInvariance.accuracyNegated, confusion: r.confusion,
  };
}

export function runConfig(spec: RunSpec): TrainConfig {
  return {
    ...DEFAULT_TRAIN_CONFIG,
    source: { kind: 'dataset', dir: spec.dataDir, valFraction: spec.budget.valFraction },
    format: spec.format, arch: spec.budget.arch, epochs: spec.budget.epochs, batch: spec.budget.batch,
    lr: spec.budget.lr, warmupSteps: 50, seed: spec.seed,
  };
}

/** The examples of a dataset's training or validation part, as the scratch trainer splits it. */
function* datasetExamples(spec: RunSpec, part: 'train' | 'val'): Generator<Example> {
  const reader = new DatasetReader(spec.dataDir);
  const split = splitIndices(reader.count, spec.budget.valFraction);
  const rng = new Rng(spec.seed);
  for (const i of split[part]) {
    yield toExample(reader.get(i), spec.format, part === 'train' ? { rng, randomSign: true } : {});
  }
}

/** The paper's transfer path (VGG16 base, cached bottleneck features, heads, block-5 fine-tuning). */
async function transferRun(spec: RunSpec, modelDir: string): Promise<{ seconds: number; images: number }> {
  const t0 = Date.now();
  if (channelCount(spec.format) !== 3) throw new InputError(`the vgg16 backbone takes 3-channel formats, not '${spec.format}'`);
  const examples = [...datasetExamples(spec, 'train')];
  await initBackend();
  const r = await transferTrain({
    examples, valExamples: [...datasetExamples(spec, 'val')], cacheDir: path.join(spec.outDir, 'features', spec.format),
    ...(spec.backboneWeights ? { weightsPath: spec.backboneWeights } : {}),
    inputShape: [224, 224, 3], headEpochs: spec.budget.epochs, fineTuneEpochs: 1, batch: spec.budget.batch, seed: spec.seed, channelFormat: spec.format,
  });
  const meta: ModelMeta = {
    channelFormat: spec.format, inputSize: 224, classes: [...CLASS_NAMES], arch: 'vgg16' as NetworkVariant, epoch: spec.budget.epochs + 1,
    imagesSeen: examples.length * (spec.budget.epochs + 1), box: 'cx/W, cy/H, halfWidth/W, halfHeight/H', source: `dataset ${spec.dataDir}`,
  };
  await saveTransferModel(r.model, modelDir, { [MODEL_META_KEY]: meta });
  r.model.dispose();
  return { seconds: (Date.now() - t0) / 1000, images: meta.imagesSeen };
}

/** Train (resuming a checkpoint if one is there), evaluate, save the result. */
export async function executeRun(spec: RunSpec, onEvent: (e: RunEvent) => void = () => {}): Promise<RunResult> {
  const name = runName(spec.format, spec.seed);
  const modelDir = path.join(spec.outDir, 'runs', name);
  const t0 = Date.now();
  let trained: { seconds: number; images: number };
  if (spec.backbone === 'vgg16') {
    trained = await transferRun(spec, modelDir);
  } else {
    const resume = fs.existsSync(path.join(modelDir, 'checkpoint'));
    const res = await train({
      outDir: modelDir, config: runConfig(spec), resume, workers: 0,
      onEvent: (e) => {
        if (e.type === 'step') onEvent({ type: 'progress', run: name, epoch: e.epoch, epochs: spec.budget.epochs, step: e.step, steps: e.stepsPerEpoch });
      },
    });
    trained = { seconds: res.state.elapsedSeconds ?? (Date.now() - t0) / 1000, images: res.state.imagesSeen };
  }
  const tm = await loadTrainedModel(modelDir);
  try {
    const test = toScores(scoreRows(await evaluateDataset(await trainedDetector(tm), spec.testDir, { workers: 0 })));
    const real = spec.realDir ? toScores(scoreRows(await evaluateReal(tm, spec.realDir))) : undefined;
    const result: RunResult = {
      format: spec.format, seed: spec.seed, test, real,
      trainSeconds: trained.seconds, imagesSeen: trained.images,
    };
    saveResult(spec.outDir, result);
    onEvent({ type: 'done', run: name, result });
    return result;
  } finally {
    tm.model.dispose();
  }
}

/**
 * Score a model on a labelled real dataset (`caldera label`): each sample as labelled, no
 * augmentation, cut to the model's input around its centre; and its negative.
 */
export async function evaluateReal(tm: TrainedModel, dir: string): Promise<EvalRow[]> {
  const real = await loadRealTraining(dir, { format: tm.format, size: tm.size, randomSign: false });
  const rows: EvalRow[] = [];
  real.samples.forEach((s, k) => {
    const ex = real.example(k, IDENTITY, 1);
    const neg = real.example(k, IDENTITY, -1);
    const x = tf.tensor4d([...ex.x, ...neg.x], [2, tm.size, tm.size, channelCount(tm.format)]);
    const r = predict(tm.model, x);
    const probs = r.classProbs.dataSync(), box = r.box.dataSync();
    tf.dispose([x, r.classProbs, r.box]);
    const argmax = (o: number): number => [0, 1, 2].reduce((a, c) => (probs[o + c]! > probs[o + a]! ? c : a), 0);
    rows.push({
      index: k, terrain: s.meta.volcano?.name ?? s.meta.id, trueClass: ex.classIndex, predictedClass: argmax(0), predictedClassNegated: argmax(3),
      probabilities: Array.from(probs.subarray(0, 3)),
      trueBox: ex.hasBox ? denormaliseBox(ex.box, tm.size, tm.size) : null, predictedBox: denormaliseBox(box.subarray(0, 4), tm.size, tm.size),
    });
  });
  return rows;
}

type FromRunWorker = RunEvent | { type: 'error'; message: string; input: boolean };

/** Run `spec` on a worker thread. */
export function executeRunInWorker(spec: RunSpec, onEvent: (e: RunEvent) => void): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: spec });
    let result: RunResult | null = null;
    w.on('message', (m: FromRunWorker) => {
      if (m.type === 'error') reject(Object.assign(new Error(m.message), { input: m.input }));
      else {
        if (m.type === 'done') result = m.result;
        onEvent(m);
      }
    });
    w.on('error', reject);
    w.on('exit', (code) => (result ? resolve(result) : reject(new Error(`study run ${runName(spec.format, spec.seed)} stopped (exit ${code})`))));
  });
}

if (!isMainThread && (workerData as RunSpec | undefined)?.format !== undefined && parentPort) {
  const port = parentPort;
  executeRun(workerData as RunSpec, (e) => port.postMessage(e)).then(
    () => process.exit(0),
    (e: unknown) => { port.postMessage({ type: 'error', message: (e as Error).message, input: isInputError(e) }); process.exit(1); },
  );
}

/** What a study run needs besides its format and seed. */
export type StudyCommon = Omit<RunSpec, 'outDir' | 'format' | 'seed'>;

/** Progress of a study: where it starts (runs already done), then after every run event. */
export type StudyEvent = { type: 'start'; done: number; total: number } | { type: 'progress'; done: number; total: number; active: string[] };

/** The runs (names) of a plan that shard `shard` makes: a block of them, seed by seed, formats in order (all without a shard). */
export function shardRuns(plan: Pick<StudyPlan, 'formats' | 'seeds'>, shard?: Shard): string[] {
  return shardSlice(plan.seeds.flatMap((seed) => plan.formats.map((format) => runName(format, seed))), shard);
}

/**
 * Run every pending run of `plan` (a resumed study skips finished ones), `jobs` at a time, each on
 * its own worker thread; the report is rewritten after every finished run. Failed runs are
 * returned, not thrown: the others go on. `shard` (array jobs) takes a contiguous block of the
 * plan's runs (seed by seed, formats in order); N shards writing into one folder make every run once,
 * and a last call without a shard, every run done, writes the whole report.
 */
export async function runStudy(plan: StudyPlan, common: StudyCommon, jobs: number, onEvent: (e: StudyEvent) => void = () => {}, shard?: Shard): Promise<{ failures: string[] }> {
  const mine = shardRuns(plan, shard);
  const todo = pendingRuns(plan).filter((r) => mine.includes(runName(r.format, r.seed)));
  const total = mine.length;
  let done = total - todo.length;
  onEvent({ type: 'start', done, total });
  const failures: string[] = [];
  const queue = [...todo];
  const active = new Map<string, string>();
  const worker = async (): Promise<void> => {
    for (let r = queue.shift(); r; r = queue.shift()) {
      try {
        await executeRunInWorker({ ...common, outDir: plan.outDir, format: r.format, seed: r.seed }, (e) => {
          if (e.type === 'progress') active.set(e.run, `${e.run} ${e.epoch + 1}/${e.epochs}:${e.step}/${e.steps}`);
          else active.delete(e.run);
          onEvent({ type: 'progress', done, total, active: [...active.values()] });
        });
        done++;
        onEvent({ type: 'progress', done, total, active: [...active.values()] });
        writeReport(plan, loadResults(plan), CLASS_NAMES);
      } catch (e) {
        failures.push(`${r.format}-s${r.seed}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, jobs), Math.max(1, todo.length)) }, worker));
  return { failures };
}
