/**
 * Shared shapes for the displacement models: a surface displacement field sampled on a regular
 * grid given by column (east) and row (north) offsets from the source, in metres.
 *
 * Convention (same as src/core/raster.ts): rasters are row-major, row 0 = north edge,
 * column 0 = west edge, so `ys` normally decreases with the row index. Components are
 * east, north, up (up positive), in the same length unit as the source strength (slip/opening
 * in metres -> metres; volume change in m^3 -> metres).
 */

import { InputError } from '../core/errors.js';
export interface Displacement {
  east: number;
  north: number;
  up: number;
}

export interface DisplacementGrid {
  readonly width: number;
  readonly height: number;
  readonly east: Float32Array;
  readonly north: Float32Array;
  readonly up: Float32Array;
}

/**
 * Output rasters for a xs.length x ys.length grid: reuses `out` (after checking its size) so that a
 * generator calling the models thousands of times allocates nothing; otherwise allocates.
 */
export function displacementGrid(
  xs: ArrayLike<number>, ys: ArrayLike<number>, out?: DisplacementGrid,
): DisplacementGrid {
  const width = xs.length;
  const height = ys.length;
  if (width === 0 || height === 0) throw new InputError(`grid needs at least one column and row, got ${width}x${height}`);
  const n = width * height;
  if (out) {
    if (out.width !== width || out.height !== height || out.east.length !== n || out.north.length !== n || out.up.length !== n) {
      throw new RangeError(`out grid is ${out.width}x${out.height}, expected ${width}x${height}`);
    }
    return out;
  }
  return { width, height, east: new Float32Array(n), north: new Float32Array(n), up: new Float32Array(n) };
}

/**
 * Column and row offsets (metres) of pixel centres relative to a source at pixel (sourceCol, sourceRow),
 * which may be fractional; defaults to the grid centre. xs increases eastward, ys decreases with row
 * (row 0 = north).
 */
export function gridAxes(
  width: number, height: number, pixelM: number,
  sourceCol = (width - 1) / 2, sourceRow = (height - 1) / 2,
): { xs: Float64Array; ys: Float64Array } {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new InputError(`gridAxes: size must be positive integers, got ${width}x${height}`);
  }
  if (!(pixelM > 0) || !Number.isFinite(pixelM)) throw new InputError(`gridAxes: pixelM must be > 0, got ${pixelM}`);
  const xs = new Float64Array(width);
  const ys = new Float64Array(height);
  for (let c = 0; c < width; c++) xs[c] = (c - sourceCol) * pixelM;
  for (let r = 0; r < height; r++) ys[r] = (sourceRow - r) * pixelM;
  return { xs, ys };
}
