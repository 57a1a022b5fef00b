/**
 * A tiny raster drawing kit on RGBA canvases: rectangles, lines, bitmap text, blitting, contact
 * sheets, colour bars and scale bars. Everything clips to the canvas (shapes may extend past the
 * edge) and draws with "over" alpha blending when a colour is translucent.
 *
 * Coordinates are integer pixels, x to the right, y down, (0, 0) the top-left pixel. Rectangle
 * corners are inclusive: fillRect(c, 1, 1, 2, 2, …) paints exactly four pixels.
 */
import { glyph, GLYPH_HEIGHT, CAP_HEIGHT, LINE_HEIGHT, textWidth, textHeight } from './font.js';
import type { Colormap } from './colormap.js';
import { parseHex, relativeLuminance } from './colormap.js';

export { textWidth, textHeight } from './font.js';

/** An RGBA image, 4 bytes per pixel, row-major, row 0 at the top. */
export interface Canvas {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray | Uint8Array;
}

/** A colour: '#rgb', '#rrggbb', '#rrggbbaa', a few CSS names, or [r, g, b] / [r, g, b, a] bytes. */
export type Colour = string | readonly number[];

export type Rgba = [number, number, number, number];

const NAMED: Record<string, string> = {
  black: '#000000', white: '#ffffff', red: '#d62728', green: '#2ca02c', blue: '#1f77b4',
  orange: '#ff7f0e', yellow: '#ffdd00', cyan: '#17becf', magenta: '#e377c2', purple: '#9467bd',
  grey: '#808080', gray: '#808080', transparent: '#00000000', none: '#00000000',
};

/** Parse a Colour into RGBA bytes. */
export function parseColour(c: Colour): Rgba {
  if (typeof c !== 'string') {
    const [r = 0, g = 0, b = 0, a = 255] = c;
    return [clampByte(r), clampByte(g), clampByte(b), clampByte(a)];
  }
  const hex = NAMED[c.toLowerCase()] ?? c;
  const h = hex.replace(/^#/, '');
  const rgb = parseHex(hex);
  let a = 255;
  if (h.length === 8) a = parseInt(h.slice(6, 8), 16);
  else if (h.length === 4) a = parseInt(h[3]! + h[3]!, 16);
  return [rgb[0], rgb[1], rgb[2], a];
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}

/** A new canvas filled with background (default opaque white). */
export function createCanvas(width: number, height: number, background: Colour = '#ffffff'): Canvas {
  width = Math.max(0, Math.round(width));
  height = Math.max(0, Math.round(height));
  const data = new Uint8ClampedArray(width * height * 4);
  const [r, g, b, a] = parseColour(background);
  if (r | g | b | a) {
    for (let i = 0; i < data.length; i += 4) { data[i] = r; data[i + 1] = g; data[i + 2] = b; data[i + 3] = a; }
  }
  return { width, height, data };
}

/** A copy of a canvas (or of any RGBA image). */
export function cloneCanvas(c: Canvas): Canvas {
  return { width: c.width, height: c.height, data: new Uint8ClampedArray(c.data) };
}

/** RGBA bytes at (x, y); throws outside the canvas. */
export function getPixel(c: Canvas, x: number, y: number): Rgba {
  if (x < 0 || y < 0 || x >= c.width || y >= c.height) throw new RangeError(`pixel (${x}, ${y}) outside ${c.width}x${c.height}`);
  const o = (y * c.width + x) * 4;
  return [c.data[o]!, c.data[o + 1]!, c.data[o + 2]!, c.data[o + 3]!];
}

/** Composite one pixel (no bounds check). */
function put(c: Canvas, x: number, y: number, r: number, g: number, b: number, a: number): void {
  const d = c.data;
  const o = (y * c.width + x) * 4;
  if (a >= 255) { d[o] = r; d[o + 1] = g; d[o + 2] = b; d[o + 3] = 255; return; }
  if (a <= 0) return;
  const sa = a / 255;
  const da = d[o + 3]! / 255;
  const oa = sa + da * (1 - sa);
  const k = da * (1 - sa);
  d[o] = (r * sa + d[o]! * k) / oa;
  d[o + 1] = (g * sa + d[o + 1]! * k) / oa;
  d[o + 2] = (b * sa + d[o + 2]! * k) / oa;
  d[o + 3] = oa * 255;
}

/** Paint one pixel (clipped; blended when the colour is translucent). */
export function setPixel(c: Canvas, x: number, y: number, colour: Colour): void {
  x = Math.round(x); y = Math.round(y);
  if (x < 0 || y < 0 || x >= c.width || y >= c.height) return;
  const [r, g, b, a] = parseColour(colour);
  put(c, x, y, r, g, b, a);
}

function fillRgba(c: Canvas, x0: number, y0: number, x1: number, y1: number, col: Rgba): void {
  if (x0 > x1) [x0, x1] = [x1, x0];
  if (y0 > y1) [y0, y1] = [y1, y0];
  x0 = Math.max(0, Math.round(x0)); y0 = Math.max(0, Math.round(y0));
  x1 = Math.min(c.width - 1, Math.round(x1)); y1 = Math.min(c.height - 1, Math.round(y1));
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) put(c, x, y, col[0], col[1], col[2], col[3]);
}

