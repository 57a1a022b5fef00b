/**
 * Synthetic dataset files. A dataset is a directory:
 *   manifest.json           what made it (seed, count, classes, DEM, scene config) and its shards
 *   shard-00000.npz         the physical layers of samples [start, start+count), numpy-readable:
 *     los      float32 [n,H,W]  total LOS signal, metres, + toward the satellite
 *     defo     float32 [n,H,W]  deformation alone, LOS metres
 *     dem      float32 [n,H,W]  elevation, metres (<= 0 = water)
 *     coherence uint8  [n,H,W]  coherence x 255
 *     mask     uint8   [n,H,W]  bit 1 = water, bit 2 = incoherent
 *     class    uint8   [n]      index into CLASS_NAMES (dyke, sill, none)
 *     box      float32 [n,4]    x, y, halfWidth, halfHeight in pixels (0,0,0,0 for none)
 *     index    int32   [n]      sample index in the dataset
 *   shard-00000.json        per-sample labels and every source / atmosphere parameter
 * A shard is complete when its .npz exists (written last, atomically); channel formats are made
 * at read time (channels.ts), so one dataset serves every channel study.
 *
 * Reading validates the schema once, here: `readManifest` checks every field of manifest.json
 * (types, ranges, shard files inside the folder, no shard listed twice or overlapping another) and
 * `readShard` checks the arrays' shapes and every sample of the sidecar, so what comes out is
 * well-formed and a bad file is one InputError naming the file and the field.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../core/errors.js';
import { readNpz, writeNpz } from '../io/npz.js';
import { writeFileAtomicSync } from '../io/atomic.js';
import { checkRegularFile, oneLine, readInputTextSync } from '../io/input-file.js';
import { CLASS_NAMES, type ClassName } from '../core/classes.js';
import type { Scene, SceneMeta } from '../synth/scene.js';
import { type CentreBox } from '../core/box.js';

export const DATASET_FORMAT = 'caldera-synth/1';

export interface ShardInfo {
  readonly file: string;
  readonly start: number;
  readonly count: number;
}

export interface Manifest {
  readonly format: typeof DATASET_FORMAT;
  readonly createdBy: string;
  /** Everything that decides the samples: the same settings reproduce the same files. */
  readonly settings: DatasetSettings;
  readonly shards: ShardInfo[];
  readonly complete: boolean;
  /** A part made by an array job (`synth --shard K/N`): which one; absent for a whole dataset. */
  readonly part?: { readonly k: number; readonly n: number };
}

export interface DatasetSettings {
  readonly seed: number;
  readonly count: number;
  readonly shardSize: number;
  readonly classes: readonly ClassName[];
  readonly size: number;
  readonly spacingM: number;
  /** 'procedural', or the DEM source (directory or file) and the volcanoes used. */
  readonly dem: { readonly kind: 'procedural' } | { readonly kind: 'srtm' | 'geotiff'; readonly path: string; readonly volcanoes: readonly string[] };
  readonly scene: Record<string, unknown>;
}

export interface SampleRecord {
  readonly index: number;
  readonly className: ClassName;
  readonly box: CentreBox | null;
  readonly meta: SceneMeta;
}

export function shardFileName(k: number): string {
  return `shard-${String(k).padStart(5, '0')}.npz`;
}

export function manifestPath(dir: string): string {
  return path.join(dir, 'manifest.json');
}

