/**
 * Surface displacement of a finite rectangular dislocation in a homogeneous elastic half-space.
 *
 * Reference: Y. Okada (1985), "Surface deformation due to shear and tensile faults in a half-space",
 * Bull. Seismol. Soc. Am. 75(4), 1135-1154. Equations used: (25) strike-slip, (26) dip-slip,
 * (27) tensile, (28) I1..I5, (29) I1..I5 for cos(dip) = 0, (30) p and q, and the Chinnery
 * notation f(xi, eta)|| = f(x, p) - f(x, p - W) - f(x - L, p) + f(x - L, p - W) of eq. (24).
 * Singular cases follow the paper (and Okada 1992, BSSA 82(2), section 7): cos(dip) = 0 uses (29);
 * when q = 0, atan(xi*eta/(q*R)) = 0; when R + eta = 0, 1/(R + eta) = 0 and ln(R + eta) = -ln(R - eta);
 * likewise 1/(R + xi) = 0 when R + xi = 0; I5 = 0 when xi = 0. xi, eta and q within 1e-10 of the
 * source size of zero are snapped to zero for these tests, and R + eta, R + xi are otherwise evaluated
 * without cancellation ((xi^2 + q^2) / (R - eta) when eta < 0). On the surface trace of a rectangle
 * that reaches the surface (top depth 0) the true field is discontinuous or log-singular; the value
 * returned there is Okada's limit convention.
 *
 * Two entry points:
 *  - `okada85(x, y, fault)`: Okada's own frame. Strike along +x; the fault occupies 0 <= xi' <= L along
 *    strike and 0 <= eta' <= W up-dip from its lower edge, which lies at depth d below the x-axis
 *    (so the upper edge is at depth d - W sin(dip), horizontally at y = W cos(dip): the fault dips
 *    towards -y, i.e. to the right of the strike direction). U1 strike-slip (+ = left-lateral),
 *    U2 dip-slip (+ = reverse/thrust), U3 tensile (+ = opening); alpha = mu/(lambda + mu) = 1 - 2 nu.
 *    Returns (ux, uy, uz), z up.
 *  - `okada` (grid) / `okadaPoint`: caller's frame (x east, y north, metres), source centred on the surface
 *    projection of the rectangle's CENTROID; see `OkadaSource`.
 *
 * Displacement is linear in slip and opening (and independent of the shear modulus): doubling
 * slipM or openingM doubles every component; sources can be superposed by adding fields.
 */
import { displacementGrid, type Displacement, type DisplacementGrid } from './grid.js';
import { InputError } from '../core/errors.js';

/** A rectangle in Okada's frame (any consistent length unit). */
export interface Okada85Fault {
  /** Depth of the lower edge (Okada's origin line), positive down. */
  d: number;
  /** Dip in degrees from horizontal (Okada allows -90..90). */
  dipDeg: number;
  /** Length along strike (+x). */
  L: number;
  /** Width along dip. */
  W: number;
  /** Strike-slip, dip-slip and tensile dislocations. */
  U1: number;
  U2: number;
  U3: number;
  /** mu / (lambda + mu) = 1 - 2 * poisson; 0.5 for lambda = mu. */
  alpha: number;
}

export interface Okada85Displacement {
  ux: number;
  uy: number;
  uz: number;
}

/** A rectangular source in the caller's frame. All lengths in metres, angles in degrees. */
export interface OkadaSource {
  /** Depth of the rectangle's centroid, positive down. */
  depthM: number;
  /** Length along strike. */
  lengthM: number;
  /** Width down dip. */
  widthM: number;
  /** Strike, clockwise from north. The rectangle dips to the right of the strike direction. */
  strikeDeg: number;
  /** Dip from horizontal, 0..90. */
  dipDeg: number;
  /** Rake (Aki & Richards): 0 = left-lateral, 90 = reverse (thrust), -90 = normal, 180 = right-lateral. Default 0. */
  rakeDeg?: number;
  /** Slip on the plane (m). Default 0. */
  slipM?: number;
  /** Tensile dislocation (m), positive = opening. Default 0. */
  openingM?: number;
  /** Poisson's ratio, default 0.25 (lambda = mu). */
  poisson?: number;
}

const DEG = Math.PI / 180;
/**
 * Below this |cos(dip)| (dip within 5.7e-4 deg of vertical) the vertical forms (29) are used: (28)
 * loses ~1e-15/cos^2 to cancellation, while using (29) errs by the true change of the field over that
 * sliver of dip (~10 cos(dip) relative); both are ~1e-4 here, the best split of the two.
 */
