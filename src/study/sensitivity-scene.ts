/**
 * Scenes for the sensitivity study, with the deformation's peak LOS displacement, the
 * atmosphere's strength and the masked fraction under control. One *draw* is made once and then
 * rendered at every level of the sweep (the same terrain, source, placement and atmosphere
 * pattern at every peak displacement and atmosphere strength: paired comparisons):
 *  1. `generateScene` (synth/scene.ts, default settings, `sourceSize` for the size sweep) gives the
 *     terrain crop, geometry, source, placement (>= 80 % of the deformation on coherent land),
 *     coherence and label; for `mogi` / `sill` the draw is repeated until the source is that kind
 *     (the generator's class `sill` is half sills, half Mogi sources);
 *  2. the deformation is divided by its peak |LOS| over the crop: a unit field (sources are linear
 *     in opening and volume change, so this is the field of `scaleSource(source, 1 / peak)`);
 *  3. a fresh atmosphere as the generator draws it (a Kolmogorov turbulent screen with max |value|
 *     ~ N(2, 0.5) cm plus the topography-correlated delay, 56 +- 2 rad/km per acquisition),
 *     centred and scaled to 1 m standard deviation over coherent land; the generator's own
 *     atmosphere (accepted only when SNR >= 2) is not used, so no level is conditioned on it;
 *  4. masks: the generator's own (`natural`: incoherent where the correlated field exceeds a
 *     0.7-0.8 threshold, and water), or a target masked fraction f: water plus the least coherent
 *     land pixels until f of the scene is masked (the same correlated field, so masks come in
 *     patches that may cover the deformation).
 * A cell renders peak p (m) and atmosphere a (m rms): LOS = p * unit deformation + a * unit
 * atmosphere, with the chosen mask, as a sample `toExample` (data/inputs.ts) turns into the
 * network input, as `caldera eval` does (sign as drawn, masked pixels 0).
 */
import { raster } from '../core/raster.js';
import type { Rng } from '../core/rng.js';
import { maxAbs } from '../core/arrays.js';
import type { CentreBox } from '../core/box.js';
import type { ClassName } from '../core/classes.js';
import { sampleTurbulenceStrengthM, topographicDelayM, turbulentScreen, type SpectralCache } from '../synth/atmosphere.js';
import type { SourceSize } from '../synth/domain.js';
import { DEFAULT_SCENE_CONFIG, MASK_INCOHERENT, MASK_WATER, generateScene, signalToNoise, type Scene, type TerrainProvider } from '../synth/scene.js';
import type { LayeredSample } from '../data/inputs.js';

/** The deformation classes of the study: the network's `sill` class is split into sills and Mogi sources. */
export const STUDY_CLASSES = ['dyke', 'sill', 'mogi'] as const;
export type StudyClass = (typeof STUDY_CLASSES)[number];
/** What the network should answer for a study class. */
export const NETWORK_CLASS: Readonly<Record<StudyClass | 'none', ClassName>> = { dyke: 'dyke', sill: 'sill', mogi: 'sill', none: 'none' };

/** 'natural' (the generator's mask) or a target masked fraction of the scene, 0..1. */
export type MaskLevel = 'natural' | number;

/** The name of a mask level in files and reports: 'natural' or '40%'. */
export function maskKey(m: MaskLevel): string {
  return m === 'natural' ? 'natural' : `${Math.round(m * 100)}%`;
}

export interface DrawMask {
  readonly mask: Uint8Array;
  /** Share of the scene masked. */
  readonly fraction: number;
  /** Share of the deformation pixels (|defo| > 0.3 peak) left unmasked (NaN without deformation). */
  readonly visible: number;
}

/** One draw, ready to be rendered at any peak, atmosphere strength and mask level. */
export interface StudyDraw {
  readonly size: number;
  readonly spacingM: number;
  readonly dem: Float32Array;
  readonly coherence: Float32Array;
  readonly headingDeg: number;
  readonly studyClass: StudyClass | 'none';
  readonly className: ClassName;
  readonly box: CentreBox | null;
  /** Deformation with peak |LOS| = 1 m (null for 'none'). */
  readonly unitDefo: Float32Array | null;
  /** Atmosphere with standard deviation 1 m over coherent land. */
  readonly unitAtm: Float32Array;
  /** By mask key. */
  readonly masks: ReadonlyMap<string, DrawMask>;
  /** SyInterferoPy's SNR, var(defo) / var(atm) over |defo| > 0.3 peak, at 1 m peak and 1 m rms: scales as (peak / rms)^2. */
  readonly snrUnit: number;
  readonly terrain: string;
  /** Extent of the deformation box (|defo| > 20 % of peak), km: the larger side. */
  readonly extentKm: number;
}

/** The generator's scene for a study class: redrawn (same stream) until a `sill`-class scene has the wanted kind. */
function sceneOfClass(rng: Rng, cls: StudyClass | 'none', sourceSize: SourceSize, terrain: TerrainProvider, cache: SpectralCache): Scene {
  const cfg = { ...DEFAULT_SCENE_CONFIG, sourceSize };
  const net = NETWORK_CLASS[cls];
  for (let k = 0; k < 100; k++) {
    const s = generateScene(rng, net, terrain, cfg, cache);
    if (cls !== 'sill' && cls !== 'mogi') return s;
    if (s.meta.source?.kind === cls) return s;
  }
  throw new Error(`no ${cls} source in 100 draws`);
}