/** Write a shard's sidecar JSON, then its arrays (atomically, last). */
export function writeShard(dir: string, k: number, start: number, scenes: readonly Scene[]): ShardInfo {
  const n = scenes.length;
  if (n === 0) throw new RangeError('empty shard');
  const size = scenes[0]!.size;
  const px = size * size;
  const los = new Float32Array(n * px), defo = new Float32Array(n * px), dem = new Float32Array(n * px);
  const coherence = new Uint8Array(n * px), mask = new Uint8Array(n * px);
  const cls = new Uint8Array(n), box = new Float32Array(n * 4), index = new Int32Array(n);
  const records: SampleRecord[] = [];
  scenes.forEach((s, j) => {
    if (s.size !== size) throw new RangeError('all scenes of a shard must have one size');
    los.set(s.losM, j * px);
    defo.set(s.defoM, j * px);
    dem.set(s.dem, j * px);
    mask.set(s.mask, j * px);
    for (let i = 0; i < px; i++) coherence[j * px + i] = Math.round(Math.min(1, Math.max(0, s.coherence[i]!)) * 255);
    cls[j] = CLASS_NAMES.indexOf(s.className);
    if (s.box) box.set([s.box.x, s.box.y, s.box.halfWidth, s.box.halfHeight], j * 4);
    index[j] = start + j;
    records.push({ index: start + j, className: s.className, box: s.box, meta: s.meta });
  });
  const file = shardFileName(k);
  writeFileAtomicSync(path.join(dir, file.replace(/\.npz$/, '.json')), JSON.stringify({ samples: records }, null, 1));
  const shape = [n, size, size];
  writeNpz(path.join(dir, file), {
    los: { data: los, shape }, defo: { data: defo, shape }, dem: { data: dem, shape },
    coherence: { data: coherence, shape }, mask: { data: mask, shape },
    class: { data: cls, shape: [n] }, box: { data: box, shape: [n, 4] }, index: { data: index, shape: [n] },
  }, { compress: ['defo', 'dem', 'coherence', 'mask'], level: 1 });
  return { file, start, count: n };
}

export function writeManifest(dir: string, m: Manifest): void {
  writeFileAtomicSync(manifestPath(dir), JSON.stringify(m, null, 1) + '\n');
}

/** A value's kind for messages: null, an array, an object, a string "…", or the number. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`.replace(/[\r\n]/g, ' ');
  return String(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Field checks that throw one InputError: `<file>: <field> must be <what>, got <value>`. */
class Fields {
  constructor(private readonly file: string) {}
  fail(field: string, what: string, v: unknown): never {
    throw new InputError(`${this.file}: ${field} must be ${what}, got ${describe(v)}`);
  }
  object(v: unknown, field: string): Record<string, unknown> {
    if (!isObject(v)) this.fail(field, 'an object', v);
    return v;
  }
  array(v: unknown, field: string): unknown[] {
    if (!Array.isArray(v)) this.fail(field, 'an array', v);
    return v;
  }
  string(v: unknown, field: string): string {
    if (typeof v !== 'string') this.fail(field, 'a string', v);
    return v;
  }
  int(v: unknown, field: string, min: number): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) this.fail(field, min === 1 ? 'a positive integer' : min === 0 ? 'an integer >= 0' : 'an integer', v);
    return v;
  }
  finite(v: unknown, field: string, min = -Infinity): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) this.fail(field, min === 0 ? 'a finite number >= 0' : 'a finite number', v);
    return v;
  }
  positive(v: unknown, field: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(field, 'a finite number > 0', v);
    return v;
  }
  className(v: unknown, field: string): ClassName {
    if (typeof v !== 'string' || !(CLASS_NAMES as readonly string[]).includes(v)) this.fail(field, `one of ${CLASS_NAMES.join(', ')}`, v);
    return v as ClassName;
  }
}

function validateSettings(f: Fields, v: unknown): DatasetSettings {
  const s = f.object(v, 'settings');
  f.int(s.seed, 'settings.seed', -Number.MAX_SAFE_INTEGER);
  f.int(s.count, 'settings.count', 1);
  f.int(s.shardSize, 'settings.shardSize', 1);
  const classes = f.array(s.classes, 'settings.classes');
  if (classes.length === 0) f.fail('settings.classes', 'a non-empty array', classes);
  classes.forEach((c, i) => f.className(c, `settings.classes[${i}]`));
  f.int(s.size, 'settings.size', 1);
  f.positive(s.spacingM, 'settings.spacingM');
  const dem = f.object(s.dem, 'settings.dem');
  if (dem.kind !== 'procedural') {
    if (dem.kind !== 'srtm' && dem.kind !== 'geotiff') f.fail('settings.dem.kind', '"procedural", "srtm" or "geotiff"', dem.kind);
    f.string(dem.path, 'settings.dem.path');
    f.array(dem.volcanoes, 'settings.dem.volcanoes').forEach((x, i) => f.string(x, `settings.dem.volcanoes[${i}]`));
  }
  f.object(s.scene, 'settings.scene');
  return s as unknown as DatasetSettings;
}

