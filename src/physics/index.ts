/**
 * Public API of the physics layer: analytic surface displacement of volcanic sources (Mogi 1958 point
 * source, Okada 1985 rectangular dislocation for dykes, sills and faults), LOS projection and
 * phase/LOS unit conversion. Pure math: no I/O. Conventions are in README.md in this folder.
 */
import type { DisplacementGrid } from './grid.js';
import { mogi, validateMogi, type MogiSource } from './mogi.js';
import { okada, validateOkada, type OkadaSource } from './okada.js';

export { displacementGrid, gridAxes, type Displacement, type DisplacementGrid } from './grid.js';
export { mogi, mogiPoint, validateMogi, type MogiSource } from './mogi.js';
export {
  okada, okada85, okadaPoint, validateOkada, type Okada85Displacement, type Okada85Fault, type OkadaSource,
} from './okada.js';
export {
  losUnitVector, projectToLos, S1_ASCENDING_HEADING_DEG, S1_DESCENDING_HEADING_DEG, S1_INCIDENCE_MAX_DEG,
  S1_INCIDENCE_MIN_DEG, type LosVector,
} from './los.js';
export {
  C_BAND_WAVELENGTH_M, ALOS2_WAVELENGTH_M, NISAR_L_WAVELENGTH_M, EARTH_RADIUS_M, M_PER_DEG, checkWavelengthM, losToPhaseArray, losToPhaseRad,
  phaseToLosArray, phaseToLosM, rescalePhaseArray, type PhaseConvention, type PhaseSign,
} from './units.js';
import { InputError } from '../core/errors.js';
import { losUnitVector, projectToLos } from './los.js';

/** A Mogi point source. */
export interface MogiSourceSpec extends MogiSource {
  kind: 'mogi';
}

/**
 * A rectangular (Okada) source. The kinds differ only in intent: a dyke is a steeply dipping opening
 * rectangle, a sill a near-horizontal opening rectangle, a fault a rectangle that slips. Any of them
 * may carry both slip and opening.
 */
export interface RectangleSourceSpec extends OkadaSource {
  kind: 'dyke' | 'sill' | 'fault';
}

export type Source = MogiSourceSpec | RectangleSourceSpec;
export type SourceKind = Source['kind'];
export const SOURCE_KINDS: readonly SourceKind[] = ['mogi', 'dyke', 'sill', 'fault'];

/** Throw a one-line RangeError naming the bad parameter (prefixed with the source kind). */
export function validateSource(source: Source): void {
  if (source === null || typeof source !== 'object') throw new InputError(`source must be an object, got ${String(source)}`);
  const kind: unknown = (source as { kind?: unknown }).kind;
  if (kind === 'mogi') validateMogi(source as MogiSourceSpec, 'mogi');
  else if (kind === 'dyke' || kind === 'sill' || kind === 'fault') validateOkada(source as RectangleSourceSpec, kind);
  else throw new InputError(`source.kind must be one of ${SOURCE_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
}

/**
 * East/north/up displacement (m, up positive) of `source` on the grid xs (east offsets, m) x ys (north
 * offsets, m; row 0 = north), the source's (centroid's) surface projection at (0, 0). Writes into
 * `out` when given. Throws RangeError on an invalid source.
 */
export function sourceDisplacementGrid(
  source: Source, xs: ArrayLike<number>, ys: ArrayLike<number>, out?: DisplacementGrid,
): DisplacementGrid {
  validateSource(source);
  return source.kind === 'mogi' ? mogi(source, xs, ys, out) : okada(source, xs, ys, out);
}

/** A square forward-model grid: offsets −extentM..+extentM every spacingM, both ends included. */
export interface ForwardGridSpec {
  readonly extentM: number;
  readonly spacingM: number;
}

/** Largest forward-model grid side (points): 4001² doubles per layer is already ~128 MB. */
export const MAX_FORWARD_GRID_SIDE = 4001;

/** East offsets −extent..+extent (xs) and north offsets +extent..−extent (ys: row 0 = north). */
export function forwardAxes(g: ForwardGridSpec): { xs: Float64Array; ys: Float64Array } {
  if (!(g.extentM > 0) || !Number.isFinite(g.extentM)) throw new InputError(`extent must be > 0 m, got ${g.extentM}`);
  if (!(g.spacingM > 0) || !Number.isFinite(g.spacingM)) throw new InputError(`spacing must be > 0 m, got ${g.spacingM}`);
  const n = Math.floor((2 * g.extentM) / g.spacingM + 1e-9) + 1;
  if (n > MAX_FORWARD_GRID_SIDE) throw new InputError(`a grid of ${n}x${n} points is too large (max ${MAX_FORWARD_GRID_SIDE} per side); use a coarser spacing`);
  const xs = Float64Array.from({ length: n }, (_, i) => -g.extentM + i * g.spacingM);
  return { xs, ys: xs.slice().reverse() };
}

/** What one source does on a grid: E/N/U and LOS displacement (m, float64; LOS + toward the satellite). */
export interface ForwardModel extends DisplacementGrid {
  readonly xs: Float64Array;
  readonly ys: Float64Array;
  readonly losM: Float64Array;
}

/** Forward-model `source` on a square grid for a satellite geometry (heading, incidence in degrees). */
export function forwardModel(source: Source, grid: ForwardGridSpec, geometry: { headingDeg: number; incidenceDeg: number }): ForwardModel {
  const { xs, ys } = forwardAxes(grid);
  const d = sourceDisplacementGrid(source, xs, ys);
  const losM = projectToLos(d.east, d.north, d.up, losUnitVector(geometry.headingDeg, geometry.incidenceDeg), new Float64Array(xs.length * ys.length));
  return { ...d, xs, ys, losM };
}
