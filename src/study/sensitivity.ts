/**
 * `caldera study sensitivity`: how small a deformation the detector sees (issue 13). Sweeps the
 * peak LOS displacement, the atmosphere's strength, the masked fraction, the source size and the
 * class (dyke, sill, Mogi) on synthetic scenes (sensitivity-scene.ts), scores the detector on
 * every cell (detection = right class AND predicted box centre inside the true box), and writes
 * `sensitivity.json`, `report.md` and PNG curves (sensitivity-report.ts).
 *
 * Work is organised in *groups* (a study class and source size, or deformation-free scenes) of
 * scene *draws*; each draw is rendered at every cell of its group (paired: the same scenes at
 * every peak and atmosphere level), and the draws of a group are done in *blocks* of
 * `blockSize`, each written atomically to `OUT/blocks/` with every cell's outcome per draw. A
 * rerun skips finished blocks (resume); `plan.json` holds the settings, and a folder made with
 * other settings or another model is refused. Blocks run on worker threads (`jobs`), each with
 * its own detector (one ONNX Runtime thread) and terrain. Progress: a callback, in scenes scored.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng } from '../core/rng.js';
import { argmax } from '../core/arrays.js';
import { CLASS_NAMES } from '../core/classes.js';
import { InputError } from '../core/errors.js';
import { ensureWritableDir, writeFileAtomicSync } from '../io/atomic.js';
import { cleanStaleTemps, lockDir } from '../io/run-dir.js';
import { createSpectralCache, spectralSizeFor, type SpectralCache } from '../synth/atmosphere.js';
import type { SourceSize } from '../synth/domain.js';
import type { TerrainProvider } from '../synth/scene.js';
import { toExample } from '../data/inputs.js';
import { buildTerrain, regionSize, type TerrainSpec } from '../data/terrain-source.js';
import { proceduralTerrain } from '../synth/terrains.js';
import type { Detector, EngineName } from '../scan/detector.js';
import { makeDraw, maskKey, renderDraw, STUDY_CLASSES, type MaskLevel, type StudyClass } from './sensitivity-scene.js';
import { runTaskWorkers } from '../data/worker-pool.js';

export const SENSITIVITY_FORMAT = 'caldera-sensitivity-1';

/** The sweep. Peaks and atmospheres in cm; masks 'natural' or a masked fraction. */
export interface SensitivityPlan {
  readonly seed: number;
  readonly size: number;
  readonly spacingM: number;
  readonly classes: readonly StudyClass[];
  readonly peaksCm: readonly number[];
  /** Atmosphere strengths, cm rms over coherent land (turbulent + topographic). */
  readonly atmospheresCm: readonly number[];
  /** The typical Sentinel-1 level: thresholds, the mask and size sweeps and the headline false-alarm rate are at it. */
  readonly defaultAtmosphereCm: number;
  /** Mask levels; the first is the one of the atmosphere sweep (normally 'natural'). */
  readonly masks: readonly MaskLevel[];
  /** Source sizes; the first is the one of the main grid (normally 'standard'). */
  readonly sizes: readonly SourceSize[];
  /** Draws per group: main (each class at the first size: every atmosphere and mask), other sizes, deformation-free. */
  readonly draws: { readonly main: number; readonly size: number; readonly none: number };
  readonly blockSize: number;
  readonly terrain: TerrainSpec;
  /** Procedural terrain only: how many landscapes to draw from (default 32; each costs ~60 ms to make). */
  readonly proceduralPool?: number;
}

/** The full study and the smoke run of the test suite. */
export function presetPlan(kind: 'full' | 'quick', o: { seed?: number; scenes?: number; terrain?: TerrainSpec } = {}): SensitivityPlan {
  const terrain = o.terrain ?? { kind: 'procedural' };
  const seed = o.seed ?? 13;
  if (kind === 'quick') {
    const n = o.scenes ?? 2;
    return {
      seed, size: 224, spacingM: 90, classes: [...STUDY_CLASSES], peaksCm: [1, 4, 16], atmospheresCm: [0, 1, 4], defaultAtmosphereCm: 1,
      masks: ['natural', 0.5], sizes: ['standard', 'small'], draws: { main: n, size: Math.max(1, Math.ceil(n / 2)), none: Math.ceil(1.5 * n) }, blockSize: 2, terrain,
      ...(terrain.kind === 'procedural' ? { proceduralPool: 3 } : {}),
    };
  }
  const n = o.scenes ?? 1100;
  return {
    seed, size: 224, spacingM: 90, classes: [...STUDY_CLASSES],
    peaksCm: [0.5, 0.7, 1, 1.4, 2, 2.8, 4, 5.6, 8, 11, 16, 25],
    atmospheresCm: [0, 0.5, 1, 2, 4], defaultAtmosphereCm: 1,
    masks: ['natural', 0.2, 0.4, 0.6], sizes: ['standard', 'small', 'broad'],
    draws: { main: n, size: Math.ceil(n / 2), none: 2 * n }, blockSize: 50, terrain,
  };
}

