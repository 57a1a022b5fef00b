/**
 * Synthetic stack files and the job that makes them (`caldera synth-series`). A folder of stacks is
 * laid out like a dataset (data/dataset.ts), one stack per shard:
 *   manifest.json          format caldera-series/1: what made it (seed, count, classes, DEM, scene
 *                          and series settings) and the stacks written
 *   stack-00000.npz        numpy-readable arrays of one stack (N acquisitions, P interferograms):
 *     cumulative    float32 [N,H,W]  LOS metres of each acquisition relative to the first (as LiCSBAS cum.h5, but metres)
 *     ifg_pairs     int32   [P,2]    acquisition indices (i, j) of each interferogram; its LOS is cumulative[j] - cumulative[i]
 *     ifg_mask      uint8   [P,H,W]  bit 1 water, bit 2 incoherent in that interferogram
 *     ifg_coherence uint8   [P,H,W]  coherence x 255
 *     defo          float32 [H,W]    the final deformation, LOS metres
 *     amplitude     float32 [N]      fraction of it at each acquisition
 *     dem           float32 [H,W]    elevation, metres
 *     mask          uint8   [H,W]    the cumulative series' mask (water, base incoherence)
 *     coherence     uint8   [H,W]    base coherence x 255
 *     dates         int32   [N]      YYYYMMDD
 *     class uint8 [1], box float32 [4], onset_index / crossing_index int32 [1] (-1 = none)
 *   stack-00000.json       the labels (class, box, onset date and index, growth law, 3 cm crossing),
 *                          dates, pairs, centre lon/lat, scene and per-acquisition parameters
 * The interferograms' LOS is not stored a second time: in this model it is exactly the difference
 * of two cumulative epochs (`readStack` gives it). Stack i uses random stream i of the seed, so the
 * same settings give the same files, and a killed job resumes where it stopped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../core/rng.js';
import { InputError } from '../core/errors.js';
import { CLASS_NAMES, type ClassName } from '../core/classes.js';
import { ensureWritableDir, writeFileAtomicSync } from '../io/atomic.js';
import { readNpz, writeNpz } from '../io/npz.js';
import { writeHdf5Series } from '../io/hdf5.js';
import { createSpectralCache, spectralSizeFor } from '../synth/atmosphere.js';
import { DEFAULT_SCENE_CONFIG, type SceneConfig, type SceneMeta } from '../synth/scene.js';
import {
  DEFAULT_TIME_SERIES_CONFIG, generateStack, validateTimeSeriesConfig,
  type Pair, type TimeSeriesConfig, type TimeSeriesLabel, type TimeSeriesStack,
} from '../synth/time-series.js';
import { buildTerrain, type TerrainSpec } from '../data/terrain-source.js';
import type { GeoReference } from '../io/geotiff.js';

export const SERIES_FORMAT = 'caldera-series/1';

/** Half deforming (dykes and sills in turn), half not. */
export const DEFAULT_STACK_CLASSES: readonly ClassName[] = ['dyke', 'none', 'sill', 'none'];

export interface SeriesSettings {
  readonly seed: number;
  readonly count: number;
  readonly classes: readonly ClassName[];
  readonly size: number;
  readonly spacingM: number;
  readonly dem: { readonly kind: 'procedural' } | { readonly kind: 'srtm' | 'geotiff'; readonly path: string; readonly volcanoes: readonly string[] };
  readonly scene: Record<string, unknown>;
  readonly series: TimeSeriesConfig;
  /** Also written per stack: a LiCSBAS cum.h5 or a MintPy timeseries.h5. */
  readonly hdf5: 'licsbas' | 'mintpy' | null;
}

export interface StackEntry {
  readonly index: number;
  readonly file: string;
}

export interface SeriesManifest {
  readonly format: typeof SERIES_FORMAT;
  readonly createdBy: string;
  readonly settings: SeriesSettings;
  readonly stacks: StackEntry[];
  readonly complete: boolean;
}

/** What the JSON beside a stack's arrays holds. */
export interface StackRecord {
  readonly index: number;
  readonly label: TimeSeriesLabel;
  readonly dates: readonly string[];
  readonly pairs: readonly Pair[];
  /** Lon/lat of pixel (size/2, size/2); null on procedural terrain (a nominal place is used then). */
  readonly centreLonLat: readonly [number, number] | null;
  readonly spacingM: number;
  readonly scene: SceneMeta;
  readonly acquisitions: TimeSeriesStack['acquisitions'];
}

