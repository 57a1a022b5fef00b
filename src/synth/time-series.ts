/**
 * Synthetic time series: a stack of N Sentinel-1 acquisitions (6 or 12 days apart) over one scene,
 * as SyInterferoPy's time-series mode makes them, and what LiCSAR / LiCSBAS would make of them.
 *
 *  1. One scene (`scene.ts` `generateScene`: terrain, geometry, source drawn to 0.05-0.25 m with
 *     the placement and visibility checks, base incoherence, water) gives the final deformation,
 *     the label box and the class. Its single atmosphere is dropped.
 *  2. Deformation starts at a known onset (a day drawn between `onsetWindow` fractions of the
 *     span) and grows to its final amplitude: a step (at once), linear, or exponential
 *     (accelerating, a = (e^{3τ} - 1) / (e^3 - 1) over the rise time); the rise ends by the last
 *     acquisition, so every deforming stack reaches its full amplitude.
 *  3. Each acquisition has its own atmosphere: a turbulent screen and a topography-correlated delay
 *     (rate 56 ± 2 rad/km of elevation, Pinel et al. 2011, as SyInterferoPy per acquisition), with
 *     the screen's strength divided by √2 so that the difference of two acquisitions (an
 *     interferogram) has the strength of a single synthetic interferogram's atmosphere.
 *  4. The cumulative series (what LiCSBAS cum.h5 holds): displacement of each acquisition relative to
 *     the first, deformation plus the atmosphere of both dates; masked where the scene is
 *     (water, base incoherence).
 *  5. The short-baseline network LiCSAR makes: every acquisition to the next 1..`maxPairSpan`; each
 *     interferogram's LOS is cumulative[j] - cumulative[i] (exactly, in this model), and it has its
 *     own incoherence: the base field decorrelating with the temporal baseline (threshold lowered by
 *     `temporalDecorrelation` per extra 12 days), plus patches of each of its two acquisitions
 *     (per-acquisition fields with a random threshold: snow, wet soil, vegetation).
 *  6. Labels: class and box (the final deformation's; it scales linearly, so the box is the same at
 *     every epoch), onset date and the first acquisition after it, the growth law, and the first
 *     acquisition where the cumulative deformation exceeds 3 cm.
 * Pure: no files (the stack files are `monitor/stacks.ts`); every random draw comes from the Rng.
 */
import type { Rng } from '../core/rng.js';
import type { ClassName } from '../core/classes.js';
import type { CentreBox } from '../core/box.js';
import { InputError } from '../core/errors.js';
import { maxAbs } from '../core/arrays.js';
import {
  createSpectralCache, orbitalRamp, sampleTurbulenceStrengthM, S1_WAVELENGTH_M, turbulentScreen, type SpectralCache,
} from './atmosphere.js';
import { coherenceFromField, incoherenceMask } from './coherence.js';
import { DEFAULT_SCENE_CONFIG, generateScene, MASK_INCOHERENT, MASK_WATER, type SceneConfig, type SceneMeta, type TerrainDraw, type TerrainProvider } from './scene.js';

export type Growth = 'linear' | 'exponential' | 'step';
export const GROWTHS: readonly Growth[] = ['linear', 'exponential', 'step'];

export interface TimeSeriesConfig {
  /** Acquisitions in the stack (>= 3). */
  readonly epochs: number;
  /** Days between acquisitions: 6 or 12 for Sentinel-1 (any whole number >= 1 is accepted). */
  readonly spacingDays: number;
  /** Date of the first acquisition (ISO). */
  readonly startDate: string;
  /** Each acquisition is paired with the next 1..maxPairSpan (LiCSAR: 3). */
  readonly maxPairSpan: number;
  /** The onset falls between these fractions of the stack's span (days). */
  readonly onsetWindow: readonly [number, number];
  /** How deformation grows after the onset; 'random' draws one per stack. */
  readonly growth: Growth | 'random';
  /** Linear and exponential growth take at least this many acquisition intervals to reach full amplitude. */
  readonly minRiseIntervals: number;
  /** Base incoherence threshold lowered by this per extra 12 days of temporal baseline. */
  readonly temporalDecorrelation: number;
  /** Per-acquisition incoherent patches: threshold of their field drawn in this range (1 = none). */
  readonly acquisitionPatchThreshold: readonly [number, number];
  /** Cumulative deformation (max |LOS|, m) whose first crossing is labelled (default 0.03). */
  readonly crossingM: number;
}

