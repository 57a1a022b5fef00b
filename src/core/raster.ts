/**
 * Rasters are row-major typed arrays with explicit width and height.
 * Row 0 is the north edge, column 0 the west edge. Index = row * width + col.
 */
export interface Raster<T extends Float32Array | Float64Array | Uint8Array = Float32Array> {
  readonly width: number;
  readonly height: number;
  readonly data: T;
}

export function raster(width: number, height: number, data?: Float32Array): Raster {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`raster size must be positive integers, got ${width}x${height}`);
  }
  const d = data ?? new Float32Array(width * height);
  if (d.length !== width * height) {
    throw new RangeError(`raster data has ${d.length} values, expected ${width}x${height}=${width * height}`);
  }
  return { width, height, data: d };
}

/** Copy a width x height window whose top-left corner is (x0, y0). The window must lie inside. */
export function crop<T extends Float32Array | Float64Array | Uint8Array>(
  r: Raster<T>, x0: number, y0: number, width: number, height: number,
): Raster<T> {
  if (x0 < 0 || y0 < 0 || x0 + width > r.width || y0 + height > r.height) {
    throw new RangeError(`crop ${width}x${height}+${x0}+${y0} outside ${r.width}x${r.height} raster`);
  }
  const Ctor = r.data.constructor as { new (n: number): T };
  const out = new Ctor(width * height);
  for (let y = 0; y < height; y++) {
    const src = (y0 + y) * r.width + x0;
    out.set(r.data.subarray(src, src + width) as never, y * width);
  }
  return { width, height, data: out };
}

/** Minimum and maximum of the finite values (NaN ignored); [NaN, NaN] when there are none. */
export function finiteRange(a: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [NaN, NaN];
}

/** Wrap phase (radians) to (-pi, pi]. */
export function wrapPhase(phaseRad: number): number {
  const twoPi = 2 * Math.PI;
  let w = phaseRad - twoPi * Math.floor((phaseRad + Math.PI) / twoPi);
  if (w <= -Math.PI) w += twoPi;
  return w;
}

/**
 * Terrain gradient at pixel (x, y) of a width × height DEM with square `spacingM` pixels: central
 * differences (one-sided at the edges), NaN heights giving 0. Returns [dz/dx (east), dz/dy (north)].
 */
export function gradientAt(dem: ArrayLike<number>, width: number, height: number, x: number, y: number, spacingM: number): [number, number] {
  const i = y * width + x;
  const xl = x > 0 ? i - 1 : i, xr = x < width - 1 ? i + 1 : i;
  const yu = y > 0 ? i - width : i, yd = y < height - 1 ? i + width : i;
  const east = ((dem[xr]! - dem[xl]!) / ((xr - xl) * spacingM)) || 0;
  const north = ((dem[yu]! - dem[yd]!) / (((yd - yu) / width) * spacingM)) || 0;
  return [east, north];
}
