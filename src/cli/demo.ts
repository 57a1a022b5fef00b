/**
 * `caldera demo`: the README's first command, on embedded defaults and offline. Generates a small
 * labelled synthetic set (procedural terrain), runs the bundled model over it in one forward pass
 * per interferogram, and draws a contact sheet of truth and answers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readDataset } from '../data/dataset.js';
import { synthesise } from '../data/generate.js';
import { sampleSheet, type SamplePrediction } from '../data/view.js';
import { writePng } from '../io/png.js';
import { evaluateDataset, reportText, scoreRows } from '../evaluate/evaluate.js';
import { CLASS_NAMES } from '../core/classes.js';
import { num, numArg, str, strArg, type Parsed } from './args.js';
import { command } from './command.js';
import { progressBar } from './progress.js';
import { DEFAULT_MODEL_DIR, loadTrainedModel } from '../engine/trained-model.js';
import { trainedDetector } from '../scan/detector.js';

export const demoCommand = command('demo', 'the quick start: generate labelled synthetic interferograms, run the bundled model on them, draw both', '[--out DIR] [--count N]', {
  out: { type: 'string', help: 'output directory', default: 'caldera-demo', value: 'DIR' },
  count: { type: 'int', help: 'interferograms to generate', default: 36 },
  seed: { type: 'int', help: 'random seed', default: 1 },
}, async (p: Parsed) => {
  const out = strArg(p, 'out');
  const dataDir = path.join(out, 'synthetic');
  const count = numArg(p, 'count');
  const seed = numArg(p, 'seed');
  const bar = progressBar('synth', count, { unit: 'ifg' });
  await synthesise({ outDir: dataDir, count, seed, classes: [...CLASS_NAMES], terrain: { kind: 'procedural' }, workers: 2, shardSize: 12 },
    (pr) => bar.update(pr.done));
  bar.finish();
  const samples = [...readDataset(dataDir)];
  let predictions: SamplePrediction[] | undefined;
  let summary = '';
  if (fs.existsSync(path.join(DEFAULT_MODEL_DIR, 'model.json'))) {
    const tm = await loadTrainedModel(DEFAULT_MODEL_DIR);
    const rows = await evaluateDataset(await trainedDetector(tm), dataDir, { workers: 0 });
    tm.model.dispose();
    const byIndex = new Map(rows.map((r) => [r.index, r]));
    predictions = samples.map((s) => {
      const r = byIndex.get(s.index)!;
      return { className: CLASS_NAMES[r.predictedClass]!, probability: r.probabilities[r.predictedClass]!, box: r.predictedBox };
    });
    summary = `bundled model (${tm.format} input) on these ${rows.length}:\n${reportText(scoreRows(rows))}\n`;
  } else {
    summary = `no bundled model at ${DEFAULT_MODEL_DIR}: drew the labels only\n`;
  }
  const sheet = path.join(out, 'contact-sheet.png');
  const perClass = 6;
  const shown: number[] = [];
  for (const cls of CLASS_NAMES) shown.push(...samples.flatMap((s, i) => (s.className === cls ? [i] : [])).slice(0, perClass));
  writePng(sheet, sampleSheet(shown.map((i) => samples[i]!), `caldera demo: ${count} synthetic interferograms (procedural terrain, seed ${seed}); labels in black/white, model in yellow`,
    perClass, predictions ? shown.map((i) => predictions![i]!) : undefined));
  process.stdout.write(`${dataDir}: ${count} labelled interferograms\n${summary}${sheet}: contact sheet of ${shown.length}\n`);
});