export function stackFileName(i: number): string {
  return `stack-${String(i).padStart(5, '0')}.npz`;
}

const compactDate = (d: string): number => Number(d.replace(/-/g, ''));

/** Write one stack (JSON first, arrays last and atomically: the .npz marks it complete). */
export function writeStack(dir: string, index: number, s: TimeSeriesStack, hdf5: SeriesSettings['hdf5'] = null): Promise<StackEntry> | StackEntry {
  const { size } = s;
  const px = size * size;
  const n = s.dates.length, p = s.pairs.length;
  const cumulative = new Float32Array(n * px);
  s.cumulativeM.forEach((c, k) => cumulative.set(c, k * px));
  const pairs = new Int32Array(p * 2);
  const ifgMask = new Uint8Array(p * px), ifgCoh = new Uint8Array(p * px);
  s.pairs.forEach((q, k) => {
    pairs[2 * k] = q.i;
    pairs[2 * k + 1] = q.j;
    ifgMask.set(s.pairMask[k]!, k * px);
    const c = s.pairCoherence[k]!;
    for (let t = 0; t < px; t++) ifgCoh[k * px + t] = Math.round(Math.min(1, Math.max(0, c[t]!)) * 255);
  });
  const coh = new Uint8Array(px);
  for (let t = 0; t < px; t++) coh[t] = Math.round(Math.min(1, Math.max(0, s.coherence[t]!)) * 255);
  const b = s.label.box;
  const file = stackFileName(index);
  const record: StackRecord = {
    index, label: s.label, dates: s.dates, pairs: s.pairs, centreLonLat: s.centreLonLat, spacingM: s.spacingM,
    scene: s.scene, acquisitions: s.acquisitions,
  };
  writeFileAtomicSync(path.join(dir, file.replace(/\.npz$/, '.json')), JSON.stringify(record, null, 1));
  const finish = (): StackEntry => {
    writeNpz(path.join(dir, file), {
      cumulative: { data: cumulative, shape: [n, size, size] },
      ifg_pairs: { data: pairs, shape: [p, 2] },
      ifg_mask: { data: ifgMask, shape: [p, size, size] },
      ifg_coherence: { data: ifgCoh, shape: [p, size, size] },
      defo: { data: s.defoM, shape: [size, size] },
      amplitude: { data: s.amplitude, shape: [n] },
      dem: { data: s.dem, shape: [size, size] },
      mask: { data: s.mask, shape: [size, size] },
      coherence: { data: coh, shape: [size, size] },
      dates: { data: new Int32Array(s.dates.map(compactDate)), shape: [n] },
      class: { data: new Uint8Array([CLASS_NAMES.indexOf(s.label.className)]), shape: [1] },
      box: { data: new Float32Array(b ? [b.x, b.y, b.halfWidth, b.halfHeight] : [0, 0, 0, 0]), shape: [4] },
      onset_index: { data: new Int32Array([s.label.onsetIndex ?? -1]), shape: [1] },
      crossing_index: { data: new Int32Array([s.label.crossingIndex ?? -1]), shape: [1] },
    }, { compress: ['ifg_mask', 'ifg_coherence', 'defo', 'dem', 'mask', 'coherence'], level: 1 });
    return { index, file };
  };
  if (!hdf5) return finish();
  // The cumulative series as LiCSBAS / MintPy would hold it, masked (NaN) where the series is.
  const geo = stackGeo(record, size);
  const epochsM = s.cumulativeM.map((c) => c.map((v, t) => (s.mask[t] ? NaN : v)));
  const h5 = path.join(dir, file.replace(/\.npz$/, hdf5 === 'licsbas' ? '.cum.h5' : '.timeseries.h5'));
  return writeHdf5Series(h5, hdf5, { width: size, height: size, geo, dates: s.dates, epochsM }).then(finish);
}

const DEG_PER_M = 180 / (Math.PI * 6371008.8);

/** Where a stack without real terrain is put (its boxes still get lon/lat). */
export const NOMINAL_CENTRE: readonly [number, number] = [0, 0];

/**
 * The lon/lat grid of a stack, made so that a model window of the same size and spacing centred
 * on the stack's centre (pixel size/2 as `data/windows.ts` puts it) falls exactly on its pixels.
 */
