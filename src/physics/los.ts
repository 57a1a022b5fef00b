/**
 * Line-of-sight (LOS) geometry for a right-looking SAR.
 *
 * The unit vector from the ground to the satellite, in (east, north, up), for satellite heading h
 * (flight direction, degrees clockwise from north) and incidence angle theta (from the vertical):
 *
 *   (-cos h sin theta,  sin h sin theta,  cos theta)
 *
 * (the look direction is 90 deg right of the heading, tilted theta from the vertical; the same
 * ground-to-satellite convention as LiCSAR's E/N/U look-vector files). LOS displacement = u . unit:
 * positive = motion TOWARD the satellite (range decrease).
 * For Sentinel-1 ascending (h ~ 348 deg) the satellite looks east, so the vector points west and up;
 * descending (h ~ 192 deg) it points east and up. Uplift of 1 m is cos(theta) m of LOS.
 */

/** Nominal Sentinel-1 headings (degrees clockwise from north) and IW incidence range (degrees). */
import { InputError } from '../core/errors.js';
export const S1_ASCENDING_HEADING_DEG = 348;
export const S1_DESCENDING_HEADING_DEG = 192;
export const S1_INCIDENCE_MIN_DEG = 29;
export const S1_INCIDENCE_MAX_DEG = 46;

/** A unit vector (east, north, up). */
export type LosVector = readonly [east: number, north: number, up: number];

const DEG = Math.PI / 180;

/** Ground-to-satellite unit vector for a right-looking SAR; RangeError on bad angles. */
export function losUnitVector(headingDeg: number, incidenceDeg: number): LosVector {
  if (!Number.isFinite(headingDeg)) throw new InputError(`los: headingDeg must be finite, got ${headingDeg}`);
  if (!(incidenceDeg >= 0 && incidenceDeg < 90)) throw new InputError(`los: incidenceDeg must be in [0, 90), got ${incidenceDeg}`);
  const h = headingDeg * DEG;
  const t = incidenceDeg * DEG;
  const st = Math.sin(t);
  return [-Math.cos(h) * st, Math.sin(h) * st, Math.cos(t)];
}

/** LOS displacement u . unit of east/north/up rasters of equal length, into `out` if given (float32 by default). */
export function projectToLos<T extends Float32Array | Float64Array = Float32Array>(
  east: ArrayLike<number>, north: ArrayLike<number>, up: ArrayLike<number>, unit: LosVector, out?: T,
): T {
  const n = east.length;
  if (north.length !== n || up.length !== n) throw new RangeError(`los: east/north/up lengths differ (${n}, ${north.length}, ${up.length})`);
  const o = (out ?? new Float32Array(n)) as T;
  if (o.length !== n) throw new RangeError(`los: out has ${o.length} values, expected ${n}`);
  const [ue, un, uu] = unit;
  for (let i = 0; i < n; i++) o[i] = east[i]! * ue + north[i]! * un + up[i]! * uu;
  return o;
}
