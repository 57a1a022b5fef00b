/**
 * Projected grids (UTM, Web Mercator) to lon/lat, with proj4. caldera works on lon/lat grids
 * (EPSG:4326, as LiCSAR delivers them), but LiCSBAS / MintPy exports and GDAL users often hand
 * over UTM GeoTIFFs. Rather than refuse them, a raster in a projection caldera knows is resampled
 * onto a north-up lon/lat grid of about the same ground pixel size, by nearest neighbour (the one
 * method that is right for every layer: wrapped phase, unwrapped phase, coherence, no-data), and a
 * point in its pixels can be put on the map without resampling (`pixelToLonLat`, for `predict`).
 *
 * Known projections: WGS84 UTM zones (EPSG:32601-32660 north, 32701-32760 south) and Web Mercator
 * (EPSG:3857); others are refused by the reader with a gdalwarp hint.
 */
import proj4 from 'proj4';
import { InputError } from '../core/errors.js';
import { M_PER_DEG } from '../physics/units.js';
import type { Raster } from '../core/raster.js';
import type { GeoReference } from './geotiff.js';

/** Largest output raster (pixels), as the GeoTIFF reader's limit. */
const MAX_PIXELS = 2 ** 27;

/** The proj4 definition of EPSG code `epsg`, or null when caldera does not know it. */
export function projectionOf(epsg: number): string | null {
  if (epsg >= 32601 && epsg <= 32660) return `+proj=utm +zone=${epsg - 32600} +datum=WGS84 +units=m +no_defs`;
  if (epsg >= 32701 && epsg <= 32760) return `+proj=utm +zone=${epsg - 32700} +south +datum=WGS84 +units=m +no_defs`;
  if (epsg === 3857 || epsg === 900913) return '+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +nadgrids=@null +no_defs';
  return null;
}

type Converter = { forward: (p: [number, number]) => [number, number]; inverse: (p: [number, number]) => [number, number] };

function converter(epsg: number): Converter {
  const def = projectionOf(epsg);
  if (!def) throw new InputError(`EPSG:${epsg}: a projection caldera cannot reproject (it knows WGS84 UTM zones and Web Mercator); warp it: gdalwarp -t_srs EPSG:4326`);
  // forward: lon/lat -> projected; inverse: projected -> lon/lat.
  return proj4('EPSG:4326', def) as unknown as Converter;
}

/** GDAL pixel coordinates (x right, y down, 0..width) of a projected grid -> [lon, lat]. */
export function pixelToLonLatFn(geo: GeoReference, epsg: number): (x: number, y: number) => [number, number] {
  const c = converter(epsg);
  return (x, y) => c.inverse([geo.west + x * geo.dLon, geo.north + y * geo.dLat]);
}

/** Ground metres per pixel (east, north) of a projected grid at its centre. */
export function groundSpacingM(geo: GeoReference, epsg: number, width: number, height: number): { east: number; north: number } {
  const at = pixelToLonLatFn(geo, epsg);
  const [lon0, lat0] = at(width / 2, height / 2);
  const [lon1, lat1] = at(width / 2 + 1, height / 2);
  const [lon2, lat2] = at(width / 2, height / 2 + 1);
  const cos = Math.cos((lat0 * Math.PI) / 180);
  const dist = (lo: number, la: number): number => M_PER_DEG * Math.hypot((lo - lon0) * cos, la - lat0);
  return { east: dist(lon1, lat1), north: dist(lon2, lat2) };
}

export interface Reprojected {
  readonly raster: Raster;
  /** North-up lon/lat grid (crs EPSG:4326). */
  readonly geo: GeoReference;
}

/**
 * Resample a raster on projected grid `geo` (EPSG `epsg`) onto the north-up lon/lat grid that holds
 * it, with square-ish pixels of the input's ground size, by nearest neighbour; NaN outside the
 * input. The output grid depends only on the input grid, so layers of one product stay aligned.
 */
export function reprojectToLonLat(raster: Raster, geo: GeoReference, epsg: number, name = 'raster'): Reprojected {
  const c = converter(epsg);
  const { width, height } = raster;
  const at = pixelToLonLatFn(geo, epsg);
  // The lon/lat box of the grid's outline (edges sampled: projected straight lines bend).
  let west = Infinity, east = -Infinity, south = Infinity, north = -Infinity;
  const steps = 32;
  for (let k = 0; k <= steps; k++) {
    const f = k / steps;
    for (const [x, y] of [[f * width, 0], [f * width, height], [0, f * height], [width, f * height]] as const) {
      const [lon, lat] = at(x, y);
      if (!Number.isFinite(lon) || !Number.isFinite(lat)) throw new InputError(`${name}: EPSG:${epsg} grid reaches outside the projection's valid area`);
      west = Math.min(west, lon); east = Math.max(east, lon); south = Math.min(south, lat); north = Math.max(north, lat);
    }
  }
  const spacing = groundSpacingM(geo, epsg, width, height);
  const px = Math.min(spacing.east, spacing.north);
  const dLat = -px / M_PER_DEG;
  const dLon = px / (M_PER_DEG * Math.cos((((north + south) / 2) * Math.PI) / 180));
  const outW = Math.max(1, Math.ceil((east - west) / dLon));
  const outH = Math.max(1, Math.ceil((north - south) / -dLat));
  if (outW * outH > MAX_PIXELS) throw new InputError(`${name}: reprojected to lon/lat it would be ${outW}x${outH} pixels, more than ${MAX_PIXELS}`);
  const out = new Float32Array(outW * outH).fill(NaN);
  const src = raster.data;
  // proj4 at every 8th pixel of a row, linear in between (UTM is smooth: far below a pixel off).
  const STEP = 8;
  const xs = new Float64Array(outW + STEP), ys = new Float64Array(outW + STEP);
  for (let r = 0; r < outH; r++) {
    const lat = north + (r + 0.5) * dLat;
    for (let c0 = 0; c0 < outW + STEP; c0 += STEP) {
      const [x, y] = c.forward([west + (c0 + 0.5) * dLon, lat]);
      xs[c0] = x; ys[c0] = y;
    }
    for (let col = 0; col < outW; col++) {
      const k = col % STEP, a = col - k, t = k / STEP;
      const x = xs[a]! + (xs[a + STEP]! - xs[a]!) * t, y = ys[a]! + (ys[a + STEP]! - ys[a]!) * t;
      const ic = Math.floor((x - geo.west) / geo.dLon), ir = Math.floor((y - geo.north) / geo.dLat);
      if (ic >= 0 && ic < width && ir >= 0 && ir < height) out[r * outW + col] = src[ir * width + ic]!;
    }
  }
  return { raster: { width: outW, height: outH, data: out }, geo: { west, north, dLon, dLat, crs: 'EPSG:4326' } };
}