/** One cell of a group: a peak (null for deformation-free scenes), an atmosphere and a mask. */
export interface Cell {
  readonly peakCm: number | null;
  readonly atmCm: number;
  readonly mask: string;
}
export const cellKey = (c: Cell): string => `${c.peakCm === null ? 'none' : `p${c.peakCm}`}|a${c.atmCm}|${c.mask}`;

export interface Group {
  /** `dyke-standard`, `mogi-small`, `none`. */
  readonly id: string;
  readonly cls: StudyClass | 'none';
  readonly size: SourceSize;
  readonly draws: number;
  readonly cells: readonly Cell[];
  /** Draw d uses random stream `Rng.stream(seed, streamBase + d)`. */
  readonly streamBase: number;
}

/** The groups of a plan, in a fixed order. */
export function planGroups(plan: SensitivityPlan): Group[] {
  const masks = plan.masks.map(maskKey);
  const [mask0, ...otherMasks] = masks;
  const [size0, ...otherSizes] = plan.sizes;
  const a0 = plan.defaultAtmosphereCm;
  if (!mask0 || !size0) throw new InputError('a sensitivity plan needs at least one mask level and one source size');
  const groups: Group[] = [];
  const base = (g: number): number => (g + 1) * 10_000_000;
  plan.classes.forEach((cls, ci) => {
    const cells: Cell[] = [];
    for (const atmCm of plan.atmospheresCm) for (const peakCm of plan.peaksCm) cells.push({ peakCm, atmCm, mask: mask0 });
    for (const mask of otherMasks) for (const peakCm of plan.peaksCm) cells.push({ peakCm, atmCm: a0, mask });
    groups.push({ id: `${cls}-${size0}`, cls, size: size0, draws: plan.draws.main, cells, streamBase: base(ci * 10) });
    otherSizes.forEach((size, si) => {
      groups.push({ id: `${cls}-${size}`, cls, size, draws: plan.draws.size, cells: plan.peaksCm.map((peakCm) => ({ peakCm, atmCm: a0, mask: mask0 })), streamBase: base(ci * 10 + si + 1) });
    });
  });
  const none: Cell[] = plan.atmospheresCm.map((atmCm) => ({ peakCm: null, atmCm, mask: mask0 }));
  for (const mask of otherMasks) none.push({ peakCm: null, atmCm: a0, mask });
  groups.push({ id: 'none', cls: 'none', size: size0, draws: plan.draws.none, cells: none, streamBase: base(99) });
  return groups;
}

/** The terrain of a plan (its procedural pool size honoured). */
export async function studyTerrain(plan: SensitivityPlan): Promise<TerrainProvider> {
  if (plan.terrain.kind === 'procedural' && plan.proceduralPool) return proceduralTerrain(regionSize(plan.size), plan.spacingM, { poolSize: plan.proceduralPool });
  return (await buildTerrain(plan.terrain, plan.size, plan.spacingM)).provider;
}

/** Per draw: where it came from and one outcome character per cell (see `outcomeChar`). */
export interface DrawRecord {
  readonly i: number;
  readonly terrain: string;
  readonly extentKm: number | null;
  readonly snrUnit: number | null;
  /** By mask key: [masked fraction, visible share of the deformation]. */
  readonly masks: Readonly<Record<string, readonly [number, number | null]>>;
  readonly outcomes: string;
}

export interface BlockResult {
  readonly format: string;
  readonly group: string;
  readonly chunk: number;
  readonly start: number;
  readonly count: number;
  readonly cells: readonly string[];
  readonly draws: readonly DrawRecord[];
}

/**
 * An answer as one character: the predicted class's initial (D dyke, S sill, N none), upper case
 * when the predicted box centre is inside the true box (never for deformation-free scenes).
 */
export function outcomeChar(predictedClass: number, centreInside: boolean): string {
  const c = CLASS_NAMES[predictedClass]![0]!;
  return centreInside ? c.toUpperCase() : c.toLowerCase();
}

/** Detected: the right class and the box centre inside the true box. */
export function isDetection(outcome: string, cls: StudyClass): boolean {
  return outcome === (cls === 'dyke' ? 'D' : 'S');
}

/** A false alarm on a deformation-free scene: any class but none. */
export function isFalseAlarm(outcome: string): boolean {
  return outcome.toLowerCase() !== 'n';
}

export const blockFile = (group: string, chunk: number): string => `${group}-${String(chunk).padStart(4, '0')}.json`;
const finite = (v: number): number | null => (Number.isFinite(v) ? Number(v.toPrecision(6)) : null);

