/**
 * What `monitor` watches, as time-ordered inputs for the detector. Three kinds of source:
 *
 *  - a LiCSAR frame folder (or product files): each interferogram is an input at its second date;
 *    the cumulative displacement since the baseline is built by chaining interferograms in the
 *    model window (the cumulative window of the last chained date + the interferogram from it to
 *    the new date; unwrapped phase needed), kept between runs in the state folder;
 *  - an HDF5 time series (LiCSBAS cum.h5 / cum_filt.h5, MintPy timeseries.h5): at each epoch the
 *    displacement since the previous epoch (the "new interferogram") and since the baseline; only
 *    the crop under each target's window is read;
 *  - a folder of synthetic stacks (`stacks.ts`): each stack is a target at its centre, with its
 *    short-baseline interferograms and its cumulative series, and its labels as the truth.
 *
 * Every input reaches the network through the one path: a product on its own lon/lat grid, a
 * model-sized window cut around the target (`data/windows.ts`), then `scan/scan.ts` windowInput.
 * Products out of date order are sorted and duplicates (the same dates twice) dropped, and both are
 * said in `notes`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, isInputError } from '../core/errors.js';
import { wrapPhase } from '../core/raster.js';
import { readNpz, writeNpz } from '../io/npz.js';
import { discoverProducts, readProduct, type Product, type ProductFiles } from '../io/licsar.js';
import { HDF5_NAME, openHdf5Series, productFromLos, seriesProduct, type Hdf5Options, type Hdf5Series, type PixelCrop } from '../io/hdf5.js';
import { containsPoint, cutWindow, type LonLat, type Window } from '../data/windows.js';
import type { Volcano } from '../synth/dem.js';
import type { TimeSeriesLabel } from '../synth/time-series.js';
import { C_BAND_WAVELENGTH_M } from '../physics/units.js';
import { NOMINAL_CENTRE, readSeriesManifest, readStack, type StackData, type StackEntry } from './stacks.js';
import type { InputKind } from './alerts.js';

export interface MonitorTarget {
  /** Volcano name, `lon,lat`, or stack id: the timeline's name. */
  readonly name: string;
  readonly point: LonLat;
  /** Synthetic stacks: the labels and acquisition dates (scoring). */
  readonly truth?: { readonly label: TimeSeriesLabel; readonly dates: readonly string[] };
}

/** One input of a target: an interferogram, or the cumulative displacement since the baseline. */
export interface InputSpec {
  readonly key: string;
  readonly kind: InputKind;
  readonly dates: readonly [string, string];
  readonly product: string;
}

/** A window ready for the detector. */
export interface WindowJob {
  readonly target: MonitorTarget;
  readonly input: InputSpec;
  readonly window: Window;
}

export interface SourceContext {
  /** Window ground size, km, and model input side, px. */
  readonly sizeKm: number;
  readonly size: number;
  /** Cumulative displacement since this date (the first epoch on or after it); null = the first epoch. */
  readonly baseline: string | null;
  /** Folder for what a source keeps between runs (LiCSAR chains). */
  readonly stateDir: string;
  /** A product that cannot be used (skipped, the run goes on). */
  readonly onProblem: (message: string) => void;
}

export interface MonitorSource {
  readonly kind: 'licsar' | 'hdf5' | 'stacks';
  /** The path(s) it reads, for reports. */
  readonly label: string;
  readonly targets: readonly MonitorTarget[];
  readonly notes: string[];
  /** Every input of a target, in date order. */
  inputs(t: MonitorTarget, ctx: SourceContext): InputSpec[];
  /** Windows of the wanted inputs (target name -> keys), a batch at a time, in date order per target. */
  windows(wanted: ReadonlyMap<string, ReadonlySet<string>>, ctx: SourceContext): AsyncGenerator<WindowJob[]>;
  /** Synthetic stacks: a target's stack, for its picture. */
  stack?(name: string): StackData | null;
  close(): void;
}

/** Which points to watch in products: given points, or every listed volcano inside the data. */
export type TargetSpec =
  | { readonly kind: 'points'; readonly points: readonly (LonLat & { readonly name?: string })[] }
  | { readonly kind: 'volcanoes-inside'; readonly volcanoes: readonly Volcano[] };

