/**
 * Deformation episodes in the VolcNet style: what deformed (source type), where (a lon/lat polygon),
 * when (start and end dates) and by how much (magnitude, metres of LOS). An interferogram whose
 * dates span an episode (primary <= start and secondary >= end) shows it and gets its label; one
 * that spans no episode and overlaps none in time is `none`; one that overlaps an episode only in
 * part is ambiguous (part of the signal) and is skipped.
 *
 * Episode files are JSON, any of:
 *   { "episodes": [ { "id", "source", "polygon", "start", "end", "magnitude", "volcano"? } ] }
 *   [ ...episodes ]
 *   a GeoJSON FeatureCollection of Polygons whose properties hold id, source, start, end, magnitude
 * `source` is dyke, sill or mogi (mogi is labelled sill, as in synth/sources.ts); `polygon` is
 * [[lon, lat], ...] or a GeoJSON Polygon; dates are YYYY-MM-DD.
 */
import { InputError } from '../core/errors.js';
import { oneLine, readInputTextSync } from '../io/input-file.js';
import { productExtent, type Product } from '../io/licsar.js';
import { type ClassName } from '../core/classes.js';
import { findVolcano } from './volcanoes.js';
import { polygonBounds } from './real.js';
import type { LonLatBox } from './windows.js';

export interface Episode {
  readonly id: string;
  readonly source: 'dyke' | 'sill' | 'mogi';
  readonly className: Exclude<ClassName, 'none'>;
  readonly polygon: [number, number][];
  readonly bounds: LonLatBox;
  readonly start: string;
  readonly end: string;
  /** Metres of LOS (sign as given); used to pick between episodes. */
  readonly magnitude: number;
  readonly volcano: { readonly name: string; readonly lon: number; readonly lat: number } | null;
}

function date(file: string, id: string, v: unknown, what: string): string {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) {
    throw new InputError(`${file}: episode ${id}: ${what} must be a date YYYY-MM-DD, got ${JSON.stringify(v)}`);
  }
  return v;
}

function ring(file: string, id: string, v: unknown): [number, number][] {
  let coords: unknown = v;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const g = v as { type?: unknown; coordinates?: unknown };
    if (g.type !== 'Polygon') throw new InputError(`${file}: episode ${id}: polygon must be [[lon, lat], ...] or a GeoJSON Polygon`);
    coords = (g.coordinates as unknown[] | undefined)?.[0];
  }
  if (!Array.isArray(coords) || coords.length < 3 ||
    !coords.every((p) => Array.isArray(p) && p.length >= 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]) && Math.abs(p[1] as number) <= 90)) {
    throw new InputError(`${file}: episode ${id}: polygon needs at least 3 [lon, lat] points`);
  }
  return coords.map((p) => [Number((p as number[])[0]), Number((p as number[])[1])]);
}