const COS_EPS = 1e-5;
const INV_2PI = 1 / (2 * Math.PI);
const TWO_PI = 2 * Math.PI;

/**
 * |xi|, |eta|, |q| below this are treated as exactly 0 so that Okada's singular-case limits apply:
 * 1e-10 of the source size, far below any meaningful distance but above rounding (cos(90 deg) * d etc.).
 */
function snapTolerance(L: number, W: number, d: number): number {
  return 1e-10 * Math.max(Math.abs(L), Math.abs(W), Math.abs(d));
}

/** Math.atan2 through the cheaper Math.atan when x > 0. */
function atan2(y: number, x: number): number {
  return x > 0 ? Math.atan(y / x) : Math.atan2(y, x);
}

/**
 * atan(a(etaA)) - atan(a(etaB)) for the arctangent of I5 (28), a = N/(xi (R+X) cd) with
 * N = eta (X + q cd) + X (R+X) sd, as atan2(a0 - a1, 1 + a0 a1) scaled by (xi cd)^2 (RA+X)(RB+X) > 0
 * (the X sd parts of N cancel in a0 - a1). Okada: I5 = 0 when xi = 0.
 */
function i5Pair(
  xi: number, X: number, RA: number, RB: number, etaA: number, etaB: number, q: number, sd: number, cd: number,
): number {
  if (xi === 0) return 0;
  const xa = RA + X, xb = RB + X, h = X + q * cd;
  const na = etaA * h + X * xa * sd, nb = etaB * h + X * xb * sd;
  return atan2(cd * xi * h * (etaA * xb - etaB * xa), cd * cd * xi * xi * xa * xb + na * nb);
}

/** Scratch output of okadaCorners (ux, uy, uz), so that the grid loop allocates nothing. */
const acc = new Float64Array(3);

/**
 * Chinnery sum (24) of eqs. (25)-(27) at one observation point, given x (along strike), p and q
 * (eq. 30); writes (ux, uy, uz) into `acc`. Only terms of non-zero dislocations are evaluated.
 *
 * This runs ~50k times per grid, so the sums are rearranged (exactly, no approximation):
 *  - every logarithm and arctangent in (25)-(28) enters with a coefficient that does not depend on
 *    the corner, so the Chinnery sum is taken inside: sum sgn ln(a_k) = ln(prod a_k^sgn) (2 logs per
 *    point instead of 8), and for I5 the corners sharing xi give atan(a0) - atan(a1) =
 *    atan2(a0 - a1, 1 + a0 a1) (see i5Pair);
 *  - sum sgn atan(xi eta/(q R)) is the solid angle the rectangle subtends at the point: it has the
 *    sign of q and magnitude < 2 pi, so one atan2 of the product of the four complex factors, shifted
 *    by 2 pi when it has the wrong sign, gives it exactly (3 arctangents per point instead of 8);
 *  - every I-term is multiplied by sin(dip), so none is evaluated when dip = 0;
 *  - the four reciprocals a corner needs (R, R+eta, R+d~, R+xi) come from one division;
 *  - the six square roots are taken up front, where they overlap.
 */
