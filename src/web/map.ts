/// <reference lib="dom" />
/**
 * The page's map of one product: its wrapped phase in the cyclic colour map on square ground
 * pixels with masked pixels grey (`scan/figure.ts` `mapImage`, the picture `caldera scan` draws),
 * in an SVG frame with lon/lat ticks and a scale bar, each detection's box with its rank, class
 * and probability, and the windows that were not run. Without the product's rasters (a scan
 * folder opened as results) the frame holds the boxes alone. Also the legend.
 */
import { KM_PER_DEG, frameGeometry, mapImage, maskedWhy, niceKm, type MapGeometry } from '../scan/figure.js';
import { cyclic } from '../io/colormap.js';
import type { Product } from '../io/product.js';
import type { ScanRecord } from '../scan/output.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const MARGIN = { left: 78, right: 16, top: 16, bottom: 40 };

type Attrs = Record<string, string | number>;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, parent?: Element, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  parent?.appendChild(e);
  return e;
}

/** The extent of what records show (window footprints and boxes), with a margin, or null. */
export function recordsExtent(records: readonly ScanRecord[]): { west: number; east: number; south: number; north: number } | null {
  let west = Infinity, east = -Infinity, south = Infinity, north = -Infinity;
  const add = (lon: number, lat: number): void => {
    west = Math.min(west, lon); east = Math.max(east, lon); south = Math.min(south, lat); north = Math.max(north, lat);
  };
  for (const r of records) {
    if (r.window) {
      const [lon, lat] = r.window.centre;
      const hLat = r.window.sizeKm / 2 / KM_PER_DEG;
      const hLon = hLat / Math.cos((lat * Math.PI) / 180);
      add(lon - hLon, lat - hLat); add(lon + hLon, lat + hLat);
    }
    for (const [lon, lat] of r.box?.polygon ?? []) add(lon!, lat!);
  }
  return Number.isFinite(west) && east > west && north > south ? { west, east, south, north } : null;
}

/** Tick positions from lo to hi, at a round step giving at most `most` ticks. */
export function ticks(lo: number, hi: number, most = 6): { values: number[]; decimals: number } {
  const steps = [0.001, 0.002, 0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 20, 30];
  const step = steps.find((s) => (hi - lo) / s <= most) ?? 45;
  const values: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k <= Math.floor(hi / step + 1e-9); k++) values.push(Number((k * step).toFixed(10)));
  const decimals = step >= 1 ? 0 : Math.min(3, String(step).split('.')[1]!.length);
  return { values, decimals };
}

const degLabel = (v: number, d: number, pos: string, neg: string): string => `${Math.abs(v).toFixed(d)}°${v < 0 ? neg : v > 0 ? pos : ''}`;

function toMap(g: MapGeometry, lon: number, lat: number): [number, number] {
  return [((lon - g.west) / (g.east - g.west)) * g.width, ((g.north - lat) / (g.north - g.south)) * g.height];
}