/** Parse episodes from JSON text; `file` names the source in messages. */
export function parseEpisodes(text: string, file = 'episodes'): Episode[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file}: not valid JSON (${oneLine((e as Error).message)})`, { cause: e });
  }
  let raw: Record<string, unknown>[];
  const obj = json as Record<string, unknown>;
  if (Array.isArray(json)) raw = json as Record<string, unknown>[];
  else if (obj && obj.type === 'FeatureCollection' && Array.isArray(obj.features)) {
    raw = (obj.features as Record<string, unknown>[]).map((f) => ({ ...(f.properties as Record<string, unknown> ?? {}), polygon: f.geometry }));
  } else if (obj && Array.isArray(obj.episodes)) raw = obj.episodes as Record<string, unknown>[];
  else throw new InputError(`${file}: expected {"episodes": [...]}, a list of episodes, or a GeoJSON FeatureCollection`);
  const seen = new Set<string>();
  return raw.map((e, i) => {
    const id = typeof e.id === 'string' || typeof e.id === 'number' ? String(e.id) : `#${i + 1}`;
    if (seen.has(id)) throw new InputError(`${file}: episode id ${id} is used twice`);
    seen.add(id);
    const src = String(e.source ?? e.type ?? '').toLowerCase();
    if (src !== 'dyke' && src !== 'sill' && src !== 'mogi') {
      throw new InputError(`${file}: episode ${id}: source must be dyke, sill or mogi, got ${JSON.stringify(e.source ?? e.type ?? null)}`);
    }
    const start = date(file, id, e.start, 'start');
    const end = date(file, id, e.end, 'end');
    if (end < start) throw new InputError(`${file}: episode ${id}: ends (${end}) before it starts (${start})`);
    const polygon = ring(file, id, e.polygon);
    const magnitude = e.magnitude === undefined ? 0 : Number(e.magnitude);
    if (!Number.isFinite(magnitude)) throw new InputError(`${file}: episode ${id}: magnitude must be a number (metres)`);
    let volcano: Episode['volcano'] = null;
    if (typeof e.volcano === 'string') {
      const v = findVolcano(e.volcano);
      volcano = v ? { name: v.name, lon: v.lon, lat: v.lat } : null;
      if (!v) throw new InputError(`${file}: episode ${id}: unknown volcano '${e.volcano}' (bundled list)`);
    }
    return { id, source: src, className: src === 'dyke' ? 'dyke' : 'sill', polygon, bounds: polygonBounds(polygon), start, end, magnitude, volcano };
  });
}

export function readEpisodes(file: string): Episode[] {
  return parseEpisodes(readInputTextSync(file, { what: 'episodes', maxBytes: 256 << 20 }), file);
}

export type EpisodeLabel =
  | { readonly kind: 'label'; readonly className: ClassName; readonly episode: Episode | null; readonly others: Episode[]; readonly centre: { lon: number; lat: number } | null; readonly volcano: Episode['volcano'] }
  | { readonly kind: 'skip'; readonly reason: string };

function intersects(a: LonLatBox, b: LonLatBox): boolean {
  return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
}

/**
 * The label episodes give an interferogram (see the module comment). Only episodes whose polygon
 * touches the product count. When it spans several, the largest |magnitude| wins (others listed).
 */
export function labelFromEpisodes(episodes: readonly Episode[], p: Pick<Product, 'id' | 'files' | 'width' | 'height' | 'geo'>): EpisodeLabel {
  const dates = p.files.dates;
  if (!dates) return { kind: 'skip', reason: `${p.id}: no dates in its name (YYYYMMDD_YYYYMMDD), cannot match episodes` };
  const e = productExtent(p);
  const here = episodes.filter((ep) => intersects(ep.bounds, [e.west, e.south, e.east, e.north]));
  if (here.length === 0) return { kind: 'skip', reason: `${p.id}: no episode lies inside the product, so it cannot say where 'none' applies` };
  const [t0, t1] = dates;
  const spanned = here.filter((ep) => t0 <= ep.start && t1 >= ep.end);
  const partial = here.filter((ep) => !spanned.includes(ep) && t0 < ep.end && t1 > ep.start);
  if (partial.length) {
    return { kind: 'skip', reason: `${p.id}: ${t0}..${t1} covers only part of episode ${partial.map((x) => `${x.id} (${x.start}..${x.end})`).join(', ')}` };
  }
  // A volcano (or the episodes' middle) says where a 'none' crop is cut.
  const volcano = here.find((ep) => ep.volcano)?.volcano ?? null;
  if (spanned.length === 0) {
    const b = polygonBounds(here.flatMap((ep) => ep.polygon));
    return { kind: 'label', className: 'none', episode: null, others: [], volcano, centre: volcano ?? { lon: (b[0] + b[2]) / 2, lat: (b[1] + b[3]) / 2 } };
  }
  const sorted = [...spanned].sort((a, b) => Math.abs(b.magnitude) - Math.abs(a.magnitude));
  const best = sorted[0]!;
  return { kind: 'label', className: best.className, episode: best, others: sorted.slice(1), volcano: best.volcano ?? volcano, centre: best.volcano ?? volcano };
}