/** Fill the rectangle with inclusive corners (x0, y0) and (x1, y1), clipped to the canvas. */
export function fillRect(c: Canvas, x0: number, y0: number, x1: number, y1: number, colour: Colour): void {
  fillRgba(c, x0, y0, x1, y1, parseColour(colour));
}

/**
 * Outline the rectangle with inclusive corners (x0, y0), (x1, y1): a border `thickness` pixels wide
 * lying inside those corners, clipped to the canvas (the box may extend past any edge).
 */
export function drawRect(
  c: Canvas, x0: number, y0: number, x1: number, y1: number, colour: Colour, thickness = 1,
): void {
  if (x0 > x1) [x0, x1] = [x1, x0];
  if (y0 > y1) [y0, y1] = [y1, y0];
  x0 = Math.round(x0); y0 = Math.round(y0); x1 = Math.round(x1); y1 = Math.round(y1);
  const t = Math.max(1, Math.round(thickness));
  const col = parseColour(colour);
  if (x1 - x0 + 1 <= 2 * t || y1 - y0 + 1 <= 2 * t) { fillRgba(c, x0, y0, x1, y1, col); return; }
  fillRgba(c, x0, y0, x1, y0 + t - 1, col); // top
  fillRgba(c, x0, y1 - t + 1, x1, y1, col); // bottom
  fillRgba(c, x0, y0 + t, x0 + t - 1, y1 - t, col); // left
  fillRgba(c, x1 - t + 1, y0 + t, x1, y1 - t, col); // right
}

/** Pixel offsets of a pen `thickness` pixels wide: a square up to 2, a disc above. */
function pen(thickness: number): [number, number][] {
  const t = Math.max(1, Math.round(thickness));
  const lo = -Math.floor((t - 1) / 2);
  const hi = Math.floor(t / 2);
  const out: [number, number][] = [];
  const c = (lo + hi) / 2;
  const r2 = (t / 2) ** 2 + 0.25;
  for (let dy = lo; dy <= hi; dy++) {
    for (let dx = lo; dx <= hi; dx++) {
      if (t >= 3 && (dx - c) ** 2 + (dy - c) ** 2 > r2) continue;
      out.push([dx, dy]);
    }
  }
  return out;
}

/** Pixels of the Bresenham line from (x0, y0) to (x1, y1), both ends included. */
export function linePixels(x0: number, y0: number, x1: number, y1: number): [number, number][] {
  x0 = Math.round(x0); y0 = Math.round(y0); x1 = Math.round(x1); y1 = Math.round(y1);
  const out: [number, number][] = [];
  const dx = Math.abs(x1 - x0);
  const dy = -Math.abs(y1 - y0);
  const sx = x0 < x1 ? 1 : -1;
  const sy = y0 < y1 ? 1 : -1;
  let err = dx + dy;
  let x = x0;
  let y = y0;
  for (;;) {
    out.push([x, y]);
    if (x === x1 && y === y1) break;
    const e2 = 2 * err;
    if (e2 >= dy) { err += dy; x += sx; }
    if (e2 <= dx) { err += dx; y += sy; }
  }
  return out;
}

