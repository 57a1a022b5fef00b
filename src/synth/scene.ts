/**
 * One labelled synthetic interferogram, assembled as SyInterferoPy does
 * (random_generation.create_random_synthetic_ifgs), but fast:
 *  1. a DEM region and an anchor (volcano) from a terrain provider; asc/desc geometry;
 *  2. an incoherence mask (correlated field above a 0.7-0.8 threshold) and water (DEM <= 0);
 *  3. a random source, redrawn until 0.05 < max|LOS| < 0.25 m, evaluated on a coarse grid
 *     (the field is linear in opening / volume change, so after repeated misses it is rescaled);
 *  4. a crop that puts the source 10-90 % across, kept when >= 80 % of deformation pixels
 *     (|defo| > 0.3 max) are coherent land; up to 8 tries, else a new source;
 *  5. the full-resolution field on the accepted crop only;
 *  6. turbulent + topographic atmosphere, redrawn until SNR = var(defo)/var(atm) over the
 *     deformation pixels >= 2 (8 tries, else start again);
 *  7. the label: class and box (labels.ts).
 * Everything random comes from the Rng argument: a seed reproduces the scene exactly.
 */
import type { Raster } from '../core/raster.js';
import type { Rng } from '../core/rng.js';
import {
  gridAxes, losUnitVector, projectToLos, sourceDisplacementGrid, S1_ASCENDING_HEADING_DEG, S1_DESCENDING_HEADING_DEG,
  S1_INCIDENCE_MIN_DEG, S1_INCIDENCE_MAX_DEG, type LosVector, type Source,
} from '../physics/index.js';
import { createSpectralCache, sampleTurbulenceStrengthM, topographicDelayM, turbulentScreen, orbitalRamp, type SpectralCache } from './atmosphere.js';
import { addArtefacts, type ArtefactConfig } from './artefacts.js';
import { incoherenceMask } from './coherence.js';
import { decorrelateScene, type DecorrelationConfig, type DecorrelationMeta, type DecorrelationMode } from './decorrelation.js';
import { generateRandomisedScene, sampleSizedSource, type DomainConfig, type DomainMeta, type DomainMode, type SourceSize } from './domain.js';
import { boxFromDeformation } from './labels.js';
import { type CentreBox } from '../core/box.js';
import { classOfSource, sampleSource, scaleSource, type SourceKind } from './sources.js';
import { type ClassName } from '../core/classes.js';
import { maxAbs } from '../core/arrays.js';
import { InputError } from '../core/errors.js';

/** A DEM region and the point deformation is anchored to (a volcano, or any land point). */
export interface TerrainDraw {
  readonly dem: Raster;
  readonly anchor: { readonly x: number; readonly y: number };
  readonly name: string;
  /** Lon/lat of the region's centre pixel when the terrain is real. */
  readonly lonLat: readonly [number, number] | null;
}
export type TerrainProvider = (rng: Rng) => TerrainDraw;

export interface SceneConfig {
  readonly size: number;
  readonly spacingM: number;
  readonly minDefoM: number;
  readonly maxDefoM: number;
  readonly snrThreshold: number;
  /** Share of deformation pixels that must be coherent land. */
  readonly visibleFraction: number;
  readonly cohThresholdRange: readonly [number, number];
  readonly cohCorrelationM: number;
  readonly maxTries: number;
  readonly incidenceRangeDeg: readonly [number, number];
  /** Strength of the turbulent screen: max|value| ~ N(mean, std) metres. */
  readonly turbulence: { readonly meanM: number; readonly stdM: number };
  /**
   * Turbulence spectrum: 'kolmogorov' (2-D PSD slope -11/3, the spec) or 'syinterferopy'
   * (the original's two-slope fft spectrum, which matches the reference set's look and statistics
   * more closely: median no_def std 1.32 rad vs 1.30 in the reference, against 1.50 for kolmogorov).
   */
  readonly turbulenceSpectrum: 'kolmogorov' | 'syinterferopy';
  /** Orbital ramp max |value| in metres (0 = none). Real scenes have them; off by default. */
  readonly rampMaxM: number;
  /**
   * Artefacts of real products (unwrapping-error patches, decorrelation noise, long-wavelength
   * atmosphere; artefacts.ts), added after the acceptance checks. null (default) = as SyInterferoPy.
   */
  readonly artefacts: ArtefactConfig | null;
  /**
   * 'products': decorrelated ground rendered as real products show it (random phase from water,
   * slopes, vegetation-like patches, edges; masked, left as noise, or partly masked; noise-only
   * `none` scenes; decorrelation.ts). Absent or 'off' = as before (same scenes for a seed).
   */
  readonly decorrelation?: DecorrelationMode;
  readonly decorrelationOptions?: DecorrelationConfig;
  /**
   * 'randomised': per-scene incidence, heading convention, pixel size, atmosphere spectrum and
   * strength, ramps, source sizes, cuts through the deformation, secondary sources (domain.ts).
   * Absent or 'caldera' = as before.
   */
  readonly domain?: DomainMode;
  readonly domainOptions?: DomainConfig;
  /** Headings (deg) named asc / desc and their jitter; absent = Sentinel-1's 348 / 192 +- 3. */
  readonly headingsDeg?: { readonly asc: number; readonly desc: number; readonly jitterDeg: number };
  /** Source footprints (domain.ts sampleSizedSource); absent = SyInterferoPy's ranges. */
  readonly sourceSize?: SourceSize;
}

