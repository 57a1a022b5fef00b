/** `caldera enqueue scan|synth|monitor`: put jobs on a Redis queue (BullMQ) for `caldera worker`s. */
import * as path from 'node:path';
import { InputError } from '../core/errors.js';
import { DEFAULT_QUEUE, DEFAULT_REDIS_URL, safeUrl } from '../queue/redis.js';
import { planMonitor, planScan, planSynth, type Plan } from '../queue/plan.js';
import type { Job, ScanSpec } from '../queue/jobs.js';
import { formatFlags, num, parseArgs, requireStr, str, type FlagSpecs, type Parsed } from './args.js';
import type { Command } from './command.js';
import { scanFlags, scanSpecOf } from './scan.js';
import { synthFlags, synthSpecOf } from './synth.js';
import { monitorFlags, monitorSpecOf } from './monitor.js';

/** --redis and --queue, shared by enqueue, worker and queue. */
export const queueFlags = {
  redis: { type: 'string', help: 'the Redis server holding the queue (env CALDERA_REDIS)', default: process.env.CALDERA_REDIS ?? DEFAULT_REDIS_URL, value: 'URL' },
  queue: { type: 'string', help: 'the queue name (one queue per caldera version)', default: 'caldera', value: 'NAME' },
} as const satisfies FlagSpecs;

export function queueOf(p: Parsed): { url: string; queue: string } {
  const queue = str(p, 'queue') ?? DEFAULT_QUEUE;
  if (!/^[A-Za-z0-9._-]+$/.test(queue)) throw new InputError(`--queue takes letters, digits, '.', '_' and '-', got '${queue}'`);
  return { url: str(p, 'redis') ?? DEFAULT_REDIS_URL, queue };
}

function without<T extends object>(o: T, ...keys: string[]): FlagSpecs {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}

const out = { type: 'string', help: "the job's output folder (shared by the workers): parts/ while it runs, then caldera merge DIR", value: 'DIR' } as const;
const jobs = (what: string) => ({ type: 'int', help: `number of jobs (default one per ${what})`, value: 'N' }) as const;

const KINDS: Record<string, { usage: string; flags: FlagSpecs; plan: (p: Parsed) => Promise<Plan<Job>> }> = {
  scan: {
    usage: 'scan PATH... --out DIR [scan options]   (one job per product)',
    flags: { ...without(scanFlags, 'list-volcanoes', 'quiet', 'out'), out, ...queueFlags },
    plan: async (p) => {
      if (p.positionals.length === 0) throw new InputError('give at least one product file or folder');
      const s = scanSpecOf(p);
      const model = s.detector.model;
      const spec: ScanSpec = {
        ...s, detector: { ...s.detector, ...(model && model !== 'stand-in' ? { model: path.resolve(model) } : {}) },
        points: { ...s.points, ...(s.points.volcanoes ? { volcanoes: path.resolve(s.points.volcanoes) } : {}) },
      };
      return planScan(p.positionals, spec, requireStr(p, 'out'));
    },
  },
  synth: {
    usage: 'synth --count N --out DIR [--jobs N] [synth options]   (one job per shard file of --shard-size scenes)',
    flags: { ...without(synthFlags, 'workers', 'quiet', 'shard', 'out'), out, jobs: jobs('shard file'), ...queueFlags },
    plan: async (p) => {
      if (p.positionals.length) throw new InputError(`enqueue synth takes no paths, got '${p.positionals[0]}'`);
      return planSynth(synthSpecOf(p), requireStr(p, 'out'), num(p, 'jobs'));
    },
  },
  monitor: {
    usage: 'monitor PATH... --out DIR [--jobs N] [monitor options]   (one job per target: volcano, point or stack)',
    flags: { ...without(monitorFlags, 'quiet', 'out'), out, jobs: jobs('target'), ...queueFlags },
    plan: async (p) => {
      const s = monitorSpecOf(p);
      const model = s.detector.model;
      return planMonitor({ ...s, detector: { ...s.detector, ...(model && model !== 'stand-in' ? { model: path.resolve(model) } : {}) } }, requireStr(p, 'out'), num(p, 'jobs'));
    },
  },
};

export const enqueueCommand: Command = {
  summary: 'put scan, synth or monitor jobs on a Redis queue for caldera worker (then caldera merge DIR)',
  help: () => [
    'usage: caldera enqueue <kind> ... --redis URL [--queue NAME]',
    '',
    'Put jobs on a Redis queue (BullMQ); caldera worker runs them on any machine that shares the Redis',
    'server and the file system; each job writes its part under DIR/parts/, caldera merge DIR joins them.',
    'Enqueueing the same work again adds nothing.',
    '',
    ...Object.values(KINDS).map((k) => `  caldera enqueue ${k.usage}`),
    '',
    ...Object.entries(KINDS).flatMap(([name, k]) => [`options of enqueue ${name}:`, formatFlags(k.flags), '']),
  ].join('\n'),
  async run(argv) {
    const [kind, ...rest] = argv;
    const k = kind ? KINDS[kind] : undefined;
    if (!k) throw new InputError(`enqueue what? give ${Object.keys(KINDS).join(', ')}${kind ? `, not '${kind}'` : ''} (caldera enqueue --help)`);
    const p = parseArgs(rest, k.flags);
    const where = queueOf(p);
    const plan = await k.plan(p);
    for (const m of plan.problems) process.stderr.write(`skipped ${m}\n`);
    const { enqueue } = await import('../queue/queue.js'); // BullMQ, loaded by the queue commands only
    const r = await enqueue(where, plan.jobs);
    const o = plan.jobs[0]!.out;
    process.stdout.write(`${r.added} ${kind} job${r.added === 1 ? '' : 's'} put on queue '${where.queue}' at ${safeUrl(where.url)}` +
      `${r.existing ? ` (${r.existing} already there, left as they are)` : ''}; parts go to ${path.join(o, 'parts')}; ` +
      `when caldera queue status shows them done: caldera merge ${o}\n`);
    return plan.problems.length ? 1 : 0;
  },
};
