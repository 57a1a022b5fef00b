/** `caldera demo`: the README's first command. Generates a small labelled set offline and draws it. */
import * as path from 'node:path';
import { synthesise } from '../data/generate.js';
import { CLASS_NAMES } from '../synth/sources.js';
import { num, str, type Parsed } from './args.js';
import { command } from './command.js';
import { progressBar } from './progress.js';
import { writeSheet } from './show.js';

export const demoCommand = command('demo', 'the quick start: generate a small labelled synthetic set and draw its contact sheet', '[--out DIR] [--count N]', {
  out: { type: 'string', help: 'output directory', default: 'caldera-demo', value: 'DIR' },
  count: { type: 'int', help: 'interferograms to generate', default: 36 },
  seed: { type: 'int', help: 'random seed', default: 1 },
}, async (p: Parsed) => {
  const out = str(p, 'out') ?? 'caldera-demo';
  const dataDir = path.join(out, 'synthetic');
  const count = num(p, 'count') ?? 36;
  const bar = progressBar('synth', count, { unit: 'ifg' });
  await synthesise({ outDir: dataDir, count, seed: num(p, 'seed') ?? 1, classes: [...CLASS_NAMES], terrain: { kind: 'procedural' }, workers: 2, shardSize: 12 },
    (pr) => bar.update(pr.done));
  bar.finish();
  const sheet = path.join(out, 'contact-sheet.png');
  const n = await writeSheet(dataDir, sheet, 6);
  process.stdout.write(`${dataDir}: ${count} labelled interferograms (procedural terrain)\n${sheet}: contact sheet of ${n}\n`);
});
