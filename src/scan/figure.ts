/**
 * The picture of a scanned scene (MintPy's view.py role for `scan`): the product's wrapped phase
 * in the cyclic colour map on square ground pixels, pixels masked for low coherence grey and no
 * data light grey, detection boxes with class and probability, the windows looked at, a scale
 * bar, the lon/lat of the map's corners, and a side panel with what the network saw (each
 * window's input, box and class probabilities).
 */
import { CLASS_NAMES } from '../core/classes.js';
import { cyclic, wrappedPhaseToRgba } from '../io/colormap.js';
import {
  blit, colourbar, contrastingText, createCanvas, drawLine, drawPolyline, drawRect, drawText, fillRect,
  scaleBar, scaleCanvas, textWidth, type Canvas, type Colour,
} from '../io/draw.js';
import { MASK_NODATA, productExtent, type Product } from '../io/product.js';
import type { NotEnoughData, SceneResult, WindowPrediction } from './scan.js';
import { resampleWindow, windowToLonLat, type Window } from '../data/windows.js';

/** Kilometres per degree of latitude, as the figures and the web page's map draw them. */
export const KM_PER_DEG = 111.195;
const NODATA_COLOUR = '#e4e4e4';
const MASKED_COLOUR = '#8a8a8a';
const TEXT = '#1a1a1a';
const SUBTLE = '#555555';
/** Box colours on the cyclic map, as in view.ts: dyke black, sill white, each with a contrasting halo. */
const CLASS_STYLE: Record<string, { line: string; halo: string }> = {
  dyke: { line: '#000000', halo: '#ffffff' },
  sill: { line: '#ffffff', halo: '#000000' },
  none: { line: '#9a9a9a', halo: '#000000' },
};

export interface ScanFigureOptions {
  /** Largest map size in pixels (default 900 x 720). */
  readonly maxWidth?: number;
  readonly maxHeight?: number;
  /** Windows shown in the side panel (default 3). */
  readonly panels?: number;
}

/** '41.330°S' / '72.618°W'. */
export function formatLat(lat: number): string {
  return `${Math.abs(lat).toFixed(3)}°${lat < 0 ? 'S' : 'N'}`;
}
export function formatLon(lon: number): string {
  return `${Math.abs(lon).toFixed(3)}°${lon < 0 ? 'W' : 'E'}`;
}

/** A round scale-bar length (km) near a fifth of the map width. */
export function niceKm(widthKm: number): number {
  const target = widthKm / 5;
  const steps = [0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 500];
  let best = steps[0]!;
  for (const s of steps) if (s <= target) best = s;
  return best;
}

/** Wrapped phase with masked pixels grey and no-data pixels light grey. */
export function phaseRgba(wrapped: Float32Array, mask: Uint8Array, width: number, height: number): Canvas {
  const img = wrappedPhaseToRgba({ width, height, data: wrapped }, { mask });
  const nd = [0xe4, 0xe4, 0xe4], mk = [0x8a, 0x8a, 0x8a];
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const c = mask[i]! & MASK_NODATA && !(mask[i]! & ~MASK_NODATA) ? nd : mk;
    img.data[i * 4] = c[0]!; img.data[i * 4 + 1] = c[1]!; img.data[i * 4 + 2] = c[2]!;
  }
  return img;
}

/** Where the map is: its lon/lat edges, its size in pixels and its scale. */
export interface MapGeometry {
  readonly west: number; readonly east: number; readonly south: number; readonly north: number;
  readonly width: number; readonly height: number; readonly pxPerKm: number;
}

/** Map pixel (x, y) of a lon/lat point. */
export function toMap(g: MapGeometry, lon: number, lat: number): [number, number] {
  return [((lon - g.west) / (g.east - g.west)) * g.width, ((g.north - lat) / (g.north - g.south)) * g.height];
}

/** The map frame for a lon/lat extent at most maxW × maxH pixels, square ground pixels (`mapImage`'s, and the web page's without a product). */
export function frameGeometry(e: { west: number; east: number; south: number; north: number }, maxW: number, maxH: number): MapGeometry {
  const midLat = (e.north + e.south) / 2;
  const wKm = (e.east - e.west) * KM_PER_DEG * Math.cos((midLat * Math.PI) / 180);
  const hKm = (e.north - e.south) * KM_PER_DEG;
  const pxPerKm = Math.min(maxW / wKm, maxH / hKm);
  return { ...e, width: Math.max(1, Math.round(wKm * pxPerKm)), height: Math.max(1, Math.round(hKm * pxPerKm)), pxPerKm };
}

