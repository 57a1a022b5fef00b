/** `caldera predict`: class and box of each interferogram (.npy or GeoTIFF), one line per file. */
import * as path from 'node:path';
import { ensureWritableDir, writeFileAtomicSync } from '../io/atomic.js';
import { InputError, isInputError } from '../core/errors.js';
import { encodePng } from '../io/png.js';
import { predictRaster, predictionFigure, predictionJson, predictionText, readInterferogram, readRaster, type PredictOptions, type Units } from '../scan/predict.js';
import { bool, num, str, type Parsed } from './args.js';
import { DEFAULT_MAX_MASKED, DEFAULT_MIN_SCORE } from '../scan/record.js';
import { command } from './command.js';
import { loadDetector } from '../scan/detector.js';
import { engineOf, threadsOf } from './engine.js';

export const predictFlags = {
  model: { type: 'string', help: 'model directory (default: the bundled models/default)', value: 'DIR' },
  json: { type: 'boolean', help: 'one JSON object per line' },
  units: { type: 'string', help: "input values: 'rad' (unwrapped phase) or 'm' (LOS displacement, + toward the satellite)", default: 'rad', value: 'rad|m' },
  sign: { type: 'boolean', help: 'also run the negated interferogram; report it and average the two answers' },
  threads: { type: 'int', help: 'ONNX Runtime threads (default: all cores)', value: 'N' },
  engine: { type: 'string', help: "what runs the network: 'onnx' (ONNX Runtime, all cores) or 'tfjs' (wasm, the fallback)", default: 'onnx', value: 'onnx|tfjs' },
  png: { type: 'string', help: 'draw each prediction over the wrapped phase into this directory', value: 'DIR' },
  dem: { type: 'string', help: 'elevation (m) on the same grid, for models with a DEM channel (one input file)', value: 'FILE' },
  coherence: { type: 'string', help: 'coherence 0..1 on the same grid, for models with a coherence channel (one input file)', value: 'FILE' },
  'min-score': { type: 'number', help: 'smallest (calibrated) class probability reported as a detection; lower answers are "below threshold"', default: DEFAULT_MIN_SCORE },
  'max-masked': { type: 'number', help: 'inputs with a larger masked share get "not enough data" and are not run', default: DEFAULT_MAX_MASKED },
} as const;

export async function runPredict(p: Parsed): Promise<number> {
  const files = p.positionals;
  if (files.length === 0) throw new InputError('give one or more interferograms (.npy or .tif)');
  const units = str(p, 'units') ?? 'rad';
  if (units !== 'rad' && units !== 'm') throw new InputError(`--units must be rad or m, got '${units}'`);
  const demFile = str(p, 'dem');
  const cohFile = str(p, 'coherence');
  if ((demFile || cohFile) && files.length > 1) throw new InputError('--dem and --coherence go with a single input file');
  const detector = await loadDetector(str(p, 'model'), { symmetric: bool(p, 'sign'), engine: engineOf(p), ...threadsOf(p) });
  const opts: PredictOptions = {
    minScore: num(p, 'min-score') ?? DEFAULT_MIN_SCORE, maxMasked: num(p, 'max-masked') ?? DEFAULT_MAX_MASKED,
    ...(demFile ? { demM: (await readRaster(demFile)).data } : {}),
    ...(cohFile ? { coherence: (await readRaster(cohFile)).data } : {}),
  };
  const pngDir = str(p, 'png');
  if (pngDir) ensureWritableDir(pngDir);
  let failed = 0;
  for (const file of files) {
    try {
      const r = await readInterferogram(file, units as Units);
      const res = await predictRaster(detector, r, opts, file);
      for (const w of res.warnings) process.stderr.write(`caldera predict: warning: ${w}\n`);
      process.stdout.write((bool(p, 'json') ? JSON.stringify(predictionJson(file, res)) : predictionText(file, res)) + '\n');
      if (pngDir) {
        const name = path.basename(file).replace(/\.(npy|tiff?)$/i, '') + '.png';
        writeFileAtomicSync(path.join(pngDir, name), encodePng(predictionFigure(r, res, path.basename(file))));
      }
    } catch (e) {
      if (!isInputError(e)) throw e;
      process.stderr.write(`caldera predict: ${(e as Error).message}\n`);
      failed++;
    }
  }
  return failed > 0 ? 2 : 0;
}

export const predictCommand = command('predict', 'say what deformation an interferogram shows (dyke, sill, none) and where (a box in its pixels, and lon/lat on a lon/lat grid); for whole frames use scan',
  '[--model DIR] FILES... [--json] [--units rad|m] [--sign] [--png DIR]', predictFlags, runPredict);
