/**
 * What a queued job is: plain JSON (it lives in Redis) naming the caldera version that made it,
 * the kind (scan, synth, monitor), the part of the whole it makes (k of n, like an array job's
 * shard), the output folder, and everything the job needs, with absolute paths (workers run
 * anywhere on a shared file system). `checkJob` is the one schema check a worker applies before it
 * touches anything: a job from another caldera version, or a malformed one, is one InputError.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../core/errors.js';
import { checkShard, type Shard } from '../core/shard.js';
import type { EngineName } from '../scan/detector.js';
import type { PhaseCoherenceMode } from '../data/coherence-mask.js';
import type { TerrainSpec } from '../data/terrain-source.js';
import type { SceneConfig } from '../synth/scene.js';
import type { ClassName } from '../core/classes.js';
import type { TargetSpec } from '../monitor/sources.js';
import type { AlertRule } from '../monitor/alerts.js';
import type { Hdf5Options } from '../io/hdf5.js';
import type { RasterUnits } from '../io/product.js';

export const JOB_FORMAT = 'caldera-job/1';
export const JOB_KINDS = ['scan', 'synth', 'monitor'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** package.json's version (this file is dist/src/queue/jobs.js or src/queue/jobs.ts). */
function packageVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const json = JSON.parse(fs.readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (json.name === 'caldera' && typeof json.version === 'string') return json.version;
    } catch { /* the next location */ }
  }
  return 'unknown';
}

/** The version written into every job; a worker runs only jobs of its own version. */
export const CALDERA_VERSION = packageVersion();

/** A detector as loadDetector is asked for it (model directory or .onnx file absolute; undefined = the bundled model). */
export interface DetectorSpec {
  readonly model?: string;
  /** Stand-in only: the channel format to feed it. */
  readonly format?: string;
  readonly batchSize: number;
  readonly symmetric: boolean;
  readonly engine?: EngineName;
  readonly threads?: number;
}

/** Everything `caldera scan` decides from its flags, as data. */
export interface ScanSpec {
  readonly detector: DetectorSpec;
  /** Where to look: `--at LON,LAT`, `--volcano` names (or ['all']), `--volcanoes FILE` (absolute). */
  readonly points: { readonly at?: string; readonly volcano?: readonly string[]; readonly volcanoes?: string };
  readonly units: RasterUnits;
  /** Radar wavelength of phase inputs, m (`--wavelength`; default Sentinel-1 C band). */
  readonly wavelengthM?: number;
  readonly minCoherence: number;
  readonly phaseCoherence: PhaseCoherenceMode;
  readonly scan: { readonly scalesKm: readonly number[]; readonly overlap: number; readonly minScore: number; readonly maxMasked: number; readonly iou: number };
  readonly png: boolean;
}

/** Everything `caldera synth` decides from its flags, as data (worker threads are the worker's). */
export interface SynthSpec {
  readonly count: number;
  readonly seed: number;
  readonly classes: readonly ClassName[];
  readonly terrain: TerrainSpec;
  readonly shardSize: number;
  readonly scene: Partial<SceneConfig>;
}

/** Everything `caldera monitor` decides from its flags, as data. */
export interface MonitorSpec {
  readonly paths: readonly string[];
  readonly targets: TargetSpec | null;
  readonly detector: DetectorSpec;
  readonly sizeKm: number;
  readonly baseline: string | null;
  readonly rule: AlertRule;
  readonly png: boolean;
  readonly maxPngs?: number;
  readonly minCoherence: number;
  readonly hdf5?: Hdf5Options;
  readonly maxDelay: number;
}

interface JobHead {
  readonly format: typeof JOB_FORMAT;
  readonly version: string;
  /** The whole job's output folder (absolute); this part goes to `parts/` under it. */
  readonly out: string;
  /** Which part of the whole this job makes. */
  readonly part: Shard;
}

export interface ScanJob extends JobHead {
  readonly kind: 'scan';
  /** One product: its layer files (absolute). */
  readonly product: string;
  readonly files: readonly string[];
  readonly spec: ScanSpec;
}

export interface SynthJob extends JobHead {
  readonly kind: 'synth';
  readonly spec: SynthSpec;
}

export interface MonitorQueueJob extends JobHead {
  readonly kind: 'monitor';
  readonly spec: MonitorSpec;
}

export type Job = ScanJob | SynthJob | MonitorQueueJob;

/** A job's name in the queue and in logs: `scan 3/40 FRAME/20200101_20200113`. */
export function jobLabel(j: Job): string {
  return `${j.kind} ${j.part.k}/${j.part.n}${j.kind === 'scan' ? ` ${j.product}` : ''}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Check a job's data as it comes out of the queue. InputError (one line) for a job of another
 * caldera version or job format, an unknown kind, a missing field; the worker fails the job with it
 * (no retry) and moves on.
 */
export function checkJob(data: unknown): Job {
  if (!isObject(data)) throw new InputError('not a caldera job (its data is not an object)');
  if (data.format !== JOB_FORMAT) throw new InputError(`not a caldera job of format ${JOB_FORMAT} (format ${JSON.stringify(data.format ?? null)})`);
  if (data.version !== CALDERA_VERSION) {
    throw new InputError(`job made by caldera ${String(data.version)}, this worker is caldera ${CALDERA_VERSION}: ` +
      'run it with a worker of that version, or enqueue it again with this one');
  }
  if (!JOB_KINDS.includes(data.kind as JobKind)) throw new InputError(`unknown job kind ${JSON.stringify(data.kind ?? null)} (${JOB_KINDS.join(', ')})`);
  if (typeof data.out !== 'string' || !path.isAbsolute(data.out)) throw new InputError('job without an absolute output folder');
  const part = data.part as Shard | undefined;
  if (!isObject(part)) throw new InputError('job without its part (k of n)');
  checkShard(part);
  if (!isObject(data.spec)) throw new InputError(`${data.kind} job without its settings`);
  if (data.kind === 'scan') {
    if (typeof data.product !== 'string' || !Array.isArray(data.files) || data.files.length === 0 || !data.files.every((f) => typeof f === 'string' && path.isAbsolute(f))) {
      throw new InputError('scan job without its product files (absolute paths)');
    }
  }
  if (data.kind === 'monitor') {
    const paths = data.spec.paths;
    if (!Array.isArray(paths) || paths.length === 0 || !paths.every((f) => typeof f === 'string' && path.isAbsolute(f))) {
      throw new InputError('monitor job without its paths (absolute)');
    }
  }
  return data as unknown as Job;
}

/** The files or folders a job reads that are gone, for a one-line failure ("files disappeared"). */
export function missingInputs(j: Job): string[] {
  const inputs = j.kind === 'scan' ? j.files : j.kind === 'monitor' ? j.spec.paths
    : j.spec.terrain.kind === 'procedural' ? [] : [j.spec.terrain.path];
  return inputs.filter((f) => !fs.existsSync(f));
}
