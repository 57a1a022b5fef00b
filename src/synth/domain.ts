/**
 * Domain randomisation for the scene generator (scene.ts `domain: 'randomised'`): instead of one
 * fixed geometry, pixel size, atmosphere model and source-size range, every scene draws its own,
 * wider than real Sentinel-1 products vary, so a network trained on them meets real products
 * inside its training distribution (Tobin et al. 2017's domain randomisation, applied to InSAR).
 * Per scene:
 *   - incidence 20-46 deg (wider than IW's 29-46, as SyInterferoPy's 23 deg shows);
 *   - heading: Sentinel-1 (asc 348 deg, desc 192 deg) or SyInterferoPy's swapped names
 *     (asc 192.04, desc 348.04), +-5 deg; meta.pass follows the drawn convention;
 *   - pixel size 60-120 m in 5 m steps (the DEM region is resampled; steps keep the spectral
 *     filter cache small);
 *   - turbulence spectrum kolmogorov or syinterferopy, strength N(m, m/4) with m in 5-40 mm;
 *   - long-wavelength orbital ramps (chance 0.6, up to 5-50 mm);
 *   - source size: standard (SyInterferoPy's ranges, 50 %), small (1-3 km across, 25 %), or
 *     broad (wider than half the window, 25 %);
 *   - a mask or coast cutting through the deformation (half rings; chance 0.25; decorrelation.ts);
 *   - secondary sources (chance 0.2 for deformation classes, 1-2 of them).
 * Labels with several sources: the scene's class and box are those of the primary source, which
 * is the strongest by construction: secondaries are scaled to 20-60 % of its max |LOS| in the crop.
 * The box is computed from the primary's field alone (before secondaries are added), so Scene.defoM
 * (all deformation) can extend past it.
 * Everything random comes from the Rng, so a seed still reproduces a scene.
 */
import type { Raster } from '../core/raster.js';
import type { Rng } from '../core/rng.js';
import { losUnitVector, sourceDisplacementGrid, type Source } from '../physics/index.js';
import type { SpectralCache } from './atmosphere.js';
import { decorrelateScene } from './decorrelation.js';
import type { Scene, SceneConfig, TerrainProvider } from './scene.js';
import { sampleSource, type SourceKind } from './sources.js';
import type { ClassName } from '../core/classes.js';
import { maxAbs } from '../core/arrays.js';

export type DomainMode = 'caldera' | 'randomised';
export type SourceSize = 'standard' | 'small' | 'broad';
export type HeadingConvention = 's1' | 'syinterferopy';

export interface DomainConfig {
  readonly incidenceRangeDeg?: readonly [number, number];
  readonly spacingRangeM?: readonly [number, number];
  readonly spacingStepM?: number;
  readonly headingJitterDeg?: number;
  /** Chance of SyInterferoPy's swapped asc/desc headings (default 0.5). */
  readonly swappedHeadingChance?: number;
  /** Range of the turbulence strength mean, metres (default [0.005, 0.04]). */
  readonly turbulenceMeanRangeM?: readonly [number, number];
  readonly syinterferopySpectrumChance?: number;
  readonly rampChance?: number;
  readonly rampMaxRangeM?: readonly [number, number];
  readonly sourceSizeChances?: { readonly standard: number; readonly small: number; readonly broad: number };
  readonly cutChance?: number;
  readonly extraSourceChance?: number;
  readonly extraSourceStrength?: readonly [number, number];
}

export interface ExtraSource {
  readonly source: Source;
  /** Position in the crop, pixels. */
  readonly xy: readonly [number, number];
  readonly maxAbsM: number;
}

export interface DomainMeta {
  readonly spacingM: number;
  readonly headingConvention: HeadingConvention;
  readonly turbulenceSpectrum: 'kolmogorov' | 'syinterferopy';
  readonly turbulenceMeanM: number;
  readonly rampMaxM: number;
  readonly sourceSize: SourceSize;
  readonly cut: boolean;
  readonly extraSources: readonly ExtraSource[];
}

/** SyInterferoPy's heading names are swapped relative to Sentinel-1 (its README, Phase convention). */
export const HEADINGS_DEG: Readonly<Record<HeadingConvention, { asc: number; desc: number }>> = {
  s1: { asc: 348, desc: 192 },
  syinterferopy: { asc: 192.04, desc: 348.04 },
};

function d<T>(v: T | undefined, def: T): T {
  return v === undefined ? def : v;
}