function strokePixels(c: Canvas, pts: Iterable<[number, number]>, colour: Colour, thickness: number): void {
  const [r, g, b, a] = parseColour(colour);
  const p = pen(thickness);
  const seen = a < 255 ? new Set<number>() : undefined;
  for (const [x, y] of pts) {
    for (const [dx, dy] of p) {
      const px = x + dx;
      const py = y + dy;
      if (px < 0 || py < 0 || px >= c.width || py >= c.height) continue;
      if (seen) {
        const k = py * c.width + px;
        if (seen.has(k)) continue;
        seen.add(k);
      }
      put(c, px, py, r, g, b, a);
    }
  }
}

/**
 * A straight line (Bresenham), clipped to the canvas. Thick lines stamp a pen at every pixel (a
 * square for thickness 2, reaching right/down; a disc centred on the line from 3), so the ends get
 * caps reaching about thickness/2 past the end points.
 */
export function drawLine(
  c: Canvas, x0: number, y0: number, x1: number, y1: number, colour: Colour, thickness = 1,
): void {
  // Clip far-away endpoints first so a huge line does not iterate millions of off-canvas pixels.
  const clipped = clipLine(x0, y0, x1, y1, -thickness - 1, -thickness - 1, c.width + thickness, c.height + thickness);
  if (!clipped) return;
  strokePixels(c, linePixels(...clipped), colour, thickness);
}

/** A polyline through points (each pixel painted once, so translucent joins do not darken). */
export function drawPolyline(c: Canvas, points: readonly (readonly [number, number])[], colour: Colour, thickness = 1): void {
  const all: [number, number][] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const clipped = clipLine(points[i]![0], points[i]![1], points[i + 1]![0], points[i + 1]![1],
      -thickness - 1, -thickness - 1, c.width + thickness, c.height + thickness);
    if (clipped) all.push(...linePixels(...clipped));
  }
  if (points.length === 1) all.push([Math.round(points[0]![0]), Math.round(points[0]![1])]);
  const [, , , a] = parseColour(colour);
  if (a < 255) {
    const uniq = new Map<string, [number, number]>();
    for (const p of all) uniq.set(`${p[0]},${p[1]}`, p);
    strokePixels(c, uniq.values(), colour, thickness);
  } else {
    strokePixels(c, all, colour, thickness);
  }
}

/** Liang–Barsky clip of a segment to [xmin, xmax] x [ymin, ymax]; undefined when outside. */
function clipLine(
  x0: number, y0: number, x1: number, y1: number, xmin: number, ymin: number, xmax: number, ymax: number,
): [number, number, number, number] | undefined {
  const dx = x1 - x0;
  const dy = y1 - y0;
  let t0 = 0;
  let t1 = 1;
  const p = [-dx, dx, -dy, dy];
  const q = [x0 - xmin, xmax - x0, y0 - ymin, ymax - y0];
  for (let i = 0; i < 4; i++) {
    if (p[i] === 0) {
      if (q[i]! < 0) return undefined;
    } else {
      const r = q[i]! / p[i]!;
      if (p[i]! < 0) { if (r > t1) return undefined; if (r > t0) t0 = r; } else { if (r < t0) return undefined; if (r < t1) t1 = r; }
    }
  }
  if (t0 === 0 && t1 === 1) return [x0, y0, x1, y1];
  return [x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy];
}

