/**
 * SRTM `.hgt` elevation tiles: a square grid of big-endian int16 heights in metres, 1201x1201
 * (SRTM3, 3 arc-second) or 3601x3601 (SRTM1, 1 arc-second), row 0 = north. The name gives the
 * south-west corner: N40E014.hgt covers 40..41 N, 14..15 E; -32768 marks a void.
 * Samples sit on the grid nodes, so neighbouring tiles repeat their shared edge row/column.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Raster } from '../core/raster.js';
import { InputError } from '../core/errors.js';
import type { GeoTransform } from './geotiff.js';
import { checkRegularFile, readInputFileSync } from './input-file.js';

export const HGT_VOID = -32768;

export interface HgtTileId {
  /** Latitude of the south edge, degrees (south negative). */
  lat: number;
  /** Longitude of the west edge, degrees (west negative). */
  lon: number;
}

export interface HgtTile {
  tile: HgtTileId;
  /** Samples per side: 1201 or 3601. */
  size: number;
  /** size x size heights in metres, row 0 = north; HGT_VOID (-32768) = void. */
  data: Int16Array;
}

export interface HgtFile extends HgtTileId {
  path: string;
  name: string;
}

export interface LatLonBox {
  south: number;
  north: number;
  west: number;
  east: number;
}

/** A DEM mosaic: heights in metres (NaN = void or missing tile) and its grid. */
export interface DemMosaic {
  raster: Raster;
  /** Outer edge of the top-left pixel; the pixel centres are the SRTM grid nodes. dLat < 0. */
  geo: GeoTransform;
  /** Names of the tiles that were read. */
  tiles: string[];
  /** Names of tiles the box needs that are not in the directory (their area is NaN). */
  missing: string[];
}

const SIZES = [1201, 3601];

/** Tile name for a south-west corner, e.g. hgtTileName(40, 14) = 'N40E014.hgt', (-17, -70) = 'S17W070.hgt'. */
export function hgtTileName(lat: number, lon: number): string {
  if (!Number.isInteger(lat) || !Number.isInteger(lon) || lat < -90 || lat > 89 || lon < -180 || lon > 179) {
    throw new InputError(`no SRTM tile has south-west corner lat ${lat}, lon ${lon} (need integers, ` +
      'lat -90..89, lon -180..179)');
  }
  const ns = lat < 0 ? 'S' : 'N';
  const ew = lon < 0 ? 'W' : 'E';
  return `${ns}${String(Math.abs(lat)).padStart(2, '0')}${ew}${String(Math.abs(lon)).padStart(3, '0')}.hgt`;
}

/** Parse the south-west corner from a tile file name (case-insensitive; a path is fine). */
export function parseHgtName(fileName: string): HgtTileId {
  const base = path.basename(fileName);
  const m = /^([NS])(\d{2})([EW])(\d{3})\.hgt$/i.exec(base);
  if (!m) {
    throw new InputError(`${base}: not an SRTM tile name (expected like N40E014.hgt: south-west corner, ` +
      'N/S + 2-digit latitude, E/W + 3-digit longitude)');
  }
  const lat = (m[1]!.toUpperCase() === 'S' ? -1 : 1) * Number(m[2]);
  const lon = (m[3]!.toUpperCase() === 'W' ? -1 : 1) * Number(m[4]);
  if (lat < -90 || lat > 89 || lon < -180 || lon > 179) {
    throw new InputError(`${base}: corner lat ${lat}, lon ${lon} is outside the globe`);
  }
  return { lat: lat === 0 ? 0 : lat, lon: lon === 0 ? 0 : lon };
}

function tileSizeOf(length: number, name: string): number {
  const size = SIZES.find((s) => s * s * 2 === length);
  if (size === undefined) {
    const expect = SIZES.map((s) => `${s * s * 2} bytes (${s}x${s} int16)`).join(' or ');
    throw new InputError(`${path.basename(name)}: expected ${expect}, got ${length}; truncated or not a .hgt tile`);
  }
  return size;
}

/** Decode the bytes of a tile; `name` is used for the corner and in messages. */
export function decodeHgt(bytes: Uint8Array, name: string): HgtTile {
  const tile = parseHgtName(name);
  const size = tileSizeOf(bytes.length, name);
  const n = size * size;
  const data = new Int16Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) data[i] = dv.getInt16(2 * i, false);
  return { tile, size, data };
}

/** Read one `.hgt` tile. */
export function readHgt(filePath: string): HgtTile {
  const base = path.basename(filePath);
  parseHgtName(base); // bad names fail before the read
  // A size no tile has: say so without reading it.
  tileSizeOf(checkRegularFile(filePath).size, base);
  return decodeHgt(readInputFileSync(filePath), base);
}

