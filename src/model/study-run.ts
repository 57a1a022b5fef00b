/**
 * One run of the channel study: train a model for (format, seed) on the study's data, evaluate it
 * on the held-out set (and a labelled real set when given), and save its result. Also the
 * worker-thread entry that runs it, so `--jobs 2` keeps both cores training (one wasm instance
 * per thread).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { ChannelFormat } from '../data/channels.js';
import { isInputError } from '../io/errors.js';
import { evaluateDataset, scoreRows, type EvalReport } from './evaluate.js';
import { loadTrainedModel } from './predict.js';
import { DEFAULT_TRAIN_CONFIG, train, type TrainConfig } from './train.js';
import { runName, saveResult, type RunResult, type StudyScores } from './study.js';
import type { NetworkVariant } from './network.js';

export interface StudyBudget {
  readonly epochs: number;
  readonly batch: number;
  readonly lr: number;
  readonly arch: NetworkVariant;
  readonly valFraction: number;
}

export interface RunSpec {
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

/** Train (resuming a checkpoint if one is there), evaluate, save the result. */
export async function executeRun(spec: RunSpec, onEvent: (e: RunEvent) => void = () => {}): Promise<RunResult> {
  const name = runName(spec.format, spec.seed);
  const modelDir = path.join(spec.outDir, 'runs', name);
  const t0 = Date.now();
  const resume = fs.existsSync(path.join(modelDir, 'checkpoint'));
  const res = await train({
    outDir: modelDir, config: runConfig(spec), resume, workers: 0,
    onEvent: (e) => {
      if (e.type === 'step') onEvent({ type: 'progress', run: name, epoch: e.epoch, epochs: spec.budget.epochs, step: e.step, steps: e.stepsPerEpoch });
    },
  });
  const tm = await loadTrainedModel(modelDir);
  try {
    const test = toScores(scoreRows(await evaluateDataset(tm, spec.testDir, { workers: 0 })));
    const real = spec.realDir ? toScores(scoreRows(await evaluateDataset(tm, spec.realDir, { workers: 0 }))) : undefined;
    const result: RunResult = {
      format: spec.format, seed: spec.seed, test, real,
      trainSeconds: res.state.elapsedSeconds ?? (Date.now() - t0) / 1000, imagesSeen: res.state.imagesSeen,
    };
    saveResult(spec.outDir, result);
    onEvent({ type: 'done', run: name, result });
    return result;
  } finally {
    tm.model.dispose();
  }
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
