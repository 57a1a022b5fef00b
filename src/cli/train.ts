/** `caldera train`: train the two-headed network on a dataset or on synthetic data made on the fly. */
import { InputError } from '../core/errors.js';
import { parseChannelFormat } from '../data/channels.js';
import type { WeightedTerrain } from '../data/feeder.js';
import * as path from 'node:path';
import { configDifferences, DEFAULT_TRAIN_CONFIG, readRunConfig, RunExistsError, train, type TrainConfig, type TrainEvent, type TrainSourceConfig } from '../train/train.js';
import type { NetworkVariant } from '../engine/network.js';
import { bool, list, num, numArg, parseArgs, requireNum, requireStr, str, strArg, type FlagValue, type Parsed } from './args.js';
import { command } from './command.js';
import { progressBar, type ProgressBar } from './progress.js';
import { parseClassList } from '../core/classes.js';
import { readSceneMix } from '../data/feeder.js';
import type { SceneConfig } from '../synth/scene.js';
import { threadsOf } from './engine.js';

export const trainFlags = {
  data: { type: 'string', help: 'a dataset made by caldera synth', value: 'DIR' },
  'synthetic-on-the-fly': { type: 'boolean', help: 'generate synthetic scenes while training instead of reading --data' },
  'dem-dir': { type: 'string', help: 'on the fly: SRTM .hgt tiles for real terrain (else procedural only)', value: 'DIR' },
  volcanoes: { type: 'list', help: 'on the fly: volcanoes to train on (default: all the DEM covers)', value: 'A,B' },
  real: { type: 'string', help: 'a labelled real dataset (caldera label) to mix into training, augmented', value: 'DIR' },
  'real-fraction': { type: 'number', help: 'with --real: share of training examples that are real', default: 0.1, value: 'F' },
  'procedural-share': { type: 'number', help: 'on the fly with --dem-dir: share of scenes on procedural terrain', default: 0.3, value: 'P' },
  classes: { type: 'list', help: 'on the fly: classes, in equal numbers', value: 'LIST' },
  'steps-per-epoch': { type: 'int', help: 'on the fly: batches per epoch', default: 200, value: 'N' },
  'val-count': { type: 'int', help: 'on the fly: size of the fixed validation set', default: 300, value: 'N' },
  'val-seed': { type: 'int', help: 'on the fly: seed of the validation scenes (default: seed + 1000)', value: 'S' },
  'val-fraction': { type: 'number', help: 'with --data: last share of the samples held out for validation', default: 0.1, value: 'F' },
  out: { type: 'string', help: 'run directory: model, checkpoint, train.log.jsonl, curves.png', value: 'DIR' },
  epochs: { type: 'int', help: 'epochs', default: DEFAULT_TRAIN_CONFIG.epochs },
  batch: { type: 'int', help: 'batch size', default: DEFAULT_TRAIN_CONFIG.batch },
  channels: { type: 'string', help: 'channel format (w www u uuu wwd uud rid wc wwc)', default: 'w', value: 'FORMAT' },
  arch: { type: 'string', help: 'network: default or tiny', default: DEFAULT_TRAIN_CONFIG.arch, value: 'NAME' },
  lr: { type: 'number', help: 'peak learning rate (Adam)', default: DEFAULT_TRAIN_CONFIG.lr },
  'lr-schedule': { type: 'string', help: 'cosine or constant (after a linear warm-up)', default: DEFAULT_TRAIN_CONFIG.lrSchedule, value: 'NAME' },
  warmup: { type: 'int', help: 'warm-up steps', default: DEFAULT_TRAIN_CONFIG.warmupSteps, value: 'N' },
  'class-weight': { type: 'number', help: 'weight of the classification loss', default: DEFAULT_TRAIN_CONFIG.classWeight },
  'box-weight': { type: 'number', help: 'weight of the (masked) box loss', default: DEFAULT_TRAIN_CONFIG.boxWeight },
  'incoherent-random': { type: 'number', help: 'share of examples showing incoherent pixels as random phase', default: DEFAULT_TRAIN_CONFIG.incoherentRandom, value: 'P' },
  seed: { type: 'int', help: 'seed of the weights, the data order and the scenes', default: DEFAULT_TRAIN_CONFIG.seed },
  resume: { type: 'boolean', help: 'continue the run in --out from its last checkpoint with its own options (stored there); only --epochs may change' },
  init: { type: 'string', help: "start from a trained model's weights (fine-tuning; new optimizer and schedule)", value: 'MODEL_DIR' },
  workers: { type: 'int', help: 'data feeder threads (the training itself uses one core)', default: 1 },
  artefacts: { type: 'boolean', help: 'on the fly: add real-product artefacts (unwrapping errors, decorrelation noise, long-wavelength atmosphere)' },
  ramps: { type: 'number', help: 'on the fly: orbital ramps up to this max |value| (m)', default: 0, value: 'M' },
  decorrelation: { type: 'string', help: "on the fly: 'products' renders low coherence as real products show it (noise, masks at various thresholds)", value: 'off|products' },
  domain: { type: 'string', help: "on the fly: 'randomised' draws incidence, heading, pixel size, spectra, source sizes per scene", value: 'caldera|randomised' },
  scenes: { type: 'string', help: 'on the fly: a JSON list [{"scene": {...}, "weight": w}] of scene settings to mix (instead of the flags above)', value: 'FILE' },
  stretch: { type: 'number', help: 'with --pool: stretch half of the examples along one axis by up to this factor (non-square pixels of lon/lat grids given as plain arrays; e.g. 1.45)', value: 'MAX' },
  pool: { type: 'int', help: 'on the fly: make this many scenes once and train on them under flips and signs (for a trainer faster than synthesis)', value: 'N' },
  engine: { type: 'string', help: "what runs the training step: 'onnx' (ONNX Runtime, all cores) or 'tfjs' (wasm, one core)", default: 'onnx', value: 'onnx|tfjs' },
  threads: { type: 'int', help: 'ONNX Runtime threads (default: all cores)', value: 'N' },
  quiet: { type: 'boolean', help: 'no progress bar' },
} as const;

