/** Small pure helpers over plain and typed arrays, shared by every layer. */

/** Index of the largest value (the first on ties; 0 for an empty array). */
export function argmax(a: ArrayLike<number>): number {
  let k = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[k]!) k = i;
  return k;
}

/** Median (the mean of the two middle values for an even count; NaN when empty). */
export function median(xs: ArrayLike<number>): number {
  const s = Array.from(xs).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Largest absolute value, NaN skipped (±Infinity counts; 0 when there is none). */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]!);
    if (v > m) m = v;
  }
  return m;
}

/** Largest absolute finite value (NaN and ±Infinity skipped; 0 when there is none). */
export function maxAbsFinite(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]!);
    if (v > m && v !== Infinity) m = v;
  }
  return m;
}
