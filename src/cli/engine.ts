/** The --engine and --threads flags, shared by predict, scan and eval. */
import { InputError } from '../core/errors.js';
import { ENGINES, type EngineName } from '../scan/detector.js';
import { num, str, type Parsed } from './args.js';

export function engineOf(p: Parsed): EngineName {
  const e = str(p, 'engine') ?? 'onnx';
  if (!(ENGINES as readonly string[]).includes(e)) throw new InputError(`--engine must be one of ${ENGINES.join(', ')}, got '${e}'`);
  return e as EngineName;
}

export function threadsOf(p: Parsed): { threads?: number } {
  const t = num(p, 'threads');
  if (t === undefined) return {};
  if (!Number.isInteger(t) || t < 1 || t > 256) throw new InputError(`--threads must be a whole number from 1 to 256, got ${t}`);
  return { threads: t };
}
