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
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../core/errors.js';
import { readNpz, writeNpz } from '../io/npz.js';
import { writeFileAtomicSync } from '../io/atomic.js';
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

export function readManifest(dir: string): Manifest {
  const p = manifestPath(dir);
  if (!fs.existsSync(p)) throw new InputError(`${dir}: not a caldera dataset (no manifest.json)`);
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(p, 'utf8')) as Manifest;
  } catch (e) {
    throw new InputError(`${p}: corrupt manifest (${(e as Error).message})`);
  }
  if (m.format !== DATASET_FORMAT) throw new InputError(`${p}: format '${String(m.format)}' is not ${DATASET_FORMAT}`);
  return m;
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

/** Read every sample of one shard. */
export function readShard(dir: string, info: ShardInfo, spacingM = 90): Sample[] {
  const file = path.join(dir, info.file);
  const arrays = readNpz(file);
  const los = expectArray(arrays, 'los', Float32Array, file);
  const defo = expectArray(arrays, 'defo', Float32Array, file);
  const dem = expectArray(arrays, 'dem', Float32Array, file);
  const coh = expectArray(arrays, 'coherence', Uint8Array, file);
  const mask = expectArray(arrays, 'mask', Uint8Array, file);
  const [n, h, w] = los.shape as [number, number, number];
  if (h !== w || n !== info.count) throw new InputError(`${file}: expected ${info.count} square samples, found shape ${los.shape.join('x')}`);
  let records: SampleRecord[];
  try {
    records = (JSON.parse(fs.readFileSync(file.replace(/\.npz$/, '.json'), 'utf8')) as { samples: SampleRecord[] }).samples;
  } catch (e) {
    throw new InputError(`${file}: cannot read its labels (${(e as Error).message})`);
  }
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
  for (const s of m.shards) yield* readShard(dir, s, m.settings.spacingM);
}

/** Count of samples in the shards listed as written. */
export function writtenCount(m: Manifest): number {
  return m.shards.reduce((a, s) => a + s.count, 0);
}
