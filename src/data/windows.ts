/**
 * Model-sized windows cut from a real product: a square of `size` x `size` pixels of `spacingM`
 * metres on a local tangent plane (east/north) around a lon/lat point, resampled from the
 * product's lon/lat grid; and the overlapping windows that tile a whole frame for a scan.
 *
 * Window coordinates follow the labels (synth/labels.ts): x right, y down, pixel i centred at i,
 * so pixel (size/2, size/2) is the centre point (as synth/dem.ts resampleAround). Product pixel
 * coordinates follow GDAL: pixel (col, row) covers col..col+1, row..row+1.
 *
 * Resampling goes through the one resampler (`resample.ts`: wrapped phase as exp(iφ), masked when
 * less than half the weight is valid): bilinear when the window's pixels are finer than the
 * product's, area averaging over window pixel / product pixel when coarser (`windowFootprintPx`).
 */
import type { IfgLayers } from '../core/layers.js';
import { InputError } from '../core/errors.js';
import { resampleLayers } from './resample.js';
import { lonLatToPixel, productExtent, type Product } from '../io/product.js';
import { type CentreBox } from '../core/box.js';
import { EARTH_RADIUS_M } from '../physics/units.js';

const DEG_PER_M = 180 / (Math.PI * EARTH_RADIUS_M);

/** The model's input: 224 x 224 pixels of 90 m (Gaddes et al. 2021), about 20 km across. */
export const MODEL_SIZE_PX = 224;
export const MODEL_SPACING_M = 90;
export const DEFAULT_WINDOW_KM = (MODEL_SIZE_PX * MODEL_SPACING_M) / 1000;

export interface LonLat {
  readonly lon: number;
  readonly lat: number;
}

/** A window's grid: where it is and how big. */
export interface WindowGrid {
  readonly centre: LonLat;
  readonly size: number;
  readonly spacingM: number;
}

/** A window cut from a product. Arrays are size x size, row 0 = north. */
/** A window's layers (`core/layers.ts`, width = height = size): product mask bits, MASK_NODATA outside the product. */
export interface Window extends WindowGrid, IfgLayers {
  /** Name of the point (volcano) the window is cut around, when it has one. */
  readonly name?: string | undefined;
  readonly maskedFraction: number;
}

/** Lon/lat of window position (x, y) (pixel units, pixel i centred at i). */
export function windowToLonLat(g: WindowGrid, x: number, y: number): [number, number] {
  const half = g.size / 2;
  const dLat = g.spacingM * DEG_PER_M;
  const dLon = dLat / Math.cos((g.centre.lat * Math.PI) / 180);
  return [g.centre.lon + (x - half) * dLon, g.centre.lat + (half - y) * dLat];
}

/** Window position (x, y) of a lon/lat point (inverse of windowToLonLat). */
export function lonLatToWindow(g: WindowGrid, lon: number, lat: number): [number, number] {
  const half = g.size / 2;
  const dLat = g.spacingM * DEG_PER_M;
  const dLon = dLat / Math.cos((g.centre.lat * Math.PI) / 180);
  return [half + (lon - g.centre.lon) / dLon, half - (lat - g.centre.lat) / dLat];
}

export interface CutOptions {
  /** Output pixels per side (default 224). */
  readonly size?: number;
  /** Ground size of the window in km (default 224 x 90 m = 20.16 km); the pixel size is km / size. */
  readonly sizeKm?: number;
  readonly name?: string;
  /** Fail when the whole window is masked (default true). */
  readonly requireData?: boolean;
}

function fmt(v: number): string {
  return v.toFixed(4);
}

/** Where a point lies relative to a product, as text for messages. */
function extentText(p: Product): string {
  const e = productExtent(p);
  return `lon ${fmt(e.west)}..${fmt(e.east)}, lat ${fmt(e.south)}..${fmt(e.north)}`;
}

/** True when the point lies on the product's grid. */
export function containsPoint(p: Product, lon: number, lat: number): boolean {
  const [c, r] = lonLatToPixel(p, lon, lat);
  return c >= 0 && r >= 0 && c <= p.width && r <= p.height;
}

