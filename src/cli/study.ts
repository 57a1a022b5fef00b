/** `caldera study channels`: the channel study (issue 5; Gaddes et al. 2021, Fig. 7). */
import * as fs from 'node:fs';
import { parseChannelFormat, type ChannelFormat } from '../data/channels.js';
import { readManifest } from '../data/dataset.js';
import { listSamples, realFormatProblem } from '../data/real.js';
import { InputError } from '../core/errors.js';
import { runStudy, type StudyBudget } from '../study/study-run.js';
import { sensitivityStudy } from '../study/sensitivity-study.js';
import { engineOf } from './engine.js';
import { terrainFromFlags } from './terrain.js';
import { loadResults, writeReport, type StudyPlan } from '../study/study.js';
import { CLASS_NAMES } from '../core/classes.js';
import { bool, list, listArg, num, numArg, requireStr, str, strArg, type Parsed } from './args.js';
import { command } from './command.js';
import { progressBar } from './progress.js';
import { shardFlag, shardOf } from './shard.js';

const STUDY_FORMATS: readonly ChannelFormat[] = ['uuu', 'uud', 'www', 'wwd', 'rid', 'u', 'w'];

function formatsFor(p: Parsed, dataDir: string): ChannelFormat[] {
  const asked = list(p, 'formats');
  if (asked) return asked.map(parseChannelFormat);
  // Add a coherence format when the data has coherence (synthetic datasets always do).
  const base = bool(p, 'quick') ? (['www', 'wwd', 'w'] as ChannelFormat[]) : [...STUDY_FORMATS];
  readManifest(dataDir);
  return bool(p, 'quick') ? base : [...base, 'wc'];
}

