/**
 * Where to look: the volcano list (the bundled one, data/volcanoes.ts, or a user's JSON file) and
 * the points a scan cuts windows around (`--at LON,LAT`, `--volcano NAMES`, `--volcano all`), per
 * product. The CLI parses its flags and calls these.
 */
import { InputError } from '../core/errors.js';
import { oneLine, readInputTextSync } from '../io/input-file.js';
import { findVolcano, VOLCANOES } from '../data/volcanoes.js';
import { containsPoint, parseLonLat } from '../data/windows.js';
import type { Product } from '../io/licsar.js';
import type { Volcano } from '../synth/dem.js';
import type { ScanPoint } from './scan.js';

/** A volcano list: the bundled one (no file), or a JSON file ([{name, lon, lat}] or {volcanoes: [...]}). */
export function loadVolcanoList(file?: string): readonly Volcano[] {
  if (!file) return VOLCANOES;
  const text = readInputTextSync(file, { what: 'volcano list', maxBytes: 64 << 20 });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file}: not a JSON volcano list (${oneLine((e as Error).message)})`, { cause: e });
  }
  const arr = Array.isArray(json) ? json : (json as { volcanoes?: unknown } | null)?.volcanoes;
  if (!Array.isArray(arr)) throw new InputError(`${file}: expected a JSON list of {name, lon, lat}`);
  return arr.map((v, i) => {
    const o = (v ?? {}) as Record<string, unknown>;
    if (typeof o.name !== 'string' || typeof o.lon !== 'number' || typeof o.lat !== 'number' ||
      !Number.isFinite(o.lon) || !Number.isFinite(o.lat) || Math.abs(o.lat) > 90 || Math.abs(o.lon) > 360) {
      throw new InputError(`${file}: entry ${i} is not {name, lon, lat} in degrees`);
    }
    return { name: o.name, lon: o.lon, lat: o.lat };
  });
}

/** The list as text, one volcano a line: name, lon, lat (for `scan --list-volcanoes`). */
export function volcanoListText(list: readonly Volcano[]): string {
  const w = Math.max(4, ...list.map((v) => v.name.length));
  const head = `${'name'.padEnd(w)}  ${'lon'.padStart(9)}  ${'lat'.padStart(8)}`;
  return [head, ...list.map((v) => `${v.name.padEnd(w)}  ${v.lon.toFixed(3).padStart(9)}  ${v.lat.toFixed(3).padStart(8)}`)].join('\n');
}

export interface PointSpec {
  /** 'LON,LAT'. */
  readonly at?: string | undefined;
  /** Volcano names, or ['all'] for every listed volcano inside each product. */
  readonly volcanoes?: readonly string[] | undefined;
}

/**
 * The points to cut windows around, per product: one `at` point, named volcanoes, or every volcano
 * of `list` inside the product (optional points: an entirely masked one is skipped); undefined
 * when neither is given (scan the whole frame). InputError for both, an unknown name, or a bad point.
 */
export function scanPoints(spec: PointSpec, list: readonly Volcano[] = VOLCANOES): ((p: Product) => ScanPoint[]) | undefined {
  const names = spec.volcanoes && spec.volcanoes.length > 0 ? spec.volcanoes : undefined;
  if (spec.at && names) throw new InputError('give a point or volcano names, not both');
  if (spec.at) {
    const pt = parseLonLat(spec.at);
    return () => [pt];
  }
  if (!names) return undefined;
  if (names.length === 1 && names[0]!.toLowerCase() === 'all') {
    return (prod) => {
      const inside = list.filter((v) => containsPoint(prod, v.lon, v.lat)).map((v) => ({ lon: v.lon, lat: v.lat, name: v.name, optional: true }));
      if (inside.length === 0) throw new InputError(`${prod.id}: no volcano of the list lies inside the product`);
      return inside;
    };
  }
  const chosen = names.map((n) => {
    const v = findVolcano(n, list);
    if (!v) throw new InputError(`unknown volcano '${n}' (not in the ${list === VOLCANOES ? 'bundled list' : 'list'}; give its point, or a volcano list of your own)`);
    return { lon: v.lon, lat: v.lat, name: v.name };
  });
  return () => chosen;
}
