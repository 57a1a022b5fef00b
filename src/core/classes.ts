/**
 * The class taxonomy, in the order of the network's `class` head: `dyke`, `sill` (sills and Mogi
 * point sources: the paper's "sill/point"), `none` (no deformation; its box is ignored). Everything
 * that names, counts or orders classes takes them from here.
 */
export const CLASS_NAMES = ['dyke', 'sill', 'none'] as const;
export type ClassName = (typeof CLASS_NAMES)[number];

/** Index of the `none` class. */
export const NONE_CLASS = CLASS_NAMES.indexOf('none');

/** True when `s` names a class. */
export function isClassName(s: string): s is ClassName {
  return (CLASS_NAMES as readonly string[]).includes(s);
}
