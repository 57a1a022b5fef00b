/** Worker thread for `synthesise`: builds the terrain once, then makes the shards it is sent. */
import { parentPort, workerData } from 'node:worker_threads';
import { isInputError } from '../core/errors.js';
import { buildTerrain } from './terrain-source.js';
import { makeShard, type WorkerInit, type WorkerMessage } from './generate.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (m: WorkerMessage): void => port.postMessage(m);
buildTerrain(init.terrain, init.cfg.size, init.cfg.spacingM).then((terrain) => {
  port.on('message', (k: number) => {
    try {
      const info = makeShard(init.dir, init.settings, init.cfg, terrain.provider, k, () => post({ type: 'sample' }));
      post({ type: 'shard', info });
    } catch (e) {
      post({ type: 'error', message: (e as Error).message, input: isInputError(e) });
    }
  });
  post({ type: 'ready' });
}, (e: unknown) => {
  post({ type: 'error', message: (e as Error).message, input: isInputError(e) });
});
