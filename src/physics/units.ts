/**
 * Phase <-> line-of-sight displacement for repeat-pass interferometry: two-way path, so one fringe
 * (2 pi) is half a wavelength of LOS motion:
 *
 *   losM = sign * phaseRad * wavelengthM / (4 pi),     phaseRad = sign * 4 pi * losM / wavelengthM
 *
 * LOS is positive TOWARD the satellite (see los.ts). The default sign = -1 is the LiCSAR/COMET
 * convention for unwrapped interferograms (d = -phi lambda / (4 pi)): positive phase = range increase
 * = motion away from the satellite. Use sign = +1 for products whose positive phase means motion
 * toward the satellite. Sentinel-1 C band: lambda = 0.055465763 m (5.405 GHz), ~2.77 cm of LOS per fringe.
 */

import { InputError } from '../core/errors.js';
export const C_BAND_WAVELENGTH_M = 0.055465763;

/** Mean Earth radius (IUGG), metres: the sphere that lon/lat ↔ metre conversions use. */
export const EARTH_RADIUS_M = 6371008.8;
/** Metres per degree of latitude (and of longitude at the equator) on that sphere. */
export const M_PER_DEG = (Math.PI * EARTH_RADIUS_M) / 180;

export type PhaseSign = 1 | -1;

export interface PhaseConvention {
  /** Radar wavelength, metres; default C_BAND_WAVELENGTH_M. */
  wavelengthM?: number;
  /** -1 (default, LiCSAR): los = -phase lambda / (4 pi). +1: los = +phase lambda / (4 pi). */
  sign?: PhaseSign;
}

/** Metres of LOS per radian of phase, signed (sign * lambda / (4 pi)). */
function metresPerRadian(opts: PhaseConvention | undefined): number {
  const wl = opts?.wavelengthM ?? C_BAND_WAVELENGTH_M;
  const sign = opts?.sign ?? -1;
  if (!(wl > 0) || !Number.isFinite(wl)) throw new InputError(`units: wavelengthM must be > 0, got ${wl}`);
  if (sign !== 1 && sign !== -1) throw new InputError(`units: sign must be 1 or -1, got ${String(sign)}`);
  return (sign * wl) / (4 * Math.PI);
}

export function phaseToLosM(phaseRad: number, opts?: PhaseConvention): number {
  return phaseRad * metresPerRadian(opts);
}

export function losToPhaseRad(losM: number, opts?: PhaseConvention): number {
  return losM / metresPerRadian(opts);
}

function scaleArray(a: Float32Array, k: number, out: Float32Array | undefined): Float32Array {
  const o = out ?? new Float32Array(a.length);
  if (o.length !== a.length) throw new RangeError(`units: out has ${o.length} values, expected ${a.length}`);
  for (let i = 0; i < a.length; i++) o[i] = a[i]! * k;
  return o;
}

/** Element-wise phaseToLosM into `out` (may be `phaseRad` itself) or a new array. NaN stays NaN. */
export function phaseToLosArray(phaseRad: Float32Array, opts?: PhaseConvention, out?: Float32Array): Float32Array {
  return scaleArray(phaseRad, metresPerRadian(opts), out);
}

/** Element-wise losToPhaseRad into `out` (may be `losM` itself) or a new array. NaN stays NaN. */
export function losToPhaseArray(losM: Float32Array, opts?: PhaseConvention, out?: Float32Array): Float32Array {
  return scaleArray(losM, 1 / metresPerRadian(opts), out);
}

/** Radar wavelengths, metres: ALOS-2 PALSAR-2 (L band, 1.2365 GHz) and NISAR L-SAR (1.257 GHz). */
export const ALOS2_WAVELENGTH_M = 0.2424;
export const NISAR_L_WAVELENGTH_M = 0.2385;

/** Throws InputError unless `wavelengthM` is a radar wavelength in metres (0.001..1: X band ~0.031, C ~0.0555, L ~0.24). */
export function checkWavelengthM(wavelengthM: number, what = 'wavelength'): number {
  if (!(wavelengthM > 0.001 && wavelengthM < 1) || !Number.isFinite(wavelengthM)) {
    throw new InputError(`${what} must be a radar wavelength in metres (0.001..1; C band ${C_BAND_WAVELENGTH_M}, L band ~0.24), got ${wavelengthM}`);
  }
  return wavelengthM;
}

/**
 * Phase measured at `fromWavelengthM` as the phase the same LOS motion gives at `toWavelengthM`
 * (default C band): phi_to = phi_from * from / to. Only for unwrapped phase (wrapped phase cannot be
 * rescaled by a non-integer factor). Returns `phaseRad` itself when the wavelengths are equal.
 */
export function rescalePhaseArray(phaseRad: Float32Array, fromWavelengthM: number, toWavelengthM = C_BAND_WAVELENGTH_M): Float32Array {
  if (fromWavelengthM === toWavelengthM) return phaseRad;
  return scaleArray(phaseRad, metresPerRadian({ wavelengthM: fromWavelengthM }) / metresPerRadian({ wavelengthM: toWavelengthM }), undefined);
}