function sourceFromFlags(p: Parsed, seed: number): TrainSourceConfig {
  const data = str(p, 'data');
  const onTheFly = bool(p, 'synthetic-on-the-fly');
  if (data && onTheFly) throw new InputError('give --data or --synthetic-on-the-fly, not both');
  if (!data && !onTheFly) throw new InputError('give --data DIR or --synthetic-on-the-fly');
  if (data) {
    for (const f of ['dem-dir', 'volcanoes']) if (p.flags[f] !== undefined) throw new InputError(`--${f} is for --synthetic-on-the-fly`);
    return { kind: 'dataset', dir: data, valFraction: numArg(p, 'val-fraction') };
  }
  const demDir = str(p, 'dem-dir');
  const volcanoes = list(p, 'volcanoes');
  if (volcanoes && !demDir) throw new InputError('--volcanoes needs --dem-dir');
  const share = numArg(p, 'procedural-share');
  if (!(share >= 0 && share <= 1)) throw new InputError(`--procedural-share must be in [0, 1], got ${share}`);
  const terrains: WeightedTerrain[] = [];
  if (demDir) {
    if (share < 1) terrains.push({ spec: { kind: 'srtm', path: demDir, ...(volcanoes ? { volcanoes } : {}) }, weight: 1 - share });
    if (share > 0) terrains.push({ spec: { kind: 'procedural' }, weight: share });
  } else {
    terrains.push({ spec: { kind: 'procedural' }, weight: 1 });
  }
  const scene = sceneFromFlags(p);
  const scenesFile = str(p, 'scenes');
  if (scenesFile && Object.keys(scene).length > 0) throw new InputError('give --scenes FILE or the scene flags (--artefacts, --ramps, --decorrelation, --domain), not both');
  const pool = num(p, 'pool');
  if (pool !== undefined && !(Number.isInteger(pool) && pool >= 1)) throw new InputError(`--pool must be a positive whole number, got ${pool}`);
  const stretch = num(p, 'stretch');
  if (stretch !== undefined && pool === undefined) throw new InputError('--stretch needs --pool (it stretches pool examples)');
  if (stretch !== undefined && !(stretch >= 1 && stretch <= 2)) throw new InputError(`--stretch must be between 1 and 2, got ${stretch}`);
  return {
    kind: 'synthetic', terrains, classes: parseClassList(list(p, 'classes')), seed,
    valSeed: (num(p, 'val-seed') ?? seed + 1000), valCount: numArg(p, 'val-count'),
    stepsPerEpoch: numArg(p, 'steps-per-epoch'),
    ...(Object.keys(scene).length > 0 ? { scene } : {}),
    ...(scenesFile ? { scenes: readSceneMix(scenesFile) } : {}),
    ...(pool !== undefined ? { poolSize: pool } : {}),
    ...(stretch !== undefined && stretch > 1 ? { poolStretch: stretch } : {}),
  };
}