/** A filled circle of radius r centred on (cx, cy). */
export function fillCircle(c: Canvas, cx: number, cy: number, r: number, colour: Colour): void {
  const col = parseColour(colour);
  const r2 = r * r + r * 0.8;
  for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(c.height - 1, Math.ceil(cy + r)); y++) {
    for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(c.width - 1, Math.ceil(cx + r)); x++) {
      if ((x - cx) ** 2 + (y - cy) ** 2 <= r2) put(c, x, y, col[0], col[1], col[2], col[3]);
    }
  }
}

/** Copy src onto dst with its top-left at (x, y), clipped; translucent source pixels are blended. */
export function blit(dst: Canvas, src: Canvas, x: number, y: number): void {
  x = Math.round(x); y = Math.round(y);
  const xa = Math.max(0, x);
  const ya = Math.max(0, y);
  const xb = Math.min(dst.width, x + src.width);
  const yb = Math.min(dst.height, y + src.height);
  for (let yy = ya; yy < yb; yy++) {
    for (let xx = xa; xx < xb; xx++) {
      const o = ((yy - y) * src.width + (xx - x)) * 4;
      put(dst, xx, yy, src.data[o]!, src.data[o + 1]!, src.data[o + 2]!, src.data[o + 3]!);
    }
  }
}

/**
 * Draw src scaled by `scale` (nearest neighbour; > 1 enlarges, < 1 shrinks) with its top-left at
 * (x, y), clipped. The drawn size is round(src.width * scale) x round(src.height * scale).
 */
export function blitScaled(dst: Canvas, src: Canvas, x: number, y: number, scale: number): void {
  if (!(scale > 0)) throw new RangeError(`blitScaled: scale must be positive, got ${scale}`);
  x = Math.round(x); y = Math.round(y);
  const w = Math.round(src.width * scale);
  const h = Math.round(src.height * scale);
  const xa = Math.max(0, x);
  const ya = Math.max(0, y);
  const xb = Math.min(dst.width, x + w);
  const yb = Math.min(dst.height, y + h);
  for (let yy = ya; yy < yb; yy++) {
    const sy = Math.min(src.height - 1, Math.floor((yy - y + 0.5) / scale));
    for (let xx = xa; xx < xb; xx++) {
      const sx = Math.min(src.width - 1, Math.floor((xx - x + 0.5) / scale));
      const o = (sy * src.width + sx) * 4;
      put(dst, xx, yy, src.data[o]!, src.data[o + 1]!, src.data[o + 2]!, src.data[o + 3]!);
    }
  }
}