export const DEFAULT_SCENE_CONFIG: SceneConfig = {
  size: 224,
  spacingM: 90,
  minDefoM: 0.05,
  maxDefoM: 0.25,
  snrThreshold: 2,
  visibleFraction: 0.8,
  cohThresholdRange: [0.7, 0.8],
  cohCorrelationM: 5000,
  maxTries: 8,
  incidenceRangeDeg: [S1_INCIDENCE_MIN_DEG, S1_INCIDENCE_MAX_DEG],
  turbulence: { meanM: 0.02, stdM: 0.005 },
  turbulenceSpectrum: 'kolmogorov',
  rampMaxM: 0,
  artefacts: null,
};

/** Bits of Scene.mask. */
export const MASK_WATER = 1;
export const MASK_INCOHERENT = 2;

export interface SceneMeta {
  readonly terrain: string;
  readonly lonLat: readonly [number, number] | null;
  readonly pass: 'asc' | 'desc';
  readonly headingDeg: number;
  readonly incidenceDeg: number;
  readonly source: Source | null;
  /** Source position in the crop, pixels. */
  readonly sourceXY: readonly [number, number] | null;
  readonly cropOrigin: readonly [number, number];
  readonly defoMaxAbsM: number;
  readonly snr: number | null;
  readonly turbulenceMaxAbsM: number;
  readonly topoRatesRadPerKm: readonly [number, number];
  readonly cohThreshold: number;
  readonly maskedFraction: number;
  readonly attempts: number;
  /** Present when cfg.decorrelation (or a randomised domain's cut) changed the scene. */
  readonly decorrelation?: DecorrelationMeta;
  /** Present for cfg.domain = 'randomised'. */
  readonly domain?: DomainMeta;
}

export interface Scene {
  readonly size: number;
  readonly spacingM: number;
  /** Total LOS signal (deformation + atmosphere [+ ramp]), metres, positive toward the satellite. Finite everywhere. */
  readonly losM: Float32Array;
  /** Deformation alone, LOS metres. */
  readonly defoM: Float32Array;
  /** Elevation, metres (<= 0 = water). */
  readonly dem: Float32Array;
  /** Coherence-like field 0..1 (1 = coherent). */
  readonly coherence: Float32Array;
  /** MASK_WATER | MASK_INCOHERENT bits. */
  readonly mask: Uint8Array;
  readonly className: ClassName;
  readonly box: CentreBox | null;
  readonly meta: SceneMeta;
}

/** Which source to draw for a class: sills and Mogi sources share the class `sill`. */
export function sourceKindForClass(rng: Rng, cls: ClassName): SourceKind | null {
  if (cls === 'none') return null;
  if (cls === 'dyke') return 'dyke';
  return rng.chance(0.5) ? 'sill' : 'mogi';
}

const COARSE_STEP_PX = 4;

interface Geometry { pass: 'asc' | 'desc'; headingDeg: number; incidenceDeg: number; los: LosVector }