/** A source of `kind` with a drawn footprint: SyInterferoPy's ranges, 1-3 km, or broader than half a window. */
export function sampleSizedSource(rng: Rng, kind: SourceKind, size: SourceSize): Source {
  if (size === 'standard' || kind === 'fault') return sampleSource(rng, kind);
  const small = size === 'small';
  const sign = rng.chance(0.5) ? 1 : -1;
  if (kind === 'mogi') {
    // |uz| falls to 20 % of its peak at r ~ 1.4 depth: depth 0.4-1.1 km -> 1-3 km across;
    // 5-9 km -> 14-25 km across, more than half of the widest window (224 x 120 m = 27 km).
    // Strength is rescaled into range by scene.ts anyway.
    return { kind: 'mogi', depthM: small ? rng.uniform(400, 1100) : rng.uniform(5000, 9000), volumeChangeM3: sign * (small ? rng.uniform(2e5, 1e6) : rng.uniform(1e7, 3e7)) };
  }
  if (kind === 'sill') {
    const L = small ? rng.uniform(1000, 3000) : rng.uniform(12000, 20000);
    const W = small ? rng.uniform(1000, 3000) : rng.uniform(12000, 20000);
    return {
      kind: 'sill', strikeDeg: rng.int(0, 358), dipDeg: rng.int(0, 4), lengthM: L, widthM: W,
      depthM: small ? rng.uniform(500, 1500) : rng.uniform(3000, 6000), openingM: sign * rng.uniform(0.2, 1), rakeDeg: 0, slipM: 0,
    };
  }
  const dipDeg = rng.int(75, 89);
  const top = small ? rng.uniform(0, 300) : rng.uniform(0, 2000);
  const bottom = top + (small ? rng.uniform(500, 2000) : rng.uniform(4000, 10000));
  return {
    kind: 'dyke', strikeDeg: rng.int(0, 358), dipDeg, lengthM: small ? rng.uniform(1000, 3000) : rng.uniform(14000, 28000),
    widthM: (bottom - top) / Math.sin((dipDeg * Math.PI) / 180), openingM: rng.uniform(0.1, 0.7),
    depthM: (top + bottom) / 2, rakeDeg: 0, slipM: 0,
  };
}

/** Bilinear resampling of a DEM region by `factor` (new pixels per old pixel). */
export function resampleDem(dem: Raster, factor: number): Raster {
  const w = Math.floor(dem.width * factor), h = Math.floor(dem.height * factor);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const fy = Math.min(dem.height - 1, Math.max(0, (y + 0.5) / factor - 0.5));
    const y0 = Math.min(dem.height - 2, Math.floor(fy)), ty = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(dem.width - 1, Math.max(0, (x + 0.5) / factor - 0.5));
      const x0 = Math.min(dem.width - 2, Math.floor(fx)), tx = fx - x0;
      const i = y0 * dem.width + x0;
      const a = dem.data[i]!, b = dem.data[i + 1]!, c = dem.data[i + dem.width]!, e = dem.data[i + dem.width + 1]!;
      out[y * w + x] = (1 - ty) * ((1 - tx) * a + tx * b) + ty * ((1 - tx) * c + tx * e);
    }
  }
  return { width: w, height: h, data: out };
}

/** A provider whose regions are resampled from `fromSpacingM` to `toSpacingM` pixels. */
export function resampledTerrain(provider: TerrainProvider, fromSpacingM: number, toSpacingM: number): TerrainProvider {
  const f = fromSpacingM / toSpacingM;
  if (f === 1) return provider;
  return (rng) => {
    const t = provider(rng);
    const dem = resampleDem(t.dem, f);
    const anchor = { x: Math.min(dem.width - 1, Math.round((t.anchor.x + 0.5) * f - 0.5)), y: Math.min(dem.height - 1, Math.round((t.anchor.y + 0.5) * f - 0.5)) };
    return { ...t, dem, anchor };
  };
}

export interface DomainDraw {
  /** The scene config for this scene (domain 'caldera', decorrelation 'off': the wrapper adds those). */
  readonly cfg: SceneConfig;
  readonly meta: Omit<DomainMeta, 'extraSources'>;
  readonly extra: number;
}