export function stackGeo(r: Pick<StackRecord, 'centreLonLat' | 'spacingM'>, size: number): GeoReference {
  const [lon, lat] = r.centreLonLat ?? NOMINAL_CENTRE;
  const dLat = -r.spacingM * DEG_PER_M;
  const dLon = (r.spacingM * DEG_PER_M) / Math.cos((lat * Math.PI) / 180);
  return { west: lon - (size / 2 + 0.5) * dLon, north: lat - (size / 2 + 0.5) * dLat, dLon, dLat, crs: 'EPSG:4326' };
}

export function seriesManifestPath(dir: string): string {
  return path.join(dir, 'manifest.json');
}

/** True when `dir` holds a folder of synthetic stacks. */
export function isStackFolder(dir: string): boolean {
  const p = seriesManifestPath(dir);
  if (!fs.existsSync(p)) return false;
  try {
    return (JSON.parse(fs.readFileSync(p, 'utf8')) as { format?: string }).format === SERIES_FORMAT;
  } catch {
    return false;
  }
}

export function readSeriesManifest(dir: string): SeriesManifest {
  const p = seriesManifestPath(dir);
  if (!fs.existsSync(p)) throw new InputError(`${dir}: not a folder of synthetic stacks (no manifest.json)`);
  let m: SeriesManifest;
  try {
    m = JSON.parse(fs.readFileSync(p, 'utf8')) as SeriesManifest;
  } catch (e) {
    throw new InputError(`${p}: corrupt manifest (${(e as Error).message})`);
  }
  if (m.format !== SERIES_FORMAT) throw new InputError(`${p}: format '${String(m.format)}' is not ${SERIES_FORMAT}`);
  return m;
}

/** A stack read back: the arrays, its record, and its grid. */
export interface StackData {
  readonly record: StackRecord;
  readonly size: number;
  readonly geo: GeoReference;
  readonly cumulativeM: Float32Array[];
  readonly mask: Uint8Array;
  readonly pairs: Pair[];
  readonly pairMask: Uint8Array[];
  readonly pairCoherence: Float32Array[];
  readonly defoM: Float32Array;
  readonly amplitude: Float32Array;
}

function arr<T>(a: Record<string, { data: unknown; shape: number[] }>, key: string, ctor: new (...x: never[]) => T, file: string): { data: T; shape: number[] } {
  const v = a[key];
  if (!v || !(v.data instanceof ctor)) throw new InputError(`${file}: missing or mistyped array '${key}'`);
  return v as { data: T; shape: number[] };
}

export function readStack(dir: string, entry: StackEntry): StackData {
  const file = path.join(dir, entry.file);
  if (!fs.existsSync(file)) throw new InputError(`${file}: missing (the stack folder is incomplete)`);
  const a = readNpz(file);
  const cum = arr(a, 'cumulative', Float32Array, file);
  const pairsA = arr(a, 'ifg_pairs', Int32Array, file);
  const im = arr(a, 'ifg_mask', Uint8Array, file);
  const ic = arr(a, 'ifg_coherence', Uint8Array, file);
  const mask = arr(a, 'mask', Uint8Array, file);
  const defo = arr(a, 'defo', Float32Array, file);
  const amp = arr(a, 'amplitude', Float32Array, file);
  const [n, h, w] = cum.shape as [number, number, number];
  if (h !== w) throw new InputError(`${file}: stack is ${w}x${h}, expected square`);
  let record: StackRecord;
  try {
    record = JSON.parse(fs.readFileSync(file.replace(/\.npz$/, '.json'), 'utf8')) as StackRecord;
  } catch (e) {
    throw new InputError(`${file}: cannot read its labels (${(e as Error).message})`);
  }
  if (record.dates.length !== n) throw new InputError(`${file}: ${n} epochs but ${record.dates.length} dates`);
  const px = h * w;
  const p = pairsA.shape[0]!;
  const pairs: Pair[] = [], pairMask: Uint8Array[] = [], pairCoherence: Float32Array[] = [];
  for (let k = 0; k < p; k++) {
    pairs.push({ i: pairsA.data[2 * k]!, j: pairsA.data[2 * k + 1]! });
    pairMask.push(im.data.slice(k * px, (k + 1) * px));
    const c = new Float32Array(px);
    for (let t = 0; t < px; t++) c[t] = ic.data[k * px + t]! / 255;
    pairCoherence.push(c);
  }
  return {
    record, size: h, geo: stackGeo(record, h),
    cumulativeM: Array.from({ length: n }, (_, k) => cum.data.slice(k * px, (k + 1) * px)),
    mask: mask.data, pairs, pairMask, pairCoherence, defoM: defo.data, amplitude: amp.data,
  };
}

