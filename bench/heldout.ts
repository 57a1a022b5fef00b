/**
 * Held-out evaluation of a training run, and its release as a bundled model (not a test):
 * evaluates the run's model on a held-out dataset, then writes OUT (default models/default) with
 * the model (model.json, weights.bin), card.json, eval.json, eval.png, curves.png and
 * train.log.jsonl — into a temporary sibling first, swapped in at the end.
 *
 *   node dist/bench/heldout.js --run runs/default-w --test runs/test-heldout [--out models/default]
 *        [--train-command '...'] [--synth-command '...'] [--json]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readManifest } from '../src/data/dataset.js';
import { encodePng } from '../src/io/png.js';
import { modelCard } from '../src/model/card.js';
import { findCheckpoint, STATE_JSON, type CheckpointFile } from '../src/model/checkpoint.js';
import { evaluateDataset, reportFigure, reportText, scoreRows } from '../src/model/evaluate.js';
import { loadTrainedModel } from '../src/model/predict.js';
import { CHECKPOINT_DIR, CURVES_PNG, TRAIN_LOG, type TrainState } from '../src/model/train.js';

interface Opts { run: string; test: string; out: string; trainCommand: string; synthCommand: string; json: boolean }

function parse(argv: string[]): Opts {
  const o: Partial<Opts> = { out: 'models/default', json: false };
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
    else if (a === '--train-command') o.trainCommand = next();
    else if (a === '--synth-command') o.synthCommand = next();
    else if (a === '--json') o.json = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.run || !o.test) throw new Error('usage: heldout --run RUN_DIR --test DATASET [--out DIR]');
  return o as Opts;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const ck = findCheckpoint(path.join(o.run, CHECKPOINT_DIR));
  if (!ck) throw new Error(`${o.run}: no checkpoint`);
  const state = (JSON.parse(fs.readFileSync(path.join(ck, STATE_JSON), 'utf8')) as CheckpointFile<TrainState>).state;
  const manifest = readManifest(o.test);
  const dem = manifest.settings.dem;
  const volcanoes = dem.kind === 'procedural' ? [] : [...dem.volcanoes];
  const tm = await loadTrainedModel(o.run);
  const t0 = performance.now();
  const rows = await evaluateDataset(tm, o.test, { batch: 32, workers: 1 });
  const evalSeconds = (performance.now() - t0) / 1000;
  const params = tm.model.countParams();
  tm.model.dispose();
  const report = scoreRows(rows);
  const demFlags = dem.kind === 'procedural' ? '' : ` --dem-dir ${path.relative(process.cwd(), dem.path)} --volcanoes '${volcanoes.join(',')}'`;
  const synthCommand = o.synthCommand ?? `caldera synth --count ${manifest.settings.count} --seed ${manifest.settings.seed}${demFlags} --out ${o.test}`;
  const evalCommand = `caldera eval --model ${o.out} --data ${o.test} --png eval.png --out eval.json`;
  const weightsBytes = fs.statSync(path.join(o.run, 'weights.bin')).size;
  const card = modelCard({
    name: path.basename(path.resolve(o.out)), trainCommand: o.trainCommand ?? `caldera train ... --out ${o.run}`, state, params, weightsBytes,
    test: { synthCommand, evalCommand, volcanoes, report },
  });
  const tmp = `${o.out}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  for (const f of ['model.json', 'weights.bin', TRAIN_LOG, CURVES_PNG]) fs.copyFileSync(path.join(o.run, f), path.join(tmp, f));
  fs.writeFileSync(path.join(tmp, 'card.json'), JSON.stringify(card, null, 1) + '\n');
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
