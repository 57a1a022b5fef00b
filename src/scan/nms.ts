/**
 * Merging detections from overlapping windows: greedy non-maximum suppression (keep the best
 * box, drop every other box that overlaps it too much, repeat). Boxes are axis-aligned
 * [x0, y0, x1, y1] in any one coordinate system; IoU does not change when an axis is scaled, so
 * product pixels and lon/lat degrees give the same answer.
 *
 * Overlap is "too much" when IoU > `iou` or when the smaller box lies mostly (`containment`) inside
 * the larger: a window that sees only part of a deformation predicts a smaller box inside the
 * full one, with a low IoU, and it is the same detection.
 */

export type Rect = readonly [number, number, number, number];

export interface Scored {
  readonly rect: Rect;
  /** Ranking score (higher is better). */
  readonly score: number;
  /** Only boxes of the same group suppress each other when `perGroup` is set (e.g. the class). */
  readonly group?: string | number;
}

export interface NmsOptions {
  /** Suppress when IoU exceeds this (default 0.3). */
  readonly iou?: number;
  /** Suppress when intersection / area of the smaller box exceeds this (default 0.7; 1 = off). */
  readonly containment?: number;
  /** Suppress only within the same group (default false: a dyke box suppresses a sill box too). */
  readonly perGroup?: boolean;
}

export function rectArea(r: Rect): number {
  return Math.max(0, r[2] - r[0]) * Math.max(0, r[3] - r[1]);
}

export function intersectionArea(a: Rect, b: Rect): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  return w > 0 && h > 0 ? w * h : 0;
}

/** Intersection over union (0 for disjoint or empty boxes). */
export function rectIoU(a: Rect, b: Rect): number {
  const i = intersectionArea(a, b);
  const u = rectArea(a) + rectArea(b) - i;
  return u > 0 ? i / u : 0;
}

/** Intersection over the smaller box's area. */
export function rectContainment(a: Rect, b: Rect): number {
  const m = Math.min(rectArea(a), rectArea(b));
  return m > 0 ? intersectionArea(a, b) / m : 0;
}

/**
 * Greedy NMS. Returns the kept items, best first. Ties in score keep input order (stable).
 */
export function nonMaxSuppression<T extends Scored>(items: readonly T[], opts: NmsOptions = {}): T[] {
  const iou = opts.iou ?? 0.3;
  const containment = opts.containment ?? 0.7;
  const order = items.map((it, i) => [it, i] as const).sort((a, b) => b[0].score - a[0].score || a[1] - b[1]).map((p) => p[0]);
  const kept: T[] = [];
  for (const it of order) {
    const clash = kept.some((k) => (!opts.perGroup || k.group === it.group) &&
      (rectIoU(k.rect, it.rect) > iou || rectContainment(k.rect, it.rect) > containment));
    if (!clash) kept.push(it);
  }
  return kept;
}

/**
 * How central a point is in a window of `size` pixels: 1 in the central half, falling linearly to
 * 0.5 at the edge. With windows overlapping by half, every point is in the central half of some
 * window, so ranking by score x centrality prefers the window that sees the whole signal.
 */
export function centrality(x: number, y: number, size: number): number {
  const d = Math.max(Math.abs(x - size / 2), Math.abs(y - size / 2)) / (size / 2); // 0 centre, 1 edge
  if (d <= 0.5) return 1;
  return Math.max(0.5, 1 - (Math.min(1, d) - 0.5));
}