function maskAt(level: MaskLevel, scene: Scene): Uint8Array {
  if (level === 'natural') return scene.mask;
  const n = scene.mask.length;
  const mask = new Uint8Array(n);
  const land: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!(scene.dem[i]! > 0)) mask[i] = MASK_WATER; else land.push(i);
  }
  const want = Math.max(0, Math.min(land.length, Math.round(level * n) - (n - land.length)));
  if (want === 0) return mask;
  // The least coherent `want` land pixels: below the want-th smallest coherence, then ties in pixel order.
  const sorted = Float32Array.from(land, (i) => scene.coherence[i]!).sort();
  const t = sorted[want - 1]!;
  let below = 0;
  for (let j = 0; j < want; j++) if (sorted[j]! < t) below++;
  let ties = want - below;
  for (const i of land) {
    const c = scene.coherence[i]!;
    if (c < t || (c === t && ties-- > 0)) mask[i]! |= MASK_INCOHERENT;
  }
  return mask;
}

function describeMask(mask: Uint8Array, defo: Float32Array | null): DrawMask {
  let m = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) m++;
  let visible = NaN;
  if (defo) {
    const t = 0.3 * maxAbs(defo);
    let n = 0, seen = 0;
    for (let i = 0; i < defo.length; i++) {
      if (Math.abs(defo[i]!) <= t) continue;
      n++;
      if (!mask[i]) seen++;
    }
    visible = n ? seen / n : NaN;
  }
  return { mask, fraction: m / mask.length, visible };
}

/** Turbulent + topographic atmosphere as the generator draws it, centred, 1 m std over coherent land. */
function unitAtmosphere(rng: Rng, scene: Scene, cache: SpectralCache): Float32Array {
  const { size, spacingM } = scene;
  const cfg = DEFAULT_SCENE_CONFIG;
  const turbMaxM = sampleTurbulenceStrengthM(rng, cfg.turbulence.meanM, cfg.turbulence.stdM);
  const turb = turbulentScreen(rng, { width: size, height: size, spacingM, maxAbsM: turbMaxM, spectrum: cfg.turbulenceSpectrum }, cache);
  const topo = topographicDelayM(rng, raster(size, size, scene.dem), { excludeFromMean: scene.mask });
  const a = new Float32Array(size * size);
  for (let i = 0; i < a.length; i++) {
    const t = topo.delayM.data[i]!;
    a[i] = turb.data[i]! + (Number.isFinite(t) ? t : 0);
  }
  let n = 0, s = 0, ss = 0;
  for (let i = 0; i < a.length; i++) {
    if (scene.mask[i]) continue;
    n++; s += a[i]!; ss += a[i]! * a[i]!;
  }
  const mean = n ? s / n : 0;
  const sd = n > 1 ? Math.sqrt(Math.max(0, ss / n - mean * mean)) : 0;
  const g = sd > 0 ? 1 / sd : 0;
  for (let i = 0; i < a.length; i++) a[i] = (a[i]! - mean) * g;
  return a;
}

/** Make draw `rng` of a study class (or 'none') with the given source size, and its masks. */
export function makeDraw(rng: Rng, cls: StudyClass | 'none', sourceSize: SourceSize, terrain: TerrainProvider, masks: readonly MaskLevel[], cache: SpectralCache): StudyDraw {
  const scene = sceneOfClass(rng, cls, sourceSize, terrain, cache);
  let unitDefo: Float32Array | null = null;
  if (cls !== 'none') {
    const peak = maxAbs(scene.defoM);
    unitDefo = scene.defoM.map((v) => v / peak);
  }
  const unitAtm = unitAtmosphere(rng, scene, cache);
  const byKey = new Map<string, DrawMask>();
  for (const m of masks) byKey.set(maskKey(m), describeMask(maskAt(m, scene), unitDefo));
  const box = scene.box;
  return {
    size: scene.size, spacingM: scene.spacingM, dem: scene.dem, coherence: scene.coherence, headingDeg: scene.meta.headingDeg,
    studyClass: cls, className: scene.className, box, unitDefo, unitAtm, masks: byKey,
    snrUnit: unitDefo ? signalToNoise(unitDefo, unitAtm) : NaN,
    terrain: scene.meta.terrain,
    extentKm: box ? (2 * Math.max(box.halfWidth, box.halfHeight) * scene.spacingM) / 1000 : NaN,
  };
}

/** SNR of a draw rendered at peak `peakM` and atmosphere `atmM` rms (Infinity without atmosphere). */
export function drawSnr(d: StudyDraw, peakM: number, atmM: number): number {
  if (!d.unitDefo) return 0;
  return atmM > 0 ? d.snrUnit * (peakM / atmM) ** 2 : Infinity;
}

/** The sample of a draw at peak `peakM` (0 for none), atmosphere `atmM` rms and mask `mask` (a key of d.masks). */
export function renderDraw(d: StudyDraw, peakM: number, atmM: number, mask: string): LayeredSample {
  const m = d.masks.get(mask);
  if (!m) throw new RangeError(`draw has no mask '${mask}'`);
  const losM = new Float32Array(d.size * d.size);
  const u = d.unitDefo, a = d.unitAtm;
  for (let i = 0; i < losM.length; i++) losM[i] = (u ? peakM * u[i]! : 0) + atmM * a[i]!;
  return {
    size: d.size, spacingM: d.spacingM, losM, dem: d.dem, coherence: d.coherence, mask: m.mask,
    className: d.className, box: d.box, meta: { headingDeg: d.headingDeg },
  };
}
