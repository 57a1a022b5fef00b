/**
 * The label box: a centre and half sizes in an image's pixels (origin top-left, x right, y down),
 * SyInterferoPy's `Y_loc` convention (aux.localise_data). The box is symmetric about the source, so
 * it can extend past the image. Corner boxes in other frames are named apart: `PixelBox` (a
 * product's pixels) and `LonLatBox` (degrees) in `data/windows.ts`, `Rect` in `scan/nms.ts`.
 */
export interface CentreBox {
  /** Centre column (pixels from the left edge). */
  readonly x: number;
  /** Centre row (pixels from the top edge). */
  readonly y: number;
  readonly halfWidth: number;
  readonly halfHeight: number;
}

/** [x0, y0, x1, y1] corners. */
export function boxCorners(b: CentreBox): [number, number, number, number] {
  return [b.x - b.halfWidth, b.y - b.halfHeight, b.x + b.halfWidth, b.y + b.halfHeight];
}

/** Intersection over union of two boxes (0 when disjoint). */
export function boxIoU(a: CentreBox, b: CentreBox): number {
  const [ax0, ay0, ax1, ay1] = boxCorners(a);
  const [bx0, by0, bx1, by1] = boxCorners(b);
  const iw = Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0));
  const ih = Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0));
  const inter = iw * ih;
  const union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter;
  return union > 0 ? inter / union : 0;
}

/** Distance between box centres, pixels. */
export function centreError(a: CentreBox, b: CentreBox): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}
