/**
 * A small strict command-line parser: every flag is declared with its type, unknown flags and
 * bad values are errors (InputError: one line, non-zero exit), `--flag value` and `--flag=value`.
 */
import { InputError } from '../core/errors.js';

export type FlagType = 'string' | 'number' | 'int' | 'boolean' | 'list';

export interface FlagSpec {
  readonly type: FlagType;
  readonly help: string;
  readonly default?: string | number | boolean | readonly string[];
  /** Placeholder shown in help, e.g. DIR. */
  readonly value?: string;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;
export type FlagValue = string | number | boolean | string[] | undefined;

export interface Parsed {
  readonly flags: Readonly<Record<string, FlagValue>>;
  readonly positionals: readonly string[];
  /** The flags given on the command line (not filled in from their defaults). */
  readonly given?: ReadonlySet<string>;
}

function convert(name: string, spec: FlagSpec, raw: string): FlagValue {
  switch (spec.type) {
    case 'string': return raw;
    case 'list': return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    case 'number': case 'int': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw new InputError(`--${name} expects a number, got '${raw}'`);
      if (spec.type === 'int' && !Number.isInteger(v)) throw new InputError(`--${name} expects a whole number, got '${raw}'`);
      return v;
    }
    case 'boolean': {
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new InputError(`--${name} is a switch (true/false), got '${raw}'`);
    }
  }
}

export function parseArgs(argv: readonly string[], specs: FlagSpecs): Parsed {
  const flags: Record<string, FlagValue> = {};
  const positionals: string[] = [];
  const given = new Set<string>();
  for (const [k, s] of Object.entries(specs)) {
    if (s.default !== undefined) flags[k] = Array.isArray(s.default) ? [...s.default] : (s.default as FlagValue);
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { positionals.push(...argv.slice(i + 1)); break; }
    if (!a.startsWith('--') || a === '--') {
      if (a.startsWith('-') && a.length > 1 && Number.isNaN(Number(a))) throw new InputError(`unknown option '${a}' (options start with --)`);
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const spec = specs[name];
    if (!spec) throw new InputError(`unknown option '--${name}'`);
    given.add(name);
    if (spec.type === 'boolean' && eq < 0) { flags[name] = true; continue; }
    let raw: string;
    if (eq >= 0) raw = a.slice(eq + 1);
    else {
      const nxt = argv[i + 1];
      if (nxt === undefined || (nxt.startsWith('--'))) throw new InputError(`--${name} needs a value`);
      raw = nxt;
      i++;
    }
    flags[name] = convert(name, spec, raw);
  }
  return { flags, positionals, given };
}

/** Help text for a command's flags, aligned. */
export function formatFlags(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([k, s]) => {
    const left = `  --${k}${s.type === 'boolean' ? '' : ` ${s.value ?? s.type.toUpperCase()}`}`;
    const def = s.default !== undefined && s.type !== 'boolean' ? ` (default ${Array.isArray(s.default) ? s.default.join(',') : String(s.default)})` : '';
    return [left, s.help + def] as const;
  });
  const w = Math.max(0, ...rows.map((r) => r[0].length)) + 2;
  return rows.map(([l, r]) => l.padEnd(w) + r).join('\n');
}

/** Typed getters that turn a missing required flag into a clear error. */
export function str(p: Parsed, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === 'string' ? v : undefined;
}
export function requireStr(p: Parsed, name: string): string {
  const v = str(p, name);
  if (v === undefined) throw new InputError(`--${name} is required`);
  return v;
}
export function num(p: Parsed, name: string): number | undefined {
  const v = p.flags[name];
  return typeof v === 'number' ? v : undefined;
}
export function requireNum(p: Parsed, name: string): number {
  const v = num(p, name);
  if (v === undefined) throw new InputError(`--${name} is required`);
  return v;
}
export function bool(p: Parsed, name: string): boolean {
  return p.flags[name] === true;
}
export function list(p: Parsed, name: string): string[] | undefined {
  const v = p.flags[name];
  return Array.isArray(v) ? v : undefined;
}

/**
 * Getters for flags that have a default in their spec: the parser has filled it in, so the value is
 * always there (the default lives once, in the spec). A missing value is a bug in the command.
 */
function withDefault<T>(v: T | undefined, name: string): T {
  if (v === undefined) throw new Error(`flag --${name} has no default in its spec`);
  return v;
}
export function numArg(p: Parsed, name: string): number {
  return withDefault(num(p, name), name);
}
export function strArg(p: Parsed, name: string): string {
  return withDefault(str(p, name), name);
}
export function listArg(p: Parsed, name: string): string[] {
  return withDefault(list(p, name), name);
}