function drawGeometry(rng: Rng, cfg: SceneConfig): Geometry {
  const asc = rng.chance(0.5);
  const h = cfg.headingsDeg ?? { asc: S1_ASCENDING_HEADING_DEG, desc: S1_DESCENDING_HEADING_DEG, jitterDeg: 3 };
  const headingDeg = (asc ? h.asc : h.desc) + rng.uniform(-h.jitterDeg, h.jitterDeg);
  const incidenceDeg = rng.uniform(cfg.incidenceRangeDeg[0], cfg.incidenceRangeDeg[1]);
  const v = losUnitVector(headingDeg, incidenceDeg);
  return { pass: asc ? 'asc' : 'desc', headingDeg, incidenceDeg, los: [v[0], v[1], v[2]] };
}

/** LOS displacement of `source` at the given column/row offsets (metres east / north of the source). */
function losField(source: Source, axes: { xs: Float64Array; ys: Float64Array }, los: LosVector): Float32Array {
  const d = sourceDisplacementGrid(source, axes.xs, axes.ys);
  return projectToLos(d.east, d.north, d.up, los);
}

/** A coarse LOS field around the source, for the magnitude and placement checks. */
interface CoarseField { readonly n: number; readonly half: number; readonly los: Float32Array; readonly maxAbs: number }

function coarseField(source: Source, cfg: SceneConfig, geom: Geometry): CoarseField {
  const half = Math.ceil((0.9 * cfg.size) / COARSE_STEP_PX);
  const n = 2 * half + 1;
  // Every COARSE_STEP_PX-th pixel, the source at the centre (gridAxes: row 0 = north).
  const los = losField(source, gridAxes(n, n, COARSE_STEP_PX * cfg.spacingM, half, half), geom.los);
  return { n, half, los, maxAbs: maxAbs(los) };
}

/** Draw a source of `kind` whose max|LOS| is in range (SyInterferoPy: redraw; after 20 misses rescale). */
function drawSourceInRange(rng: Rng, kind: SourceKind, cfg: SceneConfig, geom: Geometry): { source: Source; field: CoarseField } {
  let last: { source: Source; field: CoarseField } | null = null;
  for (let k = 0; k < 20; k++) {
    const source = cfg.sourceSize ? sampleSizedSource(rng, kind, cfg.sourceSize) : sampleSource(rng, kind);
    const field = coarseField(source, cfg, geom);
    if (field.maxAbs > cfg.minDefoM && field.maxAbs < cfg.maxDefoM) return { source, field };
    if (field.maxAbs > 0) last = { source, field };
  }
  if (!last) throw new Error(`could not draw a ${kind} source with any surface deformation`);
  const target = rng.uniform(cfg.minDefoM, cfg.maxDefoM);
  const f = target / last.field.maxAbs;
  const los = last.field.los.map((v) => v * f);
  return { source: scaleSource(last.source, f), field: { ...last.field, los, maxAbs: target } };
}

function isMasked(dem: Raster, coh: Float32Array, cohThreshold: number, cropX0: number, cropY0: number, x: number, y: number, size: number): boolean {
  const h = dem.data[(cropY0 + y) * dem.width + cropX0 + x]!;
  return !(h > 0) || coh[y * size + x]! < 1 - cohThreshold;
}

/** Crop origin putting the anchor at fraction (fx, fy) of the crop, clamped to the region. */
function cropOrigin(rng: Rng, terrain: TerrainDraw, size: number): [number, number] {
  const fx = rng.uniform(0.1, 0.9);
  const fy = rng.uniform(0.1, 0.9);
  const x0 = Math.round(terrain.anchor.x - fx * size);
  const y0 = Math.round(terrain.anchor.y - fy * size);
  return [Math.min(Math.max(0, x0), terrain.dem.width - size), Math.min(Math.max(0, y0), terrain.dem.height - size)];
}

/** Share of the coarse deformation pixels (|defo| > 0.3 max) inside the crop that are coherent land. */
function visibleShare(field: CoarseField, terrain: TerrainDraw, coh: Float32Array, cohThreshold: number, x0: number, y0: number, size: number): number {
  const sx = terrain.anchor.x - x0;
  const sy = terrain.anchor.y - y0;
  const t = 0.3 * field.maxAbs;
  let n = 0;
  let seen = 0;
  for (let j = 0; j < field.n; j++) {
    const y = sy + (j - field.half) * COARSE_STEP_PX;
    if (y < 0 || y >= size) continue;
    for (let i = 0; i < field.n; i++) {
      const x = sx + (i - field.half) * COARSE_STEP_PX;
      if (x < 0 || x >= size) continue;
      if (Math.abs(field.los[j * field.n + i]!) <= t) continue;
      n++;
      if (!isMasked(terrain.dem, coh, cohThreshold, x0, y0, x, y, size)) seen++;
    }
  }
  return n === 0 ? 0 : seen / n;
}