function okadaCorners(
  x: number, p: number, q: number, L: number, W: number, sd: number, cd: number, alpha: number,
  U1: number, U2: number, U3: number, tol: number,
): void {
  const vertical = Math.abs(cd) < COS_EPS;
  const withI = sd !== 0;
  const strike = U1 !== 0, dip = U2 !== 0, needRxi = dip || U3 !== 0;
  if (Math.abs(q) < tol) q = 0; // snap to Okada's limits (see snapTolerance)
  const q2 = q * q;
  let etaA = p, etaB = p - W;
  if (Math.abs(etaA) < tol) etaA = 0;
  if (Math.abs(etaB) < tol) etaB = 0;
  // Chinnery sums; sgn = +1 for corners (x, p), (x-L, p-W) and -1 for (x, p-W), (x-L, p).
  let sRe = 0, sXRe = 0, sYRe = 0, sDRe = 0; // {1, xi, y~, d~} / (R (R+eta))
  let sYRx = 0, sDRx = 0;                    // {y~, d~} / (R (R+xi))
  let sIRe = 0, sIR = 0;                     // 1/(R+eta), 1/R
  let sXRd = 0;   // xi/(R+d~)                                      [I1 (28); I5 (29)]
  let sYRd = 0;   // y~/(R+d~); vertical: eta/(R+d~) + y~ q/(R+d~)^2  [I3 (28); I3 (29)]
  let sXQRd2 = 0; // xi q/(R+d~)^2                                  [I1 (29)]
  let sIRd = 0;   // 1/(R+d~)                                       [I4 (29)]
  let reNum = 1, reDen = 1; // sum sgn ln(R+eta) = ln(reDen/reNum), from products of 1/(R+eta)
  let rdNum = 1, rdDen = 1; // sum sgn ln(R+d~) = ln(rdNum/rdDen)
  // The six square roots first: independent, they overlap instead of heading six dependency chains.
  let xiA = x, xiB = x - L;
  if (Math.abs(xiA) < tol) xiA = 0;
  if (Math.abs(xiB) < tol) xiB = 0;
  const XA2 = xiA * xiA + q2, XB2 = xiB * xiB + q2;
  const eA2 = etaA * etaA, eB2 = etaB * etaB;
  const XA = Math.sqrt(XA2), XB = Math.sqrt(XB2);
  const RAA = Math.sqrt(XA2 + eA2), RAB = Math.sqrt(XA2 + eB2);
  const RBA = Math.sqrt(XB2 + eA2), RBB = Math.sqrt(XB2 + eB2);
  // Corners k = 0..3: (xiA, etaA) +, (xiA, etaB) -, (xiB, etaA) -, (xiB, etaB) +.
  for (let k = 0; k < 4; k++) {
    const xi = k < 2 ? xiA : xiB;
    const eta = (k & 1) === 0 ? etaA : etaB;
    const sgn = k === 0 || k === 3 ? 1 : -1;
    const X2 = k < 2 ? XA2 : XB2;
    const R = k === 0 ? RAA : k === 1 ? RAB : k === 2 ? RBA : RBB;
    const yt = eta * cd + q * sd; // y~
    const dt = eta * sd - q * cd; // d~
    const Rd = R + dt;
    // R + eta = dRe/mRe, without cancellation when eta < 0. On its singular line (xi = q = 0,
    // eta < 0) Okada takes 1/(R+eta) = 0 and ln(R+eta) = -ln(R-eta): mRe = 0, log from R - eta.
    let dRe = R + eta, mRe = 1;
    if (eta < 0) { if (X2 > 0) { dRe = X2; mRe = R - eta; } else { dRe = 1; mRe = 0; } }
    // R + xi = dRx/mRx likewise; 1/(R+xi) = 0 on its singular line (eta = q = 0, xi < 0).
    let dRx = 1, mRx = 0;
    if (needRxi) {
      if (xi >= 0) { dRx = R + xi; mRx = 1; } else if (eta !== 0 || q !== 0) { dRx = eta * eta + q2; mRx = R - xi; }
    }
    // One division for 1/R, 1/(R+eta), 1/(R+d~), 1/(R+xi).
    const a = R * dRe, b = a * Rd, inv = 1 / (b * dRx);
    const iRx = mRx * b * inv;
    const ib = dRx * inv;
    const iRd = a * ib;
    const ia = Rd * ib;
    const iR = dRe * ia;
    const iReta = mRe * R * ia;
    const re = sgn * iR * iReta;
    sRe += re;
    sXRe += xi * re;
    if (strike) { sYRe += yt * re; sDRe += dt * re; sIRe += sgn * iReta; }
    if (dip) sIR += sgn * iR;
    if (needRxi) { const rx = sgn * iR * iRx; sYRx += yt * rx; sDRx += dt * rx; }
    if (withI) {
      const lnInv = mRe === 0 ? R - eta : iReta;
      if (sgn > 0) { reNum *= lnInv; rdNum *= Rd; } else { reDen *= lnInv; rdDen *= Rd; }
      sXRd += sgn * xi * iRd;
      if (vertical) {
        sYRd += sgn * (eta * iRd + yt * q * iRd * iRd);
        sXQRd2 += sgn * xi * q * iRd * iRd;
        sIRd += sgn * iRd;
      } else {
        sYRd += sgn * yt * iRd;
      }
    }
  }
  // sum sgn atan(xi eta/(q R)) is the solid angle of the rectangle seen from the point: sign of q,
  // magnitude < 2 pi. Pairwise, atan(a0) - atan(a1) = arg(1 + a0 a1 + i (a0 - a1)); scaled by q^2 R0 R1 > 0
  // that is z = q^2 R0 R1 + xi^2 eta0 eta1 + i q xi (eta0 R1 - eta1 R0). The total is arg(zA conj(zB)),
  // moved by 2 pi when its sign disagrees with q's (a wrong sign below 1e-9 rad is rounding of ~0).
  // Okada: atan(xi eta/(q R)) = 0 when q = 0.
  let sTh = 0;
  if (q !== 0) {
    const xA = q2 * RAA * RAB + xiA * xiA * etaA * etaB, yA = q * xiA * (etaA * RAB - etaB * RAA);
    const xB = q2 * RBA * RBB + xiB * xiB * etaA * etaB, yB = q * xiB * (etaA * RBB - etaB * RBA);
    sTh = atan2(yA * xB - xA * yB, xA * xB + yA * yB);
    if (q > 0 && sTh < -1e-9) sTh += TWO_PI;
    else if (q < 0 && sTh > 1e-9) sTh -= TWO_PI;
  }
  // Chinnery sums of I1..I5: eq. (28), or (29) when cos(dip) = 0. All are multiplied by sin(dip) below.
  let I1 = 0, I2 = 0, I3 = 0, I4 = 0, I5 = 0;
  if (withI) {
    const lnRe = Math.log(reDen / reNum);
    if (!vertical) {
      const icd = 1 / cd;
      const a5 = i5Pair(xiA, XA, RAA, RAB, etaA, etaB, q, sd, cd) - i5Pair(xiB, XB, RBA, RBB, etaA, etaB, q, sd, cd);
      I5 = 2 * alpha * icd * a5;
      I4 = alpha * icd * (Math.log(rdNum / rdDen) - sd * lnRe);
      I3 = alpha * (icd * sYRd - lnRe) + sd * icd * I4;
      I1 = -alpha * icd * sXRd - sd * icd * I5;
    } else {
      I1 = -0.5 * alpha * sXQRd2;
      I3 = 0.5 * alpha * (sYRd - lnRe);
      I4 = -alpha * q * sIRd;
      I5 = -alpha * sd * sXRd;
    }
    I2 = -alpha * lnRe - I3;
  }
  let ux = 0, uy = 0, uz = 0;
  if (strike) { // eq. (25)
    const c = -U1 * INV_2PI;
    ux += c * (q * sXRe + sTh + I1 * sd);
    uy += c * (q * sYRe + q * cd * sIRe + I2 * sd);
    uz += c * (q * sDRe + q * sd * sIRe + I4 * sd);
  }
  if (dip) { // eq. (26)
    const c = -U2 * INV_2PI;
    ux += c * (q * sIR - I3 * sd * cd);
    uy += c * (q * sYRx + cd * sTh - I1 * sd * cd);
    uz += c * (q * sDRx + sd * sTh - I5 * sd * cd);
  }
  if (U3 !== 0) { // eq. (27)
    const c = U3 * INV_2PI;
    const t = q * sXRe - sTh;
    ux += c * (q2 * sRe - I3 * sd * sd);
    uy += c * (-q * sDRx - sd * t - I1 * sd * sd);
    uz += c * (q * sYRx + cd * t - I5 * sd * sd);
  }
  acc[0] = ux;
  acc[1] = uy;
  acc[2] = uz;
}

