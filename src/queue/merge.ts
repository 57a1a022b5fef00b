/**
 * `caldera merge`: join the N parts of an array job (or of a queued job) into what one run makes.
 *
 * - synth: the parts' shard files (hard-linked, else copied) and one manifest, byte for byte the
 *   dataset one `caldera synth` run writes;
 * - scan: `scan.jsonl` (the parts' records in part order = the products' order), `scan.geojson`,
 *   the pictures named as one run names them, and the failures the parts recorded;
 * - monitor: one `monitor-state.json` (the parts' targets are disjoint), the LiCSAR chains, and the
 *   report (timeline, alerts, summary, pictures, score) made from it as a run makes it.
 *
 * Every part must be there exactly once (k = 0 .. n-1) and of one kind, n and caldera version.
 * Files are written atomically; merging again gives the same files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../core/errors.js';
import { shardText } from '../core/shard.js';
import { ensureWritableDir, writeFileAtomicSync } from '../io/atomic.js';
import { lockDir } from '../io/run-dir.js';
import { DATASET_FORMAT, manifestPath, readManifest, writeManifest, type Manifest, type ShardInfo } from '../data/dataset.js';
import { geoJsonText, safeName, type GeoJsonFeature } from '../scan/output.js';
import { STATE_FORMAT, saveState, stateDir, statePath, type MonitorState } from '../monitor/state.js';
import { openSources } from '../monitor/sources.js';
import { reportMonitor } from '../monitor/monitor.js';
import { isPartTemp, readPart, type FoundPart, type MonitorPartInfo, type ScanPartInfo } from './parts.js';

export interface MergeResult {
  readonly kind: 'synth' | 'scan' | 'monitor';
  readonly parts: number;
  readonly out: string;
  /** What was written, in words. */
  readonly summary: string;
  /** Scan parts: the products that could not be scanned (as a plain scan lists them). */
  readonly failures: string[];
}

/** The part folders under `dir/parts/` (a queued job's output folder), temporary ones left out. */
export function partsUnder(dir: string): string[] {
  const p = path.join(dir, 'parts');
  if (!fs.existsSync(p) || !fs.statSync(p).isDirectory()) throw new InputError(`${dir}: no parts/ folder (give the part folders themselves, and --out)`);
  return fs.readdirSync(p).filter((n) => !isPartTemp(n) && !n.startsWith('.')).sort().map((n) => path.join(p, n));
}

/** Link `src` to `dst` (same file system), else copy it; atomically either way. */
function linkOrCopy(src: string, dst: string): void {
  const a = fs.statSync(src);
  const b = fs.statSync(dst, { throwIfNoEntry: false });
  if (b && a.ino === b.ino && a.dev === b.dev) return; // linked by an earlier merge (rename would do nothing)
  const tmp = `${dst}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    fs.linkSync(src, tmp);
  } catch {
    fs.copyFileSync(src, tmp);
  }
  fs.renameSync(tmp, dst);
}

function checkComplete(parts: readonly FoundPart[]): FoundPart[] {
  if (parts.length === 0) throw new InputError('no parts to merge');
  const kinds = [...new Set(parts.map((p) => p.kind))];
  if (kinds.length > 1) throw new InputError(`parts of different jobs (${kinds.join(', ')}): merge each job's parts on their own`);
  const ns = [...new Set(parts.map((p) => p.part.n))];
  if (ns.length > 1) throw new InputError(`parts of splits into ${ns.join(' and ')}: merge the parts of one split`);
  const n = ns[0]!;
  const byK = new Map<number, FoundPart>();
  for (const p of parts) {
    const twin = byK.get(p.part.k);
    if (twin) throw new InputError(`part ${shardText(p.part)} given twice (${twin.dir} and ${p.dir})`);
    byK.set(p.part.k, p);
  }
  const missing = Array.from({ length: n }, (_, k) => k).filter((k) => !byK.has(k));
  if (missing.length) {
    throw new InputError(`part${missing.length === 1 ? '' : 's'} ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''} of ${n} missing ` +
      '(K from 0; a part is missing while its job runs, or when it failed: caldera queue status lists failures)');
  }
  return Array.from({ length: n }, (_, k) => byK.get(k)!);
}

/** Merge part folders into `out`. */
export async function mergeParts(dirs: readonly string[], out: string): Promise<MergeResult> {
  const parts = checkComplete(dirs.map(readPart));
  const outAbs = path.resolve(out);
  for (const p of parts) if (path.resolve(p.dir) === outAbs) throw new InputError(`${out} is one of the parts; merge into another folder`);
  ensureWritableDir(out);
  const lock = lockDir(out, 'caldera merge');
  try {
    const kind = parts[0]!.kind;
    const r = kind === 'synth' ? mergeDatasets(parts, out) : kind === 'scan' ? mergeScans(parts, out) : await mergeMonitors(parts, out);
    return { kind, parts: parts.length, out, ...r };
  } finally {
    lock.release();
  }
}

function mergeDatasets(parts: readonly FoundPart[], out: string): { summary: string; failures: string[] } {
  const ms = parts.map((p) => readManifest(p.dir));
  const settings = JSON.stringify(ms[0]!.settings);
  ms.forEach((m, i) => {
    if (JSON.stringify(m.settings) !== settings) throw new InputError(`${parts[i]!.dir}: made with other settings than ${parts[0]!.dir}; the parts are not of one dataset`);
  });
  if (fs.existsSync(manifestPath(out))) {
    const old = readManifest(out);
    if (old.part || JSON.stringify(old.settings) !== settings) throw new InputError(`${out} holds another dataset; merge into an empty folder`);
  }
  const shards: ShardInfo[] = [];
  parts.forEach((p, i) => {
    for (const s of ms[i]!.shards) {
      for (const f of [s.file, s.file.replace(/\.npz$/, '.json')]) linkOrCopy(path.join(p.dir, f), path.join(out, f));
      shards.push(s);
    }
  });
  shards.sort((a, b) => a.start - b.start);
  const count = ms[0]!.settings.count;
  const covered = shards.reduce((a, s) => a + s.count, 0);
  const m: Manifest = { format: DATASET_FORMAT, createdBy: ms[0]!.createdBy, settings: ms[0]!.settings, shards, complete: covered === count };
  writeManifest(out, m);
  return { summary: `${covered} of ${count} scenes in ${shards.length} shard files`, failures: [] };
}

