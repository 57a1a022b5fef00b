/** `caldera queue status | retry-failed`: look at a Redis job queue, and retry its failed jobs. */
import { InputError } from '../core/errors.js';
import { bool, type Parsed } from './args.js';
import { command } from './command.js';
import { queueFlags, queueOf } from './enqueue.js';

export const queueCommand = command('queue', 'a Redis job queue: waiting / active / completed / failed counts and failures, or retry the failed jobs',
  'status [--json] | retry-failed   --redis URL [--queue NAME]', {
    ...queueFlags,
    json: { type: 'boolean', help: 'status as one JSON object (waiting, active, completed, failed, delayed, failures)' },
  }, async (p: Parsed) => {
    const [what, ...rest] = p.positionals;
    if ((what !== 'status' && what !== 'retry-failed') || rest.length) throw new InputError("usage: caldera queue status [--json] | caldera queue retry-failed (with --redis URL)");
    const where = queueOf(p);
    const { queueStatus, retryFailed } = await import('../queue/queue.js'); // BullMQ, loaded by the queue commands only
    if (what === 'retry-failed') {
      const n = await retryFailed(where);
      process.stdout.write(`${n} failed job${n === 1 ? '' : 's'} put back on queue '${where.queue}'\n`);
      return 0;
    }
    const s = await queueStatus(where);
    if (bool(p, 'json')) {
      process.stdout.write(JSON.stringify(s) + '\n');
      return 0;
    }
    const lines = [
      `queue '${s.queue}' at ${s.redis}: ${s.waiting} waiting, ${s.active} active, ${s.completed} completed, ${s.failed} failed${s.delayed ? `, ${s.delayed} delayed (retrying)` : ''}`,
      ...(s.otherVersions ? [`  unfinished jobs of another caldera version: ${s.otherVersions}`] : []),
      ...(s.failures.length ? [`failures${s.failed > s.failures.length ? ` (latest ${s.failures.length})` : ''}:`, ...s.failures.map((f) => `  ${f.name}: ${f.reason}`)] : []),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  });