/** A new canvas holding src scaled by `scale` (nearest neighbour). */
export function scaleCanvas(src: Canvas, scale: number): Canvas {
  const out = createCanvas(Math.max(1, Math.round(src.width * scale)), Math.max(1, Math.round(src.height * scale)), 'transparent');
  blitScaled(out, src, 0, 0, scale);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Text

export interface TextOptions {
  /** Horizontal anchor: x is the left edge (default), centre or right edge of the text. */
  readonly align?: 'left' | 'center' | 'right';
  /** Vertical anchor: y is the top of the glyph box (default), the middle of the capitals, or the baseline. */
  readonly valign?: 'top' | 'middle' | 'baseline' | 'bottom';
  /** 90 = rotated counter-clockwise (reads bottom to top, for y-axis labels); anchors apply before rotation. */
  readonly rotate?: 0 | 90;
  /** Outline colour drawn one (scaled) pixel around every glyph pixel, for text over images. */
  readonly halo?: Colour;
}

/**
 * Draw text with the built-in font at integer `scale`. (x, y) is the anchor (by default the top-left
 * of the first glyph box). Newlines start new lines. Returns the text's bounding box.
 */
export function drawText(
  c: Canvas, text: string, x: number, y: number, colour: Colour = '#000000', scale = 1, options: TextOptions = {},
): { x0: number; y0: number; x1: number; y1: number } {
  const s = Math.max(1, Math.round(scale));
  const lines = text.split('\n');
  const w = textWidth(text, s);
  const h = textHeight(text, s);
  const valign = options.valign ?? 'top';
  const oy = valign === 'top' ? 0
    : valign === 'middle' ? -Math.round(((lines.length - 1) * LINE_HEIGHT + CAP_HEIGHT) * s / 2)
      : valign === 'baseline' ? -((lines.length - 1) * LINE_HEIGHT + CAP_HEIGHT) * s
        : -h;
  const rot = options.rotate === 90;
  x = Math.round(x); y = Math.round(y);
  // Map a pixel at local (u, v) (text frame, u right, v down, anchor at 0,0) to the canvas.
  const cells: [number, number][] = [];
  lines.forEach((line, li) => {
    const lw = textWidth(line, s);
    const align = options.align ?? 'left';
    let u = align === 'left' ? 0 : align === 'center' ? -Math.round(lw / 2) : -lw;
    const v0 = oy + li * LINE_HEIGHT * s;
    for (const ch of line) {
      const g = glyph(ch);
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        const bits = g.rows[r]!;
        if (!bits) continue;
        for (let col = 0; col < g.width; col++) {
          if (bits & (1 << (g.width - 1 - col))) cells.push([u + col * s, v0 + r * s]);
        }
      }
      u += g.advance * s;
    }
  });
  const toCanvas = (u: number, v: number): [number, number] => (rot ? [x + v, y - u] : [x + u, y + v]);
  const paint = (col: Rgba, grow: number) => {
    const seen = col[3] < 255 ? new Set<number>() : undefined;
    for (const [u, v] of cells) {
      for (let dv = -grow; dv < s + grow; dv++) {
        for (let du = -grow; du < s + grow; du++) {
          const [px, py] = toCanvas(u + du, v + dv);
          if (px < 0 || py < 0 || px >= c.width || py >= c.height) continue;
          if (seen) {
            const k = py * c.width + px;
            if (seen.has(k)) continue;
            seen.add(k);
          }
          put(c, px, py, col[0], col[1], col[2], col[3]);
        }
      }
    }
  };
  if (options.halo !== undefined) paint(parseColour(options.halo), s);
  paint(parseColour(colour), 0);
  const align = options.align ?? 'left';
  const u0 = align === 'left' ? 0 : align === 'center' ? -Math.round(w / 2) : -w;
  const [ax, ay] = toCanvas(u0, oy);
  const [bx, by] = toCanvas(u0 + w - 1, oy + h - 1);
  return { x0: Math.min(ax, bx), y0: Math.min(ay, by), x1: Math.max(ax, bx), y1: Math.max(ay, by) };
}

/** Break text into lines no wider than maxWidth pixels (at scale), splitting at spaces; overlong words are cut with '…'. */
export function wrapText(text: string, maxWidth: number, scale = 1, maxLines = Infinity): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/ +/)) {
      const candidate = line ? `${line} ${word}` : word;
      if (textWidth(candidate, scale) <= maxWidth || !line) line = candidate;
      else { out.push(line); line = word; }
    }
    out.push(line);
  }
  const lines = out.map((l) => ellipsize(l, maxWidth, scale));
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    kept[maxLines - 1] = ellipsize(`${kept[maxLines - 1]}…`, maxWidth, scale, true);
    return kept;
  }
  return lines;
}

/** Cut text to fit maxWidth, ending with '…' when anything was removed. */
export function ellipsize(text: string, maxWidth: number, scale = 1, force = false): string {
  if (!force && textWidth(text, scale) <= maxWidth) return text;
  let t = force ? text.replace(/…$/, '') : text;
  while (t.length > 0 && textWidth(`${t}…`, scale) > maxWidth) t = t.slice(0, -1);
  return `${t.trimEnd()}…`;
}

/** Black or white, whichever reads better on the given background. */
export function contrastingText(background: Colour): string {
  const [r, g, b] = parseColour(background);
  return relativeLuminance([r, g, b]) > 0.36 ? '#111111' : '#ffffff';
}

// ---------------------------------------------------------------------------------------------
// Numbers

