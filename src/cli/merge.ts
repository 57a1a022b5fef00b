/** `caldera merge`: join the parts of an array job (--shard K/N) or of queued jobs into one output. */
import { InputError } from '../core/errors.js';
import { mergeParts, partsUnder } from '../queue/merge.js';
import { str, type Parsed } from './args.js';
import { command } from './command.js';

export const mergeCommand = command('merge', 'join the parts of array jobs (--shard K/N) or of queued jobs into what one run makes',
  'PART... --out DIR   |   DIR (a queued job\'s folder: joins DIR/parts/ into DIR)', {
    out: { type: 'string', help: 'where the merged output goes (default with one DIR: DIR itself)', value: 'DIR' },
  }, async (p: Parsed) => {
    if (p.positionals.length === 0) throw new InputError('give the part folders and --out DIR, or one queued job folder');
    let parts: string[], out = str(p, 'out');
    if (p.positionals.length === 1 && !out) {
      parts = partsUnder(p.positionals[0]!);
      out = p.positionals[0]!;
    } else {
      if (!out) throw new InputError('give --out DIR: where the merged output goes');
      parts = [...p.positionals];
    }
    const r = await mergeParts(parts, out);
    process.stdout.write(`${r.out}: ${r.parts} ${r.kind} part${r.parts === 1 ? '' : 's'} merged: ${r.summary}\n`);
    if (r.failures.length) {
      process.stderr.write(`${r.failures.length} failure${r.failures.length === 1 ? '' : 's'}:\n${r.failures.map((f) => `  ${f}`).join('\n')}\n`);
      return 1;
    }
    return 0;
  });