function sceneFromFlags(p: Parsed): Partial<SceneConfig> {
  const decorrelation = str(p, 'decorrelation'), domain = str(p, 'domain');
  if (decorrelation !== undefined && decorrelation !== 'off' && decorrelation !== 'products') throw new InputError(`--decorrelation must be off or products, got '${decorrelation}'`);
  if (domain !== undefined && domain !== 'caldera' && domain !== 'randomised') throw new InputError(`--domain must be caldera or randomised, got '${domain}'`);
  const ramps = numArg(p, 'ramps');
  return {
    ...(bool(p, 'artefacts') ? { artefacts: {} } : {}), ...(ramps > 0 ? { rampMaxM: ramps } : {}),
    ...(decorrelation && decorrelation !== 'off' ? { decorrelation } : {}), ...(domain && domain !== 'caldera' ? { domain } : {}),
  };
}

export function configFromFlags(p: Parsed): TrainConfig {
  const seed = numArg(p, 'seed');
  const arch = strArg(p, 'arch');
  if (arch !== 'default' && arch !== 'small' && arch !== 'tiny') throw new InputError(`--arch must be default, small or tiny, got '${arch}'`);
  const schedule = strArg(p, 'lr-schedule');
  if (schedule !== 'cosine' && schedule !== 'constant') throw new InputError(`--lr-schedule must be cosine or constant, got '${schedule}'`);
  let format;
  try {
    format = parseChannelFormat(strArg(p, 'channels'));
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  return {
    ...DEFAULT_TRAIN_CONFIG,
    source: sourceFromFlags(p, seed),
    format, arch: arch as NetworkVariant,
    epochs: requireNum(p, 'epochs'), batch: requireNum(p, 'batch'), lr: requireNum(p, 'lr'),
    lrSchedule: schedule, warmupSteps: numArg(p, 'warmup'),
    classWeight: requireNum(p, 'class-weight'), boxWeight: requireNum(p, 'box-weight'), seed,
    incoherentRandom: requireNum(p, 'incoherent-random'),
    ...(str(p, 'init') ? { init: str(p, 'init') } : {}),
    ...(str(p, 'real') ? { real: { dir: str(p, 'real')!, fraction: numArg(p, 'real-fraction') } } : {}),
  };
}

/** Flags that do not change what a run computes: free on --resume. */
const RUN_FLAGS = new Set(['out', 'resume', 'epochs', 'workers', 'engine', 'threads', 'quiet']);
/** Path flags that the run stores resolved (train.ts normaliseConfig). */
const RESOLVED_PATHS = ['data', 'dem-dir', 'init'];

/**
 * The command-line options that give `c` (the inverse of configFromFlags), or null when `c` has
 * settings no flag gives (a --scenes mixture, scene settings beyond the flags): then a resume
 * takes no options but --epochs.
 */
export function configToArgv(c: TrainConfig): string[] | null {
  const a: string[] = [];
  const src = c.source;
  if (src.kind === 'dataset') {
    a.push('--data', src.dir, '--val-fraction', String(src.valFraction));
  } else {
    if (src.scenes) return null;
    a.push('--synthetic-on-the-fly');
    const dem = src.terrains.find((t) => t.spec.kind !== 'procedural');
    const proc = src.terrains.find((t) => t.spec.kind === 'procedural');
    if (dem && dem.spec.kind !== 'procedural') {
      a.push('--dem-dir', dem.spec.path, '--procedural-share', String(proc ? proc.weight : 0));
      if (dem.spec.volcanoes) a.push('--volcanoes', dem.spec.volcanoes.join(','));
    }
    a.push('--classes', src.classes.join(','), '--steps-per-epoch', String(src.stepsPerEpoch), '--val-count', String(src.valCount), '--val-seed', String(src.valSeed));
    if (src.poolSize !== undefined) a.push('--pool', String(src.poolSize));
    if (src.poolStretch !== undefined) a.push('--stretch', String(src.poolStretch));
    const { artefacts, rampMaxM, decorrelation, domain, ...rest } = src.scene ?? {};
    if (Object.keys(rest).length > 0 || artefacts === null || (artefacts !== undefined && Object.keys(artefacts).length > 0)) return null;
    if (artefacts) a.push('--artefacts');
    if (rampMaxM !== undefined) a.push('--ramps', String(rampMaxM));
    if (decorrelation !== undefined) a.push('--decorrelation', String(decorrelation));
    if (domain !== undefined) a.push('--domain', String(domain));
  }
  a.push('--channels', c.format, '--arch', c.arch, '--epochs', String(c.epochs), '--batch', String(c.batch), '--lr', String(c.lr),
    '--lr-schedule', c.lrSchedule, '--warmup', String(c.warmupSteps), '--class-weight', String(c.classWeight), '--box-weight', String(c.boxWeight),
    '--seed', String(c.seed), '--incoherent-random', String(c.incoherentRandom));
  if (c.init) a.push('--init', c.init);
  if (c.real) a.push('--real', c.real.dir, '--real-fraction', String(c.real.fraction));
  return a;
}

/**
 * The configuration of `--resume`: the run's own (stored in its checkpoint), with --epochs if
 * given; any other option given must agree with it (InputError naming the difference). Without a
 * checkpoint (no epoch finished yet), the options of the command line as for a fresh start.
 */
export function resumeConfig(p: Parsed, out: string): TrainConfig {
  const stored = readRunConfig(out);
  const given = [...(p.given ?? [])].filter((f) => !RUN_FLAGS.has(f));
  const epochs = p.given?.has('epochs') ? numArg(p, 'epochs') : undefined;
  if (!stored) {
    if (str(p, 'data') === undefined && !bool(p, 'synthetic-on-the-fly')) {
      throw new InputError(`${out}: no checkpoint to resume (no epoch has finished there); start the run with its options (--data DIR or --synthetic-on-the-fly ...)`);
    }
    return configFromFlags(p);
  }
  const withEpochs = (c: TrainConfig): TrainConfig => ({ ...c, epochs: epochs ?? stored.epochs });
  if (given.length === 0) return withEpochs(stored);
  const argv = configToArgv(stored);
  const back = argv ? configFromFlags(parseArgs(argv, trainFlags)) : null;
  if (!argv || !back || configDifferences(stored, back).length > 0) {
    throw new InputError(`${out}: this run's settings are not all command-line options (a --scenes mixture?); resume it with --out and --resume alone (and --epochs), not --${given.join(', --')}`);
  }
  // The run's options, with those given now on top; paths resolved as the run stores them.
  const storedFlags = parseArgs(argv, trainFlags).flags;
  const flags: Record<string, FlagValue> = { ...storedFlags };
  for (const f of given) {
    const v = p.flags[f];
    flags[f] = RESOLVED_PATHS.includes(f) && typeof v === 'string' ? path.resolve(v) : v;
  }
  // Switching the data source: the other source's flags go.
  if (p.given?.has('data') && !p.given.has('synthetic-on-the-fly')) delete flags['synthetic-on-the-fly'];
  if (p.given?.has('synthetic-on-the-fly') && !p.given.has('data')) delete flags['data'];
  let asked: TrainConfig;
  try {
    asked = configFromFlags({ flags, positionals: [] });
  } catch (e) {
    throw new InputError(`${out}: --resume with options that do not fit the run (${(e as Error).message}); --out and --resume alone continue it with its own options`, { cause: e });
  }
  const diffs = configDifferences(stored, asked);
  if (diffs.length > 0) {
    throw new InputError(`${out}: --resume with options that differ from the run's (${diffs.join('; ')}); ` +
      'give --out and --resume alone (only --epochs may change), or another --out for a new run');
  }
  return withEpochs(stored);
}

const f3 = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : '-');