/** Draw one scene's domain. */
export function sampleDomain(rng: Rng, cfg: SceneConfig, cls: ClassName): DomainDraw {
  const o = cfg.domainOptions ?? {};
  const [s0, s1] = d(o.spacingRangeM, [60, 120] as const);
  const step = d(o.spacingStepM, 5);
  const spacingM = Math.min(s1, s0 + step * rng.int(0, Math.floor((s1 - s0) / step)));
  const convention: HeadingConvention = rng.chance(d(o.swappedHeadingChance, 0.5)) ? 'syinterferopy' : 's1';
  const spectrum = rng.chance(d(o.syinterferopySpectrumChance, 0.5)) ? 'syinterferopy' : 'kolmogorov';
  const [t0, t1] = d(o.turbulenceMeanRangeM, [0.005, 0.04] as const);
  const turbulenceMeanM = rng.uniform(t0, t1);
  const [r0, r1] = d(o.rampMaxRangeM, [0.005, 0.05] as const);
  const rampMaxM = rng.chance(d(o.rampChance, 0.6)) ? rng.uniform(r0, r1) : 0;
  const sc = d(o.sourceSizeChances, { standard: 0.5, small: 0.25, broad: 0.25 });
  const u = rng.next() * (sc.standard + sc.small + sc.broad);
  const sourceSize: SourceSize = u < sc.standard ? 'standard' : u < sc.standard + sc.small ? 'small' : 'broad';
  const cut = cls !== 'none' && rng.chance(d(o.cutChance, 0.25));
  const extra = cls !== 'none' && rng.chance(d(o.extraSourceChance, 0.2)) ? rng.int(1, 2) : 0;
  const { domain: _d, decorrelation: _c, ...rest } = cfg;
  const inner: SceneConfig = {
    ...rest,
    spacingM,
    incidenceRangeDeg: d(o.incidenceRangeDeg, [20, 46] as const),
    headingsDeg: { ...HEADINGS_DEG[convention], jitterDeg: d(o.headingJitterDeg, 5) },
    turbulenceSpectrum: spectrum,
    turbulence: { meanM: turbulenceMeanM, stdM: turbulenceMeanM / 4 },
    rampMaxM,
    sourceSize,
  };
  return { cfg: inner, meta: { spacingM, headingConvention: convention, turbulenceSpectrum: spectrum, turbulenceMeanM, rampMaxM, sourceSize, cut }, extra };
}

/** Add `count` weaker sources (20-60 % of the primary's max |LOS|) at other places in the crop. */
function addExtraSources(rng: Rng, s: Scene, count: number, strength: readonly [number, number]): { scene: Scene; extra: ExtraSource[] } {
  const primary = s.meta.sourceXY;
  const peak = maxAbs(s.defoM);
  if (!primary || count === 0 || !(peak > 0)) return { scene: s, extra: [] };
  const n = s.size;
  const los = losUnitVector(s.meta.headingDeg, s.meta.incidenceDeg);
  const defoM = Float32Array.from(s.defoM), losM = Float32Array.from(s.losM);
  const extra: ExtraSource[] = [];
  for (let k = 0; k < count; k++) {
    let x = 0, y = 0;
    for (let t = 0; t < 20; t++) {
      x = Math.round(rng.uniform(0.1, 0.9) * n);
      y = Math.round(rng.uniform(0.1, 0.9) * n);
      if (Math.hypot(x - primary[0], y - primary[1]) > 0.3 * n) break;
    }
    const source = sampleSource(rng, rng.pick(['dyke', 'sill', 'mogi'] as const));
    const xs = new Float64Array(n), ys = new Float64Array(n);
    for (let i = 0; i < n; i++) { xs[i] = (i - x) * s.spacingM; ys[i] = (y - i) * s.spacingM; }
    const g = sourceDisplacementGrid(source, xs, ys);
    const f = new Float32Array(n * n);
    for (let i = 0; i < f.length; i++) f[i] = g.east[i]! * los[0] + g.north[i]! * los[1] + g.up[i]! * los[2];
    const m = maxAbs(f);
    if (!(m > 0)) continue;
    const target = rng.uniform(strength[0], strength[1]) * peak;
    for (let i = 0; i < f.length; i++) { const v = (f[i]! * target) / m; defoM[i] = defoM[i]! + v; losM[i] = losM[i]! + v; }
    extra.push({ source, xy: [x, y], maxAbsM: target });
  }
  return { scene: { ...s, defoM, losM }, extra };
}

export type SceneGenerator = (rng: Rng, cls: ClassName, terrain: TerrainProvider, cfg: SceneConfig, cache: SpectralCache | undefined, maxAttempts: number) => Scene;

/**
 * One scene of a randomised domain: draw the domain, generate with it (through `generate`, i.e.
 * scene.ts's generateScene, passed in to keep the modules acyclic), add secondary sources, then
 * decorrelation and cuts (decorrelation.ts) as `cfg.decorrelation` asks.
 */
export function generateRandomisedScene(
  rng: Rng, cls: ClassName, terrain: TerrainProvider, cfg: SceneConfig, cache: SpectralCache | undefined, maxAttempts: number, generate: SceneGenerator,
): Scene {
  const draw = sampleDomain(rng, cfg, cls);
  const base = generate(rng, cls, resampledTerrain(terrain, cfg.spacingM, draw.cfg.spacingM), draw.cfg, cache, maxAttempts);
  const { scene, extra } = addExtraSources(rng, base, draw.extra, d(cfg.domainOptions?.extraSourceStrength, [0.2, 0.6] as const));
  const out = decorrelateScene(rng, scene, cfg.decorrelation ?? 'off', { ...cfg.decorrelationOptions, cutChance: draw.meta.cut ? 1 : 0 }, cache);
  return { ...out, meta: { ...out.meta, domain: { ...draw.meta, extraSources: extra } } };
}