/** Check a parsed manifest.json (`file` names it in messages); returns it typed. */
export function validateManifest(raw: unknown, file: string): Manifest {
  const f = new Fields(file);
  const m = f.object(raw, 'the manifest');
  if (m.format !== DATASET_FORMAT) throw new InputError(`${file}: format ${describe(m.format)} is not ${DATASET_FORMAT}`);
  if (m.createdBy !== undefined) f.string(m.createdBy, 'createdBy');
  if (typeof m.complete !== 'boolean') f.fail('complete', 'true or false', m.complete);
  const settings = validateSettings(f, m.settings);
  if (m.part !== undefined) {
    const p = f.object(m.part, 'part');
    const n = f.int(p.n, 'part.n', 1);
    const k = f.int(p.k, 'part.k', 0);
    if (k >= n) f.fail('part.k', `below part.n (${n})`, k);
  }
  const shards = f.array(m.shards, 'shards');
  const files = new Map<string, number>();
  const ranges: { start: number; end: number; k: number }[] = [];
  shards.forEach((v, k) => {
    const s = f.object(v, `shards[${k}]`);
    const name = f.string(s.file, `shards[${k}].file`);
    // A plain file name in the dataset folder: no directories, no way out of the folder.
    if (name !== path.basename(name) || name.includes('\\') || name.includes('\0') || name === '.' || name === '..' || !name.endsWith('.npz')) {
      f.fail(`shards[${k}].file`, 'a .npz file name inside the dataset folder (no directories)', name);
    }
    const prev = files.get(name);
    if (prev !== undefined) throw new InputError(`${file}: shards[${k}] lists ${name} again (already shards[${prev}])`);
    files.set(name, k);
    const start = f.int(s.start, `shards[${k}].start`, 0);
    const count = f.int(s.count, `shards[${k}].count`, 1);
    if (start + count > settings.count) {
      throw new InputError(`${file}: shards[${k}] holds samples ${start}..${start + count - 1}, past settings.count ${settings.count}`);
    }
    ranges.push({ start, end: start + count, k });
  });
  ranges.sort((a, b) => a.start - b.start);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]!.start < ranges[i - 1]!.end) {
      throw new InputError(`${file}: shards[${ranges[i]!.k}] and shards[${ranges[i - 1]!.k}] overlap (samples from ${ranges[i]!.start})`);
    }
  }
  return m as unknown as Manifest;
}

