import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from '../../src/cli/args.js';
import { InputError } from '../../src/core/errors.js';

const specs = {
  count: { type: 'int', help: '' },
  depth: { type: 'number', help: '' },
  out: { type: 'string', help: '' },
  classes: { type: 'list', help: '', default: ['dyke', 'sill'] },
  quiet: { type: 'boolean', help: '' },
} as const;

test('args: values, = form, negatives, lists, switches, defaults, positionals', () => {
  const p = parseArgs(['a.npy', '--count', '12', '--depth=-3.5', '--classes', 'dyke,none', '--quiet', 'b.npy'], specs);
  assert.deepEqual(p.positionals, ['a.npy', 'b.npy']);
  assert.equal(p.flags['count'], 12);
  assert.equal(p.flags['depth'], -3.5);
  assert.deepEqual(p.flags['classes'], ['dyke', 'none']);
  assert.equal(p.flags['quiet'], true);
  assert.deepEqual(parseArgs([], specs).flags['classes'], ['dyke', 'sill']);
  assert.equal(parseArgs(['--depth', '-2'], specs).flags['depth'], -2);
});

test('args: unknown flags, missing and bad values are InputErrors naming the flag', () => {
  assert.throws(() => parseArgs(['--cuont', '3'], specs), (e: unknown) => e instanceof InputError && /--cuont/.test(e.message));
  assert.throws(() => parseArgs(['--count'], specs), /--count needs a value/);
  assert.throws(() => parseArgs(['--count', '2.5'], specs), /whole number/);
  assert.throws(() => parseArgs(['--depth', 'deep'], specs), /expects a number/);
  assert.throws(() => parseArgs(['-x'], specs), /unknown option/);
});