/** The `.hgt` tiles in a directory (not recursive), sorted by name. */
export function listHgtTiles(dir: string): HgtFile[] {
  let names: string[];
  try {
    if (!fs.statSync(dir).isDirectory()) throw new Error('not a directory');
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new InputError(`${dir}: cannot read DEM directory (${(e as Error).message})`, { cause: e });
  }
  const out: HgtFile[] = [];
  const seen = new Map<string, string>();
  for (const name of names.filter((n) => n.toLowerCase().endsWith('.hgt')).sort()) {
    const id = parseHgtName(name);
    const key = hgtTileName(id.lat, id.lon);
    const prev = seen.get(key);
    if (prev) throw new InputError(`${dir}: tiles ${prev} and ${name} cover the same area`);
    seen.set(key, name);
    out.push({ ...id, name, path: path.join(dir, name) });
  }
  return out;
}

function checkBox(box: LatLonBox): void {
  const { south, north, west, east } = box;
  if (![south, north, west, east].every(Number.isFinite) || south >= north || west >= east ||
      south < -90 || north > 90 || west < -180 || east > 180) {
    throw new InputError(`bad DEM box south ${south}, north ${north}, west ${west}, east ${east} ` +
      '(need south < north within -90..90 and west < east within -180..180)');
  }
}

export interface MosaicOptions {
  /** Samples per tile side of the output grid (1201 or 3601); default: the finest tile used, else 1201. */
  size?: number;
}

const EPS = 1e-9;

/** One way to sample a grid line: a tile (index from the mosaic's first tile) and the node in it. */
interface Pick {
  tile: number;
  nodeInTile: number; // output-grid steps from the tile's south/west edge
}

/**
 * Candidate tiles for grid node k (degrees = k / n); `first` is the first tile's south/west edge.
 * A node on a tile edge lies in both neighbouring tiles; the tile to the north/east comes first.
 */
function picks(k: number, n: number, first: number): Pick[] {
  const t = Math.floor(k / n);
  const within = k - t * n;
  const p: Pick = { tile: t - first, nodeInTile: within };
  return within === 0 ? [p, { tile: t - 1 - first, nodeInTile: n }] : [p];
}

/**
 * Mosaic the tiles in `dir` over a lat/lon box. Output pixels are the SRTM grid nodes inside the
 * box (inclusive), at the finest resolution of the tiles used. Shared edges are taken from
 * whichever neighbouring tile has a value there. Voids and missing tiles are NaN.
 */
export function mosaicHgt(dir: string, box: LatLonBox, opts: MosaicOptions = {}): DemMosaic {
  checkBox(box);
  const files = listHgtTiles(dir);
  const byKey = new Map(files.map((f) => [`${f.lat},${f.lon}`, f]));
  // Tiles the box touches, including those that only share an edge node with it, in a grid
  // indexed [(lat - lat0) * nLon + (lon - lon0)].
  const lat0 = Math.floor(box.south) - 1;
  const lon0 = Math.floor(box.west) - 1;
  const nLat = Math.ceil(box.north) - lat0;
  const nLon = Math.ceil(box.east) - lon0;
  const grid: (HgtTile | undefined)[] = new Array(nLat * nLon);
  const used: string[] = [];
  for (let la = lat0; la < lat0 + nLat; la++) {
    for (let lo = lon0; lo < lon0 + nLon; lo++) {
      const f = byKey.get(`${la},${lo}`);
      if (!f || la + 1 < box.south || la > box.north || lo + 1 < box.west || lo > box.east) continue;
      grid[(la - lat0) * nLon + (lo - lon0)] = readHgt(f.path);
      used.push(f.name);
    }
  }
  const sizes = grid.filter((t): t is HgtTile => t !== undefined).map((t) => t.size);
  const size = opts.size ?? (sizes.length ? Math.max(...sizes) : 1201);
  if (!SIZES.includes(size)) throw new InputError(`bad SRTM tile size ${size} (1201 or 3601)`);
  const n = size - 1; // grid steps per degree
  const jNorth = Math.floor(box.north * n + EPS);
  const jSouth = Math.ceil(box.south * n - EPS);
  const iWest = Math.ceil(box.west * n - EPS);
  const iEast = Math.floor(box.east * n + EPS);
  const height = jNorth - jSouth + 1;
  const width = iEast - iWest + 1;
  if (height < 1 || width < 1) throw new InputError(`DEM box is smaller than one ${size}-sample grid step`);
  const rowPicks = Array.from({ length: height }, (_, r) => picks(jNorth - r, n, lat0));
  const colPicks = Array.from({ length: width }, (_, c) => picks(iWest + c, n, lon0));
  const out = new Float32Array(width * height);
  for (let r = 0; r < height; r++) {
    const rp = rowPicks[r]!;
    for (let c = 0; c < width; c++) {
      out[r * width + c] = sampleNode(grid, nLon, rp, colPicks[c]!, n);
    }
  }
  const d = 1 / n;
  return {
    raster: { width, height, data: out },
    geo: { west: iWest * d - d / 2, north: jNorth * d + d / 2, dLon: d, dLat: -d },
    tiles: used.sort(),
    missing: missingTiles(box, byKey),
  };
}

