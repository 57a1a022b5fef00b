/**
 * Values no interferogram has. A phase raster read from a file can decode "fine" and still be
 * nonsense: byte-swapped floats (magnitudes up to 1e38, or all below 1e-20), a wrong scale (×1e30),
 * ±Infinity, or nothing finite at all (all no-data). Fed to the network these give confident
 * garbage (a zero-size box at a corner with p = 1.0, or "none" with p = 1.0), so readers of phase
 * call this and refuse such rasters with one line saying why.
 *
 * The limits are far beyond any real product: |phase| ≤ 1e4 rad is ~1600 fringes, ~45 m of LOS
 * motion in C-band (~380 m in L-band) in one interferogram; |LOS| ≤ 100 m; and a raster whose
 * largest value is below 1e-20 (rad or m) is not a measurement.
 */
import { InputError } from '../core/errors.js';

export type ValueUnits = 'rad' | 'm' | 'mm';

/** Largest |value| an interferogram can have, per unit. */
export const MAX_ABS_VALUE: Readonly<Record<ValueUnits, number>> = { rad: 1e4, m: 100, mm: 1e5 };

/** A raster whose largest |value| is above 0 but below this (in its units) is refused too. */
export const MIN_MAX_ABS_VALUE = 1e-20;

export interface ValueSummary {
  /** Pixels in the raster. */
  readonly total: number;
  /** Finite pixels (NaN is no data; ±Infinity makes the raster refused). */
  readonly finite: number;
  /** Largest |value| among the finite pixels (0 when there is none). */
  readonly maxAbs: number;
}

const UNIT_WORDS: Record<ValueUnits, string> = {
  rad: 'phase in radians', m: 'LOS displacement in metres', mm: 'LOS displacement in millimetres',
};

/**
 * Throw an InputError (one line, starting with `name`) unless `data` holds values an
 * interferogram can have, in `units`: at least one finite value, no ±Infinity, every finite
 * |value| ≤ MAX_ABS_VALUE[units], and not all of them vanishingly small (< 1e-20, byte-swapped
 * floats). NaN pixels are no data and allowed. Returns a summary of the values.
 */
export function checkInterferogramValues(data: ArrayLike<number>, name: string, units: ValueUnits = 'rad'): ValueSummary {
  const limit = MAX_ABS_VALUE[units];
  if (limit === undefined) throw new InputError(`${name}: unknown units '${String(units)}' (rad, m or mm)`);
  const total = data.length;
  let finite = 0, infinite = 0, beyond = 0, maxAbs = 0;
  for (let i = 0; i < total; i++) {
    const v = data[i]!;
    if (v !== v) continue; // NaN: no data
    const a = Math.abs(v);
    if (a === Infinity) { infinite++; continue; }
    finite++;
    if (a > maxAbs) maxAbs = a;
    if (a > limit) beyond++;
  }
  const unit = units;
  if (finite === 0) {
    throw new InputError(`${name}: no finite value in ${total} pixels (${infinite > 0 ? `${infinite} ±Infinity, ` : ''}` +
      `the rest no data): nothing to analyse; not ${UNIT_WORDS[units]}, or all masked`);
  }
  if (infinite > 0) {
    throw new InputError(`${name}: ${infinite} of ${total} pixels are ±Infinity, a value no interferogram has ` +
      '(corrupt file, or no-data written as Infinity without a no-data tag)');
  }
  if (beyond > 0) {
    throw new InputError(`${name}: ${beyond} of ${finite} values exceed ${limit} ${unit} (largest |value| ${maxAbs.toPrecision(3)} ${unit}), ` +
      `more than any interferogram has: byte-swapped, wrongly scaled, or not ${UNIT_WORDS[units]}?`);
  }
  if (maxAbs > 0 && maxAbs < MIN_MAX_ABS_VALUE) {
    throw new InputError(`${name}: every value is below ${MIN_MAX_ABS_VALUE} ${unit} (largest |value| ${maxAbs.toPrecision(3)}): ` +
      `byte-swapped floats, or not ${UNIT_WORDS[units]}?`);
  }
  return { total, finite, maxAbs };
}