export const DEFAULT_TIME_SERIES_CONFIG: TimeSeriesConfig = {
  epochs: 20,
  spacingDays: 12,
  startDate: '2021-01-04',
  maxPairSpan: 3,
  onsetWindow: [0.25, 0.6],
  growth: 'random',
  minRiseIntervals: 2,
  temporalDecorrelation: 0.03,
  acquisitionPatchThreshold: [0.8, 1.0],
  crossingM: 0.03,
};

export interface Pair {
  readonly i: number;
  readonly j: number;
}

export interface TimeSeriesLabel {
  readonly className: ClassName;
  /** Box of the deformation in the stack's pixels (null for none). */
  readonly box: CentreBox | null;
  /** Day deformation starts (ISO), null without deformation. */
  readonly onsetDate: string | null;
  /** First acquisition after the onset (the first with deformation), null without. */
  readonly onsetIndex: number | null;
  readonly growth: Growth | null;
  /** Days from onset to full amplitude (0 for a step). */
  readonly riseDays: number | null;
  /** Final max |deformation| (LOS m). */
  readonly defoMaxAbsM: number;
  /** First acquisition whose cumulative deformation max |LOS| exceeds `crossingM` (null if none). */
  readonly crossingIndex: number | null;
  readonly crossingM: number;
}

export interface TimeSeriesStack {
  readonly size: number;
  readonly spacingM: number;
  readonly dates: readonly string[];
  readonly label: TimeSeriesLabel;
  /** Fraction of the final deformation at each acquisition (0 before the onset, 1 at the end). */
  readonly amplitude: Float32Array;
  /** Final deformation, LOS metres. */
  readonly defoM: Float32Array;
  readonly dem: Float32Array;
  /** The scene's coherence-like field (1 = coherent) and mask (water | base incoherence): the cumulative series' mask. */
  readonly coherence: Float32Array;
  readonly mask: Uint8Array;
  /** LOS metres of each acquisition relative to the first (cumulative[0] = 0), deformation + atmosphere. */
  readonly cumulativeM: readonly Float32Array[];
  readonly pairs: readonly Pair[];
  /** Per interferogram: coherence 0..1 and mask (MASK_WATER | MASK_INCOHERENT bits). */
  readonly pairCoherence: readonly Float32Array[];
  readonly pairMask: readonly Uint8Array[];
  /** Centre of the stack (pixel size/2, size/2) in lon/lat when the terrain is real, else null. */
  readonly centreLonLat: readonly [number, number] | null;
  readonly scene: SceneMeta;
  /** Per-acquisition atmosphere draws (turbulence max |m|, topographic rate rad/km) and patch thresholds. */
  readonly acquisitions: readonly { readonly turbulenceMaxAbsM: number; readonly topoRateRadPerKm: number; readonly patchThreshold: number }[];
}

/** ISO date `days` after `iso`. */
export function addDays(iso: string, days: number): string {
  const t = Date.parse(`${iso}T00:00:00Z`);
  if (!Number.isFinite(t)) throw new InputError(`not a date (yyyy-mm-dd): '${iso}'`);
  return new Date(t + Math.round(days) * 86400000).toISOString().slice(0, 10);
}

/** The short-baseline network: every acquisition to the next 1..maxSpan, ordered by secondary then primary. */
export function shortBaselinePairs(n: number, maxSpan: number): Pair[] {
  const out: Pair[] = [];
  for (let j = 1; j < n; j++) for (let i = Math.max(0, j - maxSpan); i < j; i++) out.push({ i, j });
  return out;
}

/** Fraction of full amplitude `t` days after the start, for onset t0 and rise R days. */
export function growthAmplitude(growth: Growth, t: number, t0: number, riseDays: number): number {
  if (t <= t0) return 0;
  if (growth === 'step' || riseDays <= 0) return 1;
  const tau = Math.min(1, (t - t0) / riseDays);
  if (growth === 'linear') return tau;
  return (Math.exp(3 * tau) - 1) / (Math.exp(3) - 1);
}

/** LOS (m) of pair k: cumulative[j] - cumulative[i]. */
export function pairLosM(stack: Pick<TimeSeriesStack, 'cumulativeM' | 'pairs'>, k: number): Float32Array {
  const { i, j } = stack.pairs[k]!;
  const a = stack.cumulativeM[i]!, b = stack.cumulativeM[j]!;
  const out = new Float32Array(a.length);
  for (let q = 0; q < out.length; q++) out[q] = b[q]! - a[q]!;
  return out;
}