/**
 * Format a number for a label: `step` (the spacing between neighbouring labels) decides the number
 * of decimals, so ticks 0, 0.25, 0.5 read "0.00", "0.25", "0.50"; very large or small magnitudes use
 * exponent notation ("1e-5"). A minus sign is always drawn as '-'.
 */
export function formatNumber(v: number, step?: number): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'inf' : '-inf';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) {
    const [m, e] = v.toExponential(2).split('e');
    return `${m!.replace(/\.?0+$/, '')}e${Number(e)}`;
  }
  let decimals: number;
  if (step !== undefined && step > 0 && Number.isFinite(step)) {
    decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
    const scaled = step * 10 ** decimals;
    if (Math.abs(scaled - Math.round(scaled)) > 1e-6) decimals++; // e.g. step 0.25 needs 2
  } else {
    decimals = Math.max(0, Math.min(6, 3 - Math.floor(Math.log10(a))));
    return String(Number(v.toFixed(decimals)));
  }
  const s = v.toFixed(decimals);
  return s === `-${(0).toFixed(decimals)}` ? (0).toFixed(decimals) : s;
}

// ---------------------------------------------------------------------------------------------
// Composites

export interface DrawnBox {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
  readonly colour?: Colour;
  readonly label?: string;
}

export interface Tile {
  readonly image: Canvas;
  readonly title?: string;
  /** Boxes in the tile's own pixel coordinates (inclusive corners); scaled with the tile. */
  readonly boxes?: readonly DrawnBox[];
}

export interface ContactSheetOptions {
  /** Tiles per row (default: ceil(sqrt(n))). */
  readonly columns?: number;
  /** Tile magnification (nearest neighbour), default 1. */
  readonly scale?: number;
  /** Space between and around tiles, default 8. */
  readonly padding?: number;
  readonly background?: Colour;
  /** Sheet title drawn at the top, at twice the text scale. */
  readonly title?: string;
  /** Text scale for tile titles and box labels (default 1). */
  readonly textScale?: number;
  /** Most lines a tile title may wrap to (default 2). */
  readonly titleLines?: number;
  /** Box outline width in output pixels (default 2). */
  readonly boxThickness?: number;
  readonly textColour?: Colour;
  /** A colour key centred under the grid, e.g. { cmap: cyclic, min: -Math.PI, max: Math.PI, minLabel: '-π', maxLabel: 'π', label: 'phase (rad)' }. */
  readonly colourbar?: Omit<ColourbarOptions, 'textColour' | 'scale'>;
}

/** A tile with its boxes drawn, scaled; boxes are clipped to the tile. */
function renderTile(tile: Tile, scale: number, thickness: number, textScale: number): Canvas {
  const img = scaleCanvas(tile.image, scale);
  for (const b of tile.boxes ?? []) {
    const colour = b.colour ?? '#ff2d2d';
    const X0 = Math.round(b.x0 * scale);
    const Y0 = Math.round(b.y0 * scale);
    const X1 = Math.round((b.x1 + 1) * scale) - 1;
    const Y1 = Math.round((b.y1 + 1) * scale) - 1;
    drawRect(img, X0, Y0, X1, Y1, colour, thickness);
    if (b.label) {
      const tw = textWidth(b.label, textScale);
      const th = CAP_HEIGHT * textScale;
      const pad = textScale;
      const lw = tw + 2 * pad + 1;
      const lh = th + 2 * pad + 1;
      // Above the box when there is room, otherwise just inside its top edge.
      let ly = Y0 - lh;
      if (ly < 0) ly = Math.max(0, Y0 + thickness);
      const lx = Math.max(0, Math.min(img.width - lw, Math.max(0, X0)));
      fillRect(img, lx, ly, lx + lw - 1, ly + lh - 1, colour);
      drawText(img, b.label, lx + pad + 1, ly + pad + 1, contrastingText(colour), textScale);
    }
  }
  return img;
}

/**
 * Lay tiles out in a grid, each scaled by `scale`, with boxes drawn over them (box coordinates are
 * tile pixels and scale with the tile; boxes are clipped to their tile) and the title centred
 * under each tile (wrapped, then cut with '…'). Optionally a sheet title on top and a colour key
 * underneath (the sheet is widened if the key does not fit).
 */