/**
 * Cut a window around (lon, lat). InputError when the point is outside the product or (unless
 * `requireData: false`) when every pixel of the window is masked.
 */
export function cutWindow(p: Product, at: LonLat, opts: CutOptions = {}): Window {
  const size = opts.size ?? MODEL_SIZE_PX;
  const sizeKm = opts.sizeKm ?? DEFAULT_WINDOW_KM;
  if (!Number.isInteger(size) || size < 8) throw new InputError(`window size must be a whole number of pixels >= 8, got ${size}`);
  if (!(sizeKm > 0) || !Number.isFinite(sizeKm)) throw new InputError(`window size must be > 0 km, got ${sizeKm}`);
  if (!Number.isFinite(at.lon) || !Number.isFinite(at.lat) || Math.abs(at.lat) > 89) {
    throw new InputError(`bad point lon ${at.lon}, lat ${at.lat}`);
  }
  const label = opts.name ? `${opts.name} (${fmt(at.lon)}, ${fmt(at.lat)})` : `point (${fmt(at.lon)}, ${fmt(at.lat)})`;
  if (!containsPoint(p, at.lon, at.lat)) {
    throw new InputError(`${p.id}: ${label} is outside the product (${extentText(p)})`);
  }
  const grid: WindowGrid = { centre: at, size, spacingM: (sizeKm * 1000) / size };
  const w = resampleWindow(p, grid, opts.name);
  if ((opts.requireData ?? true) && w.maskedFraction >= 1) {
    throw new InputError(`${p.id}: the ${sizeKm.toFixed(1)} km window around ${label} is entirely masked ` +
      `(no data, or coherence below ${p.minCoherence}); try a lower --min-coherence or another point`);
  }
  return w;
}

/**
 * The resampler's footprint (product pixels) for a window grid: the window's pixel size over the
 * product's (geometric mean of its east and north pixel sizes at the window centre), at least 1.
 * Windows finer than the product are bilinear; coarser ones average every product pixel they
 * cover instead of sampling a few (no aliasing of speckle at large scan scales).
 */
export function windowFootprintPx(p: Pick<Product, 'geo'>, g: WindowGrid): number {
  const cosLat = Math.cos((g.centre.lat * Math.PI) / 180);
  const sx = Math.abs(p.geo.dLon) * cosLat / DEG_PER_M, sy = Math.abs(p.geo.dLat) / DEG_PER_M;
  return Math.max(1, g.spacingM / Math.sqrt(sx * sy));
}

/**
 * Resample the product onto a window grid through `data/resample.ts` (see the module comment),
 * with the footprint of `windowFootprintPx`. Pixels outside the product are masked MASK_NODATA.
 */
export function resampleWindow(p: Product, g: WindowGrid, name?: string): Window {
  const dLat = g.spacingM * DEG_PER_M;
  const dLon = dLat / Math.cos((g.centre.lat * Math.PI) / 180);
  const half = g.size / 2;
  const r = resampleLayers(p, g.size, g.size, (c, row, at) => {
    at[0] = (g.centre.lon + (c - half) * dLon - p.geo.west) / p.geo.dLon - 0.5;
    at[1] = (g.centre.lat + (half - row) * dLat - p.geo.north) / p.geo.dLat - 0.5;
  }, windowFootprintPx(p, g));
  return {
    ...g, name, width: g.size, height: g.size, wrappedRad: r.wrappedRad, unwrappedRad: r.unwrappedRad, coherence: r.coherence, mask: r.mask,
    maskedFraction: r.maskedCount / (g.size * g.size),
  };
}

export interface ScanGridOptions {
  /** Ground size of each window, km (default 20.16). */
  readonly sizeKm?: number;
  /** Share of a window that overlaps its neighbour (default 0.5: every point is in the central half of some window). */
  readonly overlap?: number;
}

/**
 * Centres of overlapping windows covering the product's extent: a regular grid (in metres at the
 * product's mid latitude) with stride sizeKm x (1 - overlap), spread so the first and last windows
 * touch the product's edges. A product smaller than one window gets one window at its centre.
 */
