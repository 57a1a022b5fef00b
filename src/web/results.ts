/**
 * Reading a `caldera scan` output folder for the web page's results view: the JSON lines of
 * scan.jsonl (the records of `scan/output.ts`, checked line by line: a bad line is reported and
 * skipped, not fatal), the GeoJSON of scan.geojson, grouped by product with the pictures scan
 * wrote (`<product>.png`, named by `safeName`). Pure: text in, data out.
 */
import type { ScanRecord } from '../scan/output.js';
import { safeName } from '../scan/output.js';
import type { Verdict } from '../scan/record.js';

const VERDICTS: readonly Verdict[] = ['detection', 'below threshold', 'none', 'not enough data', 'nothing found', 'no valid pixels'];

/** The most problems listed one by one; the rest are counted. */
const MAX_LISTED = 5;

export interface Parsed<T> {
  readonly items: T[];
  /** One plain line per problem (file, line, what is wrong). */
  readonly problems: string[];
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNums = (v: unknown, n: number): boolean => Array.isArray(v) && v.length === n && v.every(isNum);

/** Why a parsed JSON value is not a scan record, or null when it is one. */
export function recordProblem(r: unknown): string | null {
  if (!r || typeof r !== 'object' || Array.isArray(r)) return 'not a JSON object';
  const o = r as Record<string, unknown>;
  if (typeof o.product !== 'string' || o.product === '') return 'no product';
  if (!VERDICTS.includes(o.verdict as Verdict)) return `unknown verdict ${JSON.stringify(o.verdict)}`;
  if (o.probability !== null && o.probability !== undefined && !isNum(o.probability)) return 'probability is not a number';
  if (o.box !== null && o.box !== undefined) {
    const b = o.box as Record<string, unknown>;
    if (typeof b !== 'object' || !isNums(b.pixels, 4)) return 'box.pixels is not 4 numbers';
    if (b.lonLat !== null && !isNums(b.lonLat, 4)) return 'box.lonLat is not 4 numbers';
    if (b.polygon !== null && !(Array.isArray(b.polygon) && b.polygon.length === 4 && b.polygon.every((c) => isNums(c, 2)))) return 'box.polygon is not 4 [lon, lat] corners';
  }
  if (o.window !== null && o.window !== undefined) {
    const w = o.window as Record<string, unknown>;
    if (typeof w !== 'object' || !isNums(w.centre, 2) || !isNum(w.sizeKm)) return 'window has no centre or size';
  }
  return null;
}

function summarise(problems: string[]): string[] {
  return problems.length <= MAX_LISTED ? problems : [...problems.slice(0, MAX_LISTED), `… and ${problems.length - MAX_LISTED} more`];
}

/** The records of a scan.jsonl text; bad lines are problems ('NAME line N: ...'). */
export function parseScanJsonl(text: string, name = 'scan.jsonl'): Parsed<ScanRecord> {
  const items: ScanRecord[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      problems.push(`${name} line ${i + 1}: not JSON`);
      return;
    }
    const p = recordProblem(v);
    if (p) problems.push(`${name} line ${i + 1}: not a scan record (${p})`);
    else items.push(v as ScanRecord);
  });
  if (items.length === 0 && problems.length === 0) problems.push(`${name}: no records (empty file)`);
  return { items, problems: summarise(problems) };
}

export interface BoxFeature {
  readonly product: string | null;
  readonly className: string | null;
  readonly probability: number | null;
  /** Outer ring, [lon, lat]. */
  readonly ring: number[][];
}

/** The detection boxes of a scan.geojson text (a FeatureCollection of polygons). */
export function parseScanGeoJson(text: string, name = 'scan.geojson'): Parsed<BoxFeature> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { items: [], problems: [`${name}: not JSON`] };
  }
  const fc = v as { type?: unknown; features?: unknown };
  if (!fc || fc.type !== 'FeatureCollection' || !Array.isArray(fc.features)) return { items: [], problems: [`${name}: not a GeoJSON FeatureCollection`] };
  const items: BoxFeature[] = [];
  const problems: string[] = [];
  fc.features.forEach((f: unknown, i: number) => {
    const g = (f as { geometry?: { type?: unknown; coordinates?: unknown } })?.geometry;
    const ring = Array.isArray(g?.coordinates) ? (g!.coordinates as unknown[])[0] : undefined;
    if (g?.type !== 'Polygon' || !Array.isArray(ring) || ring.length < 4 || !ring.every((c) => isNums(c, 2))) {
      problems.push(`${name} feature ${i + 1}: not a polygon`);
      return;
    }
    const p = ((f as { properties?: Record<string, unknown> }).properties ?? {});
    items.push({
      product: typeof p.product === 'string' ? p.product : null,
      className: typeof p.class === 'string' ? p.class : null,
      probability: isNum(p.probability) ? p.probability : null,
      ring: ring as number[][],
    });
  });
  return { items, problems: summarise(problems) };
}

/** One product's records from a scan folder. */
export interface ProductResults {
  readonly id: string;
  readonly records: ScanRecord[];
  /** Its detections, in the file's order (best first, as scan writes them). */
  readonly detections: ScanRecord[];
  /** The file name of the picture scan wrote for it, when that file was given. */
  readonly picture: string | null;
}

/** Records grouped by product (in order of first appearance), each with its picture's name when `pictures` has it. */
export function groupByProduct(records: readonly ScanRecord[], pictures: readonly string[] = []): ProductResults[] {
  const groups = new Map<string, ScanRecord[]>();
  for (const r of records) (groups.get(r.product) ?? groups.set(r.product, []).get(r.product)!).push(r);
  const byBase = new Map(pictures.map((p) => [p.slice(p.lastIndexOf('/') + 1), p]));
  return [...groups].map(([id, recs]) => ({
    id, records: recs, detections: recs.filter((r) => r.verdict === 'detection'),
    picture: byBase.get(`${safeName(id)}.png`) ?? null,
  }));
}
