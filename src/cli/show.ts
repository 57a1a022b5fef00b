/** `caldera show`: a contact sheet of a dataset's samples. */
import { readDataset, readManifest } from '../data/dataset.js';
import { sampleSheet } from '../data/view.js';
import { InputError } from '../core/errors.js';
import { writePng } from '../io/png.js';
import { CLASS_NAMES } from '../core/classes.js';
import type { Sample } from '../data/dataset.js';
import { num, numArg, requireStr, type Parsed } from './args.js';
import { command } from './command.js';

export function pickSamples(dir: string, perClass: number): Sample[] {
  const want = new Map<string, number>(CLASS_NAMES.map((c) => [c, perClass]));
  const out: Sample[] = [];
  for (const s of readDataset(dir)) {
    const left = want.get(s.className) ?? 0;
    if (left > 0) { out.push(s); want.set(s.className, left - 1); }
    if ([...want.values()].every((v) => v === 0)) break;
  }
  return out;
}

export async function writeSheet(dir: string, out: string, perClass: number): Promise<number> {
  const m = readManifest(dir);
  const samples = pickSamples(dir, perClass);
  if (samples.length === 0) throw new InputError(`${dir}: no samples written yet`);
  const order = new Map<string, number>(CLASS_NAMES.map((c, i) => [c, i]));
  samples.sort((a, b) => (order.get(a.className)! - order.get(b.className)!) || a.index - b.index);
  const terrain = m.settings.dem.kind === 'procedural' ? 'procedural terrain' : `${m.settings.dem.kind} DEM`;
  writePng(out, sampleSheet(samples, `${dir}: ${m.settings.count} synthetic interferograms, seed ${m.settings.seed}, ${terrain}`, perClass));
  return samples.length;
}

export const showCommand = command('show', 'draw a contact sheet of a dataset (wrapped phase, boxes, classes)', 'DIR --out sheet.png [--per-class N]', {
  out: { type: 'string', help: 'PNG to write', value: 'FILE.png' },
  'per-class': { type: 'int', help: 'samples of each class to draw', default: 6 },
}, async (p: Parsed) => {
  const dir = p.positionals[0];
  if (!dir || p.positionals.length > 1) throw new InputError('give exactly one dataset directory');
  const out = requireStr(p, 'out');
  if (!/\.png$/i.test(out)) throw new InputError(`--out ${out}: show draws a PNG contact sheet; name it .png`);
  const n = await writeSheet(dir, out, numArg(p, 'per-class'));
  process.stdout.write(`${out}: ${n} samples drawn\n`);
});