export const studyCommand = command('study', 'the channel study (one model per channel format, same data, budget and seeds) or the sensitivity study (detection against peak displacement, atmosphere, mask, size, class); a report',
  'channels --data DIR --test DIR --out DIR [options]\n       caldera study sensitivity [--model DIR] --out DIR [--quick] [--scenes N] [--dem-dir DIR --volcanoes LIST]', {
  data: { type: 'string', help: 'training dataset (caldera synth); the last --val-fraction is validation', value: 'DIR' },
  test: { type: 'string', help: 'held-out test dataset (other seed, other volcanoes)', value: 'DIR' },
  real: { type: 'string', help: 'a labelled real dataset (caldera label) to score every model on too', value: 'DIR' },
  out: { type: 'string', help: 'report folder (resumes a killed study)', value: 'DIR' },
  formats: { type: 'list', help: `channel formats (default ${STUDY_FORMATS.join(',')},wc)`, value: 'LIST' },
  seeds: { type: 'list', help: 'seeds per format', default: ['1', '2'], value: 'LIST' },
  epochs: { type: 'int', help: 'epochs per run', default: 3 },
  batch: { type: 'int', help: 'batch size', default: 16 },
  lr: { type: 'number', help: 'peak learning rate', default: 1e-3 },
  arch: { type: 'string', help: 'network: default, small (half width) or tiny', default: 'small' },
  'val-fraction': { type: 'number', help: 'validation share of --data', default: 0.1 },
  jobs: { type: 'int', help: 'runs at once (one core each)', default: 2 },
  quick: { type: 'boolean', help: 'smoke run (channels: formats www,wwd,w, one seed, one epoch, tiny network; sensitivity: 3 peaks, 3 atmospheres, a few scenes per point)' },
  model: { type: 'string', help: "sensitivity: the model (a directory, an .onnx file or 'stand-in')", default: 'models/default', value: 'DIR' },
  scenes: { type: 'int', help: 'sensitivity: scenes per point of the main grid (default 1100; 2 with --quick)' },
  seed: { type: 'int', help: 'sensitivity: random seed of the scenes', default: 13 },
  'dem-dir': { type: 'string', help: 'sensitivity: SRTM .hgt tiles for the terrain (default: procedural terrain)', value: 'DIR' },
  dem: { type: 'string', help: 'sensitivity: a GeoTIFF DEM for the terrain', value: 'FILE' },
  volcanoes: { type: 'list', help: 'sensitivity: volcanoes to cut DEM regions around (default: every bundled one the DEM covers)', value: 'LIST' },
  engine: { type: 'string', help: "sensitivity: what runs the network, 'onnx' or 'tfjs'", default: 'onnx', value: 'onnx|tfjs' },
  backbone: { type: 'string', help: "scratch (caldera's network) or vgg16 (the paper's transfer path; 3-channel formats)", default: 'scratch', value: 'KIND' },
  'backbone-weights': { type: 'string', help: 'VGG16 weights in the tfjs layers format (Keras ImageNet, converted); random init without', value: 'DIR' },
  findings: { type: 'string', help: 'a markdown file whose text goes into the report as its findings', value: 'FILE' },
  shard: { ...shardFlag, help: 'array jobs: only runs block K of N (K from 0), every shard with the same --out; rerun without --shard at the end for the whole report' },
}, async (p: Parsed) => {
  const [what, ...rest] = p.positionals;
  if (what === 'sensitivity' && rest.length === 0) return sensitivity(p);
  if (what !== 'channels' || rest.length > 0) throw new InputError("usage: caldera study channels --data DIR --test DIR --out DIR, or caldera study sensitivity --out DIR");
  const dataDir = requireStr(p, 'data'), testDir = requireStr(p, 'test'), outDir = requireStr(p, 'out');
  const quick = bool(p, 'quick');
  const formats = formatsFor(p, dataDir);
  const realDir = str(p, 'real');
  if (realDir) {
    // Scoring on the real set comes after each run's training: check every format can be scored first.
    const metas = listSamples(realDir);
    if (metas.length === 0) throw new InputError(`--real ${realDir}: the labelled real dataset has no samples`);
    const bad = formats.map((f) => [f, realFormatProblem(metas, f)] as const).filter(([, why]) => why !== null);
    if (bad.length) {
      const ok = formats.filter((f) => !bad.some(([b]) => b === f));
      throw new InputError(`--real ${realDir} cannot score format${bad.length > 1 ? 's' : ''} ${bad.map(([f]) => f).join(', ')} (${bad[0]![1]}); ` +
        `${ok.length ? `give --formats ${ok.join(',')}` : 'give formats its samples can feed'}, or leave out --real`);
    }
  }
  readManifest(testDir);
  const seeds = (quick ? ['1'] : listArg(p, 'seeds')).map((s) => {
    const v = Number(s);
    if (!Number.isInteger(v)) throw new InputError(`--seeds expects whole numbers, got '${s}'`);
    return v;
  });
  const arch = quick ? 'tiny' : strArg(p, 'arch');
  if (arch !== 'default' && arch !== 'small' && arch !== 'tiny') throw new InputError(`--arch must be default, small or tiny, got '${arch}'`);
  const budget: StudyBudget = {
    epochs: quick ? 1 : numArg(p, 'epochs'), batch: numArg(p, 'batch'), lr: numArg(p, 'lr'), arch,
    valFraction: numArg(p, 'val-fraction'),
  };
  const jobs = Math.max(1, numArg(p, 'jobs'));
  const backbone = strArg(p, 'backbone');
  if (backbone !== 'scratch' && backbone !== 'vgg16') throw new InputError(`--backbone must be scratch or vgg16, got '${backbone}'`);
  const backboneWeights = str(p, 'backbone-weights');
  if (backbone === 'vgg16') {
    const bad = formats.filter((f) => f.length !== 3);
    if (bad.length) throw new InputError(`--backbone vgg16 takes 3-channel formats; drop ${bad.join(', ')}`);
  }
  const command = ['npx caldera study channels', `--data ${dataDir}`, `--test ${testDir}`, ...(realDir ? [`--real ${realDir}`] : []), `--out ${outDir}`,
    `--formats ${formats.join(',')}`, `--seeds ${seeds.join(',')}`, `--epochs ${budget.epochs}`, `--batch ${budget.batch}`, `--lr ${budget.lr}`, `--arch ${arch}`, `--jobs ${jobs}`, ...(backbone === 'vgg16' ? [`--backbone vgg16${backboneWeights ? ` --backbone-weights ${backboneWeights}` : ''}`] : [])].join(' \\\n    ');
  const dm = readManifest(dataDir), tm = readManifest(testDir);
  const describe = (m: typeof dm): string => `${m.settings.count} scenes, seed ${m.settings.seed}, ${m.settings.dem.kind === 'procedural' ? 'procedural terrain' : `SRTM3 around ${m.settings.dem.volcanoes.join(', ')}`}`;
  const plan: StudyPlan = {
    formats, seeds, outDir, command,
    description: [
      backbone === 'vgg16'
        ? `Every model: the paper's transfer path - a VGG16 base (${backboneWeights ? `weights from ${backboneWeights}` : 'random init: no ImageNet weights given'}), heads trained on cached bottleneck features for ${budget.epochs} epochs, then block 5 fine-tuned for 1 epoch - on the same training set (${describe(dm)}; ${Math.round(budget.valFraction * 100)} % held for validation).`
        : `Every model: the \`${arch}\` network trained from scratch for ${budget.epochs} epochs (batch ${budget.batch}, Adam, peak learning rate ${budget.lr}, cosine schedule), phase sign flipped at random, on the same training set (${describe(dm)}; ${Math.round(budget.valFraction * 100)} % held for validation).`,
      `Test set: ${describe(tm)}.`,
    ].join('\n\n'),
  };
  const total = formats.length * seeds.length;
  let bar: ReturnType<typeof progressBar> | null = null;
  const { failures } = await runStudy(plan, { dataDir, testDir, realDir, budget, backbone, backboneWeights }, jobs, (e) => {
    if (e.type === 'start') {
      process.stderr.write(`study: ${e.done} of ${e.total} runs already done; ${e.total - e.done} to go, ${jobs} at a time\n`);
      bar = progressBar('study', e.total, { unit: 'run', startAt: e.done });
    } else bar?.update(e.done, e.active.join(' '));
  }, shardOf(p));
  (bar as ReturnType<typeof progressBar> | null)?.finish();
  let findings = '';
  const f = str(p, 'findings');
  if (f) findings = fs.readFileSync(f, 'utf8');
  const report = writeReport(plan, loadResults(plan), CLASS_NAMES, findings);
  process.stdout.write(`${report}: ${loadResults(plan).length} of ${total} runs\n`);
  if (failures.length) {
    process.stderr.write(`failed runs:\n  ${failures.join('\n  ')}\n`);
    return 1;
  }
  return 0;
});

/** `caldera study sensitivity`: parse, then the library runs the study and writes the report. */
async function sensitivity(p: Parsed): Promise<number> {
  const quick = bool(p, 'quick');
  const out = requireStr(p, 'out');
  const f = str(p, 'findings');
  let bar: ReturnType<typeof progressBar> | null = null;
  const r = await sensitivityStudy({
    outDir: out, model: strArg(p, 'model'), quick, scenes: num(p, 'scenes'), seed: numArg(p, 'seed'), terrain: terrainFromFlags(p),
    engine: engineOf(p), jobs: quick ? 1 : numArg(p, 'jobs'), findings: f ? fs.readFileSync(f, 'utf8') : '',
    command: ['caldera study sensitivity', ...process.argv.slice(4)].join(' '),
  }, (e) => {
    bar ??= progressBar('sensitivity', e.total, { unit: 'scene', startAt: e.resumed });
    bar.update(e.done);
  });
  (bar as ReturnType<typeof progressBar> | null)?.finish();
  process.stdout.write(`${r.report}: ${r.summary.scenes} scenes scored${r.summary.complete ? '' : ' (incomplete)'}\n`);
  return 0;
}
