/** `caldera scan`: find, classify and locate deformation in real interferograms. */
import * as fs from 'node:fs';
import { InputError } from '../core/errors.js';
import { DEFAULT_MIN_COHERENCE, discoverProducts } from '../io/licsar.js';
import { parseChannelFormat } from '../data/channels.js';
import { PHASE_COHERENCE_MODES, type PhaseCoherenceMode } from '../data/coherence-mask.js';
import { ScanWriter } from '../scan/writer.js';
import { DEFAULT_SCALES_KM, MAX_SCALE_KM, MIN_SCALE_KM, noValidPixelsText, scanOptionsProblem, type SceneResult } from '../scan/scan.js';
import { scanAll } from '../scan/scan-all.js';
import { DEFAULT_MAX_MASKED, DEFAULT_MIN_SCORE } from '../scan/record.js';
import { loadVolcanoList, scanPoints, volcanoListText } from '../scan/points.js';
import { batchSizeProblem, MAX_BATCH_SIZE, type Detector } from '../scan/detector.js';
import { unitsFlag, unitsOf, wavelengthFlag, wavelengthOf } from './units.js';
import { engineOf, threadsOf } from './engine.js';
import { bool, list, num, str, type Parsed, strArg } from './args.js';
import { command } from './command.js';
import { progressBar } from './progress.js';
import { shardFlag, shardOf } from './shard.js';
import { writePartMarker } from '../queue/parts.js';
import { loadSpecDetector } from '../queue/run-job.js';
import type { Shard } from '../core/shard.js';
import type { ScanSpec } from '../queue/jobs.js';

function describe(s: SceneResult): string {
  const fmt = (lon: number, lat: number) => `${lon.toFixed(4)}, ${lat.toFixed(4)}`;
  const id = s.product.id;
  if (s.status === 'no valid pixels') return `${id}: ${noValidPixelsText(s)}`;
  if (s.mode === 'point') {
    const looks = [...s.predictions, ...s.notEnoughData].sort((a, b) => (a.point ?? 0) - (b.point ?? 0) || a.sizeKm - b.sizeKm);
    return looks.map((q) => {
      const head = `${id}${q.name ? ` [${q.name}]` : ''} ${q.sizeKm} km: `;
      if (q.verdict === 'not enough data') return `${head}not enough data (${Math.round(q.maskedFraction * 100)} % masked)`;
      const what = `${q.className} ${q.score.toFixed(2)}`;
      const box = q.boxLonLat ? ` box lon/lat ${fmt(q.boxLonLat[0], q.boxLonLat[1])} .. ${fmt(q.boxLonLat[2], q.boxLonLat[3])}` : '';
      return head + (q.verdict === 'below threshold' ? `below threshold (${what} < ${s.minScore})` : `${q.verdict === 'detection' ? 'detection ' : ''}${what}${box}`);
    }).join('\n');
  }
  const nd = s.notEnoughData.length;
  const looked = `${s.windowCount} windows of ${s.scalesKm.join(', ')} km${nd ? ` (${nd} more with not enough data)` : ''}`;
  if (s.detections.length === 0) return `${id}: nothing found at probability >= ${s.minScore} in ${looked}`;
  return s.detections.map((d) => `${id}: ${d.className} ${d.score.toFixed(2)} (${d.sizeKm} km window) box lon/lat ${fmt(d.boxLonLat[0], d.boxLonLat[1])} .. ${fmt(d.boxLonLat[2], d.boxLonLat[3])}`).join('\n') +
    `\n${id}: ${s.detections.length} detection${s.detections.length === 1 ? '' : 's'} in ${looked}`;
}