export function validateTimeSeriesConfig(c: TimeSeriesConfig): void {
  if (!Number.isInteger(c.epochs) || c.epochs < 3) throw new InputError(`a stack needs at least 3 acquisitions, got ${c.epochs}`);
  if (!Number.isInteger(c.spacingDays) || c.spacingDays < 1) throw new InputError(`acquisition spacing must be a whole number of days >= 1, got ${c.spacingDays}`);
  if (!Number.isInteger(c.maxPairSpan) || c.maxPairSpan < 1) throw new InputError(`pairs span must be a whole number >= 1, got ${c.maxPairSpan}`);
  const [a, b] = c.onsetWindow;
  if (!(a >= 0 && b <= 1 && a <= b)) throw new InputError(`onset window must be fractions 0 <= a <= b <= 1, got ${a}, ${b}`);
  addDays(c.startDate, 0);
  if (!GROWTHS.includes(c.growth as Growth) && c.growth !== 'random') throw new InputError(`growth must be ${GROWTHS.join(', ')} or random, got '${c.growth}'`);
}

const DEG_PER_M = 180 / (Math.PI * 6371008.8);

/**
 * One stack of class `cls` (dyke, sill or none). The scene comes from `generateScene` with the same
 * rng, so a seed reproduces the stack exactly.
 */