/** The product's wrapped phase resampled (nearest) onto square ground pixels (also the web page's map). */
export function mapImage(p: Product, maxW: number, maxH: number): { img: Canvas; g: MapGeometry } {
  const e = productExtent(p);
  const g = frameGeometry(e, maxW, maxH);
  const { width, height } = g;
  const wrapped = new Float32Array(width * height);
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = Math.min(p.height - 1, Math.floor(((y + 0.5) / height) * p.height));
    for (let x = 0; x < width; x++) {
      const col = Math.min(p.width - 1, Math.floor(((x + 0.5) / width) * p.width));
      const i = row * p.width + col;
      wrapped[y * width + x] = p.wrappedRad[i]!;
      mask[y * width + x] = p.mask[i]!;
    }
  }
  return { img: phaseRgba(wrapped, mask, width, height), g };
}

/** A closed outline drawn twice: a wide halo, then the line. */
function outline(c: Canvas, pts: [number, number][], style: { line: Colour; halo: Colour }, thickness = 2): void {
  const ring = [...pts, pts[0]!];
  drawPolyline(c, ring, style.halo, thickness + 2);
  drawPolyline(c, ring, style.line, thickness);
}

/** A dashed closed outline (window footprints). */
function dashed(c: Canvas, pts: [number, number][], colour: Colour, dash = 6): void {
  const ring = [...pts, pts[0]!];
  for (let k = 0; k + 1 < ring.length; k++) {
    const [x0, y0] = ring[k]!, [x1, y1] = ring[k + 1]!;
    const len = Math.hypot(x1 - x0, y1 - y0);
    for (let s = 0; s < len; s += 2 * dash) {
      const t0 = s / len, t1 = Math.min(1, (s + dash) / len);
      drawLine(c, x0 + (x1 - x0) * t0, y0 + (y1 - y0) * t0, x0 + (x1 - x0) * t1, y0 + (y1 - y0) * t1, colour, 1);
    }
  }
}

type Rect4 = [number, number, number, number];
const overlaps = (a: Rect4, b: Rect4): boolean => a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];

/**
 * A label tag (filled box, contrasting text) with its bottom-left at (x, y) or, when that is off
 * the canvas or on an earlier tag (`taken`), below `below` (the box's bottom edge).
 */
function tag(c: Canvas, text: string, x: number, y: number, fill: Colour, taken: Rect4[] = [], below = y + 4, scale = 2): void {
  const pad = 2 * scale;
  const w = textWidth(text, scale) + 2 * pad, h = 7 * scale + 2 * pad;
  const lx = Math.max(0, Math.min(c.width - w, Math.round(x)));
  const tries = [Math.round(y - h), Math.round(below + 4), Math.round(below + 8 + h), Math.round(y - 2 * h - 4)];
  let ly = tries.find((t) => t >= 0 && t + h <= c.height && !taken.some((r) => overlaps(r, [lx, t, lx + w - 1, t + h - 1]))) ?? tries[0]!;
  if (ly < 0) ly = Math.round(below + 4);
  taken.push([lx, ly, lx + w - 1, ly + h - 1]);
  fillRect(c, lx, ly, lx + w - 1, ly + h - 1, fill);
  drawRect(c, lx, ly, lx + w - 1, ly + h - 1, contrastingText(fill) === '#ffffff' ? '#ffffff' : '#000000', 1);
  drawText(c, text, lx + pad, ly + pad, contrastingText(fill), scale);
}

/** A small x marker (centre of a window with not enough data): dark grey on a white halo. */
function cross(c: Canvas, x: number, y: number, r = 4): void {
  drawLine(c, x - r, y - r, x + r, y + r, '#ffffff', 3);
  drawLine(c, x - r, y + r, x + r, y - r, '#ffffff', 3);
  drawLine(c, x - r, y - r, x + r, y + r, '#333333', 1);
  drawLine(c, x - r, y + r, x + r, y - r, '#333333', 1);
}

/** What the grey pixels are: coherence below the threshold, from the .cc file, the phase, or both. */
export function maskedWhy(p: Product): string {
  const src = p.coherenceSource ?? (p.coherence ? 'file' : 'none');
  if (src === 'phase') return `phase-derived coherence < ${p.minCoherence}`;
  if (src === 'file+phase') return `coherence (.cc or phase) < ${p.minCoherence}`;
  if (src === 'file') return `coherence < ${p.minCoherence}`;
  return 'zero phase';
}