export interface SynthSeriesOptions {
  readonly outDir: string;
  readonly count: number;
  readonly seed: number;
  readonly classes?: readonly ClassName[];
  readonly terrain: TerrainSpec;
  readonly scene?: Partial<SceneConfig>;
  readonly series?: Partial<TimeSeriesConfig>;
  readonly hdf5?: 'licsbas' | 'mintpy' | null;
}

export interface SynthSeriesProgress {
  readonly done: number;
  readonly total: number;
  readonly resumed: number;
}

/**
 * Make (or finish) a folder of `count` stacks: stack i is class classes[i mod k] from random stream
 * i of the seed. A folder made with other settings is refused; existing stacks are kept.
 */
export async function synthesiseSeries(o: SynthSeriesOptions, onProgress: (p: SynthSeriesProgress) => void = () => {}): Promise<SeriesManifest> {
  if (!Number.isInteger(o.count) || o.count < 1) throw new InputError(`count must be a positive integer, got ${o.count}`);
  if (!Number.isInteger(o.seed)) throw new InputError(`seed must be an integer, got ${o.seed}`);
  const classes = o.classes ?? DEFAULT_STACK_CLASSES;
  if (classes.length === 0) throw new InputError('classes is empty');
  const scene: SceneConfig = { ...DEFAULT_SCENE_CONFIG, ...(o.scene ?? {}) };
  const series: TimeSeriesConfig = { ...DEFAULT_TIME_SERIES_CONFIG, ...(o.series ?? {}) };
  validateTimeSeriesConfig(series);
  ensureWritableDir(o.outDir);
  const terrain = await buildTerrain(o.terrain, scene.size, scene.spacingM);
  const settings: SeriesSettings = {
    seed: o.seed, count: o.count, classes: [...classes], size: scene.size, spacingM: scene.spacingM,
    dem: o.terrain.kind === 'procedural' ? { kind: 'procedural' } : { kind: o.terrain.kind, path: path.resolve(o.terrain.path), volcanoes: terrain.volcanoes },
    scene: { ...scene }, series, hdf5: o.hdf5 ?? null,
  };
  let stacks: StackEntry[] = [];
  if (fs.existsSync(seriesManifestPath(o.outDir))) {
    const old = readSeriesManifest(o.outDir);
    if (JSON.stringify(old.settings) !== JSON.stringify(settings)) {
      throw new InputError(`${o.outDir} holds stacks made with other settings; choose another output folder or delete it`);
    }
    stacks = old.stacks.filter((s) => fs.existsSync(path.join(o.outDir, s.file)));
  } else if (fs.readdirSync(o.outDir).some((f) => f.startsWith('stack-'))) {
    throw new InputError(`${o.outDir} has stack files but no manifest.json; choose another output folder or empty it`);
  }
  const have = new Set(stacks.map((s) => s.index));
  const save = (complete: boolean): void => {
    stacks.sort((a, b) => a.index - b.index);
    const m: SeriesManifest = { format: SERIES_FORMAT, createdBy: 'caldera synth-series', settings, stacks, complete };
    writeFileAtomicSync(seriesManifestPath(o.outDir), JSON.stringify(m, null, 1) + '\n');
  };
  const resumed = have.size;
  save(resumed === o.count);
  const cache = createSpectralCache(spectralSizeFor(scene.size, scene.size));
  let done = resumed;
  onProgress({ done, total: o.count, resumed });
  for (let i = 0; i < o.count; i++) {
    if (have.has(i)) continue;
    const cls = classes[i % classes.length]!;
    const s = generateStack(Rng.stream(o.seed, i), cls, terrain.provider, scene, series, cache);
    stacks.push(await writeStack(o.outDir, i, s, settings.hdf5));
    if (++done % 5 === 0 || done === o.count) save(false);
    onProgress({ done, total: o.count, resumed });
    await new Promise((r) => setImmediate(r));
  }
  save(true);
  return readSeriesManifest(o.outDir);
}