const compact = (d: string): string => d.replace(/-/g, '');
export const inputKey = (kind: InputKind, dates: readonly [string, string]): string => `${kind === 'ifg' ? 'ifg' : 'cum'}:${compact(dates[0])}_${compact(dates[1])}`;
const pointName = (p: LonLat & { name?: string }): string => p.name ?? `${p.lon.toFixed(4)},${p.lat.toFixed(4)}`;

/** The baseline epoch index: the first date on or after `baseline` (0 when null). */
export function baselineIndex(dates: readonly string[], baseline: string | null): number {
  if (!baseline) return 0;
  const k = dates.findIndex((d) => d >= baseline);
  return k < 0 ? dates.length : k;
}

/** Cut a window; null (and a problem said) when the target lies outside the product or sees no data. */
function windowOrNull(p: Product, t: MonitorTarget, ctx: SourceContext): Window | null {
  if (!containsPoint(p, t.point.lon, t.point.lat)) {
    ctx.onProblem(`${p.id}: ${t.name} is outside the product; skipped`);
    return null;
  }
  const w = cutWindow(p, t.point, { size: ctx.size, sizeKm: ctx.sizeKm, name: t.name, requireData: false });
  if (w.maskedFraction >= 1) {
    ctx.onProblem(`${p.id}: the window around ${t.name} is entirely masked; skipped`);
    return null;
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// LiCSAR frames

interface Chain {
  date: string;
  unwrappedRad: Float32Array;
  mask: Uint8Array;
}

const slug = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_');

function chainFile(ctx: SourceContext, t: MonitorTarget): string {
  return path.join(ctx.stateDir, `chain-${slug(t.name)}.npz`);
}

function loadChain(ctx: SourceContext, t: MonitorTarget, size: number): Chain | null {
  const f = chainFile(ctx, t);
  if (!fs.existsSync(f)) return null;
  try {
    const a = readNpz(f);
    const u = a.unwrapped!.data as Float32Array, m = a.mask!.data as Uint8Array, d = a.date!.data as Int32Array;
    if (u.length !== size * size) return null;
    const s = String(d[0]);
    return { date: `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`, unwrappedRad: u, mask: m };
  } catch {
    return null;
  }
}

function saveChain(ctx: SourceContext, t: MonitorTarget, c: Chain, size: number): void {
  fs.mkdirSync(ctx.stateDir, { recursive: true });
  const tmp = `${chainFile(ctx, t)}.tmp-${process.pid}`;
  writeNpz(tmp, {
    unwrapped: { data: c.unwrappedRad, shape: [size, size] }, mask: { data: c.mask, shape: [size, size] },
    date: { data: new Int32Array([Number(compact(c.date))]), shape: [1] },
  });
  fs.renameSync(tmp, chainFile(ctx, t));
}

export interface LicsarSourceOptions {
  readonly minCoherence?: number;
}

/** Products in folders / files, sorted by dates and de-duplicated; targets from the spec. */
export async function licsarSource(paths: readonly string[], spec: TargetSpec, opts: LicsarSourceOptions = {}): Promise<MonitorSource> {
  const found = discoverProducts(paths);
  const notes: string[] = found.problems.map((p) => p.message);
  const dated = found.products.filter((p) => {
    if (p.dates) return true;
    notes.push(`${p.id}: no YYYYMMDD_YYYYMMDD dates in its name; skipped`);
    return false;
  });
  // The order given (files listed one by one may come in any order), then date order.
  const given = [...dated];
  const sorted = [...dated].sort((a, b) => (a.dates![1] + a.dates![0]).localeCompare(b.dates![1] + b.dates![0]));
  if (given.some((p, i) => p !== sorted[i])) notes.push('products were not in date order: sorted by date');
  const seen = new Map<string, ProductFiles>();
  const products: ProductFiles[] = [];
  for (const p of sorted) {
    const k = `${p.dates![0]}_${p.dates![1]}`;
    const first = seen.get(k);
    if (first) { notes.push(`${p.id}: same dates as ${first.id}; duplicate skipped`); continue; }
    seen.set(k, p);
    products.push(p);
  }
  if (products.length === 0) throw new InputError(`no dated LiCSAR interferograms (*.geo.unw.tif / *.geo.diff_pha.tif) in ${paths.join(', ')}`);
  const read = (f: ProductFiles): Promise<Product> => readProduct(f, { ...(opts.minCoherence !== undefined ? { minCoherence: opts.minCoherence } : {}) });
  let targets: MonitorTarget[];
  if (spec.kind === 'points') targets = spec.points.map((p) => ({ name: pointName(p), point: { lon: p.lon, lat: p.lat } }));
  else {
    const p = await read(products[products.length - 1]!);
    targets = spec.volcanoes.filter((v) => containsPoint(p, v.lon, v.lat)).map((v) => ({ name: v.name, point: { lon: v.lon, lat: v.lat } }));
    if (targets.length === 0) throw new InputError(`${p.id}: no volcano of the list lies inside the frame; give --at or --volcano`);
  }
  const epochs = [...new Set(products.map((p) => p.dates![1]))].sort();
  const allDates = [...new Set(products.flatMap((p) => p.dates!))].sort();

  return {
    kind: 'licsar', label: paths.join(', '), targets, notes,
    inputs: (_t, ctx) => {
      const out: InputSpec[] = products.map((p) => ({ key: inputKey('ifg', p.dates!), kind: 'ifg' as const, dates: p.dates!, product: p.id }));
      const b = allDates[baselineIndex(allDates, ctx.baseline)];
      if (b) for (const e of epochs) if (e > b) out.push({ key: inputKey('cumulative', [b, e]), kind: 'cumulative', dates: [b, e], product: `chain ${b}..${e}` });
      return out.sort((x, y) => (x.dates[1] + x.kind).localeCompare(y.dates[1] + y.kind));
    },
    async *windows(wanted, ctx) {
      const b = allDates[baselineIndex(allDates, ctx.baseline)];
      const chains = new Map<string, Chain | null>();
      for (const t of targets) {
        if (!wanted.has(t.name)) continue;
        const c = loadChain(ctx, t, ctx.size);
        chains.set(t.name, c && b && c.date >= b ? c : null);
      }
      for (const e of epochs) {
        const ending = products.filter((p) => p.dates![1] === e);
        const jobs: WindowJob[] = [];
        for (const p of ending) {
          const key = inputKey('ifg', p.dates!);
          // Who needs this product: its own row, or a chain that can extend over it.
          const need = targets.filter((t) => {
            if (!wanted.has(t.name)) return false;
            if (wanted.get(t.name)!.has(key)) return true;
            const c = chains.get(t.name);
            return b !== undefined && e > b && (c ? c.date === p.dates![0] : p.dates![0] === b);
          });
          if (need.length === 0) continue;
          let prod: Product;
          try {
            prod = await read(p);
          } catch (err) {
            if (!isInputError(err)) throw err;
            ctx.onProblem((err as Error).message);
            continue;
          }
          for (const t of need) {
            const w = windowOrNull(prod, t, ctx);
            if (!w) continue;
            if (wanted.get(t.name)!.has(key)) jobs.push({ target: t, input: { key, kind: 'ifg', dates: p.dates!, product: p.id }, window: w });
            const c = chains.get(t.name);
            const extends_ = b !== undefined && e > b && (c ? c.date === p.dates![0] && e > c.date : p.dates![0] === b);
            if (!extends_) continue;
            if (!w.unwrappedRad) { ctx.onProblem(`${p.id}: no unwrapped phase (.unw.tif); the cumulative displacement of ${t.name} cannot pass ${e}`); continue; }
            const n = w.size * w.size;
            const u = new Float32Array(n), m = new Uint8Array(n);
            for (let q = 0; q < n; q++) {
              m[q] = (c ? c.mask[q]! : 0) | w.mask[q]!;
              u[q] = m[q] ? NaN : (c ? c.unwrappedRad[q]! : 0) + w.unwrappedRad[q]!;
            }
            const next: Chain = { date: e, unwrappedRad: u, mask: m };
            chains.set(t.name, next);
            saveChain(ctx, t, next, w.size);
          }
        }
        // The cumulative displacement at this epoch, from each target's chain (also after a kill
        // that saved the chain but not the row).
        for (const t of targets) {
          const ck = b ? inputKey('cumulative', [b, e]) : null;
          if (!ck || !wanted.get(t.name)?.has(ck)) continue;
          const c = chains.get(t.name);
          if (!c || c.date !== e) {
            ctx.onProblem(`${t.name}: no interferogram from ${c?.date ?? b} to ${e}; cumulative displacement at ${e} skipped`);
            continue;
          }
          const n = ctx.size * ctx.size;
          let masked = 0;
          const wr = new Float32Array(n);
          for (let q = 0; q < n; q++) { if (c.mask[q]) { masked++; wr[q] = NaN; } else wr[q] = wrapPhase(c.unwrappedRad[q]!); }
          if (masked === n) { ctx.onProblem(`${t.name}: cumulative displacement at ${e} entirely masked; skipped`); continue; }
          const window: Window = {
            centre: t.point, size: ctx.size, width: ctx.size, height: ctx.size, spacingM: (ctx.sizeKm * 1000) / ctx.size, name: t.name,
            wrappedRad: wr, unwrappedRad: c.unwrappedRad, coherence: null, mask: c.mask, maskedFraction: masked / n,
          };
          jobs.push({ target: t, input: { key: ck, kind: 'cumulative', dates: [b!, e], product: `chain ${b}..${e}` }, window });
        }
        if (jobs.length) yield jobs;
      }
    },
    close: () => {},
  };
}

// ---------------------------------------------------------------------------------------------
// HDF5 time series

const DEG_PER_M = 180 / (Math.PI * 6371008.8);

/** The series' pixels under a window around `pt` (with a margin), clamped to the grid. */
export function cropAround(s: Pick<Hdf5Series, 'geo' | 'width' | 'height'>, pt: LonLat, sizeKm: number): PixelCrop {
  const halfLat = ((sizeKm * 1000) / 2) * DEG_PER_M * 1.05;
  const halfLon = halfLat / Math.cos((pt.lat * Math.PI) / 180);
  const c0 = Math.floor((pt.lon - halfLon - s.geo.west) / s.geo.dLon) - 2;
  const c1 = Math.ceil((pt.lon + halfLon - s.geo.west) / s.geo.dLon) + 2;
  const r0 = Math.floor((pt.lat + halfLat - s.geo.north) / s.geo.dLat) - 2;
  const r1 = Math.ceil((pt.lat - halfLat - s.geo.north) / s.geo.dLat) + 2;
  return { col0: Math.max(0, c0), col1: Math.min(s.width, c1), row0: Math.max(0, r0), row1: Math.min(s.height, r1) };
}

/** A LiCSBAS cum.h5 / MintPy timeseries.h5 as a monitor source. */
export async function hdf5Source(file: string, spec: TargetSpec, opts: Hdf5Options = {}): Promise<MonitorSource> {
  const s = await openHdf5Series(file, opts);
  try {
    if (s.layout === 'mintpy-velocity') {
      throw new InputError(`${path.basename(file)}: a velocity has no time steps to monitor; give the timeseries.h5 it was made from`);
    }
    const notes = [...s.notes];
    const base = path.basename(file);
    // Epoch order: sorted by date, repeated dates dropped (the first kept).
    const order = s.dates.map((d, i) => ({ d, i })).sort((a, b) => a.d.localeCompare(b.d) || a.i - b.i);
    const idx: number[] = [];
    for (const o of order) {
      if (idx.length && s.dates[idx[idx.length - 1]!] === o.d) { notes.push(`${base}: date ${o.d} appears twice; the second is skipped`); continue; }
      idx.push(o.i);
    }
    if (order.some((o, k) => o.i !== k)) notes.push(`${base}: epochs sorted by date`);
    const dates = idx.map((i) => s.dates[i]!);
    if (dates.length < 2) throw new InputError(`${base}: ${dates.length} epoch; monitoring needs at least 2`);
    const inside = (p: LonLat): boolean => containsPoint({ geo: s.geo, width: s.width, height: s.height } as Product, p.lon, p.lat);
    let targets: MonitorTarget[];
    if (spec.kind === 'points') {
      targets = [];
      for (const p of spec.points) {
        if (inside(p)) targets.push({ name: pointName(p), point: { lon: p.lon, lat: p.lat } });
        else notes.push(`${base}: ${pointName(p)} is outside the grid; not watched`);
      }
    } else {
      targets = spec.volcanoes.filter(inside).map((v) => ({ name: v.name, point: { lon: v.lon, lat: v.lat } }));
    }
    if (targets.length === 0) throw new InputError(`${base}: none of the points to watch lies inside the grid`);
    const productId = (d: readonly [string, string]) => `${base}/${compact(d[0])}_${compact(d[1])}`;
    return {
      kind: 'hdf5', label: file, targets, notes,
      inputs: (_t, ctx) => {
        const b = baselineIndex(dates, ctx.baseline);
        const out: InputSpec[] = [];
        for (let k = 1; k < dates.length; k++) {
          const d: [string, string] = [dates[k - 1]!, dates[k]!];
          out.push({ key: inputKey('ifg', d), kind: 'ifg', dates: d, product: productId(d) });
          if (k > b) {
            const c: [string, string] = [dates[b]!, dates[k]!];
            out.push({ key: inputKey('cumulative', c), kind: 'cumulative', dates: c, product: productId(c) });
          }
        }
        return out;
      },
      async *windows(wanted, ctx) {
        const b = baselineIndex(dates, ctx.baseline);
        for (const t of targets) {
          const keys = wanted.get(t.name);
          if (!keys || keys.size === 0) continue;
          const crop = cropAround(s, t.point, ctx.sizeKm);
          const cut = (i: number, j: number, kind: InputKind): WindowJob | null => {
            const d: [string, string] = [dates[i]!, dates[j]!];
            const key = inputKey(kind, d);
            if (!keys.has(key)) return null;
            let p: Product;
            try {
              p = seriesProduct(s, idx[i]!, idx[j]!, { crop, id: productId(d) });
            } catch (e) {
              if (!isInputError(e)) throw e;
              ctx.onProblem(`${t.name}: ${(e as Error).message}`);
              return null;
            }
            const w = windowOrNull(p, t, ctx);
            return w ? { target: t, input: { key, kind, dates: d, product: p.id }, window: w } : null;
          };
          for (let k = 1; k < dates.length; k++) {
            const jobs = [cut(k - 1, k, 'ifg'), k > b ? cut(b, k, 'cumulative') : null].filter((j): j is WindowJob => j !== null);
            if (jobs.length) yield jobs;
          }
        }
      },
      close: () => s.close(),
    };
  } catch (e) {
    s.close();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Synthetic stacks

/** A folder of synthetic stacks: one target per stack, at its centre, with its labels. */
export function stacksSource(dir: string): MonitorSource {
  const m = readSeriesManifest(dir);
  const notes: string[] = [];
  if (!m.complete) notes.push(`${dir}: the stack folder is not complete (${m.stacks.length} of ${m.settings.count}); watching the stacks written`);
  const entries = new Map<string, StackEntry>();
  const targets: MonitorTarget[] = [];
  const dates = new Map<string, readonly string[]>();
  for (const e of m.stacks) {
    const jf = path.join(dir, e.file.replace(/\.npz$/, '.json'));
    let rec: { label: TimeSeriesLabel; dates: string[]; centreLonLat: [number, number] | null };
    try {
      rec = JSON.parse(fs.readFileSync(jf, 'utf8')) as typeof rec;
    } catch (err) {
      throw new InputError(`${jf}: cannot read the stack's labels (${(err as Error).message})`);
    }
    const name = e.file.replace(/\.npz$/, '');
    const [lon, lat] = rec.centreLonLat ?? NOMINAL_CENTRE;
    targets.push({ name, point: { lon, lat }, truth: { label: rec.label, dates: rec.dates } });
    entries.set(name, e);
    dates.set(name, rec.dates);
  }
  if (targets.length === 0) throw new InputError(`${dir}: no stacks written yet`);
  return {
    kind: 'stacks', label: dir, targets, notes,
    inputs: (t, ctx) => {
      const ds = dates.get(t.name)!;
      const b = baselineIndex(ds, ctx.baseline);
      const out: InputSpec[] = [];
      const span = m.settings.series.maxPairSpan;
      for (let j = 1; j < ds.length; j++) {
        for (let i = Math.max(0, j - span); i < j; i++) {
          const d: [string, string] = [ds[i]!, ds[j]!];
          out.push({ key: inputKey('ifg', d), kind: 'ifg', dates: d, product: `${t.name}/${compact(d[0])}_${compact(d[1])}` });
        }
        if (j > b) {
          const d: [string, string] = [ds[b]!, ds[j]!];
          out.push({ key: inputKey('cumulative', d), kind: 'cumulative', dates: d, product: `${t.name}/cum_${compact(d[0])}_${compact(d[1])}` });
        }
      }
      return out;
    },
    async *windows(wanted, ctx) {
      for (const t of targets) {
        const keys = wanted.get(t.name);
        if (!keys || keys.size === 0) continue;
        const st = readStack(dir, entries.get(t.name)!);
        const ds = st.record.dates;
        const b = baselineIndex(ds, ctx.baseline);
        const px = st.size * st.size;
        const product = (i: number, j: number, mask: Uint8Array, id: string): Product => {
          const los = new Float32Array(px);
          const a = st.cumulativeM[i]!, c = st.cumulativeM[j]!;
          for (let q = 0; q < px; q++) los[q] = mask[q] ? NaN : c[q]! - a[q]!;
          const files: ProductFiles = { id, prefix: path.join(dir, entries.get(t.name)!.file), dates: [ds[i]!, ds[j]!], frame: null };
          return productFromLos(los, st.size, st.size, st.geo, files, C_BAND_WAVELENGTH_M);
        };
        const jobs: WindowJob[] = [];
        st.pairs.forEach((pr, k) => {
          const d: [string, string] = [ds[pr.i]!, ds[pr.j]!];
          const key = inputKey('ifg', d);
          if (!keys.has(key)) return;
          const w = windowOrNull(product(pr.i, pr.j, st.pairMask[k]!, `${t.name}/${compact(d[0])}_${compact(d[1])}`), t, ctx);
          if (w) jobs.push({ target: t, input: { key, kind: 'ifg', dates: d, product: `${t.name}/${compact(d[0])}_${compact(d[1])}` }, window: w });
        });
        for (let j = b + 1; j < ds.length; j++) {
          const d: [string, string] = [ds[b]!, ds[j]!];
          const key = inputKey('cumulative', d);
          if (!keys.has(key)) continue;
          const id = `${t.name}/cum_${compact(d[0])}_${compact(d[1])}`;
          const w = windowOrNull(product(b, j, st.mask, id), t, ctx);
          if (w) jobs.push({ target: t, input: { key, kind: 'cumulative', dates: d, product: id }, window: w });
        }
        if (jobs.length) yield jobs;
      }
    },
    stack: (name) => (entries.has(name) ? readStack(dir, entries.get(name)!) : null),
    close: () => {},
  };
}

/** What kind of source a path is: a stack folder, an HDF5 file, or LiCSAR products. */
export function sourceKindOf(p: string): 'stacks' | 'hdf5' | 'licsar' {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new InputError(`${p}: no such file or folder`);
  }
  if (st.isDirectory()) return fs.existsSync(path.join(p, 'manifest.json')) ? 'stacks' : 'licsar';
  if (HDF5_NAME.test(p)) return 'hdf5';
  return 'licsar';
}


export interface OpenSourcesOptions {
  readonly minCoherence?: number;
  readonly hdf5?: Hdf5Options;
}

/**
 * Sources for the paths given: each folder of synthetic stacks and each HDF5 file on its own, all
 * LiCSAR products (files and folders) together as one frame. Products need `targets` (where to
 * look); stacks bring their own.
 */
export async function openSources(paths: readonly string[], targets: TargetSpec | null, o: OpenSourcesOptions = {}): Promise<MonitorSource[]> {
  if (paths.length === 0) throw new InputError('give at least one folder or file to monitor');
  const out: MonitorSource[] = [];
  const licsar: string[] = [];
  const need = (what: string): TargetSpec => {
    if (!targets) throw new InputError(`${what}: say where to look (--at LON,LAT or --volcano NAME[,NAME|all])`);
    return targets;
  };
  try {
    for (const p of paths) {
      const kind = sourceKindOf(p);
      if (kind === 'stacks') {
        const s = stacksSource(p);
        if (targets) s.notes.push(`${p}: synthetic stacks are watched at their own centres; --at / --volcano ignored for them`);
        out.push(s);
      } else if (kind === 'hdf5') out.push(await hdf5Source(p, need(p), o.hdf5 ?? {}));
      else licsar.push(p);
    }
    if (licsar.length) out.push(await licsarSource(licsar, need(licsar.join(', ')), o.minCoherence !== undefined ? { minCoherence: o.minCoherence } : {}));
  } catch (e) {
    for (const s of out) s.close();
    throw e;
  }
  return out;
}