function cropDem(dem: Raster, x0: number, y0: number, size: number): Float32Array {
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) out.set(dem.data.subarray((y0 + y) * dem.width + x0, (y0 + y) * dem.width + x0 + size), y * size);
  return out;
}

/** var(defo) / var(atm) over pixels where |defo| > 0.3 max (SyInterferoPy check_def_visible). */
export function signalToNoise(defo: Float32Array, atm: Float32Array, threshold = 0.3): number {
  const t = threshold * maxAbs(defo);
  let n = 0, sd = 0, sdd = 0, sa = 0, saa = 0;
  for (let i = 0; i < defo.length; i++) {
    const d = defo[i]!;
    if (Math.abs(d) <= t) continue;
    const a = atm[i]!;
    n++; sd += d; sdd += d * d; sa += a; saa += a * a;
  }
  if (n < 2) return 0;
  const vd = sdd / n - (sd / n) ** 2;
  const va = saa / n - (sa / n) ** 2;
  return va > 0 ? vd / va : Infinity;
}

interface Atmosphere { total: Float32Array; turbMaxM: number; topoRates: readonly [number, number] }

function drawAtmosphere(rng: Rng, cfg: SceneConfig, dem: Float32Array, mask: Uint8Array, cache: SpectralCache): Atmosphere {
  const size = cfg.size;
  const turbMaxM = sampleTurbulenceStrengthM(rng, cfg.turbulence.meanM, cfg.turbulence.stdM);
  const turb = turbulentScreen(rng, { width: size, height: size, spacingM: cfg.spacingM, maxAbsM: turbMaxM, spectrum: cfg.turbulenceSpectrum }, cache);
  // SyInterferoPy removes the mean over the DEM with water and incoherent pixels masked.
  const topo = topographicDelayM(rng, { width: size, height: size, data: dem }, { excludeFromMean: mask });
  const total = new Float32Array(size * size);
  for (let i = 0; i < total.length; i++) total[i] = turb.data[i]! + (Number.isFinite(topo.delayM.data[i]!) ? topo.delayM.data[i]! : 0);
  if (cfg.rampMaxM > 0) {
    const ramp = orbitalRamp(rng, { width: size, height: size, maxAbsM: rng.uniform(0, cfg.rampMaxM) });
    for (let i = 0; i < total.length; i++) total[i] += ramp.data[i]!;
  }
  return { total, turbMaxM, topoRates: topo.ratesRadPerKm };
}

function buildMask(dem: Float32Array, coh: Float32Array, cohThreshold: number): { mask: Uint8Array; fraction: number } {
  const mask = new Uint8Array(dem.length);
  let n = 0;
  for (let i = 0; i < dem.length; i++) {
    let m = 0;
    if (!(dem[i]! > 0)) m |= MASK_WATER;
    if (coh[i]! < 1 - cohThreshold) m |= MASK_INCOHERENT;
    mask[i] = m;
    if (m) n++;
  }
  return { mask, fraction: n / dem.length };
}

/**
 * Generate one scene of class `cls`. Throws only when `maxAttempts` whole attempts fail
 * (a terrain with almost no coherent land, say).
 */