/** Progress reporting for train events (stderr). */
function reporter(quiet: boolean): (e: TrainEvent) => void {
  let bar: ProgressBar | null = null;
  let epochs = 0;
  return (e) => {
    if (e.type === 'start') {
      epochs = e.epochs;
      if (e.resumedAtEpoch > 0) process.stderr.write(`resuming after epoch ${e.resumedAtEpoch}\n`);
      process.stderr.write(`${e.trainCount ?? 'new'} training samples${e.trainCount === null ? ' every epoch' : ''}, ${e.valCount} for validation; ${e.stepsPerEpoch} steps per epoch\n`);
    } else if (e.type === 'pool') {
      if (e.done === 0 || !bar) bar = progressBar('pool', e.total, { unit: 'scene', quiet });
      bar.update(e.done);
      if (e.done >= e.total) { if (process.stderr.isTTY) bar.finish(); bar = null; }
    } else if (e.type === 'step') {
      if (e.step === 1) bar = progressBar(`epoch ${e.epoch + 1}/${epochs}`, e.stepsPerEpoch, { unit: 'step', quiet });
      bar?.update(e.step, `loss ${f3(e.loss)} acc ${f3(e.accuracy)}`);
    } else if (e.type === 'validating') {
      if (process.stderr.isTTY) bar?.finish(); // off a terminal the last update already printed the line
      bar = null;
    } else if (e.type === 'epoch') {
      const r = e.record;
      process.stderr.write(`epoch ${r.epoch}/${epochs}: loss ${f3(r.trainLoss)} acc ${f3(r.trainAccuracy)} | val loss ${f3(r.valLoss)} acc ${f3(r.valAccuracy)} ` +
        `(negated ${f3(r.valAccuracyNegated)}) centre ${r.valCentreErrorMedianPx.toFixed(1)} px IoU ${f3(r.valIoUMean)} | ${r.trainImgPerS.toFixed(1)} img/s, ${r.seconds.toFixed(0)} s\n`);
    }
  };
}

