/** Worker thread of the sensitivity study: its own terrain and detector (one ONNX Runtime thread), then the blocks it is sent. */
import { parentPort, workerData } from 'node:worker_threads';
import { isInputError } from '../core/errors.js';
import { loadDetector } from '../scan/detector.js';
import { planGroups, runAndWriteBlock, studyTerrain, type BlockContext, type SensitivityWorkerInit, type SensitivityWorkerMessage } from './sensitivity.js';

const init = workerData as SensitivityWorkerInit;
const port = parentPort!;
const post = (m: SensitivityWorkerMessage): void => port.postMessage(m);
const fail = (e: unknown): void => post({ type: 'error', message: (e as Error).message, input: isInputError(e) });
const groups = planGroups(init.plan);

Promise.all([
  studyTerrain(init.plan),
  loadDetector(init.model, { engine: init.engine, threads: 1 }),
]).then(([terrain, detector]) => {
  const ctx: BlockContext = { plan: init.plan, terrain, detector };
  port.on('message', ([gi, chunk]: [number, number]) => {
    runAndWriteBlock(init.dir, ctx, groups[gi]!, chunk, (scenes) => post({ type: 'draw', scenes })).then(() => post({ type: 'block' }), fail);
  });
  post({ type: 'ready' });
}, fail);