export function contactSheet(tiles: readonly Tile[], options: ContactSheetOptions = {}): Canvas {
  const n = tiles.length;
  const columns = Math.max(1, Math.min(n || 1, options.columns ?? Math.ceil(Math.sqrt(n || 1))));
  const rows = Math.max(1, Math.ceil(n / columns));
  const scale = options.scale ?? 1;
  const pad = Math.max(0, Math.round(options.padding ?? 8));
  const ts = Math.max(1, Math.round(options.textScale ?? 1));
  const titleLines = options.titleLines ?? 2;
  const textColour = options.textColour ?? '#222222';
  const rendered = tiles.map((t) => renderTile(t, scale, options.boxThickness ?? 2, ts));
  const cellW = Math.max(1, ...rendered.map((r) => r.width));
  const imgH = Math.max(1, ...rendered.map((r) => r.height));
  const wrapped = tiles.map((t) => (t.title ? wrapText(t.title, cellW, ts, titleLines) : []));
  const nTitle = Math.max(0, ...wrapped.map((w) => w.length));
  const titleH = nTitle ? Math.round(pad / 2) + ((nTitle - 1) * LINE_HEIGHT + CAP_HEIGHT + 2) * ts : 0;
  const cellH = imgH + titleH;
  const headH = options.title ? Math.round(pad / 2) + textHeight(options.title, 2 * ts) + pad : 0;
  const gridW = columns * cellW + (columns + 1) * pad;
  const cb = options.colourbar;
  const cbW = cb ? Math.round(cb.width ?? Math.min(240, Math.max(100, gridW - 2 * pad))) : 0;
  const width = Math.max(gridW, cb ? cbW + 2 * pad + 16 : 0); // widen the sheet when the key needs it
  const gridX = Math.floor((width - gridW) / 2);
  const cbH = cb ? (cb.height ?? 10) + 4 + GLYPH_HEIGHT * ts + (cb.label ? 3 * ts + GLYPH_HEIGHT * ts : 0) + pad : 0;
  const gridBottom = headH + rows * cellH + (rows + 1) * pad;
  const height = gridBottom + cbH;
  const sheet = createCanvas(width, height, options.background ?? '#ffffff');
  if (cb) colourbar(sheet, Math.round((width - cbW) / 2), gridBottom, { ...cb, width: cbW, textColour, scale: ts });
  if (options.title) drawText(sheet, options.title, width / 2, pad, textColour, 2 * ts, { align: 'center' });
  rendered.forEach((img, i) => {
    const col = i % columns;
    const row = Math.floor(i / columns);
    const cx = gridX + pad + col * (cellW + pad);
    const cy = headH + pad + row * (cellH + pad);
    blit(sheet, img, cx + Math.floor((cellW - img.width) / 2), cy + Math.floor((imgH - img.height) / 2));
    wrapped[i]!.forEach((line, li) => {
      drawText(sheet, line, cx + cellW / 2, cy + imgH + Math.round(pad / 2) + li * LINE_HEIGHT * ts, textColour, ts, { align: 'center' });
    });
  });
  return sheet;
}

export interface ColourbarOptions {
  readonly cmap: Colormap;
  readonly min: number;
  readonly max: number;
  /** Bar size in pixels (default 160 x 10). */
  readonly width?: number;
  readonly height?: number;
  /** Text under the bar, e.g. 'LOS displacement (cm)'. */
  readonly label?: string;
  /** Replace the end labels, e.g. '-π' and 'π'. */
  readonly minLabel?: string;
  readonly maxLabel?: string;
  /** Extra values to mark with ticks and labels (e.g. [0]). */
  readonly ticks?: readonly number[];
  readonly textColour?: Colour;
  readonly scale?: number;
}

/**
 * Draw a horizontal colour bar with its top-left at (x, y): the bar, a thin frame, min and max
 * labels under its ends (and optional ticks), and an optional label under those. Returns the
 * bounding box of everything drawn.
 */
