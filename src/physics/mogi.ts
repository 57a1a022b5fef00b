/**
 * Mogi (1958) point source: surface displacement of a small spherical pressure source (volume change
 * dV) at depth d in an elastic half-space.
 *
 * Reference: K. Mogi (1958), "Relations between the eruptions of various volcanoes and the deformations
 * of the ground surfaces around them", Bull. Earthq. Res. Inst. 36, 99-134; here in the volume-change
 * form (see e.g. Segall 2010, "Earthquake and Volcano Deformation", ch. 7):
 *
 *   (u_east, u_north, u_up) = (1 - nu) dV / pi * (x, y, d) / R^3,   R^3 = (x^2 + y^2 + d^2)^(3/2)
 *
 * x east and y north of the source's surface projection (m), dV in m^3 (positive = inflation, giving
 * uplift), d > 0 metres. Up positive. Linear in dV. Directly above: u_up = (1 - nu) dV / (pi d^2);
 * the horizontal displacement peaks at r = d / sqrt(2), where it is 2 / (3 sqrt 3) ~ 0.385 of that.
 */
import { displacementGrid, type Displacement, type DisplacementGrid } from './grid.js';
import { InputError } from '../core/errors.js';

export interface MogiSource {
  /** Depth of the source, metres, positive down (> 0). */
  depthM: number;
  /** Volume change, m^3; positive = inflation. */
  volumeChangeM3: number;
  /** Poisson's ratio, default 0.25. */
  poisson?: number;
}

/** Throw a one-line RangeError naming the first bad parameter. */
export function validateMogi(s: MogiSource, label = 'mogi'): void {
  for (const k of ['depthM', 'volumeChangeM3'] as const) {
    if (typeof s[k] !== 'number' || !Number.isFinite(s[k])) throw new InputError(`${label}: ${k} must be a finite number, got ${String(s[k])}`);
  }
  if (!(s.depthM > 0)) throw new InputError(`${label}: depthM must be > 0 (positive down), got ${s.depthM}`);
  const nu = s.poisson ?? 0.25;
  if (typeof nu !== 'number' || !(nu >= 0 && nu <= 0.5)) throw new InputError(`${label}: poisson must be in [0, 0.5], got ${String(nu)}`);
}

/**
 * Displacement on the grid (xs[col] east, ys[row] north offsets from the source, metres; row 0 = north),
 * into `out` when given (checked for size) or new row-major Float32 rasters.
 */
export function mogi(s: MogiSource, xs: ArrayLike<number>, ys: ArrayLike<number>, out?: DisplacementGrid): DisplacementGrid {
  validateMogi(s);
  const g = displacementGrid(xs, ys, out);
  const { width, height, east, north, up } = g;
  const c = ((1 - (s.poisson ?? 0.25)) * s.volumeChangeM3) / Math.PI;
  const d = s.depthM;
  const d2 = d * d;
  for (let r = 0; r < height; r++) {
    const y = ys[r]!;
    const yd2 = y * y + d2;
    const o = r * width;
    for (let col = 0; col < width; col++) {
      const x = xs[col]!;
      const R2 = x * x + yd2;
      const k = c / (R2 * Math.sqrt(R2));
      east[o + col] = k * x;
      north[o + col] = k * y;
      up[o + col] = k * d;
    }
  }
  return g;
}

/** Displacement at one point (east, north metres from the source's surface projection), in float64. */
export function mogiPoint(s: MogiSource, eastM: number, northM: number): Displacement {
  validateMogi(s);
  const d = s.depthM;
  const R2 = eastM * eastM + northM * northM + d * d;
  const k = ((1 - (s.poisson ?? 0.25)) * s.volumeChangeM3) / (Math.PI * R2 * Math.sqrt(R2));
  return { east: k * eastM, north: k * northM, up: k * d };
}