export function generateScene(
  rng: Rng, cls: ClassName, terrainProvider: TerrainProvider, cfg: SceneConfig = DEFAULT_SCENE_CONFIG,
  cache: SpectralCache = createSpectralCache(), maxAttempts = 60,
): Scene {
  if (cfg.domain === 'randomised') return generateRandomisedScene(rng, cls, terrainProvider, cfg, cache, maxAttempts, generateScene);
  const size = cfg.size;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const terrain = terrainProvider(rng);
    if (terrain.dem.width < size || terrain.dem.height < size) {
      throw new InputError(`terrain '${terrain.name}' is ${terrain.dem.width}x${terrain.dem.height}, smaller than the ${size}px scene`);
    }
    const geom = drawGeometry(rng, cfg);
    const cohThreshold = rng.uniform(cfg.cohThresholdRange[0], cfg.cohThresholdRange[1]);
    // The incoherence field is "high = incoherent"; store coherence as its complement.
    const inc = incoherenceMask(rng, { width: size, height: size, spacingM: cfg.spacingM, correlationLengthM: cfg.cohCorrelationM, threshold: cohThreshold }, cache);
    const coherence = new Float32Array(size * size);
    for (let i = 0; i < coherence.length; i++) coherence[i] = 1 - inc.field[i]!;
    const kind = sourceKindForClass(rng, cls);

    let source: Source | null = null;
    let origin: [number, number] = cropOrigin(rng, terrain, size);
    let defoM: Float32Array = new Float32Array(size * size);
    if (kind !== null) {
      let placed = false;
      let field: CoarseField | null = null;
      for (let k = 0; k < cfg.maxTries && !placed; k++) {
        const drawn = drawSourceInRange(rng, kind, cfg, geom);
        origin = cropOrigin(rng, terrain, size);
        if (visibleShare(drawn.field, terrain, coherence, cohThreshold, origin[0], origin[1], size) >= cfg.visibleFraction) {
          placed = true;
          source = drawn.source;
          field = drawn.field;
        }
      }
      if (!placed || !source || !field) continue;
      const sx = terrain.anchor.x - origin[0];
      const sy = terrain.anchor.y - origin[1];
      defoM = losField(source, gridAxes(size, size, cfg.spacingM, sx, sy), geom.los);
      // The coarse grid can miss a shallow dyke's sharp peak: keep the in-crop maximum in range too.
      const m = maxAbs(defoM);
      if (!(m > 0)) continue;
      if (m < cfg.minDefoM || m > cfg.maxDefoM) {
        const f = rng.uniform(cfg.minDefoM, cfg.maxDefoM) / m;
        for (let i = 0; i < defoM.length; i++) defoM[i]! *= f;
        source = scaleSource(source, f);
      }
    }
    const dem = cropDem(terrain.dem, origin[0], origin[1], size);
    const { mask, fraction } = buildMask(dem, coherence, cohThreshold);

    let atm: Atmosphere | null = null;
    let snr: number | null = null;
    for (let k = 0; k < cfg.maxTries; k++) {
      const a = drawAtmosphere(rng, cfg, dem, mask, cache);
      if (kind === null) { atm = a; break; }
      const s = signalToNoise(defoM, a.total);
      if (s >= cfg.snrThreshold) { atm = a; snr = s; break; }
    }
    if (!atm) continue;

    let losM: Float32Array = new Float32Array(size * size);
    for (let i = 0; i < losM.length; i++) losM[i] = defoM[i]! + atm.total[i]!;
    if (cfg.artefacts) {
      losM = addArtefacts(rng, { width: size, height: size, spacingM: cfg.spacingM, losM, coherence, mask }, cfg.artefacts, cache).losM;
    }
    const sourceXY: [number, number] | null = source ? [terrain.anchor.x - origin[0], terrain.anchor.y - origin[1]] : null;
    const box = sourceXY ? boxFromDeformation(defoM, size, size, sourceXY[0], sourceXY[1]) : null;
    const scene: Scene = {
      size, spacingM: cfg.spacingM, losM, defoM, dem, coherence, mask,
      className: classOfSource(source ? (source.kind as SourceKind) : null) ,
      box,
      meta: {
        terrain: terrain.name, lonLat: terrain.lonLat, pass: geom.pass, headingDeg: geom.headingDeg,
        incidenceDeg: geom.incidenceDeg, source, sourceXY, cropOrigin: origin, defoMaxAbsM: maxAbs(defoM), snr,
        turbulenceMaxAbsM: atm.turbMaxM, topoRatesRadPerKm: atm.topoRates, cohThreshold,
        maskedFraction: fraction, attempts: attempt,
      },
    };
    return cfg.decorrelation === 'products' ? decorrelateScene(rng, scene, 'products', cfg.decorrelationOptions, cache) : scene;
  }
  throw new Error(`no viable ${cls} scene after ${maxAttempts} attempts (is the terrain mostly water?)`);
}