async function imageUrl(img: { width: number; height: number; data: ArrayLike<number> }): Promise<string> {
  const c = document.createElement('canvas');
  c.width = img.width;
  c.height = img.height;
  c.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
  const blob = await new Promise<Blob | null>((resolve) => c.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('the browser could not draw the map');
  return URL.createObjectURL(blob);
}

export interface MapView {
  readonly element: SVGSVGElement;
  /** Highlight detection k (its index among `detections`), or none. */
  setActive(k: number | null): void;
  /** Free the image. */
  dispose(): void;
}

export interface MapOptions {
  readonly maxWidth?: number;
  readonly maxHeight?: number;
  /** Called when a box is clicked. */
  readonly onSelect?: (k: number) => void;
  /** Draw the centres of windows that were not run (default true). */
  readonly showNotRun?: boolean;
}

/** Detection records (the boxes drawn), in order. */
export function detectionsOf(records: readonly ScanRecord[]): ScanRecord[] {
  return records.filter((r) => r.verdict === 'detection' && r.box?.polygon);
}

/** Draw the map of a product (or of its records alone when `product` is null). */
export async function renderMap(product: Product | null, records: readonly ScanRecord[], opts: MapOptions = {}): Promise<MapView> {
  const maxW = opts.maxWidth ?? 960, maxH = opts.maxHeight ?? 680;
  let g: MapGeometry;
  let url: string | null = null;
  if (product) {
    const m = mapImage(product, maxW, maxH);
    g = m.g;
    url = await imageUrl(m.img);
  } else {
    const e = recordsExtent(records) ?? { west: -1, east: 1, south: -1, north: 1 };
    g = frameGeometry(e, maxW, maxH);
  }
  const W = g.width + MARGIN.left + MARGIN.right, H = g.height + MARGIN.top + MARGIN.bottom;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'map-svg', role: 'img' });
  const dets = detectionsOf(records);
  const title = product ? `${product.id}: wrapped phase` : 'detection boxes';
  root.setAttribute('aria-label', `${title}, ${dets.length} detection box${dets.length === 1 ? '' : 'es'}; lon ${g.west.toFixed(3)} to ${g.east.toFixed(3)}, lat ${g.south.toFixed(3)} to ${g.north.toFixed(3)}`);
  const frame = svg('g', { transform: `translate(${MARGIN.left},${MARGIN.top})` }, root);
  if (url) {
    svg('image', { href: url, x: 0, y: 0, width: g.width, height: g.height, preserveAspectRatio: 'none', class: 'phase' }, frame);
  } else {
    svg('rect', { x: 0, y: 0, width: g.width, height: g.height, class: 'blank' }, frame);
    svg('text', { x: g.width / 2, y: g.height / 2, class: 'blank-text', 'text-anchor': 'middle' }, frame,
      'no rasters here: boxes only (give the product files to see its phase)');
  }
  svg('rect', { x: -0.5, y: -0.5, width: g.width + 1, height: g.height + 1, class: 'frame' }, frame);

  // Lon/lat ticks, outside the frame: longitudes below, latitudes on the left.
  const lon = ticks(g.west, g.east), lat = ticks(g.south, g.north);
  const axes = svg('g', { class: 'axes' }, frame);
  for (const v of lon.values) {
    const [x] = toMap(g, v, g.north);
    svg('line', { x1: x, y1: g.height, x2: x, y2: g.height + 6 }, axes);
    svg('text', { x, y: g.height + 22, 'text-anchor': 'middle' }, axes, degLabel(v, lon.decimals, 'E', 'W'));
  }
  for (const v of lat.values) {
    const [, y] = toMap(g, g.west, v);
    svg('line', { x1: -6, y1: y, x2: 0, y2: y }, axes);
    svg('text', { x: -10, y: y + 4, 'text-anchor': 'end' }, axes, degLabel(v, lat.decimals, 'N', 'S'));
  }

  // Windows not run (not enough data).
  if (opts.showNotRun ?? true) {
    const ned = svg('g', { class: 'not-run' }, frame);
    for (const r of records) {
      if (r.verdict !== 'not enough data' || !r.window) continue;
      const [x, y] = toMap(g, r.window.centre[0], r.window.centre[1]);
      const d = `M${x - 4},${y - 4}L${x + 4},${y + 4}M${x - 4},${y + 4}L${x + 4},${y - 4}`;
      svg('path', { d, class: 'halo' }, ned);
      svg('path', { d, class: 'line' }, ned);
    }
  }

  // Detection boxes, best first (drawn last so they are on top), each with a label.
  const groups: SVGGElement[] = [];
  const boxes = svg('g', { class: 'boxes' }, frame);
  [...dets.keys()].reverse().forEach((k) => {
    const r = dets[k]!;
    const pts = r.box!.polygon!.map(([lo, la]) => toMap(g, lo!, la!));
    const points = pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
    const grp = svg('g', { class: `det ${r.class ?? ''}`, 'data-k': k }, boxes);
    svg('title', {}, grp, `${k + 1}: ${r.class} ${r.probability?.toFixed(2)} (${Math.round(r.window?.sizeKm ?? 0)} km window)`);
    svg('polygon', { points, class: 'halo' }, grp);
    svg('polygon', { points, class: 'line' }, grp);
    const x = Math.min(...pts.map((q) => q[0])), top = Math.min(...pts.map((q) => q[1])), bottom = Math.max(...pts.map((q) => q[1]));
    const ly = top - 6 >= 14 ? top - 6 : bottom + 16;
    svg('text', { x: Math.max(2, Math.min(g.width - 90, x)), y: ly, class: 'tag' }, grp, `${k + 1} ${r.class} ${r.probability?.toFixed(2)}`);
    grp.addEventListener('click', () => opts.onSelect?.(k));
    groups[k] = grp;
  });

  // Scale bar, bottom left inside the map.
  const km = niceKm(g.width / g.pxPerKm);
  const len = km * g.pxPerKm;
  const sb = svg('g', { class: 'scalebar', transform: `translate(12,${g.height - 14})` }, frame);
  svg('rect', { x: -6, y: -22, width: len + 12, height: 32, rx: 3, class: 'bg' }, sb);
  svg('rect', { x: 0, y: 0, width: len, height: 5, class: 'bar' }, sb);
  svg('text', { x: len / 2, y: -7, 'text-anchor': 'middle' }, sb, `${km} km`);

  return {
    element: root,
    setActive(k) {
      groups.forEach((grp, i) => grp.classList.toggle('active', i === k));
      if (k !== null && groups[k]) boxes.appendChild(groups[k]!); // on top
    },
    dispose() {
      if (url) URL.revokeObjectURL(url);
    },
  };
}

/** The legend: the cyclic colour bar of wrapped phase, masked and no-data swatches, box styles. */
export function renderLegend(product: Product | null, hasNotRun: boolean): HTMLElement {
  const box = document.createElement('div');
  box.className = 'legend-items';
  if (product) {
    const bar = document.createElement('div');
    bar.className = 'colourbar';
    const c = document.createElement('canvas');
    c.width = 256;
    c.height = 1;
    const ctx = c.getContext('2d')!;
    const img = ctx.createImageData(256, 1);
    for (let i = 0; i < 256; i++) {
      const [r, gg, b] = cyclic(i / 256);
      img.data.set([r, gg, b, 255], i * 4);
    }
    ctx.putImageData(img, 0, 0);
    c.setAttribute('aria-hidden', 'true');
    const labels = document.createElement('div');
    labels.className = 'colourbar-labels';
    for (const t of ['−π', '0', 'π']) labels.appendChild(Object.assign(document.createElement('span'), { textContent: t }));
    const cap = Object.assign(document.createElement('span'), { className: 'colourbar-caption', textContent: 'wrapped phase (rad)' });
    bar.append(c, labels, cap);
    box.appendChild(bar);
  }
  const swatch = (cls: string, text: string): void => {
    const s = document.createElement('span');
    s.className = 'swatch-item';
    const sw = document.createElement('span');
    sw.className = `swatch ${cls}`;
    sw.setAttribute('aria-hidden', 'true');
    s.append(sw, document.createTextNode(text));
    box.appendChild(s);
  };
  if (product) {
    swatch('masked', `masked: ${maskedWhy(product)}`);
    swatch('nodata', 'no data');
  }
  swatch('dyke', 'dyke box');
  swatch('sill', 'sill box');
  if (hasNotRun) swatch('not-run', 'window not run (not enough data)');
  return box;
}
