/** `caldera predict`: class and box of each interferogram (.npy or GeoTIFF), one line per file. */
import * as path from 'node:path';
import { ensureWritableDir, writeFileAtomicSync } from '../io/atomic.js';
import { InputError, isInputError } from '../core/errors.js';
import { encodePng } from '../io/png.js';
import { predictRaster, predictionFigure, predictionJson, predictionText, readAuxRaster, readInterferogram, type PredictOptions } from '../scan/predict.js';
import { formatNeeds } from '../data/channels.js';
import { unitsFlag, unitsOf, wavelengthFlag, wavelengthOf } from './units.js';
import { bool, num, str, type Parsed } from './args.js';
import { DEFAULT_MAX_MASKED, DEFAULT_MIN_SCORE } from '../scan/record.js';
import { command } from './command.js';
import { loadDetector } from '../scan/detector.js';
import { engineOf, threadsOf } from './engine.js';

export const predictFlags = {
  model: { type: 'string', help: 'model directory (default: the bundled models/default)', value: 'DIR' },
  json: { type: 'boolean', help: 'one JSON object per line' },
  units: unitsFlag,
  wavelength: wavelengthFlag,
  sign: { type: 'boolean', help: 'also run the negated interferogram; report it and average the two answers' },
  threads: { type: 'int', help: 'ONNX Runtime threads (default: all cores)', value: 'N' },
  engine: { type: 'string', help: "what runs the network: 'onnx' (ONNX Runtime, all cores) or 'tfjs' (wasm, the fallback)", default: 'onnx', value: 'onnx|tfjs' },
  png: { type: 'string', help: 'draw each prediction over the wrapped phase: into this directory, or into this .png file (one input)', value: 'DIR|FILE.png' },
  dem: { type: 'string', help: 'elevation (m) on the same grid, for models with a DEM channel (one input file)', value: 'FILE' },
  coherence: { type: 'string', help: 'coherence 0..1 on the same grid, for models with a coherence channel (one input file)', value: 'FILE' },
  'min-score': { type: 'number', help: 'smallest (calibrated) class probability reported as a detection; lower answers are "below threshold"', default: DEFAULT_MIN_SCORE },
  'max-masked': { type: 'number', help: 'inputs with a larger masked share get "not enough data" and are not run', default: DEFAULT_MAX_MASKED },
} as const;

export async function runPredict(p: Parsed): Promise<number> {
  const files = p.positionals;
  if (files.length === 0) throw new InputError('give one or more interferograms (.npy or .tif)');
  const units = unitsOf(p);
  const wavelengthM = wavelengthOf(p);
  if (wavelengthM !== undefined && units !== 'rad') {
    process.stderr.write(`caldera predict: warning: --wavelength does not change LOS displacement (--units ${units}); it applies to phase inputs\n`);
  }
  const demFile = str(p, 'dem');
  const cohFile = str(p, 'coherence');
  if ((demFile || cohFile) && files.length > 1) throw new InputError('--dem and --coherence go with a single input file');
  // --png FILE.png: that one picture (one input); any other name: a directory of pictures.
  const png = str(p, 'png');
  const pngFile = png && /\.png$/i.test(png) ? png : undefined;
  const pngDir = png && !pngFile ? png : undefined;
  if (pngFile && files.length > 1) throw new InputError(`--png ${pngFile} names one picture but ${files.length} inputs were given; give a directory (--png DIR) for several`);
  if (png && /\.(jpe?g|gif|tiff?|bmp|webp|svg|pdf)$/i.test(png)) throw new InputError(`--png ${png}: predict draws PNG pictures; give a .png file or a directory`);
  const detector = await loadDetector(str(p, 'model'), { symmetric: bool(p, 'sign'), engine: engineOf(p), ...threadsOf(p) });
  const needs = formatNeeds(detector.format);
  if (cohFile && !needs.coherence) process.stderr.write(`caldera predict: warning: --coherence is not used: the model's channel format '${detector.format}' has no coherence channel\n`);
  if (demFile && !needs.dem) process.stderr.write(`caldera predict: warning: --dem is not used: the model's channel format '${detector.format}' has no DEM channel\n`);
  const opts: PredictOptions = {
    minScore: num(p, 'min-score') ?? DEFAULT_MIN_SCORE, maxMasked: num(p, 'max-masked') ?? DEFAULT_MAX_MASKED,
    ...(demFile && needs.dem ? { demM: await readAuxRaster(demFile, 'dem') } : {}),
    ...(cohFile && needs.coherence ? { coherence: await readAuxRaster(cohFile, 'coherence') } : {}),
  };
  if (pngDir) ensureWritableDir(pngDir);
  if (pngFile) ensureWritableDir(path.dirname(path.resolve(pngFile)));
  let failed = 0;
  for (const file of files) {
    try {
      const r = await readInterferogram(file, units, { ...(wavelengthM !== undefined ? { wavelengthM } : {}) });
      const res = await predictRaster(detector, r, opts, file);
      for (const w of res.warnings) process.stderr.write(`caldera predict: warning: ${w}\n`);
      process.stdout.write((bool(p, 'json') ? JSON.stringify(predictionJson(file, res)) : predictionText(file, res)) + '\n');
      if (png) {
        const out = pngFile ?? path.join(pngDir!, path.basename(file).replace(/\.(npy|tiff?)$/i, '') + '.png');
        writeFileAtomicSync(out, encodePng(predictionFigure(r, res, path.basename(file))));
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
  '[--model DIR] FILES... [--json] [--units rad|m|mm] [--wavelength M] [--sign] [--png DIR|FILE.png]', predictFlags, runPredict);