function sampleNode(grid: (HgtTile | undefined)[], nLon: number, rows: Pick[], cols: Pick[], n: number): number {
  for (const rp of rows) {
    for (const cp of cols) {
      const t = grid[rp.tile * nLon + cp.tile];
      if (!t) continue;
      const tn = t.size - 1;
      // Same resolution: exact index; a tile of another resolution: nearest node.
      const row = tn - (tn === n ? rp.nodeInTile : Math.round((rp.nodeInTile * tn) / n));
      const col = tn === n ? cp.nodeInTile : Math.round((cp.nodeInTile * tn) / n);
      const v = t.data[row * t.size + col]!;
      if (v !== HGT_VOID) return v;
    }
  }
  return NaN;
}

function missingTiles(box: LatLonBox, byKey: Map<string, HgtFile>): string[] {
  const out: string[] = [];
  // Tiles whose interior overlaps the box (edge-only contact does not count).
  for (let la = Math.floor(box.south); la < Math.ceil(box.north); la++) {
    for (let lo = Math.floor(box.west); lo < Math.ceil(box.east); lo++) {
      if (!byKey.has(`${la},${lo}`) && la >= -90 && la <= 89 && lo >= -180 && lo <= 179) out.push(hgtTileName(la, lo));
    }
  }
  return out;
}

export interface FillOptions {
  /** Stop after this many passes even if voids remain (default: until filled). */
  maxIterations?: number;
}

/**
 * Fill NaN pixels by iterative neighbour averaging: each pass sets every NaN pixel that has finite
 * 8-neighbours to their mean, growing inward from the void edges. Finite values (including sea
 * level 0) are never changed. A raster with no finite value is returned unchanged. Pure: returns a copy.
 */
export function fillVoids(r: Raster, opts: FillOptions = {}): Raster {
  const { width: w, height: h } = r;
  const data = Float32Array.from(r.data);
  const queued = new Uint8Array(data.length);
  // Start from the void pixels that touch a finite one; later passes add the voids next to what
  // the previous pass filled, so work grows with the void area, not area x passes.
  let frontier: number[] = [];
  for (let i = 0; i < data.length; i++) {
    if (Number.isNaN(data[i]!) && forNeighbours(i, w, h, (j) => !Number.isNaN(data[j]!))) {
      frontier.push(i);
      queued[i] = 1;
    }
  }
  const maxIt = opts.maxIterations ?? Infinity;
  for (let it = 0; it < maxIt && frontier.length > 0; it++) {
    const values = frontier.map((i) => neighbourMean(data, i, w, h));
    // Write after the pass so each pass only sees values from before it (order-independent).
    frontier.forEach((i, k) => { data[i] = values[k]!; });
    const next: number[] = [];
    for (const i of frontier) {
      forNeighbours(i, w, h, (j) => {
        if (Number.isNaN(data[j]!) && !queued[j]) {
          queued[j] = 1;
          next.push(j);
        }
        return false;
      });
    }
    frontier = next;
  }
  return { width: w, height: h, data };
}

/** Call f on each 8-neighbour index of i until it returns true; returns whether one did. */
function forNeighbours(i: number, w: number, h: number, f: (j: number) => boolean): boolean {
  const x = i % w;
  const y = (i - x) / w;
  for (let dy = -1; dy <= 1; dy++) {
    const yy = y + dy;
    if (yy < 0 || yy >= h) continue;
    for (let dx = -1; dx <= 1; dx++) {
      const xx = x + dx;
      if ((dx === 0 && dy === 0) || xx < 0 || xx >= w) continue;
      if (f(yy * w + xx)) return true;
    }
  }
  return false;
}

function neighbourMean(data: Float32Array, i: number, w: number, h: number): number {
  let sum = 0;
  let cnt = 0;
  forNeighbours(i, w, h, (j) => {
    const v = data[j]!;
    if (!Number.isNaN(v)) {
      sum += v;
      cnt++;
    }
    return false;
  });
  return cnt > 0 ? sum / cnt : NaN;
}