export interface BlockContext {
  readonly plan: SensitivityPlan;
  readonly terrain: TerrainProvider;
  readonly detector: Detector;
  readonly cache?: SpectralCache;
}

/** Make, render and score the draws of block `chunk` of `group`. `onDraw(n)` after each draw (n scenes scored). */
export async function runBlock(ctx: BlockContext, group: Group, chunk: number, onDraw?: (scenes: number) => void): Promise<BlockResult> {
  const { plan, detector: det } = ctx;
  if (det.size !== plan.size) throw new InputError(`the model takes ${det.size} px inputs; the study's scenes are ${plan.size} px`);
  const cache = ctx.cache ?? createSpectralCache(spectralSizeFor(plan.size, plan.size));
  const start = chunk * plan.blockSize;
  const count = Math.min(plan.blockSize, group.draws - start);
  const draws: DrawRecord[] = [];
  for (let d = start; d < start + count; d++) {
    const draw = makeDraw(Rng.stream(plan.seed, group.streamBase + d), group.cls, group.size, ctx.terrain, plan.masks, cache);
    const inputs = group.cells.map((c) => toExample(renderDraw(draw, (c.peakCm ?? 0) / 100, c.atmCm / 100, c.mask), det.format, { sign: 1 }).x);
    const outs: { probs: readonly number[]; box: readonly number[] }[] = [];
    const batch = det.batchSize ?? 32;
    for (let j = 0; j < inputs.length; j += batch) outs.push(...(await det.run(inputs.slice(j, j + batch))));
    const b = draw.box;
    const outcomes = outs.map((o) => {
      const cx = o.box[0]! * plan.size, cy = o.box[1]! * plan.size;
      return outcomeChar(argmax(o.probs), b !== null && Math.abs(cx - b.x) <= b.halfWidth && Math.abs(cy - b.y) <= b.halfHeight);
    }).join('');
    draws.push({
      i: d, terrain: draw.terrain, extentKm: finite(draw.extentKm), snrUnit: finite(draw.snrUnit),
      masks: Object.fromEntries([...draw.masks].map(([k, m]) => [k, [finite(m.fraction)!, finite(m.visible)]])),
      outcomes,
    });
    onDraw?.(group.cells.length);
  }
  return { format: SENSITIVITY_FORMAT, group: group.id, chunk, start, count, cells: group.cells.map(cellKey), draws };
}

/** Run block `chunk` of `group` and write it into `dir/blocks/`. */
export async function runAndWriteBlock(dir: string, ctx: BlockContext, group: Group, chunk: number, onDraw?: (scenes: number) => void): Promise<void> {
  const r = await runBlock(ctx, group, chunk, onDraw);
  writeFileAtomicSync(path.join(dir, 'blocks', blockFile(group.id, chunk)), JSON.stringify(r) + '\n');
}

export interface SensitivityOptions {
  readonly outDir: string;
  readonly plan: SensitivityPlan;
  /** A model directory, an .onnx file or 'stand-in' (as loadDetector). */
  readonly model: string;
  readonly engine?: EngineName;
  /** Worker threads (default 1: inline, in this thread). */
  readonly jobs?: number;
  /** The command line, for the report. */
  readonly command?: string;
}

export interface SensitivityProgress {
  readonly done: number;
  readonly total: number;
  readonly resumed: number;
}

/** The model's identity for plan.json: its path and, for a model directory, the card's createdAt. */
export function modelIdentity(model: string): { path: string; createdAt: string | null } {
  let createdAt: string | null = null;
  const card = path.join(model, 'card.json');
  try {
    if (fs.existsSync(card)) createdAt = String((JSON.parse(fs.readFileSync(card, 'utf8')) as { createdAt?: unknown }).createdAt ?? '') || null;
  } catch { /* no card: no date */ }
  return { path: model === 'stand-in' ? model : path.resolve(model), createdAt };
}

interface PlanFile { format: string; model: { path: string; createdAt: string | null }; plan: SensitivityPlan }

function checkPlanFile(dir: string, want: PlanFile): void {
  const f = path.join(dir, 'plan.json');
  if (fs.existsSync(f)) {
    let old: unknown;
    try { old = JSON.parse(fs.readFileSync(f, 'utf8')); } catch (e) { throw new InputError(`${f}: unreadable (${(e as Error).message})`); }
    if (JSON.stringify(old) !== JSON.stringify(want)) {
      throw new InputError(`${dir} holds a sensitivity study made with other settings or another model; rerun with the same options to finish it, or choose another output folder`);
    }
    return;
  }
  writeFileAtomicSync(f, JSON.stringify(want, null, 1) + '\n');
}

