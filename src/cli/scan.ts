/** `caldera scan`: find, classify and locate deformation in real interferograms. */
import * as fs from 'node:fs';
import { InputError } from '../core/errors.js';
import { DEFAULT_MIN_COHERENCE, type Product } from '../io/licsar.js';
import { parseChannelFormat } from '../data/channels.js';
import { findVolcano, VOLCANOES } from '../data/volcanoes.js';
import { containsPoint, parseLonLat, DEFAULT_WINDOW_KM } from '../data/windows.js';
import { ScanWriter } from '../scan/output.js';
import { scanAll, type ScanPoint, type SceneResult } from '../scan/scan.js';
import { loadDetector } from '../scan/detector.js';
import { engineOf, threadsOf } from './engine.js';
import type { Volcano } from '../synth/dem.js';
import { bool, list, num, str, type Parsed } from './args.js';
import { command } from './command.js';
import { progressBar } from './progress.js';

/** Volcano list: the bundled one, or a JSON file ([{name, lon, lat}] or {volcanoes: [...]}). */
export function loadVolcanoList(file: string | undefined): readonly Volcano[] {
  if (!file) return VOLCANOES;
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`${file}: cannot read a volcano list (${(e as Error).message})`);
  }
  const arr = Array.isArray(json) ? json : (json as { volcanoes?: unknown }).volcanoes;
  if (!Array.isArray(arr)) throw new InputError(`${file}: expected a JSON list of {name, lon, lat}`);
  return arr.map((v, i) => {
    const o = v as Record<string, unknown>;
    if (typeof o.name !== 'string' || typeof o.lon !== 'number' || typeof o.lat !== 'number') {
      throw new InputError(`${file}: entry ${i} is not {name, lon, lat}`);
    }
    return { name: o.name, lon: o.lon, lat: o.lat };
  });
}


/** The points to cut windows around, per product: --at, --volcano NAMES, or --volcano all. */
export function pointsFor(p: Parsed, volcanoes: readonly Volcano[]): ((prod: Product) => ScanPoint[]) | undefined {
  const at = str(p, 'at');
  const names = list(p, 'volcano');
  if (at && names) throw new InputError('give --at or --volcano, not both');
  if (at) {
    const pt = parseLonLat(at);
    return () => [pt];
  }
  if (!names) return undefined;
  if (names.length === 1 && names[0]!.toLowerCase() === 'all') {
    return (prod) => {
      const inside = volcanoes.filter((v) => containsPoint(prod, v.lon, v.lat)).map((v) => ({ lon: v.lon, lat: v.lat, name: v.name, optional: true }));
      if (inside.length === 0) throw new InputError(`${prod.id}: no volcano of the list lies inside the product`);
      return inside;
    };
  }
  const chosen = names.map((n) => {
    const v = findVolcano(n, volcanoes);
    if (!v) throw new InputError(`unknown volcano '${n}' (not in the ${volcanoes === VOLCANOES ? 'bundled list' : 'list'}; use --at LON,LAT or --volcanoes FILE)`);
    return { lon: v.lon, lat: v.lat, name: v.name };
  });
  return () => chosen;
}

function describe(s: SceneResult): string {
  const fmt = (lon: number, lat: number) => `${lon.toFixed(4)}, ${lat.toFixed(4)}`;
  if (s.mode === 'point') {
    return s.predictions.map((q) => `${s.product.id}${q.name ? ` [${q.name}]` : ''}: ${q.className} ${q.probs[q.classIndex]!.toFixed(2)}` +
      (q.boxLonLat ? ` box lon/lat ${fmt(q.boxLonLat[0], q.boxLonLat[1])} .. ${fmt(q.boxLonLat[2], q.boxLonLat[3])}` : '')).join('\n');
  }
  if (s.detections.length === 0) return `${s.product.id}: nothing found in ${s.windowCount} windows`;
  return s.detections.map((d) => `${s.product.id}: ${d.className} ${d.score.toFixed(2)} box lon/lat ${fmt(d.boxLonLat[0], d.boxLonLat[1])} .. ${fmt(d.boxLonLat[2], d.boxLonLat[3])}`).join('\n');
}

