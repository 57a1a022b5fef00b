/** `caldera synth`: generate a labelled synthetic dataset. */
import * as os from 'node:os';
import { synthesise } from '../data/generate.js';
import { InputError } from '../core/errors.js';
import { CLASS_NAMES, parseClassList } from '../core/classes.js';
import { bool, list, num, numArg, requireNum, requireStr, str, strArg, type Parsed } from './args.js';
import { command } from './command.js';
import { terrainFromFlags } from './terrain.js';
import { progressBar } from './progress.js';
import { shardFlag, shardOf } from './shard.js';
import type { SynthSpec } from '../queue/jobs.js';

export const synthFlags = {
  count: { type: 'int', help: 'number of interferograms', value: 'N' },
  out: { type: 'string', help: 'output dataset directory (resumes if it holds an unfinished run)', value: 'DIR' },
  'dem-dir': { type: 'string', help: 'directory of SRTM .hgt tiles (default: procedural terrain)', value: 'DIR' },
  dem: { type: 'string', help: 'a GeoTIFF DEM (EPSG:4326) instead of .hgt tiles', value: 'FILE' },
  volcanoes: { type: 'list', help: 'volcano names from the bundled list (default: all the DEM covers)', value: 'A,B' },
  seed: { type: 'int', help: 'random seed', default: 1 },
  classes: { type: 'list', help: 'classes to generate, in equal numbers', default: [...CLASS_NAMES], value: 'LIST' },
  workers: { type: 'int', help: 'worker threads', default: Math.max(1, Math.min(2, os.availableParallelism())) },
  'shard-size': { type: 'int', help: 'samples per shard file', default: 100 },
  ramps: { type: 'number', help: 'add orbital ramps up to this max |value| (m) for realism', default: 0, value: 'M' },
  atmosphere: { type: 'string', help: "turbulence spectrum: kolmogorov (-11/3) or syinterferopy (the original's two slopes)", default: 'kolmogorov', value: 'KIND' },
  artefacts: { type: 'boolean', help: 'add real-product artefacts: unwrapping errors, decorrelation noise, long-wavelength atmosphere' },
  decorrelation: { type: 'string', help: "off, or products: decorrelated ground as random phase (water, slopes, patches, edges), masked, left as noise or partly masked", default: 'off', value: 'MODE' },
  domain: { type: 'string', help: 'caldera, or randomised: per-scene incidence, headings, pixel size, atmosphere, ramps, source sizes, cuts, secondary sources', default: 'caldera', value: 'MODE' },
  quiet: { type: 'boolean', help: 'no progress bar' },
  shard: { ...shardFlag, help: 'array jobs: make only block K of N of the shard files (K from 0), each part in its own --out; caldera merge joins them' },
} as const;

/** Everything the synth flags decide about the dataset, as data (not --out, --workers, --shard). */
export function synthSpecOf(p: Parsed): SynthSpec {
  const count = requireNum(p, 'count');
  const ramp = numArg(p, 'ramps');
  if (ramp < 0) throw new InputError(`--ramps must be >= 0, got ${ramp}`);
  const atmosphere = strArg(p, 'atmosphere');
  if (atmosphere !== 'kolmogorov' && atmosphere !== 'syinterferopy') throw new InputError(`--atmosphere must be kolmogorov or syinterferopy, got '${atmosphere}'`);
  const decorrelation = strArg(p, 'decorrelation');
  if (decorrelation !== 'off' && decorrelation !== 'products') throw new InputError(`--decorrelation must be off or products, got '${decorrelation}'`);
  const domain = strArg(p, 'domain');
  if (domain !== 'caldera' && domain !== 'randomised') throw new InputError(`--domain must be caldera or randomised, got '${domain}'`);
  return {
    count, seed: numArg(p, 'seed'), classes: parseClassList(list(p, 'classes')),
    terrain: terrainFromFlags(p), shardSize: numArg(p, 'shard-size'),
    scene: { ...(ramp > 0 ? { rampMaxM: ramp } : {}), ...(bool(p, 'artefacts') ? { artefacts: {} } : {}), ...(atmosphere !== 'kolmogorov' ? { turbulenceSpectrum: atmosphere } : {}),
      ...(decorrelation !== 'off' ? { decorrelation } : {}), ...(domain !== 'caldera' ? { domain } : {}) },
  };
}

export async function runSynth(p: Parsed): Promise<number> {
  const spec = synthSpecOf(p);
  const out = requireStr(p, 'out');
  const shard = shardOf(p);
  let bar: ReturnType<typeof progressBar> | null = null;
  const m = await synthesise({ ...spec, outDir: out, workers: numArg(p, 'workers'), ...(shard ? { shard } : {}) }, (pr) => {
    bar ??= progressBar(pr.resumed > 0 ? `synth (resumed at ${pr.resumed})` : 'synth', pr.total, { unit: 'ifg', startAt: pr.resumed, quiet: bool(p, 'quiet') });
    bar.update(pr.done);
  });
  (bar as ReturnType<typeof progressBar> | null)?.finish();
  const made = m.shards.reduce((a, s) => a + s.count, 0);
  process.stdout.write(`${out}: ${m.part ? `part ${m.part.k}/${m.part.n}, ${made} of ` : ''}${m.settings.count} interferograms in ${m.shards.length} shards (${m.settings.classes.join(', ')}; terrain ${m.settings.dem.kind})` +
    `${m.part ? '; caldera merge joins the parts' : ''}\n`);
  return 0;
}

export const synthCommand = command('synth', 'generate a labelled synthetic interferogram dataset', '--count N --out DIR [options]', synthFlags, runSynth);
