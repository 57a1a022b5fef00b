/**
 * Running one queued job: the same library calls as `caldera scan`, `synth` and `monitor` with
 * `--shard`, into a fresh temporary folder that becomes the job's part folder only when the job
 * is done (`parts.ts` commitPart). Bad input (a product that cannot be read, files that are gone,
 * a bad DEM) is an InputError: the worker marks the job failed with its one line, no retry.
 */
import * as fs from 'node:fs';
import { InputError } from '../core/errors.js';
import { parseChannelFormat } from '../data/channels.js';
import { synthesise } from '../data/generate.js';
import { loadDetector, type Detector } from '../scan/detector.js';
import { loadVolcanoList, scanPoints } from '../scan/points.js';
import { scanAll } from '../scan/scan-all.js';
import { ScanWriter } from '../scan/writer.js';
import { monitor } from '../monitor/monitor.js';
import { missingInputs, type DetectorSpec, type Job, type MonitorQueueJob, type ScanJob, type SynthJob } from './jobs.js';
import { commitPart, partDir, partTempDir, writePartMarker } from './parts.js';

export interface JobContext {
  /** ONNX Runtime threads for the worker's detectors (default: the job's, else all cores). */
  readonly threads?: number;
  /** Loaded detectors, kept across jobs (loading a model costs more than scanning a product). */
  readonly detectors: Map<string, Promise<Detector>>;
}

export function newJobContext(o: { threads?: number } = {}): JobContext {
  return { ...(o.threads !== undefined ? { threads: o.threads } : {}), detectors: new Map() };
}

/** The detector a spec asks for (`threads` overrides the spec's). */
export function loadSpecDetector(spec: DetectorSpec, threads = spec.threads): Promise<Detector> {
  return loadDetector(spec.model, {
    ...(spec.format ? { format: parseChannelFormat(spec.format) } : {}), batchSize: spec.batchSize, symmetric: spec.symmetric,
    ...(spec.model === 'stand-in' ? {} : { ...(spec.engine ? { engine: spec.engine } : {}), ...(threads !== undefined ? { threads } : {}) }),
  });
}

function detectorFor(spec: DetectorSpec, ctx: JobContext): Promise<Detector> {
  const threads = ctx.threads ?? spec.threads;
  const key = JSON.stringify({ ...spec, threads });
  let d = ctx.detectors.get(key);
  if (!d) {
    d = loadSpecDetector(spec, threads);
    d.catch(() => ctx.detectors.delete(key));
    ctx.detectors.set(key, d);
  }
  return d;
}

/** What a finished job says in the worker's log and in the queue (its return value). */
export interface JobResult {
  readonly part: string;
  readonly summary: string;
}

/** Run a checked job (see jobs.ts checkJob) to its part folder. */
export async function runJob(job: Job, ctx: JobContext): Promise<JobResult> {
  const gone = missingInputs(job);
  if (gone.length) throw new InputError(`files disappeared: ${gone.slice(0, 3).join(', ')}${gone.length > 3 ? ` and ${gone.length - 3} more` : ''}`);
  const final = partDir(job.out, job.part);
  const tmp = partTempDir(final);
  try {
    const summary = job.kind === 'scan' ? await scanPart(job, tmp, ctx) : job.kind === 'synth' ? await synthPart(job, tmp) : await monitorPart(job, tmp, ctx);
    commitPart(tmp, final);
    return { part: final, summary };
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

async function scanPart(job: ScanJob, dir: string, ctx: JobContext): Promise<string> {
  const s = job.spec;
  const at = scanPoints({ at: s.points.at, volcanoes: s.points.volcano }, loadVolcanoList(s.points.volcanoes));
  const model = await detectorFor(s.detector, ctx);
  const writer = new ScanWriter(dir, { png: s.png });
  const failures: string[] = [];
  const r = await scanAll(job.files, model, {
    discover: { units: s.units }, read: { units: s.units, minCoherence: s.minCoherence, ...(s.wavelengthM !== undefined ? { wavelengthM: s.wavelengthM } : {}) }, phaseCoherence: s.phaseCoherence,
    scan: { ...s.scan, scalesKm: [...s.scan.scalesKm] }, ...(at ? { at } : {}),
    onScene: (scene) => writer.add(scene), onFailure: (f) => failures.push(f.message),
  });
  const out = writer.finish();
  if (r.products === 0 && failures.length === 0) failures.push(`${job.product}: no interferogram among ${job.files.join(', ')}`);
  writePartMarker(dir, job.part, { kind: 'scan', pictures: out.pictures, failures, products: r.products });
  // A bad product still leaves its part (the failure recorded, as a plain scan lists it), and fails the job.
  if (failures.length) {
    commitPart(dir, partDir(job.out, job.part));
    throw new InputError(failures.join('; '));
  }
  return `${out.records} record${out.records === 1 ? '' : 's'}, ${out.boxes} box${out.boxes === 1 ? '' : 'es'}`;
}

async function synthPart(job: SynthJob, dir: string): Promise<string> {
  // On a worker thread: this thread stays free to renew the job's lock.
  const m = await synthesise({ ...job.spec, outDir: dir, workers: 1, offThread: true, shard: job.part });
  const n = m.shards.reduce((a, s) => a + s.count, 0);
  return `${n} scenes in ${m.shards.length} shard file${m.shards.length === 1 ? '' : 's'}`;
}

async function monitorPart(job: MonitorQueueJob, dir: string, ctx: JobContext): Promise<string> {
  const { detector: dspec, ...spec } = job.spec;
  const detector = await detectorFor(dspec, ctx);
  const r = await monitor({
    ...spec, outDir: dir, detector, symmetric: dspec.symmetric, shard: job.part,
    ...(spec.maxPngs !== undefined ? { maxPngs: spec.maxPngs } : {}),
  });
  writePartMarker(dir, job.part, { kind: 'monitor', spec, notes: r.run.notes });
  return `${r.results.length} target${r.results.length === 1 ? '' : 's'}, ${r.run.processed} windows, ${r.written.alerts} alert${r.written.alerts === 1 ? '' : 's'}`;
}