export function generateStack(
  rng: Rng, cls: ClassName, terrain: TerrainProvider, sceneCfg: SceneConfig = DEFAULT_SCENE_CONFIG,
  cfg: TimeSeriesConfig = DEFAULT_TIME_SERIES_CONFIG, cache: SpectralCache = createSpectralCache(),
): TimeSeriesStack {
  validateTimeSeriesConfig(cfg);
  let drawn: TerrainDraw | null = null;
  const scene = generateScene(rng, cls, (r) => (drawn = terrain(r)), sceneCfg, cache);
  const { size, spacingM } = scene;
  const n = cfg.epochs;
  const px = size * size;
  const dates = Array.from({ length: n }, (_, k) => addDays(cfg.startDate, k * cfg.spacingDays));
  const spanDays = (n - 1) * cfg.spacingDays;

  // Deformation through time.
  const amplitude = new Float32Array(n);
  let growth: Growth | null = null;
  let onsetDay: number | null = null;
  let riseDays: number | null = null;
  const defoMax = maxAbs(scene.defoM);
  if (scene.className !== 'none' && defoMax > 0) {
    growth = cfg.growth === 'random' ? rng.pick(GROWTHS) : cfg.growth;
    // The onset falls strictly between two acquisitions (a whole day), so its first acquisition is unambiguous.
    const lo = Math.max(1, Math.ceil(cfg.onsetWindow[0] * spanDays));
    const hi = Math.max(lo, Math.min(spanDays - 1, Math.floor(cfg.onsetWindow[1] * spanDays)));
    onsetDay = rng.int(lo, hi);
    if (onsetDay % cfg.spacingDays === 0) onsetDay = Math.max(1, onsetDay - 1);
    const left = spanDays - onsetDay;
    const minRise = Math.min(left, cfg.minRiseIntervals * cfg.spacingDays);
    riseDays = growth === 'step' ? 0 : rng.uniform(minRise, left);
    for (let k = 0; k < n; k++) amplitude[k] = growthAmplitude(growth, k * cfg.spacingDays, onsetDay, riseDays);
    amplitude[n - 1] = 1;
  }

  // One atmosphere per acquisition; cumulative series relative to the first.
  const lambda = S1_WAVELENGTH_M;
  let demMean = 0, demCount = 0;
  for (let q = 0; q < px; q++) if (!scene.mask[q]) { demMean += scene.dem[q]!; demCount++; }
  demMean = demCount ? demMean / demCount : 0;
  const acquisitions: { turbulenceMaxAbsM: number; topoRateRadPerKm: number; patchThreshold: number }[] = [];
  const atm: Float32Array[] = [];
  const patches: Float32Array[] = [];
  for (let k = 0; k < n; k++) {
    const turbMax = sampleTurbulenceStrengthM(rng, sceneCfg.turbulence.meanM / Math.SQRT2, sceneCfg.turbulence.stdM / Math.SQRT2);
    const turb = turbulentScreen(rng, { width: size, height: size, spacingM, maxAbsM: turbMax, spectrum: sceneCfg.turbulenceSpectrum }, cache).data;
    const rate = 56 + 2 * rng.normal();
    const coef = (rate / 1000) * (lambda / (4 * Math.PI));
    const a = new Float32Array(px);
    for (let q = 0; q < px; q++) a[q] = turb[q]! + coef * (scene.dem[q]! - demMean);
    if (sceneCfg.rampMaxM > 0) {
      const ramp = orbitalRamp(rng, { width: size, height: size, maxAbsM: rng.uniform(0, sceneCfg.rampMaxM / Math.SQRT2) }).data;
      for (let q = 0; q < px; q++) a[q]! += ramp[q]!;
    }
    atm.push(a);
    const [t0, t1] = cfg.acquisitionPatchThreshold;
    const patchThreshold = rng.uniform(t0, t1);
    patches.push(incoherenceMask(rng, { width: size, height: size, spacingM, correlationLengthM: sceneCfg.cohCorrelationM, threshold: patchThreshold }, cache).field);
    acquisitions.push({ turbulenceMaxAbsM: turbMax, topoRateRadPerKm: rate, patchThreshold });
  }
  const cumulativeM = atm.map((a, k) => {
    const c = new Float32Array(px);
    if (k === 0) return c;
    const f = amplitude[k]! - amplitude[0]!;
    for (let q = 0; q < px; q++) c[q] = f * scene.defoM[q]! + a[q]! - atm[0]![q]!;
    return c;
  });

  // The interferogram network and each pair's incoherence.
  const pairs = shortBaselinePairs(n, cfg.maxPairSpan);
  const t = scene.meta.cohThreshold;
  const base = new Float32Array(px);
  for (let q = 0; q < px; q++) base[q] = 1 - scene.coherence[q]!;
  const pairCoherence: Float32Array[] = [];
  const pairMask: Uint8Array[] = [];
  for (const { i, j } of pairs) {
    const extra12 = Math.max(0, ((j - i) * cfg.spacingDays) / 12 - 1);
    const tij = Math.max(0.05, t - cfg.temporalDecorrelation * extra12);
    const ui = acquisitions[i]!.patchThreshold, uj = acquisitions[j]!.patchThreshold;
    const gi = patches[i]!, gj = patches[j]!;
    const e = new Float32Array(px);
    const m = new Uint8Array(px);
    for (let q = 0; q < px; q++) {
      // Each term reaches the scene threshold t where its own threshold is crossed.
      const v = Math.min(1, Math.max((base[q]! * t) / tij, (gi[q]! * t) / ui, (gj[q]! * t) / uj));
      e[q] = v;
      m[q] = (scene.mask[q]! & MASK_WATER) | (v > t ? MASK_INCOHERENT : 0);
    }
    pairCoherence.push(coherenceFromField(e, { threshold: t }));
    pairMask.push(m);
  }

  let crossingIndex: number | null = null;
  for (let k = 0; k < n && defoMax > 0; k++) if ((amplitude[k]! - amplitude[0]!) * defoMax > cfg.crossingM) { crossingIndex = k; break; }
  const onsetIndex = onsetDay === null ? null : Math.floor(onsetDay / cfg.spacingDays) + 1;

  let centreLonLat: [number, number] | null = null;
  const d = drawn as TerrainDraw | null;
  if (d && d.lonLat) {
    const cx = Math.floor(d.dem.width / 2), cy = Math.floor(d.dem.height / 2);
    const dx = (scene.meta.cropOrigin[0] + size / 2 - cx) * spacingM, dy = (scene.meta.cropOrigin[1] + size / 2 - cy) * spacingM;
    const lat = d.lonLat[1] - dy * DEG_PER_M;
    centreLonLat = [d.lonLat[0] + (dx * DEG_PER_M) / Math.cos((lat * Math.PI) / 180), lat];
  }

  return {
    size, spacingM, dates,
    label: {
      className: scene.className, box: scene.box,
      onsetDate: onsetDay === null ? null : addDays(cfg.startDate, onsetDay), onsetIndex, growth, riseDays,
      defoMaxAbsM: defoMax, crossingIndex, crossingM: cfg.crossingM,
    },
    amplitude, defoM: scene.defoM, dem: scene.dem, coherence: scene.coherence, mask: scene.mask,
    cumulativeM, pairs, pairCoherence, pairMask, centreLonLat, scene: scene.meta, acquisitions,
  };
}
