/** `caldera train`: train the two-headed network on a dataset or on synthetic data made on the fly. */
import { InputError } from '../core/errors.js';
import { parseChannelFormat } from '../data/channels.js';
import type { WeightedTerrain } from '../data/feeder.js';
import { DEFAULT_TRAIN_CONFIG, RunExistsError, train, type TrainConfig, type TrainEvent, type TrainSourceConfig } from '../train/train.js';
import type { NetworkVariant } from '../engine/network.js';
import { bool, list, num, numArg, requireNum, requireStr, str, strArg, type Parsed } from './args.js';
import { command } from './command.js';
import { progressBar, type ProgressBar } from './progress.js';
import { parseClassList } from '../core/classes.js';

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
  resume: { type: 'boolean', help: 'continue the run in --out from its last checkpoint' },
  init: { type: 'string', help: "start from a trained model's weights (fine-tuning; new optimizer and schedule)", value: 'MODEL_DIR' },
  workers: { type: 'int', help: 'data feeder threads (the training itself uses one core)', default: 1 },
  artefacts: { type: 'boolean', help: 'on the fly: add real-product artefacts (unwrapping errors, decorrelation noise, long-wavelength atmosphere)' },
  ramps: { type: 'number', help: 'on the fly: orbital ramps up to this max |value| (m)', default: 0, value: 'M' },
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
  return {
    kind: 'synthetic', terrains, classes: parseClassList(list(p, 'classes')), seed,
    valSeed: (num(p, 'val-seed') ?? seed + 1000), valCount: numArg(p, 'val-count'),
    stepsPerEpoch: numArg(p, 'steps-per-epoch'),
    ...(bool(p, 'artefacts') || (numArg(p, 'ramps')) > 0
      ? { scene: { ...(bool(p, 'artefacts') ? { artefacts: {} } : {}), ...((numArg(p, 'ramps')) > 0 ? { rampMaxM: num(p, 'ramps')! } : {}) } }
      : {}),
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

export async function runTrain(p: Parsed): Promise<number> {
  const out = requireStr(p, 'out');
  const config = configFromFlags(p);
  const commandLine = ['caldera', ...process.argv.slice(2)].map((a) => (/[^\w./,:=+-]/.test(a) ? `'${a}'` : a)).join(' ');
  const r = await train({ outDir: out, config, resume: bool(p, 'resume'), workers: numArg(p, 'workers'), onEvent: reporter(bool(p, 'quiet')), command: commandLine })
    .catch((e: unknown) => {
      throw e instanceof RunExistsError ? new InputError(`${e.message} (pass --resume to continue it, or another --out)`) : e;
    });
  const last = r.state.history[r.state.history.length - 1];
  process.stdout.write(`${out}: ${r.state.epoch} epochs, ${r.state.imagesSeen} images, ${(r.state.elapsedSeconds / 60).toFixed(1)} min` +
    (last ? `; validation accuracy ${f3(last.valAccuracy)}, median centre error ${last.valCentreErrorMedianPx.toFixed(1)} px` : '') + '\n');
  return 0;
}

export const trainCommand = command('train', 'train the network (dataset or synthetic data on the fly); checkpoints every epoch, --resume after a kill',
  '(--data DIR | --synthetic-on-the-fly [--dem-dir D]) --out DIR [options]', trainFlags, runTrain);
