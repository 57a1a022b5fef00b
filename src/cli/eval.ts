/** `caldera eval`: score a trained model on a labelled dataset (JSON and a figure). */
import { writeFileAtomicSync } from '../io/atomic.js';
import { encodePng } from '../io/png.js';
import { evaluateDataset, reportFigure, reportText, scoreRows } from '../evaluate/evaluate.js';
import { bool, num, numArg, requireStr, str, type Parsed } from './args.js';
import { command } from './command.js';
import { progressBar, type ProgressBar } from './progress.js';
import { DEFAULT_MODEL_DIR } from '../engine/trained-model.js';
import { loadDetector } from '../scan/detector.js';
import { engineOf } from './engine.js';
import { expectedCalibrationError } from '../evaluate/calibration.js';
import { calibrationFromRows, calibrationText, writeCalibration } from '../evaluate/calibrate-model.js';

export const evalFlags = {
  model: { type: 'string', help: 'model directory (default: the bundled models/default)', value: 'DIR' },
  data: { type: 'string', help: 'a labelled dataset made by caldera synth', value: 'DIR' },
  json: { type: 'boolean', help: 'print the scores as JSON on stdout' },
  out: { type: 'string', help: 'also write the JSON scores to this file', value: 'FILE' },
  png: { type: 'string', help: 'write the figure (confusion matrix, centre errors, sign invariance)', value: 'FILE' },
  batch: { type: 'int', help: 'inference batch size', default: 32 },
  engine: { type: 'string', help: "what runs the network: 'onnx' (ONNX Runtime, all cores) or 'tfjs' (wasm, the fallback)", default: 'onnx', value: 'onnx|tfjs' },
  workers: { type: 'int', help: 'data reader threads', default: 1 },
  calibrate: { type: 'boolean', help: "fit the temperature of the class probabilities on this dataset (use held-out data) and write it beside the model (calibration.json), which predict and scan then apply; prints the ECE before and after" },
  quiet: { type: 'boolean', help: 'no progress bar' },
} as const;

export async function runEval(p: Parsed): Promise<number> {
  const modelDir = (str(p, 'model') ?? DEFAULT_MODEL_DIR);
  const data = requireStr(p, 'data');
  const calibrate = bool(p, 'calibrate');
  const detector = await loadDetector(modelDir, { engine: engineOf(p), calibrated: !calibrate });
  let bar: ProgressBar | null = null;
  const rows = await evaluateDataset(detector, data, {
    batch: numArg(p, 'batch'), workers: numArg(p, 'workers'),
    onProgress: (done, total) => {
      bar ??= progressBar('eval', total, { unit: 'ifg', quiet: bool(p, 'quiet') || bool(p, 'json') });
      bar.update(done);
    },
  });
  if (process.stderr.isTTY) (bar as ProgressBar | null)?.finish();
  const report = scoreRows(rows);
  const probs = rows.map((r) => [...r.probabilities]);
  const ece = expectedCalibrationError(probs, rows.map((r) => r.trueClass));
  const fitted = calibrate ? calibrationFromRows(rows, data) : null;
  const calFile = fitted ? writeCalibration(modelDir, fitted) : null;
  const calibration = fitted ? { ...fitted, file: calFile } : { temperature: detector.temperature ?? null, ece };
  const json = JSON.stringify({ model: modelDir, data, channelFormat: detector.format, ...report, calibration }, null, 1);
  const outFile = str(p, 'out');
  if (outFile) writeFileAtomicSync(outFile, json + '\n');
  const png = str(p, 'png');
  if (png) writeFileAtomicSync(png, encodePng(reportFigure(report, rows, `caldera eval: ${data}`)));
  const calText = fitted
    ? `calibration: ${calibrationText(fitted)}; written to ${calFile}`
    : `expected calibration error (15 bins): ${(ece * 100).toFixed(1)} % (${detector.temperature ? `temperature ${detector.temperature.toFixed(3)} applied` : 'uncalibrated'})`;
  process.stdout.write((bool(p, 'json') ? json : `${reportText(report)}\n${calText}`) + '\n');
  return 0;
}

export const evalCommand = command('eval', 'score a trained model on a labelled dataset (accuracy, F1, confusion, box errors, sign invariance)',
  '--data DIR [--model DIR] [--json] [--out FILE] [--png FILE] [--calibrate]', evalFlags, runEval);
