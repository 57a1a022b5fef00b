/** `caldera export`: write a trained model as a standard ONNX graph (for onnxruntime in Python, C++, the browser). */
import { exportOnnxFile } from '../engine/onnx-export.js';
import { DEFAULT_MODEL_DIR } from '../engine/trained-model.js';
import { requireStr, str, type Parsed } from './args.js';
import { command } from './command.js';

export const exportCommand = command('export', 'write a trained model as an ONNX graph (outputs class and box; metadata says how to prepare the input)',
  '--onnx OUT.onnx [--model DIR]', {
    onnx: { type: 'string', help: 'the .onnx file to write (atomically)', value: 'FILE' },
    model: { type: 'string', help: 'model directory from caldera train (default: the bundled models/default)', value: 'DIR' },
  }, async (p: Parsed) => {
    const out = requireStr(p, 'onnx');
    const dir = (str(p, 'model') ?? DEFAULT_MODEL_DIR);
    const r = await exportOnnxFile(dir, out);
    process.stdout.write(`${out}: ${r.bytes} bytes, sha256 ${r.sha256} (from ${dir})\n`);
    return 0;
  });