export function colourbar(c: Canvas, x: number, y: number, o: ColourbarOptions): { width: number; height: number } {
  const w = Math.max(2, Math.round(o.width ?? 160));
  const h = Math.max(1, Math.round(o.height ?? 10));
  const s = Math.max(1, Math.round(o.scale ?? 1));
  const tc = o.textColour ?? '#222222';
  x = Math.round(x); y = Math.round(y);
  for (let i = 0; i < w; i++) {
    const [r, g, b] = o.cmap(i / (w - 1));
    fillRgba(c, x + i, y, x + i, y + h - 1, [r, g, b, 255]);
  }
  drawRect(c, x - 1, y - 1, x + w, y + h, '#444444', 1);
  const span = o.max - o.min;
  const step = Math.abs(span) / 4 || 1;
  const ty = y + h + 3;
  const extra = o.ticks ?? [];
  const tickAt = (px: number) => drawLine(c, px, y + h, px, y + h + 2, '#444444');
  tickAt(x); tickAt(x + w - 1);
  const minL = o.minLabel ?? formatNumber(o.min, step);
  const maxL = o.maxLabel ?? formatNumber(o.max, step);
  drawText(c, minL, x, ty + 1, tc, s, { align: 'left' });
  drawText(c, maxL, x + w - 1, ty + 1, tc, s, { align: 'right' });
  for (const v of extra) {
    if (!(span !== 0)) break;
    const px = x + Math.round(((v - o.min) / span) * (w - 1));
    if (px < x || px > x + w - 1) continue;
    tickAt(px);
    drawText(c, formatNumber(v, step), px, ty + 1, tc, s, { align: 'center' });
  }
  let bottom = ty + 1 + GLYPH_HEIGHT * s;
  if (o.label) {
    drawText(c, o.label, x + w / 2, bottom + 3 * s, tc, s, { align: 'center' });
    bottom += 3 * s + GLYPH_HEIGHT * s;
  }
  return { width: Math.max(w, textWidth(o.label ?? '', s)), height: bottom - y };
}

export interface ScaleBarOptions {
  readonly colour?: Colour;
  /** Outline drawn around bar and text so it reads over any image (default white; 'none' for none). */
  readonly halo?: Colour;
  readonly thickness?: number;
  readonly scale?: number;
}

/**
 * A map scale bar `km` kilometres long whose left end is at (x, y) (y = bar's top row), with end
 * ticks and a label ('5 km', or '500 m' below 1 km) centred above it. Returns its length in pixels.
 */
export function scaleBar(c: Canvas, x: number, y: number, pixelsPerKm: number, km: number, options: ScaleBarOptions = {}): number {
  const len = Math.max(1, Math.round(km * pixelsPerKm));
  const colour = options.colour ?? '#000000';
  const halo = options.halo ?? '#ffffff';
  const t = Math.max(1, Math.round(options.thickness ?? 3));
  const s = Math.max(1, Math.round(options.scale ?? 1));
  x = Math.round(x); y = Math.round(y);
  const label = km >= 1 || km === 0 ? `${formatNumber(km)} km` : `${formatNumber(km * 1000)} m`;
  const tick = 3 + t;
  const haloOn = parseColour(halo)[3] > 0;
  if (haloOn) {
    fillRect(c, x - 1, y - 1, x + len, y + t, halo);
    fillRect(c, x - 1, y - tick - 1, x + 1, y + t, halo);
    fillRect(c, x + len - 2, y - tick - 1, x + len, y + t, halo);
  }
  fillRect(c, x, y, x + len - 1, y + t - 1, colour);
  fillRect(c, x, y - tick, x, y + t - 1, colour);
  fillRect(c, x + len - 1, y - tick, x + len - 1, y + t - 1, colour);
  drawText(c, label, x + len / 2, y - 3, colour, s, { align: 'center', valign: 'bottom', ...(haloOn ? { halo } : {}) });
  return len;
}
