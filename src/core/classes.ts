/**
 * The class taxonomy, in the order of the network's `class` head: `dyke`, `sill` (sills and Mogi
 * point sources: the paper's "sill/point"), `none` (no deformation; its box is ignored). Everything
 * that names, counts or orders classes takes them from here.
 */
export const CLASS_NAMES = ['dyke', 'sill', 'none'] as const;
export type ClassName = (typeof CLASS_NAMES)[number];

import { InputError } from './errors.js';

/** Index of the `none` class. */
export const NONE_CLASS = CLASS_NAMES.indexOf('none');

/** True when `s` names a class. */
export function isClassName(s: string): s is ClassName {
  return (CLASS_NAMES as readonly string[]).includes(s);
}

/** Class names as given by a user (default: all), checked; InputError naming the unknown one. */
export function parseClassList(names: readonly string[] | undefined): ClassName[] {
  const out = (names ?? [...CLASS_NAMES]).map((c) => {
    if (!isClassName(c)) throw new InputError(`unknown class '${c}' (expected ${CLASS_NAMES.join(', ')})`);
    return c;
  });
  if (out.length === 0) throw new InputError('the list of classes is empty');
  return out;
}
