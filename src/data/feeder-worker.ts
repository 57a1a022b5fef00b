/** Worker thread of the feeder: builds its source once, then answers batch requests (feeder.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { isInputError } from '../core/errors.js';
import { makeProducer, type FeederInit, type FromWorker, type ToWorker } from './feeder.js';

const port = parentPort!;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

makeProducer(workerData as FeederInit).then((produce) => {
  port.on('message', (m: ToWorker) => {
    try {
      const data = produce(m.req);
      const transfer = [data.x.buffer as ArrayBuffer, ...(data.xNeg ? [data.xNeg.buffer as ArrayBuffer] : [])];
      post({ type: 'batch', id: m.id, data }, transfer);
    } catch (e) {
      post({ type: 'error', id: m.id, message: (e as Error).message, input: isInputError(e) });
    }
  });
  post({ type: 'ready' });
}, (e: unknown) => {
  post({ type: 'error', id: null, message: (e as Error).message, input: isInputError(e) });
});