/**
 * Okada (1985) surface displacement at (x, y) in Okada's own frame (see the file header).
 * No validation: this is the reference formula, used by the tests against Okada's Table 2.
 */
export function okada85(x: number, y: number, f: Okada85Fault): Okada85Displacement {
  const sd = Math.sin(f.dipDeg * DEG);
  const cd = Math.cos(f.dipDeg * DEG);
  const p = y * cd + f.d * sd; // eq. (30)
  const q = y * sd - f.d * cd;
  okadaCorners(x, p, q, f.L, f.W, sd, cd, f.alpha, f.U1, f.U2, f.U3, snapTolerance(f.L, f.W, f.d));
  return { ux: acc[0]!, uy: acc[1]!, uz: acc[2]! };
}

/** Throw a one-line RangeError naming the first bad parameter of a rectangular source. */
export function validateOkada(s: OkadaSource, label = 'okada'): void {
  const requireFinite = (name: string, v: unknown): void => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`${label}: ${name} must be a finite number, got ${String(v)}`);
  };
  for (const k of ['depthM', 'lengthM', 'widthM', 'strikeDeg', 'dipDeg'] as const) requireFinite(k, s[k]);
  for (const k of ['rakeDeg', 'slipM', 'openingM', 'poisson'] as const) if (s[k] !== undefined) requireFinite(k, s[k]);
  if (s.depthM < 0) throw new InputError(`${label}: depthM must be >= 0 (positive down), got ${s.depthM}`);
  if (!(s.lengthM > 0)) throw new InputError(`${label}: lengthM must be > 0, got ${s.lengthM}`);
  if (!(s.widthM > 0)) throw new InputError(`${label}: widthM must be > 0, got ${s.widthM}`);
  if (s.dipDeg < 0 || s.dipDeg > 90) throw new InputError(`${label}: dipDeg must be in [0, 90], got ${s.dipDeg}`);
  const nu = s.poisson ?? 0.25;
  if (nu < 0 || nu > 0.5) throw new InputError(`${label}: poisson must be in [0, 0.5], got ${nu}`);
  const top = s.depthM - (s.widthM / 2) * Math.sin(s.dipDeg * DEG);
  if (top < -1e-9 * s.widthM) {
    throw new InputError(`${label}: rectangle breaches the surface (top depth = depthM - widthM/2*sin(dipDeg) = ${top.toPrecision(4)} m < 0); increase depthM or reduce widthM`);
  }
}