/** Window scales from --scales-km / --size-km. */
function scalesOf(p: Parsed): number[] {
  const sizeKm = num(p, 'size-km');
  const scales = list(p, 'scales-km');
  if (sizeKm !== undefined && scales) throw new InputError('give --scales-km or --size-km, not both');
  const range = `${MIN_SCALE_KM}..${MAX_SCALE_KM}`;
  if (sizeKm !== undefined) {
    if (!(sizeKm >= MIN_SCALE_KM && sizeKm <= MAX_SCALE_KM)) throw new InputError(`--size-km expects a window size in km within ${range}, got ${sizeKm}`);
    return [sizeKm];
  }
  if (!scales) return [...DEFAULT_SCALES_KM];
  if (scales.length === 0) throw new InputError('--scales-km needs at least one window size (km)');
  return scales.map((t) => {
    const v = Number(t);
    if (!(v > 0) || !Number.isFinite(v)) throw new InputError(`--scales-km expects window sizes in km > 0, got '${t}'`);
    if (!(v >= MIN_SCALE_KM && v <= MAX_SCALE_KM)) throw new InputError(`--scales-km expects window sizes in km within ${range}, got ${t}`);
    return v;
  });
}

/** A 0..1 option, checked with its flag name. */
function fraction(p: Parsed, name: string, fallback: number, max = 1): number {
  const v = num(p, name) ?? fallback;
  if (!(v >= 0 && v <= max)) throw new InputError(`--${name} must be within 0..${max}, got ${v}`);
  return v;
}

/** The flags of scan (also those of `enqueue scan`). */
export const scanFlags = {
  at: { type: 'string', help: 'cut windows around this point', value: 'LON,LAT' },
  volcano: { type: 'list', help: "cut windows around these volcanoes (bundled list), or 'all' inside each product", value: 'NAME,...' },
  volcanoes: { type: 'string', help: 'JSON volcano list [{name, lon, lat}] to use instead of the bundled one', value: 'FILE' },
  'list-volcanoes': { type: 'boolean', help: 'print the volcano list (bundled, or --volcanoes FILE) and stop' },
  'scales-km': { type: 'list', help: `window sizes on the ground, each resampled to the model input (224 px: 20 km = 90 m pixels); answers of all scales are merged (default ${DEFAULT_SCALES_KM.join(',')})`, value: 'KM,...' },
  'size-km': { type: 'number', help: 'one window size instead of --scales-km', value: 'KM' },
  model: { type: 'string', help: "model directory from caldera train (default: the bundled models/default), or 'stand-in' (a heuristic, to try the pipeline)", value: 'DIR' },
  format: { type: 'string', help: 'stand-in only: channel format to feed it (a trained model records its own)', value: 'FMT' },
  sign: { type: 'boolean', help: 'also run every window with the phase negated and average the answers' },
  units: { ...unitsFlag, help: "plain single-band rasters: 'rad' unwrapped phase, 'm' or 'mm' LOS displacement (MintPy: m, LiCSBAS: mm)" },
  wavelength: wavelengthFlag,
  'min-coherence': { type: 'number', help: 'mask pixels with lower coherence, from the .cc file or estimated from the phase (Sentinel-1, ~100 m multilooked: phase std ~0.5 rad at 0.3)', default: DEFAULT_MIN_COHERENCE },
  'phase-coherence': { type: 'string', help: "estimate coherence from the wrapped phase (7x7 px, local fringe gradient removed) and mask it below --min-coherence: 'on' for every product (with a .cc file too: the lower of the two coherences masks), 'auto' only for products without a .cc file, 'off' never", default: 'on', value: 'on|auto|off' },
  'min-score': { type: 'number', help: 'smallest (calibrated) class probability reported as a detection; lower answers are "below threshold"', default: DEFAULT_MIN_SCORE },
  'max-masked': { type: 'number', help: 'windows with a larger masked share get "not enough data" and are not run', default: DEFAULT_MAX_MASKED },
  overlap: { type: 'number', help: 'frame scan: overlap of neighbouring windows', default: 0.5 },
  iou: { type: 'number', help: 'boxes overlapping more than this (IoU) are merged, across windows and scales', default: 0.3 },
  batch: { type: 'int', help: `windows per model call (1..${MAX_BATCH_SIZE})`, default: 16 },
  threads: { type: 'int', help: 'ONNX Runtime threads (default: all cores)', value: 'N' },
  engine: { type: 'string', help: "what runs the network: 'onnx' (ONNX Runtime, all cores) or 'tfjs' (wasm, the fallback)", default: 'onnx', value: 'onnx|tfjs' },
  out: { type: 'string', help: 'output folder: scan.jsonl, scan.geojson, one PNG per scene', default: 'scan-out', value: 'DIR' },
  'no-png': { type: 'boolean', help: 'skip the pictures' },
  quiet: { type: 'boolean', help: 'no progress bar' },
} as const;

