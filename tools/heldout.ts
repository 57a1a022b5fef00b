/**
 * Held-out evaluation of a training run, and its release as a bundled model (not a test):
 * evaluates the run's model on a held-out dataset, then writes OUT (default models/default) with
 * the model (model.json, weights.bin), card.json, eval.json, eval.png, curves.png and
 * train.log.jsonl — into a temporary sibling first, swapped in at the end.
 *
 *   node dist/tools/heldout.js --run RUN --test runs/test-heldout [--out models/default]
 *        [--before EARLIER_RUN]... [--command '...']... [--note '...']... [--synth-command '...'] [--json]
 *        [--calibrate DATASET]... [--previous-card CARD.json] [--real-world figures.json] [--machine '...']
 *
 * `--calibrate` fits the temperature of the class probabilities on the union of those datasets
 * (not the test set) and ships it as calibration.json; `--previous-card` keeps the model it replaces
 * in the card (`previousModel`) for comparison; `--real-world` adds tools/real-world.ts's figures.
 *
 * `--before` names earlier training stages (the run was started with --init from them), in order;
 * `--command` / `--note` give each stage's command line and a note, in the same order (earlier
 * stages first, the run last); commands default to those recorded in the runs' state.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readManifest } from '../src/data/dataset.js';
import { encodePng } from '../src/io/png.js';
import { modelCard, type TrainStage } from '../src/train/card.js';
import { findCheckpoint, STATE_JSON, type CheckpointFile } from '../src/engine/checkpoint.js';
import { evaluateDataset, reportFigure, reportText, scoreRows } from '../src/evaluate/evaluate.js';
import { CHECKPOINT_DIR, CURVES_PNG, TRAIN_LOG, type TrainState } from '../src/train/train.js';
import { loadTrainedModel } from '../src/engine/trained-model.js';
import { trainedDetector } from '../src/scan/detector.js';
import { calibrationFromRows, type ModelCalibration } from '../src/evaluate/calibrate-model.js';
import { applyTemperature, expectedCalibrationError } from '../src/evaluate/calibration.js';

interface Opts {
  run: string; test: string; out: string; before: string[]; commands: string[]; notes: string[]; synthCommand?: string; json: boolean;
  calibrate: string[]; previousCard?: string; realWorld?: string; machine?: string;
}

function parse(argv: string[]): Opts {
  const o: Partial<Opts> & { before: string[]; commands: string[]; notes: string[]; calibrate: string[] } = { out: 'models/default', json: false, before: [], commands: [], notes: [], calibrate: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--run') o.run = next();
    else if (a === '--test') o.test = next();
    else if (a === '--out') o.out = next();
    else if (a === '--before') o.before.push(next());
    else if (a === '--command') o.commands.push(next());
    else if (a === '--note') o.notes.push(next());
    else if (a === '--synth-command') o.synthCommand = next();
    else if (a === '--json') o.json = true;
    else if (a === '--calibrate') o.calibrate.push(next());
    else if (a === '--previous-card') o.previousCard = next();
    else if (a === '--real-world') o.realWorld = next();
    else if (a === '--machine') o.machine = next();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.run || !o.test) throw new Error('usage: heldout --run RUN_DIR --test DATASET [--out DIR]');
  return o as Opts;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const runs = [...o.before, o.run];
  const stages: TrainStage[] = runs.map((dir, i) => {
    const ck = findCheckpoint(path.join(dir, CHECKPOINT_DIR));
    if (!ck) throw new Error(`${dir}: no checkpoint`);
    const state = (JSON.parse(fs.readFileSync(path.join(ck, STATE_JSON), 'utf8')) as CheckpointFile<TrainState>).state;
    const command = o.commands[i] ?? state.commands?.join(' && ') ?? `caldera train ... --out ${dir}`;
    return { command, state, ...(o.notes[i] ? { note: o.notes[i] } : {}) };
  });
  const manifest = readManifest(o.test);
  const dem = manifest.settings.dem;
  const volcanoes = dem.kind === 'procedural' ? [] : [...dem.volcanoes];
  const tm = await loadTrainedModel(o.run);
  const t0 = performance.now();
  const rows = await evaluateDataset(await trainedDetector(tm), o.test, { batch: 32, workers: 1 });
  const evalSeconds = (performance.now() - t0) / 1000;
  const params = tm.model.countParams();
  tm.model.dispose();
  const report = scoreRows(rows);
  const demFlags = dem.kind === 'procedural' ? '' : ` --dem-dir ${path.relative(process.cwd(), dem.path)} --volcanoes '${volcanoes.join(',')}'`;
  const synthCommand = o.synthCommand ?? `caldera synth --count ${manifest.settings.count} --seed ${manifest.settings.seed}${demFlags} --out ${o.test}`;
  const evalCommand = `caldera eval --model ${o.out} --data ${o.test} --png eval.png --out eval.json`;
  const weightsBytes = fs.statSync(path.join(o.run, 'weights.bin')).size;
  // Temperature scaling on calibration data (never the test set), through the same detector.
  let calibration: ModelCalibration | null = null;
  if (o.calibrate.length > 0) {
    const d = await trainedDetector(await loadTrainedModel(o.run));
    const calRows = (await Promise.all(o.calibrate.map((dir) => evaluateDataset(d, dir, { batch: 32, workers: 1 })))).flat();
    calibration = calibrationFromRows(calRows, o.calibrate.join(', '));
    // The test set's ECE with that temperature (the figure a user can trust the probabilities by).
    const scaled = applyTemperature({ probs: rows.map((r) => [...r.probabilities]) }, calibration.temperature);
    const labels = rows.map((r) => r.trueClass);
    calibration = { ...calibration, test: { n: rows.length, eceBefore: expectedCalibrationError(rows.map((r) => [...r.probabilities]), labels), eceAfter: expectedCalibrationError(scaled, labels) } } as ModelCalibration;
  }
  const previous = o.previousCard ? JSON.parse(fs.readFileSync(o.previousCard, 'utf8')) as Record<string, unknown> : null;
  const realWorld = o.realWorld ? JSON.parse(fs.readFileSync(o.realWorld, 'utf8')) as unknown : null;
  const card = modelCard({
    name: path.basename(path.resolve(o.out)), stages, params, weightsBytes,
    test: { synthCommand, evalCommand, volcanoes, report },
    ...(o.machine ? { machine: o.machine } : {}),
    extra: {
      ...(calibration ? { calibration } : {}),
      ...(realWorld ? { realWorld } : {}),
      ...(previous ? { previousModel: { createdAt: previous.createdAt, training: { imagesSeen: (previous.training as Record<string, unknown>)?.imagesSeen, minutes: (previous.training as Record<string, unknown>)?.minutes }, heldOut: previous.heldOut, realWorld: previous.realWorld ?? null } } : {}),
    },
  });
  const tmp = `${o.out}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  for (const f of ['model.json', 'weights.bin', TRAIN_LOG, CURVES_PNG]) fs.copyFileSync(path.join(o.run, f), path.join(tmp, f));
  o.before.forEach((dir, i) => {
    fs.copyFileSync(path.join(dir, TRAIN_LOG), path.join(tmp, TRAIN_LOG.replace('.log', `.stage${i + 1}.log`)));
    fs.copyFileSync(path.join(dir, CURVES_PNG), path.join(tmp, CURVES_PNG.replace('.png', `.stage${i + 1}.png`)));
  });
  fs.writeFileSync(path.join(tmp, 'card.json'), JSON.stringify(card, null, 1) + '\n');
  if (calibration) fs.writeFileSync(path.join(tmp, 'calibration.json'), JSON.stringify(calibration, null, 1) + '\n');
  fs.writeFileSync(path.join(tmp, 'eval.json'), JSON.stringify({ model: o.out, data: o.test, channelFormat: tm.format, ...report }, null, 1) + '\n');
  fs.writeFileSync(path.join(tmp, 'eval.png'), encodePng(reportFigure(report, rows, `held-out test: ${volcanoes.join(', ')}`)));
  if (fs.existsSync(o.out)) fs.renameSync(o.out, `${o.out}.old-${process.pid}`);
  fs.renameSync(tmp, o.out);
  fs.rmSync(`${o.out}.old-${process.pid}`, { recursive: true, force: true });
  if (o.json) process.stdout.write(JSON.stringify({ ...card, evalSeconds, inferImgPerS: (2 * rows.length) / evalSeconds }) + '\n');
  else process.stdout.write(`${reportText(report)}\n(eval ${evalSeconds.toFixed(1)} s for ${rows.length} × 2 inputs)\nwrote ${o.out}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`heldout: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
