/**
 * In-place radix-2 complex FFTs on power-of-two sizes, split real/imaginary Float64Arrays: the
 * plain 1-D and 2-D transforms (`fft1d`, `fft2d`: the reference) and the production inverse 2-D
 * transform of spectral synthesis (`makeFftPlan`, `ifftColumns`, `ifftRows`, `inverseFft2d`).
 */

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/** Forward (sign = -1) or inverse (sign = +1, unscaled) FFT of length re.length, in place. */
export function fft1d(re: Float64Array, im: Float64Array, sign: -1 | 1 = -1): void {
  const n = re.length;
  if (!isPowerOfTwo(n) || im.length !== n) throw new RangeError(`fft length must be a power of two, got ${n}`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i]!; re[i] = re[j]!; re[j] = t;
      t = im[i]!; im[i] = im[j]!; im[j] = t;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (sign * 2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    const half = len >> 1;
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < half; k++) {
        const a = i + k;
        const b = a + half;
        const xr = re[b]! * cr - im[b]! * ci;
        const xi = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
}

/** 2-D FFT of an n x n row-major grid, in place (inverse is unscaled). */
export function fft2d(re: Float64Array, im: Float64Array, n: number, sign: -1 | 1 = -1): void {
  if (re.length !== n * n || im.length !== n * n) throw new RangeError(`fft2d expects ${n}x${n} arrays`);
  const rr = new Float64Array(n);
  const ri = new Float64Array(n);
  for (let y = 0; y < n; y++) {
    const o = y * n;
    rr.set(re.subarray(o, o + n));
    ri.set(im.subarray(o, o + n));
    fft1d(rr, ri, sign);
    re.set(rr, o);
    im.set(ri, o);
  }
  for (let x = 0; x < n; x++) {
    for (let y = 0; y < n; y++) {
      rr[y] = re[y * n + x]!;
      ri[y] = im[y * n + x]!;
    }
    fft1d(rr, ri, sign);
    for (let y = 0; y < n; y++) {
      re[y * n + x] = rr[y]!;
      im[y * n + x] = ri[y]!;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The production inverse 2-D transform (spectral synthesis of atmosphere, coherence and terrain):
// a precomputed plan, column and row passes vectorised over the other axis.

export interface FftPlan {
  readonly n: number;
  readonly cos: Float64Array;
  readonly sin: Float64Array;
  readonly rev: Int32Array;
}

export function makeFftPlan(n: number): FftPlan {
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = Math.sin((2 * Math.PI * k) / n);
  }
  const rev = new Int32Array(n);
  const bits = Math.round(Math.log2(n));
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  return { n, cos, sin, rev };
}

/**
 * Inverse (sign +1, unscaled) FFT along y of every column x < cols, vectorised over x (butterflies
 * between whole rows, so the inner loops are contiguous). Radix-2 stages taken two at a time.
 */
export function ifftColumns(re: Float64Array, im: Float64Array, p: FftPlan, cols: number): void {
  const n = p.n;
  const { cos, sin, rev } = p;
  for (let i = 0; i < n; i++) {
    const j = rev[i]!;
    if (i < j) {
      const a = i * n, b = j * n;
      for (let x = 0; x < cols; x++) {
        let t = re[a + x]!; re[a + x] = re[b + x]!; re[b + x] = t;
        t = im[a + x]!; im[a + x] = im[b + x]!; im[b + x] = t;
      }
    }
  }
  let m = 1;
  if ((Math.round(Math.log2(n)) & 1) === 1) {
    // one plain radix-2 stage (size 2, twiddle 1)
    for (let i = 0; i < n; i += 2) {
      const a = i * n, b = a + n;
      for (let x = 0; x < cols; x++) {
        const ar = re[a + x]!, ai = im[a + x]!, br = re[b + x]!, bi = im[b + x]!;
        re[a + x] = ar + br; im[a + x] = ai + bi;
        re[b + x] = ar - br; im[b + x] = ai - bi;
      }
    }
    m = 2;
  }
  // stages of size 2m and 4m together
  for (; m < n; m <<= 2) {
    const s1 = n / (2 * m), s2 = n / (4 * m);
    for (let k = 0; k < m; k++) {
      const w1r = cos[k * s1]!, w1i = sin[k * s1]!;
      const w2r = cos[k * s2]!, w2i = sin[k * s2]!;
      for (let base = 0; base < n; base += 4 * m) {
        const o0 = (base + k) * n, o1 = o0 + m * n, o2 = o1 + m * n, o3 = o2 + m * n;
        for (let x = 0; x < cols; x++) {
          const x0r = re[o0 + x]!, x0i = im[o0 + x]!;
          const x1r = re[o1 + x]!, x1i = im[o1 + x]!;
          const x2r = re[o2 + x]!, x2i = im[o2 + x]!;
          const x3r = re[o3 + x]!, x3i = im[o3 + x]!;
          const t1r = x1r * w1r - x1i * w1i, t1i = x1r * w1i + x1i * w1r;
          const t3r = x3r * w1r - x3i * w1i, t3i = x3r * w1i + x3i * w1r;
          const y0r = x0r + t1r, y0i = x0i + t1i, y1r = x0r - t1r, y1i = x0i - t1i;
          const y2r = x2r + t3r, y2i = x2i + t3i, y3r = x2r - t3r, y3i = x2i - t3i;
          const ur = y2r * w2r - y2i * w2i, ui = y2r * w2i + y2i * w2r;
          // v = i * w2 * y3
          const vr = -(y3r * w2i + y3i * w2r), vi = y3r * w2r - y3i * w2i;
          re[o0 + x] = y0r + ur; im[o0 + x] = y0i + ui;
          re[o2 + x] = y0r - ur; im[o2 + x] = y0i - ui;
          re[o1 + x] = y1r + vr; im[o1 + x] = y1i + vi;
          re[o3 + x] = y1r - vr; im[o3 + x] = y1i - vi;
        }
      }
    }
  }
}

/** Inverse (sign +1, unscaled) FFT along x of rows y < rows. Radix-2 stages taken two at a time. */
export function ifftRows(re: Float64Array, im: Float64Array, p: FftPlan, rows: number): void {
  const n = p.n;
  const { cos, sin, rev } = p;
  const odd = (Math.round(Math.log2(n)) & 1) === 1;
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    for (let i = 0; i < n; i++) {
      const j = rev[i]!;
      if (i < j) {
        let t = re[o + i]!; re[o + i] = re[o + j]!; re[o + j] = t;
        t = im[o + i]!; im[o + i] = im[o + j]!; im[o + j] = t;
      }
    }
    let m = 1;
    if (odd) {
      for (let i = o; i < o + n; i += 2) {
        const ar = re[i]!, ai = im[i]!, br = re[i + 1]!, bi = im[i + 1]!;
        re[i] = ar + br; im[i] = ai + bi;
        re[i + 1] = ar - br; im[i + 1] = ai - bi;
      }
      m = 2;
    } else {
      // sizes 2 and 4 together: all twiddles trivial (w1 = 1, w2 = 1, v = i * y3)
      for (let i = o; i < o + n; i += 4) {
        const x0r = re[i]!, x0i = im[i]!, x1r = re[i + 1]!, x1i = im[i + 1]!;
        const x2r = re[i + 2]!, x2i = im[i + 2]!, x3r = re[i + 3]!, x3i = im[i + 3]!;
        const y0r = x0r + x1r, y0i = x0i + x1i, y1r = x0r - x1r, y1i = x0i - x1i;
        const y2r = x2r + x3r, y2i = x2i + x3i, y3r = x2r - x3r, y3i = x2i - x3i;
        re[i] = y0r + y2r; im[i] = y0i + y2i;
        re[i + 2] = y0r - y2r; im[i + 2] = y0i - y2i;
        re[i + 1] = y1r - y3i; im[i + 1] = y1i + y3r;
        re[i + 3] = y1r + y3i; im[i + 3] = y1i - y3r;
      }
      m = 4;
    }
    for (; m < n; m <<= 2) {
      const s1 = n / (2 * m), s2 = n / (4 * m);
      for (let k = 0; k < m; k++) {
        const w1r = cos[k * s1]!, w1i = sin[k * s1]!;
        const w2r = cos[k * s2]!, w2i = sin[k * s2]!;
        for (let i0 = o + k; i0 < o + n; i0 += 4 * m) {
          const i1 = i0 + m, i2 = i1 + m, i3 = i2 + m;
          const x0r = re[i0]!, x0i = im[i0]!;
          const x1r = re[i1]!, x1i = im[i1]!;
          const x2r = re[i2]!, x2i = im[i2]!;
          const x3r = re[i3]!, x3i = im[i3]!;
          const t1r = x1r * w1r - x1i * w1i, t1i = x1r * w1i + x1i * w1r;
          const t3r = x3r * w1r - x3i * w1i, t3i = x3r * w1i + x3i * w1r;
          const y0r = x0r + t1r, y0i = x0i + t1i, y1r = x0r - t1r, y1i = x0i - t1i;
          const y2r = x2r + t3r, y2i = x2i + t3i, y3r = x2r - t3r, y3i = x2i - t3i;
          const ur = y2r * w2r - y2i * w2i, ui = y2r * w2i + y2i * w2r;
          const vr = -(y3r * w2i + y3i * w2r), vi = y3r * w2r - y3i * w2i;
          re[i0] = y0r + ur; im[i0] = y0i + ui;
          re[i2] = y0r - ur; im[i2] = y0i - ui;
          re[i1] = y1r + vr; im[i1] = y1i + vi;
          re[i3] = y1r - vr; im[i3] = y1i - vi;
        }
      }
    }
  }
}

/**
 * The unscaled inverse 2-D FFT (sign +1, like `fft2d(..., 1)`), in place on n×n split arrays;
 * only rows < `rows` of the result are computed (the rest of the grid is not needed by a crop).
 */
export function inverseFft2d(re: Float64Array, im: Float64Array, n: number, rows = n): void {
  const p = makeFftPlan(n);
  ifftColumns(re, im, p, n);
  ifftRows(re, im, p, rows);
}
