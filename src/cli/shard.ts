/** The `--shard K/N` flag of synth, scan, monitor and study (array jobs; `core/shard.ts`). */
import { parseShard, type Shard } from '../core/shard.js';
import { InputError } from '../core/errors.js';
import { str, type FlagSpec, type Parsed } from './args.js';

export const shardFlag: FlagSpec = {
  type: 'string', value: 'K/N',
  help: 'array jobs: do only part K of N (K from 0: $SLURM_ARRAY_TASK_ID, $JOB_COMPLETION_INDEX); caldera merge joins the parts',
};

export function shardOf(p: Parsed): Shard | undefined {
  const s = str(p, 'shard');
  if (s === undefined) return undefined;
  try {
    return parseShard(s);
  } catch (e) {
    throw new InputError(`--shard: ${(e as Error).message}`, { cause: e });
  }
}