/**
 * Ctrl-C (SIGINT) during training: stop at once between checkpoints (the epoch in progress is
 * lost), or right after the checkpoint being written; say how to continue. A second Ctrl-C stops
 * at once. Exit status 130 (128 + SIGINT). Returns a function that removes the handler.
 */
function onInterrupt(out: string, progress: { epoch: number; saving: boolean }): { dispose: () => void; epochDone: () => void } {
  let asked = false;
  const resume = `caldera train --out ${/[^\w./,:=+-]/.test(out) ? `'${out}'` : out} --resume`;
  const stop = (): never => {
    const where = progress.epoch > 0
      ? `stopped after epoch ${progress.epoch}, its last checkpoint; continue with: ${resume}`
      : 'stopped before the first epoch finished: nothing to resume; run the same command again';
    process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : '\n'}caldera train: interrupted: ${where}\n`);
    process.exit(130);
  };
  const handler = (): void => {
    if (asked || !progress.saving) stop();
    asked = true;
    process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : '\n'}caldera train: interrupted: finishing the checkpoint of epoch ${progress.epoch + 1} (Ctrl-C again to stop now)\n`);
  };
  process.on('SIGINT', handler);
  return {
    dispose: () => { process.removeListener('SIGINT', handler); },
    epochDone: () => { if (asked) stop(); },
  };
}

export async function runTrain(p: Parsed): Promise<number> {
  const out = requireStr(p, 'out');
  const resume = bool(p, 'resume');
  const config = resume ? resumeConfig(p, out) : configFromFlags(p);
  const commandLine = ['caldera', ...process.argv.slice(2)].map((a) => (/[^\w./,:=+-]/.test(a) ? `'${a}'` : a)).join(' ');
  const engine = strArg(p, 'engine');
  if (engine !== 'onnx' && engine !== 'tfjs') throw new InputError(`--engine must be onnx or tfjs, got '${engine}'`);
  const progress = { epoch: 0, saving: false };
  const interrupt = onInterrupt(out, progress);
  const report = reporter(bool(p, 'quiet'));
  const r = await train({
    outDir: out, config, resume, workers: numArg(p, 'workers'), command: commandLine, engine, ...threadsOf(p),
    onEvent: (e) => {
      if (e.type === 'start') progress.epoch = e.resumedAtEpoch;
      else if (e.type === 'validating') progress.saving = true;
      report(e);
      if (e.type === 'epoch') {
        progress.epoch = e.record.epoch;
        progress.saving = false;
        interrupt.epochDone();
      }
    },
  })
    .catch((e: unknown) => {
      throw e instanceof RunExistsError ? new InputError(`${e.message} (pass --resume to continue it, or another --out)`) : e;
    })
    .finally(() => interrupt.dispose());
  const last = r.state.history[r.state.history.length - 1];
  process.stdout.write(`${out}: ${r.state.epoch} epochs, ${r.state.imagesSeen} images, ${(r.state.elapsedSeconds / 60).toFixed(1)} min` +
    (last ? `; validation accuracy ${f3(last.valAccuracy)}, median centre error ${last.valCentreErrorMedianPx.toFixed(1)} px` : '') + '\n');
  return 0;
}

export const trainCommand = command('train', 'train the network (dataset or synthetic data on the fly); checkpoints every epoch, --resume after a kill',
  '(--data DIR | --synthetic-on-the-fly [--dem-dir D]) --out DIR [options]   |   --out DIR --resume [--epochs N]', trainFlags, runTrain);
