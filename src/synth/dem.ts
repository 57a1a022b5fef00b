/**
 * DEMs for scenes: a geographic (lon/lat) elevation raster resampled to square pixels of
 * `spacingM` metres around a point, voids filled, water = elevation <= 0 (as the reference
 * SyInterferoPy set does without GSHHS coastlines). Pure: loading tiles and filling voids is the
 * data layer's job (data/terrain-source.ts).
 */
import { raster, type Raster } from '../core/raster.js';
import { EARTH_RADIUS_M } from '../physics/units.js';

/** A north-up geographic raster: pixel (col, row) has its centre at (west + (col+0.5)dLon, north - (row+0.5)dLat). */
export interface GeoRaster {
  readonly raster: Raster;
  readonly west: number;
  readonly north: number;
  /** Degrees of longitude per column (> 0). */
  readonly dLon: number;
  /** Degrees of latitude per row (> 0, rows go south). */
  readonly dLat: number;
}

export interface Volcano {
  readonly name: string;
  readonly lon: number;
  readonly lat: number;
}

/**
 * Resample `geo` onto a size x size grid of square `spacingM` pixels centred on (lon, lat)
 * (pixel (size/2, size/2) is the centre point), bilinear, using a local tangent-plane projection.
 * Cells outside the raster or next to a NaN come out NaN.
 */
export function resampleAround(geo: GeoRaster, lon: number, lat: number, size: number, spacingM: number): Raster {
  const out = raster(size, size);
  const { width, height, data } = geo.raster;
  const degPerMLat = 180 / (Math.PI * EARTH_RADIUS_M);
  const degPerMLon = degPerMLat / Math.cos((lat * Math.PI) / 180);
  const half = size / 2;
  for (let r = 0; r < size; r++) {
    const la = lat + (half - r) * spacingM * degPerMLat;
    const fy = (geo.north - la) / geo.dLat - 0.5;
    const y0 = Math.floor(fy);
    const ty = fy - y0;
    for (let c = 0; c < size; c++) {
      const lo = lon + (c - half) * spacingM * degPerMLon;
      const fx = (lo - geo.west) / geo.dLon - 0.5;
      const x0 = Math.floor(fx);
      const tx = fx - x0;
      let v = NaN;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < width && y0 + 1 < height) {
        const i = y0 * width + x0;
        v = (1 - ty) * ((1 - tx) * data[i]! + tx * data[i + 1]!) + ty * ((1 - tx) * data[i + width]! + tx * data[i + width + 1]!);
      }
      out.data[r * size + c] = v;
    }
  }
  return out;
}

/** Fraction of NaN cells. */
export function nanFraction(r: Raster): number {
  let n = 0;
  for (let i = 0; i < r.data.length; i++) if (Number.isNaN(r.data[i]!)) n++;
  return n / r.data.length;
}

/** Fraction of cells that are land (finite and > 0 m). */
export function landFraction(dem: Raster): number {
  let n = 0;
  for (let i = 0; i < dem.data.length; i++) if (dem.data[i]! > 0) n++;
  return n / dem.data.length;
}
