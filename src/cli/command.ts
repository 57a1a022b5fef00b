/** What a CLI command is: a summary line, its flags, and a run function. */
import { formatFlags, parseArgs, type FlagSpecs, type Parsed } from './args.js';

export interface Command {
  readonly summary: string;
  help(): string;
  run(argv: readonly string[]): Promise<number | void>;
}

/** Build a command from its flag specs; `run` receives the parsed flags. */
export function command(name: string, summary: string, usage: string, specs: FlagSpecs, run: (p: Parsed) => Promise<number | void>): Command {
  return {
    summary,
    help: () => `usage: caldera ${name} ${usage}\n\n${summary}\n\noptions:\n${formatFlags(specs)}`,
    run: (argv) => run(parseArgs(argv, specs)),
  };
}
