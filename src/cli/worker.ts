/** `caldera worker`: run queued jobs (caldera enqueue) until stopped, or until the queue is empty. */
import { InputError } from '../core/errors.js';
import { bool, num, numArg, type Parsed } from './args.js';
import { command } from './command.js';
import { queueFlags, queueOf } from './enqueue.js';

export const workerCommand = command('worker', 'run jobs from a Redis queue (caldera enqueue), on any number of machines',
  '--redis URL [--queue NAME] [--concurrency C] [--drain]', {
    ...queueFlags,
    concurrency: { type: 'int', help: 'jobs at once in this process', default: 1 },
    threads: { type: 'int', help: "ONNX Runtime threads per model (default: the job's, else all cores; 1 when several workers share a machine)", value: 'N' },
    'lock-seconds': { type: 'number', help: "a dead worker's job goes back to the queue after about this long", default: 30, value: 'S' },
    drain: { type: 'boolean', help: 'stop when the queue has nothing waiting or running (for array jobs and batch systems)' },
  }, async (p: Parsed) => {
    if (p.positionals.length) throw new InputError(`worker takes no paths, got '${p.positionals[0]}'`);
    const concurrency = numArg(p, 'concurrency');
    if (concurrency < 1) throw new InputError(`--concurrency must be at least 1, got ${concurrency}`);
    const lockSeconds = numArg(p, 'lock-seconds');
    if (!(lockSeconds >= 1)) throw new InputError(`--lock-seconds must be at least 1, got ${lockSeconds}`);
    const threads = num(p, 'threads');
    if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw new InputError(`--threads must be a whole number >= 1, got ${threads}`);
    const { startWorker } = await import('../queue/worker.js'); // BullMQ, loaded by the queue commands only
    const w = await startWorker({
      ...queueOf(p), concurrency, lockSeconds, drain: bool(p, 'drain'), ...(threads !== undefined ? { threads } : {}),
      log: (line) => process.stdout.write(line + '\n'),
    });
    // SIGTERM / SIGINT (scheduler pre-emption, Ctrl-C): finish the running jobs, then stop; twice: now.
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (++signals > 1) process.exit(130);
      process.stdout.write(`${new Date().toISOString()} worker: ${sig}: finishing the running jobs, then stopping (again to stop now)\n`);
      void w.stop();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    const r = await w.done;
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
    process.stdout.write(`${new Date().toISOString()} worker: stopped; ${r.completed} job${r.completed === 1 ? '' : 's'} done, ${r.failed} failed\n`);
    return 0;
  });
