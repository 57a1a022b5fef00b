/**
 * What `scan` writes: one JSON line per prediction (JSON Lines, for jq / pandas) and one GeoJSON
 * FeatureCollection of detection boxes (RFC 7946: WGS84 lon/lat, counter-clockwise rings, flat
 * properties so QGIS shows them as attribute columns). Text only, no file system: `writer.ts` writes
 * them in Node, the web page offers them as downloads.
 */
import { noValidPixelsText, type Detection, type NotEnoughData, type SceneResult, type WindowLook, type WindowPrediction } from './scan.js';
import { boxRecord, predictionFields, type PredictionFields } from './record.js';

const r6 = (v: number): number => Math.round(v * 1e6) / 1e6;
const r3 = (v: number): number => Math.round(v * 1e3) / 1e3;
const r4 = (v: number): number => Math.round(v * 1e4) / 1e4;

/** One JSON Lines record: the product, the window, and the shared prediction fields (scan/record.ts, README). */
export interface ScanRecord extends PredictionFields {
  readonly product: string;
  readonly files: Record<string, string>;
  readonly dates: readonly [string, string] | null;
  readonly frame: string | null;
  readonly mode: 'point' | 'frame';
  readonly model: string;
  readonly format: string;
  /** Calibration temperature applied to the probabilities (null: uncalibrated). */
  readonly temperature: number | null;
  readonly window: { readonly centre: [number, number]; readonly name: string | null; readonly sizeKm: number; readonly spacingM: number; readonly maskedFraction: number } | null;
  /** For verdicts without a window answer: what happened, in words. */
  readonly message?: string;
}

function files(s: SceneResult): Record<string, string> {
  const f = s.product.files;
  const out: Record<string, string> = {};
  for (const k of ['unw', 'diffPha', 'cc', 'raster', 'hdf5'] as const) if (f[k]) out[k] = f[k]!;
  return out;
}

function base(s: SceneResult): Omit<ScanRecord, keyof PredictionFields | 'window'> {
  return {
    product: s.product.id, files: files(s), dates: s.product.files.dates, frame: s.product.files.frame,
    mode: s.mode, model: s.model, format: s.format, temperature: s.temperature === null ? null : r4(s.temperature),
  };
}

function windowOf(l: WindowLook): NonNullable<ScanRecord['window']> {
  return { centre: [r6(l.centre.lon), r6(l.centre.lat)], name: l.name ?? null, sizeKm: r3(l.sizeKm), spacingM: r3(l.spacingM), maskedFraction: r4(l.maskedFraction) };
}

function record(s: SceneResult, p: WindowPrediction | NotEnoughData): ScanRecord {
  if (p.verdict === 'not enough data') {
    return {
      ...base(s), window: windowOf(p), ...predictionFields('not enough data', null, null),
      message: `${Math.round(p.maskedFraction * 100)} % of the window is masked (more than ${Math.round(s.maxMasked * 100)} %): no verdict`,
    };
  }
  const box = p.boxWindow && p.boxLonLat && p.boxPixels && p.polygon
    ? boxRecord(p.boxPixels, [p.boxWindow.x, p.boxWindow.y, p.boxWindow.halfWidth, p.boxWindow.halfHeight], p.boxLonLat, p.polygon)
    : null;
  return { ...base(s), window: windowOf(p), ...predictionFields(p.verdict, p.probs, box) };
}

function scalesText(s: SceneResult): string {
  return `${s.scalesKm.join(', ')} km`;
}

/**
 * Records for a scene. No valid pixels: one record. Point mode: one per point and scale (class
 * none, below threshold and not enough data included). Frame mode: one per detection, one per
 * window with not enough data, and one "nothing found" record when no window found anything.
 */
export function sceneRecords(s: SceneResult): ScanRecord[] {
  if (s.status === 'no valid pixels') {
    return [{ ...base(s), window: null, ...predictionFields('no valid pixels', null, null), message: noValidPixelsText(s) }];
  }
  if (s.mode === 'point') {
    const all: (WindowPrediction | NotEnoughData)[] = [...s.predictions, ...s.notEnoughData];
    all.sort((a, b) => (a.point ?? 0) - (b.point ?? 0) || a.sizeKm - b.sizeKm);
    return all.map((p) => record(s, p));
  }
  const out = s.detections.map((d) => record(s, d));
  if (s.detections.length === 0 && s.windowCount > 0) {
    const below = s.predictions.filter((p) => p.verdict === 'below threshold').length;
    out.push({
      ...base(s), window: null, ...predictionFields('nothing found', null, null),
      message: `no detection at probability >= ${s.minScore} in ${s.windowCount} windows of ${scalesText(s)}` +
        `${below ? ` (${below} window${below === 1 ? '' : 's'} below the threshold)` : ''}`,
    });
  }
  out.push(...s.notEnoughData.map((w) => record(s, w)));
  return out;
}

export function toJsonLines(records: readonly ScanRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '');
}

export interface GeoJsonFeature {
  readonly type: 'Feature';
  readonly geometry: { readonly type: 'Polygon'; readonly coordinates: number[][][] };
  readonly properties: Record<string, string | number | null>;
}

export interface FeatureCollection {
  readonly type: 'FeatureCollection';
  readonly features: GeoJsonFeature[];
}

/** A detection's box as a GeoJSON Feature (ring NW, SW, SE, NE, NW: counter-clockwise). */
export function detectionFeature(s: SceneResult, d: Detection): GeoJsonFeature {
  const [nw, ne, se, sw] = d.polygon;
  const ring = [nw!, sw!, se!, ne!, nw!].map(([lon, lat]) => [r6(lon), r6(lat)]);
  return {
    type: 'Feature',
    geometry: { type: 'Polygon', coordinates: [ring] },
    properties: {
      product: s.product.id,
      class: d.className,
      probability: r4(d.score),
      p_dyke: r4(d.probs[0]!), p_sill: r4(d.probs[1]!), p_none: r4(d.probs[2]!),
      temperature: s.temperature === null ? null : r4(s.temperature),
      window_km: r3(d.sizeKm),
      start: s.product.files.dates?.[0] ?? null,
      end: s.product.files.dates?.[1] ?? null,
      frame: s.product.files.frame,
      volcano: d.name ?? null,
      mode: s.mode,
      window_lon: r6(d.centre.lon), window_lat: r6(d.centre.lat),
      model: s.model,
    },
  };
}

/** Every detection of every scene in one FeatureCollection. */
export function toFeatureCollection(scenes: readonly SceneResult[]): FeatureCollection {
  return { type: 'FeatureCollection', features: scenes.flatMap((s) => s.detections.map((d) => detectionFeature(s, d))) };
}

/** GeoJSON text with one feature per line (readable, diff-able, still one JSON document). */
export function geoJsonText(fc: FeatureCollection): string {
  if (fc.features.length === 0) return '{"type": "FeatureCollection", "features": []}\n';
  return `{"type": "FeatureCollection", "features": [\n${fc.features.map((f) => JSON.stringify(f)).join(',\n')}\n]}\n`;
}

/** A file-name-safe version of a product id (FRAME/DATES -> FRAME_DATES). */
export function safeName(id: string): string {
  return id.replace(/[\\/]+/g, '_').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '') || 'product';
}