export function scanGrid(p: Product, opts: ScanGridOptions = {}): LonLat[] {
  const sizeKm = opts.sizeKm ?? DEFAULT_WINDOW_KM;
  const overlap = opts.overlap ?? 0.5;
  if (!(overlap >= 0 && overlap < 0.95)) throw new InputError(`overlap must be within 0..0.95, got ${overlap}`);
  const e = productExtent(p);
  const midLat = (e.north + e.south) / 2;
  const mPerDegLat = 1 / DEG_PER_M;
  const mPerDegLon = mPerDegLat * Math.cos((midLat * Math.PI) / 180);
  const widthM = (e.east - e.west) * mPerDegLon;
  const heightM = (e.north - e.south) * mPerDegLat;
  const sizeM = sizeKm * 1000;
  const strideM = sizeM * (1 - overlap);
  const positions = (spanM: number): number[] => {
    if (spanM <= sizeM) return [spanM / 2];
    const k = Math.ceil((spanM - sizeM) / strideM);
    const step = (spanM - sizeM) / k;
    return Array.from({ length: k + 1 }, (_, i) => sizeM / 2 + i * step);
  };
  const out: LonLat[] = [];
  for (const yM of positions(heightM)) {
    for (const xM of positions(widthM)) {
      out.push({ lon: e.west + xM / mPerDegLon, lat: e.north - yM / mPerDegLat });
    }
  }
  return out;
}

/** A box in lon/lat: west, south, east, north. */
export type LonLatBox = [number, number, number, number];

/** A box in product pixels (GDAL convention): col0, row0, col1, row1. */
export type PixelBox = [number, number, number, number];

/** The four corners of a window box in lon/lat (north-west, north-east, south-east, south-west). */
export function windowBoxCorners(g: WindowGrid, b: CentreBox): [number, number][] {
  const x0 = b.x - b.halfWidth, x1 = b.x + b.halfWidth, y0 = b.y - b.halfHeight, y1 = b.y + b.halfHeight;
  return [windowToLonLat(g, x0, y0), windowToLonLat(g, x1, y0), windowToLonLat(g, x1, y1), windowToLonLat(g, x0, y1)];
}

/** Lon/lat bounds of a window box. */
export function windowBoxToLonLat(g: WindowGrid, b: CentreBox): LonLatBox {
  const c = windowBoxCorners(g, b);
  const lons = c.map((p) => p[0]), lats = c.map((p) => p[1]);
  return [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
}

/** A lon/lat box in product pixel coordinates. */
export function lonLatBoxToPixels(p: Pick<Product, 'geo'>, b: LonLatBox): PixelBox {
  const [c0, r0] = lonLatToPixel(p, b[0], b[3]);
  const [c1, r1] = lonLatToPixel(p, b[2], b[1]);
  return [Math.min(c0, c1), Math.min(r0, r1), Math.max(c0, c1), Math.max(r0, r1)];
}

/** A lon/lat box as a window Box (centre and half sizes in window pixels). */
export function lonLatBoxToWindow(g: WindowGrid, b: LonLatBox): CentreBox {
  const [x0, y0] = lonLatToWindow(g, b[0], b[3]);
  const [x1, y1] = lonLatToWindow(g, b[2], b[1]);
  return { x: (x0 + x1) / 2, y: (y0 + y1) / 2, halfWidth: Math.abs(x1 - x0) / 2, halfHeight: Math.abs(y1 - y0) / 2 };
}

/** Parse 'LON,LAT' (what --at takes). */
export function parseLonLat(s: string): LonLat {
  const parts = s.split(',').map((t) => t.trim());
  const [lon, lat] = parts.map(Number);
  if (parts.length !== 2 || !Number.isFinite(lon) || !Number.isFinite(lat)) {
    throw new InputError(`expected LON,LAT in decimal degrees (e.g. -72.62,-41.33), got '${s}'`);
  }
  if (Math.abs(lat!) > 90 || Math.abs(lon!) > 360) throw new InputError(`'${s}' is not a lon,lat point (lat within -90..90)`);
  return { lon: lon!, lat: lat! };
}
