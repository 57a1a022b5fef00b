#!/usr/bin/env node
/**
 * `caldera` command line: parses arguments and calls the library; computes nothing itself.
 * Errors about the user's input (`InputError`, the library's one boundary error) print as one line
 * `caldera <command>: ...` and exit with status 2; anything else (a RangeError from a stack overflow
 * included) is a bug: its stack, a line asking for a report, exit 1.
 */
import { isInputError } from '../core/errors.js';
import { COMMANDS } from './commands.js';

const VERSION = '0.1.0';

function usage(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length)) + 2;
  return [
    'caldera: find, classify and locate volcanic deformation in InSAR interferograms',
    '',
    'usage: caldera <command> [options]        caldera <command> --help for its options',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(w)}${c.summary}`),
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage() + '\n');
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version') {
    process.stdout.write(VERSION + '\n');
    return 0;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    process.stderr.write(`caldera: unknown command '${cmd}' (try caldera --help)\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(c.help() + '\n');
    return 0;
  }
  try {
    return (await c.run(rest)) ?? 0;
  } catch (e) {
    if (isInputError(e)) {
      process.stderr.write(`caldera ${cmd}: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    process.stderr.write(`caldera: internal error: ${(e as Error)?.stack ?? String(e)}\n` +
      'caldera: this is a bug in caldera, not a problem with your input: please report it with the command you ran and the lines above\n');
    process.exitCode = 1;
  },
);
