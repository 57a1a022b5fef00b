/**
 * Scanning the files a user gave the web page: bytes and names instead of paths, and otherwise
 * the library's own scan, as `caldera scan` runs it: layers paired by prefix (`io/product.ts`
 * `pairFiles`), decoded and masked (`decodeLayer`, `productFromLayers`), the phase-derived
 * coherence mask, the windows of every scale, the network and the merge (`scan/scan.ts`
 * `scanFound`), and the same JSON records and GeoJSON (`scan/output.ts`). No DOM and no file
 * system: the browser test's Node side checks it against `scanAll` too.
 */
import { DEFAULT_MIN_COHERENCE, decodeLayer, namePaths, pairFiles, productFromLayers, type ProductLayers } from '../io/product.js';
import type { PhaseCoherenceMode } from '../data/coherence-mask.js';
import { scanFound, DEFAULT_PHASE_COHERENCE, DEFAULT_SCALES_KM, type ScanFailure, type SceneResult } from '../scan/scan.js';
import type { Detector } from '../scan/forward.js';
import { DEFAULT_MAX_MASKED, DEFAULT_MIN_SCORE } from '../scan/record.js';
import { detectionFeature, geoJsonText, sceneRecords, type FeatureCollection, type ScanRecord } from '../scan/output.js';

/** A file given to the page: its name ('/'-separated folders first when a folder was dropped) and its bytes. */
export interface GivenFile {
  readonly name: string;
  /** Found in a dropped folder (other layers there are ignored) rather than picked one by one. */
  readonly fromFolder?: boolean;
  bytes(): Promise<Uint8Array>;
}

/** The settings of `caldera scan` the page offers (defaults: the CLI's). */
export interface PageScanOptions {
  readonly units?: 'rad' | 'm';
  readonly minCoherence?: number;
  readonly phaseCoherence?: PhaseCoherenceMode;
  readonly minScore?: number;
  readonly maxMasked?: number;
  readonly overlap?: number;
  readonly iou?: number;
  readonly scalesKm?: readonly number[];
}

export interface PageScanHooks {
  readonly onScene?: (s: SceneResult) => void | Promise<void>;
  readonly onFailure?: (f: ScanFailure) => void;
  readonly onProgress?: (productsDone: number, products: number, windowsDone: number, windows: number) => void;
}

export interface PageScanResult {
  readonly products: number;
  readonly scanned: number;
  readonly empty: number;
  readonly failures: ScanFailure[];
  /** Files of dropped folders that are not interferogram layers. */
  readonly ignored: string[];
}

/** Extensions the page reads as scan results rather than products. */
export function isResultFile(name: string): boolean {
  return /(^|\/)[^/]*\.(jsonl|geojson|png)$/i.test(name);
}

/**
 * Pair, read, mask and scan the given files, one product at a time (rasters are dropped after
 * `onScene` unless it keeps them). Problems (a file that is not a layer, a second file for one
 * layer, an unreadable or ungeoreferenced GeoTIFF) are failures with a message; the others go on.
 */
export async function scanGivenFiles(files: readonly GivenFile[], model: Detector, opts: PageScanOptions = {}, hooks: PageScanHooks = {}): Promise<PageScanResult> {
  const units = opts.units ?? 'rad';
  const byName = new Map(files.map((f) => [f.name, f]));
  const found = pairFiles(files.map((f) => ({ name: f.name, explicit: !f.fromFolder })), { units });
  const read = async (name: string | undefined) => {
    if (!name) return undefined;
    const f = byName.get(name);
    if (!f) throw new Error(`${name}: not among the given files`);
    return decodeLayer(await f.bytes(), namePaths.basename(name));
  };
  const result = await scanFound(found, async (pf, ro) => {
    const layers: ProductLayers = { unw: await read(pf.unw), diffPha: await read(pf.diffPha), cc: await read(pf.cc), raster: await read(pf.raster) };
    return productFromLayers(pf, layers, ro, namePaths);
  }, model, {
    read: { units, minCoherence: opts.minCoherence ?? DEFAULT_MIN_COHERENCE },
    phaseCoherence: opts.phaseCoherence ?? DEFAULT_PHASE_COHERENCE,
    scan: {
      scalesKm: opts.scalesKm ?? DEFAULT_SCALES_KM,
      overlap: opts.overlap ?? 0.5,
      minScore: opts.minScore ?? DEFAULT_MIN_SCORE,
      maxMasked: opts.maxMasked ?? DEFAULT_MAX_MASKED,
      iou: opts.iou ?? 0.3,
    },
    ...(hooks.onScene ? { onScene: hooks.onScene } : {}),
    ...(hooks.onFailure ? { onFailure: hooks.onFailure } : {}),
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
  });
  return { ...result, ignored: found.ignored };
}

/** The records `caldera scan` writes to scan.jsonl for these scenes. */
export function scanRecords(scenes: readonly SceneResult[]): ScanRecord[] {
  return scenes.flatMap((s) => sceneRecords(s));
}

/** The scan.geojson text `caldera scan` writes for these scenes. */
export function scanGeoJson(scenes: readonly SceneResult[]): string {
  const fc: FeatureCollection = { type: 'FeatureCollection', features: scenes.flatMap((s) => s.detections.map((d) => detectionFeature(s, d))) };
  return geoJsonText(fc);
}
