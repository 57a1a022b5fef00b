/**
 * Where a dataset's terrain comes from, as a plain serialisable spec (so worker threads can
 * rebuild the same terrain provider), and how to build it: the procedural landscape, SRTM3 .hgt
 * tiles from a directory, or a GeoTIFF DEM; regions are cut around the volcanoes they cover.
 */
import * as fs from 'node:fs';
import type { Raster } from '../core/raster.js';
import { InputError } from '../core/errors.js';
import { fillVoids, listHgtTiles, mosaicHgt } from '../io/hgt.js';
import { readGeoTiff, type GeoTransform } from '../io/geotiff.js';
import { landFraction, nanFraction, resampleAround, type GeoRaster, type Volcano } from '../synth/dem.js';
import { proceduralTerrain, regionTerrain, type DemRegion } from '../synth/terrains.js';
import type { TerrainProvider } from '../synth/scene.js';
import { findVolcano, VOLCANOES } from './volcanoes.js';
import { EARTH_RADIUS_M } from '../physics/units.js';

export type TerrainSpec =
  | { readonly kind: 'procedural' }
  | { readonly kind: 'srtm' | 'geotiff'; readonly path: string; readonly volcanoes?: readonly string[] | undefined };

/** Region side in pixels: a crop may put the volcano 10-90 % across, so 2 x 0.9 x crop + margin. */
export function regionSize(cropSize: number): number {
  return 2 * Math.ceil(cropSize);
}

/** Volcanoes by name (from the bundled list) or all of them. */
export function selectVolcanoes(names: readonly string[] | undefined): Volcano[] {
  if (!names || names.length === 0) return [...VOLCANOES];
  return names.map((n) => {
    const v = findVolcano(n);
    if (!v) throw new InputError(`unknown volcano '${n}' (not in the bundled list)`);
    return v;
  });
}

function boundsAround(v: Volcano, halfM: number): { south: number; north: number; west: number; east: number } {
  const dLat = (halfM / EARTH_RADIUS_M) * (180 / Math.PI);
  const dLon = dLat / Math.cos((v.lat * Math.PI) / 180);
  return { south: v.lat - dLat, north: v.lat + dLat, west: v.lon - dLon, east: v.lon + dLon };
}

/** DEM regions around every chosen volcano that the DEM covers. Throws when none is covered. */
/**
 * The DEM around a volcano, resampled to square pixels, voids filled; null when the DEM does not
 * cover it (more than 5 % missing) or it is nearly all water.
 */
export function volcanoRegion(geo: GeoRaster, v: Volcano, size: number, spacingM: number): Raster | null {
  const r = resampleAround(geo, v.lon, v.lat, size, spacingM);
  if (nanFraction(r) > 0.05) return null;
  const filled = fillVoids(r);
  return landFraction(filled) < 0.05 ? null : filled;
}

function toGeoRaster(raster: Raster, g: GeoTransform): GeoRaster {
  return { raster, west: g.west, north: g.north, dLon: Math.abs(g.dLon), dLat: Math.abs(g.dLat) };
}

export async function loadDemRegions(spec: Exclude<TerrainSpec, { kind: 'procedural' }>, cropSize: number, spacingM: number): Promise<DemRegion[]> {
  if (!fs.existsSync(spec.path)) throw new InputError(`${spec.path}: no such DEM ${spec.kind === 'srtm' ? 'directory' : 'file'}`);
  const volcanoes = selectVolcanoes(spec.volcanoes);
  const size = regionSize(cropSize);
  const halfM = (size / 2 + 2) * spacingM;
  const regions: DemRegion[] = [];
  let whole: GeoRaster | null = null;
  if (spec.kind === 'geotiff') {
    const g = await readGeoTiff(spec.path);
    if (!g.geo) throw new InputError(`${spec.path}: the DEM has no georeference`);
    whole = toGeoRaster(g.raster, g.geo);
  } else if (listHgtTiles(spec.path).length === 0) {
    throw new InputError(`${spec.path}: no .hgt tiles in this directory`);
  }
  for (const v of volcanoes) {
    let geo: GeoRaster | null = whole;
    if (!geo) {
      const b = boundsAround(v, halfM);
      if (!listHgtTiles(spec.path).some((t) => t.lat + 1 > b.south && t.lat < b.north && t.lon + 1 > b.west && t.lon < b.east)) continue;
      const m = mosaicHgt(spec.path, b);
      geo = toGeoRaster(m.raster, m.geo);
    }
    const dem = volcanoRegion(geo, v, size, spacingM);
    if (dem) regions.push({ name: v.name, dem, lonLat: [v.lon, v.lat] });
  }
  if (regions.length === 0) {
    throw new InputError(`${spec.path}: the DEM covers none of the ${volcanoes.length} volcanoes asked for (each needs a ${(2 * halfM / 1000).toFixed(0)} km box)`);
  }
  return regions;
}

export async function buildTerrain(spec: TerrainSpec, cropSize: number, spacingM: number): Promise<{ provider: TerrainProvider; volcanoes: string[] }> {
  if (spec.kind === 'procedural') return { provider: proceduralTerrain(regionSize(cropSize), spacingM), volcanoes: [] };
  const regions = await loadDemRegions(spec, cropSize, spacingM);
  return { provider: regionTerrain(regions), volcanoes: regions.map((r) => r.name) };
}