export function readManifest(dir: string): Manifest {
  const p = manifestPath(dir);
  if (!fs.existsSync(p)) throw new InputError(`${dir}: not a caldera dataset (no manifest.json)`);
  const text = readInputTextSync(p, { maxBytes: 64 << 20 });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${p}: corrupt manifest (${oneLine((e as Error).message)})`);
  }
  return validateManifest(raw, p);
}

/** One sample's layers, as read back from a shard: the scene plus its index in the dataset. */
export interface Sample extends Scene {
  readonly index: number;
}

function expectArray<T>(arrays: Record<string, { data: unknown; shape: number[] }>, key: string, ctor: new (...a: never[]) => T, file: string): { data: T; shape: number[] } {
  const a = arrays[key];
  if (!a || !(a.data instanceof ctor)) throw new InputError(`${file}: missing or mistyped array '${key}'`);
  return a as { data: T; shape: number[] };
}

function validateBox(f: Fields, v: unknown, field: string): CentreBox | null {
  if (v === null) return null;
  const b = f.object(v, field);
  f.finite(b.x, `${field}.x`);
  f.finite(b.y, `${field}.y`);
  f.finite(b.halfWidth, `${field}.halfWidth`, 0);
  f.finite(b.halfHeight, `${field}.halfHeight`, 0);
  return { x: b.x as number, y: b.y as number, halfWidth: b.halfWidth as number, halfHeight: b.halfHeight as number };
}

/** The fields of a sample's meta that readers use; the rest is provenance, kept as written. */
function validateMeta(f: Fields, v: unknown, field: string): SceneMeta {
  const m = f.object(v, field);
  f.string(m.terrain, `${field}.terrain`);
  f.finite(m.headingDeg, `${field}.headingDeg`);
  if (m.pass !== 'asc' && m.pass !== 'desc') f.fail(`${field}.pass`, '"asc" or "desc"', m.pass);
  if (m.snr !== null && m.snr !== undefined) f.finite(m.snr, `${field}.snr`);
  if (m.source !== null && m.source !== undefined) f.string(f.object(m.source, `${field}.source`).kind, `${field}.source.kind`);
  return m as unknown as SceneMeta;
}

/** Check a parsed shard sidecar (`file` names it): `count` samples, indices start.., each well-formed. */
export function validateSidecar(raw: unknown, file: string, info: ShardInfo): SampleRecord[] {
  const f = new Fields(file);
  const samples = f.array(f.object(raw, 'the sidecar').samples, 'samples');
  if (samples.length !== info.count) {
    throw new InputError(`${file}: has ${samples.length} samples, the manifest says ${info.count}`);
  }
  return samples.map((v, j) => {
    const field = `samples[${j}]`;
    const r = f.object(v, field);
    if (r.index !== info.start + j) f.fail(`${field}.index`, String(info.start + j), r.index);
    return {
      index: info.start + j,
      className: f.className(r.className, `${field}.className`),
      box: validateBox(f, r.box, `${field}.box`),
      meta: validateMeta(f, r.meta, `${field}.meta`),
    };
  });
}

/** The layers readShard uses (the others, class/box/index, repeat the sidecar and are not read). */
const LAYERS = ['los', 'defo', 'dem', 'coherence', 'mask'] as const;

/** Read every sample of one shard; `size`, when given, is the dataset's sample size (checked). */
export function readShard(dir: string, info: ShardInfo, spacingM = 90, size?: number): Sample[] {
  const file = path.join(dir, info.file);
  checkRegularFile(file);
  const arrays = readNpz(file, { keys: LAYERS });
  const los = expectArray(arrays, 'los', Float32Array, file);
  const defo = expectArray(arrays, 'defo', Float32Array, file);
  const dem = expectArray(arrays, 'dem', Float32Array, file);
  const coh = expectArray(arrays, 'coherence', Uint8Array, file);
  const mask = expectArray(arrays, 'mask', Uint8Array, file);
  const [n, h, w] = los.shape as [number, number, number];
  if (los.shape.length !== 3 || h !== w || n !== info.count || (size !== undefined && h !== size)) {
    throw new InputError(`${file}: expected ${info.count} square samples${size !== undefined ? ` of ${size} px` : ''}, found shape ${los.shape.join('x')}`);
  }
  for (const [key, a] of [['defo', defo], ['dem', dem], ['coherence', coh], ['mask', mask]] as const) {
    if (a.shape.join('x') !== los.shape.join('x')) throw new InputError(`${file}: array '${key}' has shape ${a.shape.join('x')}, 'los' has ${los.shape.join('x')}`);
  }
  const sidecar = file.replace(/\.npz$/, '.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readInputTextSync(sidecar, { maxBytes: 256 << 20 }));
  } catch (e) {
    throw new InputError(`${file}: cannot read its labels (${oneLine((e as Error).message)})`);
  }
  const records = validateSidecar(raw, sidecar, info);
  const px = h * w;
  const out: Sample[] = [];
  for (let j = 0; j < n; j++) {
    const r = records[j]!;
    const c = new Float32Array(px);
    for (let i = 0; i < px; i++) c[i] = coh.data[j * px + i]! / 255;
    out.push({
      index: r.index, size: h, spacingM,
      losM: los.data.slice(j * px, (j + 1) * px), defoM: defo.data.slice(j * px, (j + 1) * px),
      dem: dem.data.slice(j * px, (j + 1) * px), coherence: c, mask: mask.data.slice(j * px, (j + 1) * px),
      className: r.className, box: r.box, meta: r.meta,
    });
  }
  return out;
}

/** Iterate over all samples of a dataset, shard by shard. */
export function* readDataset(dir: string): Generator<Sample> {
  const m = readManifest(dir);
  for (const s of m.shards) yield* readShard(dir, s, m.settings.spacingM, m.settings.size);
}

/** Count of samples in the shards listed as written. */
export function writtenCount(m: Manifest): number {
  return m.shards.reduce((a, s) => a + s.count, 0);
}