/**
 * Everything the scan flags decide, as data, every option checked (unknown volcanoes, bad units,
 * scales, batch size, ...: InputError here, before anything is written).
 */
export function scanSpecOf(p: Parsed): ScanSpec {
  const volcanoes = loadVolcanoList(str(p, 'volcanoes'));
  const units = unitsOf(p);
  const wavelengthM = wavelengthOf(p);
  const phaseCoherence = strArg(p, 'phase-coherence');
  if (!(PHASE_COHERENCE_MODES as readonly string[]).includes(phaseCoherence)) {
    throw new InputError(`--phase-coherence must be one of ${PHASE_COHERENCE_MODES.join(', ')}, got '${phaseCoherence}'`);
  }
  const scalesKm = scalesOf(p);
  const batch = num(p, 'batch') ?? 16;
  if (batchSizeProblem(batch)) throw new InputError(`--batch must be a whole number from 1 to ${MAX_BATCH_SIZE}, got ${batch}`);
  const scan = {
    scalesKm,
    overlap: fraction(p, 'overlap', 0.5, 0.95),
    minScore: fraction(p, 'min-score', DEFAULT_MIN_SCORE),
    maxMasked: fraction(p, 'max-masked', DEFAULT_MAX_MASKED),
    iou: fraction(p, 'iou', 0.3),
  };
  const minCoherence = fraction(p, 'min-coherence', DEFAULT_MIN_COHERENCE);
  const problem = scanOptionsProblem(scan);
  if (problem) throw new InputError(problem);
  const points = { ...(str(p, 'at') ? { at: str(p, 'at')! } : {}), ...(list(p, 'volcano') ? { volcano: list(p, 'volcano')! } : {}), ...(str(p, 'volcanoes') ? { volcanoes: str(p, 'volcanoes')! } : {}) };
  try {
    scanPoints({ at: points.at, volcanoes: points.volcano }, volcanoes);
  } catch (e) {
    // The library says it in words; name the flags here.
    const m = (e as Error).message.replace('give a point or volcano names, not both', 'give --at or --volcano, not both')
      .replace('give its point, or a volcano list of your own', 'give --at LON,LAT, or --volcanoes FILE; --list-volcanoes shows the list');
    throw new InputError(m, { cause: e });
  }
  const fmt = str(p, 'format');
  if (fmt) parseChannelFormat(fmt);
  return {
    detector: {
      ...(str(p, 'model') ? { model: str(p, 'model')! } : {}), ...(fmt ? { format: fmt } : {}), batchSize: batch, symmetric: bool(p, 'sign'),
      ...(str(p, 'model') === 'stand-in' ? {} : { engine: engineOf(p), ...threadsOf(p) }),
    },
    points, units, ...(wavelengthM !== undefined ? { wavelengthM } : {}), minCoherence, phaseCoherence: phaseCoherence as PhaseCoherenceMode,
    scan,
    png: !bool(p, 'no-png'),
  };
}