/** A small triangle marker (volcano) with a white outline. */
function triangle(c: Canvas, x: number, y: number, r = 7): void {
  for (let dy = -r - 1; dy <= r + 1; dy++) {
    const half = ((dy + r + 1) / (2 * r + 2)) * (r + 1);
    fillRect(c, x - half, y + dy, x + half, y + dy, '#ffffff');
  }
  for (let dy = -r + 1; dy <= r - 1; dy++) {
    const half = ((dy + r - 1) / (2 * r - 2)) * (r - 2);
    fillRect(c, x - half, y + dy, x + half, y + dy, '#000000');
  }
}

function probabilityBars(c: Canvas, x: number, y: number, width: number, p: WindowPrediction): number {
  const labelW = textWidth('none ', 2);
  const valW = textWidth('0.00', 2);
  const barW = width - labelW - valW - 12;
  CLASS_NAMES.forEach((n, i) => {
    const yy = y + i * 20;
    const v = p.probs[i]!;
    const bold = i === p.classIndex;
    drawText(c, n, x, yy, bold ? TEXT : SUBTLE, 2);
    fillRect(c, x + labelW, yy, x + labelW + barW - 1, yy + 13, '#eeeeee');
    if (v > 0) fillRect(c, x + labelW, yy, x + labelW + Math.max(1, Math.round(v * barW)) - 1, yy + 13, bold ? '#3b6fb6' : '#a9bcd6');
    drawText(c, v.toFixed(2), x + width, yy, bold ? TEXT : SUBTLE, 2, { align: 'right' });
  });
  return 3 * 20;
}

/** The side panel for one window: its input as the network saw it, the box, probabilities (or why it was not run). */
function windowPanel(w: Window, p: WindowPrediction | NotEnoughData, scale: number, title: string, minScore: number): Canvas {
  const img = scaleCanvas(phaseRgba(w.wrappedRad, w.mask, w.size, w.size), scale);
  const s = w.size * scale;
  // Scale bar and box.
  const km = niceKm((w.size * w.spacingM) / 1000);
  scaleBar(img, 8, s - 12, (1000 / w.spacingM) * scale, km, { scale: 1 });
  if (p.verdict !== 'not enough data' && p.boxWindow) {
    const b = p.boxWindow;
    const st = CLASS_STYLE[p.className]!;
    const pts: [number, number][] = [
      [(b.x - b.halfWidth) * scale, (b.y - b.halfHeight) * scale], [(b.x + b.halfWidth) * scale, (b.y - b.halfHeight) * scale],
      [(b.x + b.halfWidth) * scale, (b.y + b.halfHeight) * scale], [(b.x - b.halfWidth) * scale, (b.y + b.halfHeight) * scale],
    ];
    outline(img, pts, st, 2);
  }
  if (p.name) triangle(img, s / 2, s / 2, 5);
  const head = 36, bars = 74;
  const panel = createCanvas(s, head + s + 8 + bars, '#ffffff');
  drawText(panel, title, 0, 2, TEXT, 2);
  drawText(panel, `${(w.size * w.spacingM / 1000).toFixed(1)} km, ${Math.round(w.spacingM)} m pixels, ${Math.round(w.maskedFraction * 100)} % masked`, 0, 22, SUBTLE, 1);
  blit(panel, img, 0, head);
  drawRect(panel, 0, head, s - 1, head + s - 1, '#333333', 1);
  if (p.verdict === 'not enough data') {
    drawText(panel, 'not enough data:', 0, head + s + 8, TEXT, 2);
    drawText(panel, 'too much masked, not run', 0, head + s + 30, SUBTLE, 1);
  } else {
    probabilityBars(panel, 0, head + s + 8, s, p);
    if (p.verdict === 'below threshold') drawText(panel, `below the ${minScore} threshold`, 0, head + s + 8 + 62, SUBTLE, 1);
  }
  return panel;
}

