/**
 * Terrain providers for scene generation: where the deformation sits.
 * - `regionTerrain`: real DEM regions cut around volcanoes (data/dem-loader makes them from SRTM
 *   tiles or a GeoTIFF); the anchor is the volcano, or with probability `anywhereOnLand` a random
 *   land pixel (the source need not sit under a summit).
 * - `proceduralTerrain`: synthetic volcanic landscapes, so caldera works with no DEM at all.
 */
import type { Raster } from '../core/raster.js';
import { Rng } from '../core/rng.js';
import { createSpectralCache, spectralSizeFor } from './atmosphere.js';
import type { TerrainDraw, TerrainProvider } from './scene.js';
import { proceduralDem } from './terrain.js';
import { InputError } from '../core/errors.js';

export interface DemRegion {
  readonly name: string;
  readonly dem: Raster;
  /** Lon/lat of the centre pixel (the volcano). */
  readonly lonLat: readonly [number, number];
}

/** A random land pixel within the central part of `dem` (so a crop can put it 10-90 % across). */
function randomLandPixel(rng: Rng, dem: Raster, margin: number): { x: number; y: number } | null {
  for (let k = 0; k < 200; k++) {
    const x = rng.int(margin, dem.width - 1 - margin);
    const y = rng.int(margin, dem.height - 1 - margin);
    if (dem.data[y * dem.width + x]! > 0) return { x, y };
  }
  return null;
}

export function regionTerrain(regions: readonly DemRegion[], anywhereOnLand = 0.2): TerrainProvider {
  if (regions.length === 0) throw new InputError('no DEM regions to draw terrain from');
  return (rng: Rng): TerrainDraw => {
    const r = rng.pick(regions);
    const centre = { x: Math.floor(r.dem.width / 2), y: Math.floor(r.dem.height / 2) };
    const land = rng.chance(anywhereOnLand) ? randomLandPixel(rng, r.dem, Math.floor(r.dem.width / 4)) : null;
    return { dem: r.dem, anchor: land ?? centre, name: land ? `${r.name} (land)` : r.name, lonLat: r.lonLat };
  };
}

export interface ProceduralTerrainOptions {
  /** How many landscapes to make (lazily, each from its own seed) and draw from. */
  readonly poolSize?: number;
  readonly seed?: number;
  readonly anywhereOnLand?: number;
}

/**
 * Procedural volcanic landscapes of `regionSize` pixels. Making one costs ~60 ms at 448 px, so a
 * provider keeps a pool of `poolSize` (made on first use from seeds seed*1e4 + k, so a sample's
 * terrain does not depend on which worker draws it) and shows each in one of 8 orientations.
 */
export function proceduralTerrain(regionSize: number, spacingM: number, opts: ProceduralTerrainOptions = {}): TerrainProvider {
  const poolSize = opts.poolSize ?? 32;
  const seed = opts.seed ?? 0;
  const pool: (DemRegionPixels | undefined)[] = new Array(poolSize);
  const cache = createSpectralCache(spectralSizeFor(regionSize, regionSize));
  const get = (k: number): DemRegionPixels => {
    let r = pool[k];
    if (!r) {
      const p = proceduralDem(new Rng(seed * 10000 + k), { width: regionSize, height: regionSize, spacingM }, cache);
      r = { dem: p.dem, volcanoes: p.volcanoes };
      pool[k] = r;
    }
    return r;
  };
  const lo = Math.ceil(regionSize / 4);
  const hi = regionSize - 1 - lo;
  return (rng: Rng): TerrainDraw => {
    const k = rng.int(0, poolSize - 1);
    const o = rng.int(0, 7);
    const base = get(k);
    const dem = orient(base.dem, o);
    const inside = base.volcanoes
      .map((v) => orientPoint(v, o, regionSize))
      .filter((v) => v.x >= lo && v.x <= hi && v.y >= lo && v.y <= hi);
    let anchor = inside.length > 0 && !rng.chance(opts.anywhereOnLand ?? 0.2) ? rng.pick(inside) : null;
    anchor ??= randomLandPixel(rng, dem, lo) ?? { x: Math.floor(regionSize / 2), y: Math.floor(regionSize / 2) };
    return { dem, anchor: { x: Math.round(anchor.x), y: Math.round(anchor.y) }, name: `procedural-${k}`, lonLat: null };
  };
}

interface DemRegionPixels { readonly dem: Raster; readonly volcanoes: readonly { x: number; y: number }[] }

/** One of the 8 symmetries of the square (o bit 0: flip x, bit 1: flip y, bit 2: transpose). */
function orient(r: Raster, o: number): Raster {
  if (o === 0) return r;
  const n = r.width;
  const out = new Float32Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const p = orientPoint({ x, y }, o, n);
      out[p.y * n + p.x] = r.data[y * n + x]!;
    }
  }
  return { width: n, height: n, data: out };
}

function orientPoint(p: { x: number; y: number }, o: number, n: number): { x: number; y: number } {
  let x = o & 1 ? n - 1 - p.x : p.x;
  let y = o & 2 ? n - 1 - p.y : p.y;
  if (o & 4) [x, y] = [y, x];
  return { x, y };
}