/**
 * The blocks still to do, as [group index, chunk], interleaved across groups (by the share of a
 * group done), so that a stopped run has every group about equally far along.
 */
export function pendingBlocks(dir: string, groups: readonly Group[], blockSize: number): [number, number][] {
  const out: { t: [number, number]; at: number }[] = [];
  groups.forEach((g, gi) => {
    const chunks = Math.ceil(g.draws / blockSize);
    for (let c = 0; c < chunks; c++) if (!fs.existsSync(path.join(dir, 'blocks', blockFile(g.id, c)))) out.push({ t: [gi, c], at: c / chunks });
  });
  return out.sort((a, b) => a.at - b.at || a.t[0] - b.t[0]).map((x) => x.t);
}

/** Read every finished block of a plan, grouped by group id, draws in order. */
export function loadBlocks(dir: string, plan: SensitivityPlan): Map<string, { group: Group; draws: DrawRecord[] }> {
  const out = new Map<string, { group: Group; draws: DrawRecord[] }>();
  for (const g of planGroups(plan)) {
    const draws: DrawRecord[] = [];
    const want = g.cells.map(cellKey);
    for (let c = 0; c * plan.blockSize < g.draws; c++) {
      const f = path.join(dir, 'blocks', blockFile(g.id, c));
      if (!fs.existsSync(f)) continue;
      const b = JSON.parse(fs.readFileSync(f, 'utf8')) as BlockResult;
      if (b.format !== SENSITIVITY_FORMAT || JSON.stringify(b.cells) !== JSON.stringify(want)) throw new InputError(`${f}: not a block of this plan`);
      draws.push(...b.draws);
    }
    out.set(g.id, { group: g, draws });
  }
  return out;
}

/** Run (or resume) the study's scoring: every pending block. Resolves when all are written, with the scenes scored by this run. */
export async function runSensitivity(o: SensitivityOptions, onProgress: (p: SensitivityProgress) => void = () => {}): Promise<{ scenes: number }> {
  ensureWritableDir(o.outDir);
  const lock = lockDir(o.outDir, 'caldera study sensitivity');
  try {
    cleanStaleTemps(o.outDir);
    fs.mkdirSync(path.join(o.outDir, 'blocks'), { recursive: true });
    cleanStaleTemps(path.join(o.outDir, 'blocks'));
    checkPlanFile(o.outDir, { format: SENSITIVITY_FORMAT, model: modelIdentity(o.model), plan: o.plan });
    const groups = planGroups(o.plan);
    const total = groups.reduce((s, g) => s + g.draws * g.cells.length, 0);
    const todo = pendingBlocks(o.outDir, groups, o.plan.blockSize);
    const left = todo.reduce((s, [gi, c]) => s + Math.min(o.plan.blockSize, groups[gi]!.draws - c * o.plan.blockSize) * groups[gi]!.cells.length, 0);
    const resumed = total - left;
    let done = resumed;
    onProgress({ done, total, resumed });
    const tick = (n: number): void => { done += n; onProgress({ done, total, resumed }); };
    if (todo.length === 0) return { scenes: 0 };
    const jobs = Math.max(1, Math.min(o.jobs ?? 1, todo.length));
    if (jobs === 1) {
      const { loadDetector } = await import('../scan/detector.js');
      const [terrain, detector] = await Promise.all([studyTerrain(o.plan), loadDetector(o.model, { engine: o.engine, threads: 1 })]);
      const ctx: BlockContext = { plan: o.plan, terrain, detector };
      for (const [gi, c] of todo) {
        await runAndWriteBlock(o.outDir, ctx, groups[gi]!, c, tick);
        await new Promise((r) => setImmediate(r));
      }
    } else {
      await runWorkers(jobs, todo, { dir: o.outDir, plan: o.plan, model: o.model, engine: o.engine }, tick);
    }
    return { scenes: done - resumed };
  } finally {
    lock.release();
  }
}

export interface SensitivityWorkerInit {
  readonly dir: string;
  readonly plan: SensitivityPlan;
  readonly model: string;
  readonly engine?: EngineName | undefined;
}

export type SensitivityWorkerMessage =
  | { type: 'ready' } | { type: 'draw'; scenes: number } | { type: 'block' } | { type: 'error'; message: string; input: boolean };

function runWorkers(n: number, todo: [number, number][], init: SensitivityWorkerInit, tick: (scenes: number) => void): Promise<void> {
  return runTaskWorkers<[number, number], SensitivityWorkerMessage>(new URL('./sensitivity-worker.js', import.meta.url), n, todo, init, (m, next) => {
    if (m.type === 'ready' || m.type === 'block') next();
    else if (m.type === 'draw') tick(m.scenes);
  }, { waitForReady: true });
}