/** The figure for one scanned scene. */
export function scanFigure(s: SceneResult, opts: ScanFigureOptions = {}): Canvas {
  const p = s.product;
  const { img, g } = mapImage(p, opts.maxWidth ?? 900, opts.maxHeight ?? 720);
  const ppd = (lon: number, lat: number) => toMap(g, lon, lat);

  // Windows looked at (point mode), windows with not enough data (frame mode), detections.
  if (s.mode === 'frame') {
    for (const w of s.notEnoughData) {
      const [x, y] = ppd(w.centre.lon, w.centre.lat);
      cross(img, x, y);
    }
  }
  if (s.mode === 'point') {
    for (const w of s.windows) {
      const c = [windowToLonLat(w, 0, 0), windowToLonLat(w, w.size, 0), windowToLonLat(w, w.size, w.size), windowToLonLat(w, 0, w.size)];
      const pts = c.map(([lon, lat]) => ppd(lon, lat));
      dashed(img, pts.map(([x, y]) => [x + 1, y + 1] as [number, number]), '#000000');
      dashed(img, pts, '#ffffff');
    }
  }
  const shown = s.detections;
  for (const d of shown) {
    if (d.polygon) outline(img, d.polygon.map(([lon, lat]) => ppd(lon, lat)), CLASS_STYLE[d.className]!, 3);
  }
  for (const w of s.windows) {
    if (!w.name) continue;
    const [x, y] = ppd(w.centre.lon, w.centre.lat);
    triangle(img, x, y);
    drawText(img, w.name, x + 10, y + 4, '#000000', 2, { halo: '#ffffff' });
  }
  const taken: Rect4[] = [];
  shown.forEach((d) => {
    if (!d.polygon) return;
    const pts = d.polygon.map(([lon, lat]) => ppd(lon, lat));
    const x = Math.min(...pts.map((q) => q[0])), y = Math.min(...pts.map((q) => q[1]));
    const label = `${d.className} ${d.score.toFixed(2)}${s.scalesKm.length > 1 ? ` ${Math.round(d.sizeKm)}km` : ''}`;
    tag(img, label, x, y - 3, CLASS_STYLE[d.className]!.line, taken, Math.max(...pts.map((q) => q[1])));
  });
  const km = niceKm(g.width / g.pxPerKm);
  scaleBar(img, 14, g.height - 16, g.pxPerKm, km, { scale: 2, thickness: 4 });

  // Side panels: what the network saw.
  const nPanels = opts.panels ?? 3;
  const panelItems: { w: Window; p: WindowPrediction | NotEnoughData; title: string }[] = [];
  if (s.mode === 'point') {
    const looks: (WindowPrediction | NotEnoughData)[] = [...s.predictions, ...s.notEnoughData];
    const order = { detection: 0, 'below threshold': 1, none: 2, 'not enough data': 3 } as const;
    const items = s.windows.flatMap((w) => {
      const l = looks.find((q) => q.centre === w.centre && q.spacingM === w.spacingM);
      return l ? [{ w, p: l, title: `${w.name ?? `${formatLat(w.centre.lat)} ${formatLon(w.centre.lon)}`}, ${Math.round(l.sizeKm)} km` }] : [];
    });
    items.sort((a, b) => order[a.p.verdict] - order[b.p.verdict]);
    panelItems.push(...items.slice(0, nPanels));
  } else {
    s.detections.slice(0, nPanels).forEach((d, i) => {
      const w = resampleWindow(p, { centre: d.centre, size: s.size, spacingM: d.spacingM });
      panelItems.push({ w, p: d, title: `detection ${i + 1}` });
    });
  }
  const panelScale = panelItems.length === 1 ? 2 : 1;
  const panels = panelItems.map((it) => windowPanel(it.w, it.p, panelScale, it.title, s.minScore));

  // Layout.
  const pad = 24;
  const title = `${p.id}${p.files.dates ? `   ${p.files.dates[0]} to ${p.files.dates[1]}` : ''}`;
  const nd = s.notEnoughData.length;
  const dets = `${s.detections.length} detection${s.detections.length === 1 ? '' : 's'} at probability >= ${s.minScore}`;
  const found = s.status === 'no valid pixels'
    ? 'no valid pixels after masking: not scored'
    : s.mode === 'point'
      ? `${s.windowCount + nd} window${s.windowCount + nd === 1 ? '' : 's'} around given points (${nd} not enough data), ${dets}`
      : `${s.windowCount + nd} windows, ${s.windowCount} run, ${nd} not enough data (> ${Math.round(s.maxMasked * 100)} % masked, x), ${dets} after NMS`;
  const sub1 = `model: ${s.model} (${s.temperature === null ? 'uncalibrated' : `calibrated, T = ${s.temperature.toFixed(2)}`})   channels: ${s.format}   windows: ${s.scalesKm.join(', ')} km`;
  const sub2 = `${found}   masked: ${Math.round(p.maskedFraction * 100)} % (${maskedWhy(p)} or no data)`;
  const headH = 16 + 16 + 8 + 12 + 12 + 22;
  const cornerH = 30;
  const mapX = pad, mapY = headH + cornerH;
  const panelW = panels.length ? Math.max(...panels.map((q) => q.width)) : 0;
  const panelsH = panels.reduce((a, q) => a + q.height + 16, 0);
  const legendH = 90;
  const width = Math.max(mapX + g.width + pad + (panels.length ? panelW + pad : 0), textWidth(sub2, 1) + 2 * pad, textWidth(title, 2) + 2 * pad);
  const height = Math.max(mapY + g.height + cornerH + legendH, mapY + panelsH + pad);
  const c = createCanvas(width, height, '#ffffff');
  drawText(c, title, pad, 16, TEXT, 2);
  drawText(c, sub1, pad, 16 + 16 + 8, SUBTLE, 1);
  drawText(c, sub2, pad, 16 + 16 + 8 + 12, SUBTLE, 1);

  blit(c, img, mapX, mapY);
  drawRect(c, mapX - 1, mapY - 1, mapX + g.width, mapY + g.height, '#222222', 1);
  // Corner coordinates.
  const nw = `${formatLat(g.north)} ${formatLon(g.west)}`, ne = `${formatLat(g.north)} ${formatLon(g.east)}`;
  const sw = `${formatLat(g.south)} ${formatLon(g.west)}`, se = `${formatLat(g.south)} ${formatLon(g.east)}`;
  drawText(c, nw, mapX - 1, mapY - 7, TEXT, 2, { valign: 'bottom' });
  drawText(c, ne, mapX + g.width, mapY - 7, TEXT, 2, { valign: 'bottom', align: 'right' });
  drawText(c, sw, mapX - 1, mapY + g.height + 7, TEXT, 2);
  drawText(c, se, mapX + g.width, mapY + g.height + 7, TEXT, 2, { align: 'right' });
  for (const [x, y] of [[mapX - 1, mapY - 1], [mapX + g.width, mapY - 1], [mapX - 1, mapY + g.height], [mapX + g.width, mapY + g.height]] as const) {
    drawLine(c, x, y - 4, x, y + 4, '#222222');
    drawLine(c, x - 4, y, x + 4, y, '#222222');
  }

  // Legend: colour bar, then mask and box swatches.
  const ly = mapY + g.height + cornerH + 8;
  const cb = colourbar(c, mapX, ly, { cmap: cyclic, min: -Math.PI, max: Math.PI, minLabel: '-π', maxLabel: 'π', ticks: [0], label: 'wrapped phase (rad)', width: 240, height: 14, scale: 2 });
  let lx = mapX + 240 + 40;
  let sy = ly;
  const advance = (w: number): void => {
    lx += w;
    if (lx > mapX + g.width - 150) { lx = mapX + 240 + 40; sy += 26; }
  };
  const swatch = (fill: Colour, text: string): void => {
    fillRect(c, lx, sy, lx + 21, sy + 13, fill);
    drawRect(c, lx, sy, lx + 21, sy + 13, '#444444', 1);
    drawText(c, text, lx + 30, sy, TEXT, 2);
    advance(30 + textWidth(text, 2) + 24);
  };
  swatch(MASKED_COLOUR, maskedWhy(p));
  swatch(NODATA_COLOUR, 'no data');
  const boxSwatch = (cls: string): void => {
    const st = CLASS_STYLE[cls]!;
    fillRect(c, lx, sy, lx + 21, sy + 13, '#8fb0d8');
    drawRect(c, lx, sy, lx + 21, sy + 13, st.halo, 1);
    drawRect(c, lx + 1, sy + 1, lx + 20, sy + 12, st.line, 2);
    drawText(c, `${cls} box`, lx + 30, sy, TEXT, 2);
    advance(30 + textWidth(`${cls} box`, 2) + 24);
  };
  boxSwatch('dyke');
  boxSwatch('sill');
  if (s.mode === 'point') {
    dashed(c, [[lx, sy], [lx + 21, sy], [lx + 21, sy + 13], [lx, sy + 13]], '#000000', 3);
    drawText(c, 'model window', lx + 30, sy, TEXT, 2);
  } else if (nd > 0) {
    cross(c, lx + 10, sy + 7);
    drawText(c, 'not enough data', lx + 30, sy, TEXT, 2);
  }

  // Panels on the right.
  let py = mapY;
  const px = mapX + g.width + pad;
  for (const q of panels) {
    blit(c, q, px, py);
    py += q.height + 16;
  }
  return c;
}
