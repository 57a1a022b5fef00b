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

export const evalFlags = {
  model: { type: 'string', help: 'model directory (default: the bundled models/default)', value: 'DIR' },
  data: { type: 'string', help: 'a labelled dataset made by caldera synth', value: 'DIR' },
  json: { type: 'boolean', help: 'print the scores as JSON on stdout' },
  out: { type: 'string', help: 'also write the JSON scores to this file', value: 'FILE' },
  png: { type: 'string', help: 'write the figure (confusion matrix, centre errors, sign invariance)', value: 'FILE' },
  batch: { type: 'int', help: 'inference batch size', default: 32 },
  engine: { type: 'string', help: "what runs the network: 'onnx' (ONNX Runtime, all cores) or 'tfjs' (wasm, the fallback)", default: 'onnx', value: 'onnx|tfjs' },
  workers: { type: 'int', help: 'data reader threads', default: 1 },
  quiet: { type: 'boolean', help: 'no progress bar' },
} as const;

export async function runEval(p: Parsed): Promise<number> {
  const modelDir = (str(p, 'model') ?? DEFAULT_MODEL_DIR);
  const data = requireStr(p, 'data');
  const detector = await loadDetector(modelDir, { engine: engineOf(p) });
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
  const json = JSON.stringify({ model: modelDir, data, channelFormat: detector.format, ...report }, null, 1);
  const outFile = str(p, 'out');
  if (outFile) writeFileAtomicSync(outFile, json + '\n');
  const png = str(p, 'png');
  if (png) writeFileAtomicSync(png, encodePng(reportFigure(report, rows, `caldera eval: ${data}`)));
  process.stdout.write((bool(p, 'json') ? json : reportText(report)) + '\n');
  return 0;
}

export const evalCommand = command('eval', 'score a trained model on a labelled dataset (accuracy, F1, confusion, box errors, sign invariance)',
  '--data DIR [--model DIR] [--json] [--out FILE] [--png FILE]', evalFlags, runEval);