/** Source constants in Okada's frame, shared by the grid and point entry points. */
interface Frame {
  U1: number; U2: number; U3: number; alpha: number; L: number; W: number;
  sd: number; cd: number; sf: number; cf: number; d: number; x0: number; y0: number; tol: number;
}

function frame(s: OkadaSource): Frame {
  validateOkada(s);
  const rake = (s.rakeDeg ?? 0) * DEG;
  const slip = s.slipM ?? 0;
  const sd = Math.sin(s.dipDeg * DEG), cd = Math.cos(s.dipDeg * DEG);
  return {
    U1: slip * Math.cos(rake), U2: slip * Math.sin(rake), U3: s.openingM ?? 0,
    alpha: 1 - 2 * (s.poisson ?? 0.25), L: s.lengthM, W: s.widthM, sd, cd,
    sf: Math.sin(s.strikeDeg * DEG), cf: Math.cos(s.strikeDeg * DEG),
    d: s.depthM + (s.widthM / 2) * sd, // depth of Okada's lower edge
    x0: s.lengthM / 2, y0: (s.widthM / 2) * cd, // the centroid in Okada's frame
    tol: snapTolerance(s.lengthM, s.widthM, s.depthM),
  };
}

/**
 * Okada x (along strike) and y (to the LEFT of strike, i.e. opposite to the dip direction) of the
 * point (e, n), then (ux, uy) rotated back to east/north: east = ux sin(strike) - uy cos(strike),
 * north = ux cos(strike) + uy sin(strike). Result left in `acc` as (east, north, up).
 */
function atPoint(f: Frame, e: number, n: number): void {
  const x = e * f.sf + n * f.cf + f.x0;
  const y = -e * f.cf + n * f.sf + f.y0;
  okadaCorners(x, y * f.cd + f.d * f.sd, y * f.sd - f.d * f.cd, f.L, f.W, f.sd, f.cd, f.alpha, f.U1, f.U2, f.U3, f.tol);
  const ux = acc[0]!, uy = acc[1]!;
  acc[0] = ux * f.sf - uy * f.cf;
  acc[1] = ux * f.cf + uy * f.sf;
}

/**
 * Fill `out` (or new rasters) with the displacement of `s` at every (xs[col], ys[row]).
 * xs: east offsets from the centroid's surface projection (length = width); ys: north offsets
 * (length = height; row 0 = north, so normally decreasing). Row-major Float32 east/north/up.
 * Throws RangeError (see validateOkada) on a bad source.
 */
export function okada(s: OkadaSource, xs: ArrayLike<number>, ys: ArrayLike<number>, out?: DisplacementGrid): DisplacementGrid {
  const f = frame(s);
  const g = displacementGrid(xs, ys, out);
  const { width, height, east, north, up } = g;
  if (f.U1 === 0 && f.U2 === 0 && f.U3 === 0) {
    east.fill(0); north.fill(0); up.fill(0);
    return g;
  }
  for (let r = 0; r < height; r++) {
    const n = ys[r]!;
    const o = r * width;
    for (let c = 0; c < width; c++) {
      atPoint(f, xs[c]!, n);
      east[o + c] = acc[0]!;
      north[o + c] = acc[1]!;
      up[o + c] = acc[2]!;
    }
  }
  return g;
}

/** Displacement of `s` at one point (east, north metres from the centroid's surface projection), float64. */
export function okadaPoint(s: OkadaSource, eastM: number, northM: number): Displacement {
  atPoint(frame(s), eastM, northM);
  return { east: acc[0]!, north: acc[1]!, up: acc[2]! };
}