export const scanCommand = command('scan', 'classify and locate deformation in real interferograms (LiCSAR GeoTIFFs, LOS rasters)',
  'PATH... [--at LON,LAT | --volcano NAME[,NAME|all]] [--model DIR] [--units rad|m] [--out DIR]', {
    at: { type: 'string', help: 'cut one window around this point', value: 'LON,LAT' },
    volcano: { type: 'list', help: "cut windows around these volcanoes (bundled list), or 'all' inside each product", value: 'NAME,...' },
    volcanoes: { type: 'string', help: 'JSON volcano list [{name, lon, lat}] to use instead of the bundled one', value: 'FILE' },
    'size-km': { type: 'number', help: 'window size on the ground; resampled to the model input (224 px), so 20.16 km = 90 m pixels', default: DEFAULT_WINDOW_KM, value: 'KM' },
    model: { type: 'string', help: "model directory from caldera train (default: the bundled models/default), or 'stand-in' (a heuristic, to try the pipeline)", value: 'DIR' },
    format: { type: 'string', help: 'stand-in only: channel format to feed it (a trained model records its own)', value: 'FMT' },
    sign: { type: 'boolean', help: 'also run every window with the phase negated and average the answers' },
    units: { type: 'string', help: "plain single-band rasters: 'rad' unwrapped phase or 'm' LOS displacement (LiCSBAS/MintPy)", default: 'rad', value: 'rad|m' },
    'min-coherence': { type: 'number', help: 'mask pixels with lower coherence (Sentinel-1, ~100 m multilooked: phase std ~0.5 rad at 0.3)', default: DEFAULT_MIN_COHERENCE },
    overlap: { type: 'number', help: 'frame scan: overlap of neighbouring windows', default: 0.5 },
    'min-score': { type: 'number', help: 'frame scan: smallest class probability reported as a detection', default: 0.5 },
    iou: { type: 'number', help: 'frame scan: boxes overlapping more than this (IoU) are merged', default: 0.3 },
    batch: { type: 'int', help: 'windows per model call', default: 16 },
    threads: { type: 'int', help: 'ONNX Runtime threads (default: all cores)', value: 'N' },
    engine: { type: 'string', help: "what runs the network: 'onnx' (ONNX Runtime, all cores) or 'tfjs' (wasm, the fallback)", default: 'onnx', value: 'onnx|tfjs' },
    out: { type: 'string', help: 'output folder: scan.jsonl, scan.geojson, one PNG per scene', default: 'scan-out', value: 'DIR' },
    'no-png': { type: 'boolean', help: 'skip the pictures' },
    quiet: { type: 'boolean', help: 'no progress bar' },
  }, async (p: Parsed) => {
    if (p.positionals.length === 0) throw new InputError('give at least one product file or folder');
    const units = str(p, 'units') ?? 'rad';
    if (units !== 'rad' && units !== 'm') throw new InputError(`--units must be rad or m, got '${units}'`);
    const volcanoes = loadVolcanoList(str(p, 'volcanoes'));
    const at = pointsFor(p, volcanoes);
    const fmt = str(p, 'format');
    const model = await loadDetector(str(p, 'model'), {
      format: fmt ? parseChannelFormat(fmt) : undefined, batchSize: num(p, 'batch') ?? 16, symmetric: bool(p, 'sign'),
      ...(str(p, 'model') === 'stand-in' ? {} : { engine: engineOf(p), ...threadsOf(p) }),
    });
    const writer = new ScanWriter(str(p, 'out') ?? 'scan-out', { png: !bool(p, 'no-png') });
    const quiet = bool(p, 'quiet');
    let bar: ReturnType<typeof progressBar> | null = null;
    const lines: string[] = [];
    const result = await scanAll(p.positionals, model, {
      discover: { units },
      read: { units, minCoherence: num(p, 'min-coherence') ?? DEFAULT_MIN_COHERENCE },
      scan: {
        sizeKm: num(p, 'size-km') ?? DEFAULT_WINDOW_KM,
        overlap: num(p, 'overlap') ?? 0.5,
        minScore: num(p, 'min-score') ?? 0.5,
        iou: num(p, 'iou') ?? 0.3,
      },
      ...(at ? { at } : {}),
      onScene: (s) => {
        writer.add(s);
        lines.push(describe(s));
        for (const n of [...s.product.notes, ...s.notes]) lines.push(`  note: ${n}`);
      },
      // With a progress bar (many products), say so at once; the list at the end repeats them all.
      onFailure: (f) => { if (!quiet && bar) process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}skipped ${f.message}\n`); },
      onProgress: (done, total, wd, wn) => {
        if (quiet || total === 0) return;
        if (total > 1) {
          bar ??= progressBar('scan', total, { unit: 'products' });
          bar.update(done);
        } else if (wn > 8) {
          bar ??= progressBar('scan', wn, { unit: 'windows' });
          bar.update(wd);
        }
      },
    });
    (bar as ReturnType<typeof progressBar> | null)?.finish();
    const out = writer.finish();
    if (lines.length) process.stdout.write(lines.join('\n') + '\n');
    process.stdout.write(`${result.scanned} of ${result.products} product${result.products === 1 ? '' : 's'} scanned with ${model.name}: ` +
      `${out.records} records in ${out.jsonl}, ${out.boxes} box${out.boxes === 1 ? '' : 'es'} in ${out.geojson}` +
      `${out.pngs.length ? `, ${out.pngs.length} picture${out.pngs.length === 1 ? '' : 's'} in ${writer.dir}` : ''}\n`);
    if (result.products === 0 && result.failures.length === 0) {
      throw new InputError(`no interferograms found in ${p.positionals.join(', ')} (looked for *.geo.unw.tif, *.geo.diff_pha.tif` +
        `${units === 'm' ? ', *.tif' : '; plain *.tif LOS rasters need --units m'})`);
    }
    if (result.failures.length) {
      process.stderr.write(`${result.failures.length} failure${result.failures.length === 1 ? '' : 's'}:\n` +
        result.failures.map((f) => `  ${f.message}`).join('\n') + '\n');
      return 1;
    }
    return 0;
  });
