/**
 * Labels of a scene: the class and the location box, in SyInterferoPy's convention
 * (aux.localise_data): centre = source position in the crop (pixels, origin top-left, x right,
 * y down); half-widths = ceil((max - min) / 2) of the columns / rows where |defo| exceeds 20 % of
 * max |defo| in the crop. The box is symmetric about the source, so it can extend past the image.
 */

import type { CentreBox } from '../core/box.js';

/** Box of the deformation `defo` (width x height, row-major) whose source is at pixel (sx, sy). */
export function boxFromDeformation(
  defo: ArrayLike<number>, width: number, height: number, sx: number, sy: number, fraction = 0.2,
): CentreBox {
  let m = 0;
  for (let i = 0; i < defo.length; i++) {
    const a = Math.abs(defo[i]!);
    if (a > m) m = a;
  }
  if (!(m > 0)) throw new RangeError('no deformation in the crop: cannot make a box');
  const t = fraction * m;
  let x0 = width, x1 = -1, y0 = height, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (Math.abs(defo[y * width + x]!) > t) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return { x: sx, y: sy, halfWidth: Math.max(1, Math.ceil((x1 - x0) / 2)), halfHeight: Math.max(1, Math.ceil((y1 - y0) / 2)) };
}