export const scanCommand = command('scan', 'classify and locate deformation in real interferograms (LiCSAR GeoTIFFs, LOS rasters, MintPy / LiCSBAS HDF5)',
  'PATH... [--at LON,LAT | --volcano NAME[,NAME|all]] [--model DIR] [--units rad|m] [--out DIR]   |   --list-volcanoes', {
    ...scanFlags,
    shard: shardFlag,
  }, async (p: Parsed) => {
    if (bool(p, 'list-volcanoes')) {
      const volcanoes = loadVolcanoList(str(p, 'volcanoes'));
      process.stdout.write(`${volcanoListText(volcanoes)}\n${volcanoes.length} volcanoes${str(p, 'volcanoes') ? ` in ${str(p, 'volcanoes')}` : ' (bundled)'}\n`);
      return 0;
    }
    if (p.positionals.length === 0) throw new InputError('give at least one product file or folder');
    // Every option and every path is checked before anything is written: a refused scan leaves a
    // previous scan in the same --out as it was.
    const spec = scanSpecOf(p);
    const { units } = spec;
    const shard = shardOf(p);
    const at = scanPoints({ at: spec.points.at, volcanoes: spec.points.volcano }, loadVolcanoList(spec.points.volcanoes));
    for (const f of p.positionals) {
      if (!fs.existsSync(f)) throw new InputError(`${f}: no such file or folder`);
    }
    const found = discoverProducts(p.positionals, { units, hdf5: true });
    if (found.products.length === 0 && found.problems.length === 0) {
      throw new InputError(`no interferograms found in ${p.positionals.join(', ')} (looked for *.geo.unw.tif, *.geo.diff_pha.tif, *.h5` +
        `${units !== 'rad' ? ', *.tif' : '; plain *.tif LOS rasters need --units m or mm'})`);
    }
    const model = await loadSpecDetector(spec.detector);
    const writer = new ScanWriter(str(p, 'out') ?? 'scan-out', { png: spec.png });
    try {
      return await runScan(p, spec, model, writer, found, at, shard);
    } finally {
      writer.abort(); // no-op after finish(); otherwise the previous results stay untouched
    }
  });

async function runScan(p: Parsed, spec: ScanSpec, model: Detector, writer: ScanWriter, found: ReturnType<typeof discoverProducts>,
  at: ReturnType<typeof scanPoints>, shard: Shard | undefined): Promise<number> {
  const quiet = bool(p, 'quiet');
  let bar: ReturnType<typeof progressBar> | null = null;
  const lines: string[] = [];
  const { units } = spec;
  const result = await scanAll(p.positionals, model, {
    found,
    read: { units, minCoherence: spec.minCoherence, ...(spec.wavelengthM !== undefined ? { wavelengthM: spec.wavelengthM } : {}) },
    phaseCoherence: spec.phaseCoherence,
    scan: { ...spec.scan, scalesKm: [...spec.scan.scalesKm] },
    ...(at ? { at } : {}),
    ...(shard ? { shard } : {}),
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
  if (shard) writePartMarker(writer.dir, shard, { kind: 'scan', pictures: out.pictures, failures: result.failures.map((f) => f.message), products: result.products });
  if (lines.length) process.stdout.write(lines.join('\n') + '\n');
  process.stdout.write(`${result.scanned} of ${result.products} product${result.products === 1 ? '' : 's'} scanned with ${model.name}` +
    `${model.temperature === undefined ? ' (uncalibrated)' : ` (calibrated, T = ${model.temperature.toFixed(2)})`}` +
    `${result.empty ? ` (${result.empty} with no valid pixels, not scored)` : ''}: ` +
    `${out.records} records in ${out.jsonl}, ${out.boxes} box${out.boxes === 1 ? '' : 'es'} in ${out.geojson}` +
    `${out.pngs.length ? `, ${out.pngs.length} picture${out.pngs.length === 1 ? '' : 's'} in ${writer.dir}` : ''}\n`);
  if (result.failures.length) {
    process.stderr.write(`${result.failures.length} failure${result.failures.length === 1 ? '' : 's'}:\n` +
      result.failures.map((f) => `  ${f.message}`).join('\n') + '\n');
    return 1;
  }
  return 0;
}