function mergeScans(parts: readonly FoundPart[], out: string): { summary: string; failures: string[] } {
  const jsonl: string[] = [];
  const features: GeoJsonFeature[] = [];
  const failures: string[] = [];
  const used = new Set<string>();
  let pictures = 0, products = 0;
  for (const p of parts) {
    if (p.kind === 'synth') continue;
    const info = p.marker as unknown as ScanPartInfo;
    products += info.products;
    failures.push(...info.failures);
    const lines = path.join(p.dir, 'scan.jsonl');
    if (fs.existsSync(lines)) jsonl.push(fs.readFileSync(lines, 'utf8'));
    const gj = path.join(p.dir, 'scan.geojson');
    if (fs.existsSync(gj)) features.push(...(JSON.parse(fs.readFileSync(gj, 'utf8')) as { features: GeoJsonFeature[] }).features);
    // Names as one ScanWriter gives them over all scenes in order.
    for (const pic of info.pictures) {
      let name = safeName(pic.product);
      for (let k = 2; used.has(name); k++) name = `${safeName(pic.product)}-${k}`;
      used.add(name);
      linkOrCopy(path.join(p.dir, pic.file), path.join(out, `${name}.png`));
      pictures++;
    }
  }
  const text = jsonl.join('');
  writeFileAtomicSync(path.join(out, 'scan.jsonl'), text);
  writeFileAtomicSync(path.join(out, 'scan.geojson'), geoJsonText({ type: 'FeatureCollection', features }));
  const records = text.split('\n').filter((l) => l.length > 0).length;
  return {
    summary: `${products - failures.length} of ${products} product${products === 1 ? '' : 's'} scanned: ${records} records in ${path.join(out, 'scan.jsonl')}, ` +
      `${features.length} box${features.length === 1 ? '' : 'es'} in ${path.join(out, 'scan.geojson')}${pictures ? `, ${pictures} picture${pictures === 1 ? '' : 's'}` : ''}`,
    failures,
  };
}

function readState(dir: string): MonitorState {
  const p = statePath(dir);
  let s: MonitorState;
  try {
    s = JSON.parse(fs.readFileSync(p, 'utf8')) as MonitorState;
  } catch (e) {
    throw new InputError(`${p}: cannot read the part's state (${(e as Error).message})`);
  }
  if (s?.format !== STATE_FORMAT) throw new InputError(`${p}: format ${JSON.stringify(s?.format ?? null)} is not ${STATE_FORMAT}`);
  return s;
}

async function mergeMonitors(parts: readonly FoundPart[], out: string): Promise<{ summary: string; failures: string[] }> {
  const infos = parts.map((p) => (p.kind === 'synth' ? null : (p.marker as unknown as MonitorPartInfo))!);
  const spec = infos[0]!.spec;
  infos.forEach((m, i) => {
    if (JSON.stringify(m.spec) !== JSON.stringify(spec)) throw new InputError(`${parts[i]!.dir}: monitored with other settings than ${parts[0]!.dir}; the parts are not of one job`);
  });
  const states = parts.map((p) => readState(p.dir));
  const settings = JSON.stringify(states[0]!.settings);
  const merged: MonitorState = { format: STATE_FORMAT, settings: states[0]!.settings, targets: {}, runs: [] };
  states.forEach((s, i) => {
    if (JSON.stringify(s.settings) !== settings) throw new InputError(`${statePath(parts[i]!.dir)}: made with other settings (model, window, sign, baseline) than the first part`);
    for (const [name, t] of Object.entries(s.targets)) {
      if (merged.targets[name]) throw new InputError(`${name} is in two parts (${parts[i]!.dir} and another); the parts are not of one split`);
      merged.targets[name] = t;
    }
    merged.runs.push(...s.runs);
    // The LiCSAR chains, per target.
    const chains = stateDir(parts[i]!.dir);
    if (fs.existsSync(chains)) {
      fs.mkdirSync(stateDir(out), { recursive: true });
      for (const f of fs.readdirSync(chains)) if (f.endsWith('.npz')) linkOrCopy(path.join(chains, f), path.join(stateDir(out), f));
    }
  });
  merged.runs.sort();
  saveState(out, merged);
  const notes = [...new Set(infos.flatMap((m) => m.notes))];
  const sources = await openSources(spec.paths, spec.targets, { minCoherence: spec.minCoherence, ...(spec.hdf5 ? { hdf5: spec.hdf5 } : {}) });
  try {
    const r = reportMonitor({ outDir: out, rule: spec.rule, png: spec.png, maxDelay: spec.maxDelay, ...(spec.maxPngs !== undefined ? { maxPngs: spec.maxPngs } : {}) }, sources, merged, notes);
    return { summary: `${r.results.length} targets, ${r.written.alerts} alert${r.written.alerts === 1 ? '' : 's'} in ${r.written.geojson}; timeline in ${r.written.csv}`, failures: [] };
  } finally {
    for (const s of sources) s.close();
  }
}
