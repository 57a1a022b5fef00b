/**
 * Cutting work into queued jobs (`caldera enqueue`): one job per product for scan, one per
 * dataset shard file (or `jobs` blocks of them) for synth, one per target (or `jobs` blocks) for
 * monitor. Job k of n makes part k of n under the output folder, exactly what `--shard k/n` makes.
 */
import * as path from 'node:path';
import { InputError } from '../core/errors.js';
import { discoverProducts } from '../io/licsar.js';
import { openSources } from '../monitor/sources.js';
import { CALDERA_VERSION, JOB_FORMAT, type MonitorQueueJob, type MonitorSpec, type ScanJob, type ScanSpec, type SynthJob, type SynthSpec } from './jobs.js';

export interface Plan<J> {
  readonly jobs: J[];
  /** Problems found while planning (files that are not products), one line each. */
  readonly problems: string[];
}

const head = (out: string, k: number, n: number) => ({ format: JOB_FORMAT, version: CALDERA_VERSION, out: path.resolve(out), part: { k, n } }) as const;

/** One scan job per product found under `paths`, in the order a plain scan takes them. */
export function planScan(paths: readonly string[], spec: ScanSpec, out: string): Plan<ScanJob> {
  const found = discoverProducts(paths.map((p) => path.resolve(p)), { units: spec.units, hdf5: true });
  const n = found.products.length;
  if (n === 0) {
    const why = found.problems.length ? `: ${found.problems.map((p) => p.message).slice(0, 3).join('; ')}` : '';
    throw new InputError(`no interferograms found in ${paths.join(', ')}${why}`);
  }
  const jobs = found.products.map((p, k): ScanJob => ({
    ...head(out, k, n), kind: 'scan', product: p.id,
    files: [p.unw, p.diffPha, p.cc, p.raster, p.hdf5].filter((f): f is string => !!f).map((f) => path.resolve(f)), spec,
  }));
  return { jobs, problems: found.problems.map((p) => p.message) };
}

/** Synth jobs: `jobs` blocks of the dataset's shard files (default one job per shard file). */
export function planSynth(spec: SynthSpec, out: string, jobs?: number): Plan<SynthJob> {
  const files = Math.ceil(spec.count / spec.shardSize);
  const n = jobs ?? files;
  if (!Number.isInteger(n) || n < 1 || n > files) throw new InputError(`the number of jobs must be from 1 to ${files} (one per shard file of ${spec.shardSize} scenes), got ${n}`);
  const terrain = spec.terrain.kind === 'procedural' ? spec.terrain : { ...spec.terrain, path: path.resolve(spec.terrain.path) };
  return { jobs: Array.from({ length: n }, (_, k): SynthJob => ({ ...head(out, k, n), kind: 'synth', spec: { ...spec, terrain } })), problems: [] };
}

/** Monitor jobs: `jobs` blocks of the targets (default one job per target). */
export async function planMonitor(spec: MonitorSpec, out: string, jobs?: number): Promise<Plan<MonitorQueueJob>> {
  const abs = { ...spec, paths: spec.paths.map((p) => path.resolve(p)) };
  const sources = await openSources(abs.paths, abs.targets, { minCoherence: abs.minCoherence, ...(abs.hdf5 ? { hdf5: abs.hdf5 } : {}) });
  const targets = new Set(sources.flatMap((s) => s.targets.map((t) => t.name)));
  for (const s of sources) s.close();
  const n = jobs ?? targets.size;
  if (!Number.isInteger(n) || n < 1 || n > targets.size) throw new InputError(`the number of jobs must be from 1 to ${targets.size} (one per target), got ${n}`);
  return { jobs: Array.from({ length: n }, (_, k): MonitorQueueJob => ({ ...head(out, k, n), kind: 'monitor', spec: abs })), problems: [] };
}
