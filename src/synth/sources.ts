/**
 * Random deformation sources, drawn from the ranges SyInterferoPy uses
 * (Gaddes et al. 2021; syinterferopy/random_generation.py, create_random_defo_m):
 * - dyke: strike 0-359 deg, top depth 0-2 km, bottom = top + 0-6 km, length 0-10 km,
 *   dip 75-89 deg, opening 0.1-0.7 m (dykes only open);
 * - sill: strike 0-359 deg, centroid depth 1.5-3.5 km, width and length 2-6 km, dip 0-4 deg,
 *   opening 0.2-1.0 m, inflating or deflating;
 * - mogi: volume change 2-3e6 m3, depth 1-4 km, inflating or deflating;
 * - fault (kept available, not a class): strike/dip/rake slip on a buried rectangle.
 * Sources are in the physics layer's conventions (centroid depth, width down-dip).
 */
import type { Rng } from '../core/rng.js';
import type { Source } from '../physics/index.js';
import type { ClassName } from '../core/classes.js';

export type SourceKind = 'dyke' | 'sill' | 'mogi' | 'fault';


export function classOfSource(kind: SourceKind | null): ClassName {
  if (kind === null) return 'none';
  if (kind === 'dyke') return 'dyke';
  if (kind === 'sill' || kind === 'mogi') return 'sill';
  throw new RangeError(`source kind '${kind}' has no class (faults are not a class)`);
}

/** Short minimum so a drawn rectangle never degenerates. */
const MIN_LENGTH_M = 500;
const MIN_EXTENT_M = 300;

export function sampleDyke(rng: Rng): Source {
  const strikeDeg = rng.int(0, 358);
  const topDepthM = 2000 * rng.next();
  const lengthM = Math.max(MIN_LENGTH_M, 10000 * rng.next());
  const dipDeg = rng.int(75, 89);
  const openingM = 0.1 + 0.6 * rng.next();
  const bottomDepthM = topDepthM + Math.max(MIN_EXTENT_M, 6000 * rng.next());
  const widthM = (bottomDepthM - topDepthM) / Math.sin((dipDeg * Math.PI) / 180);
  return {
    kind: 'dyke', strikeDeg, dipDeg, lengthM, widthM, openingM,
    depthM: (topDepthM + bottomDepthM) / 2, rakeDeg: 0, slipM: 0,
  };
}

export function sampleSill(rng: Rng): Source {
  const sign = rng.chance(0.5) ? 1 : -1;
  return {
    kind: 'sill',
    strikeDeg: rng.int(0, 358),
    depthM: 1500 + 2000 * rng.next(),
    widthM: 2000 + 4000 * rng.next(),
    lengthM: 2000 + 4000 * rng.next(),
    dipDeg: rng.int(0, 4),
    openingM: sign * (0.2 + 0.8 * rng.next()),
    rakeDeg: 0, slipM: 0,
  };
}

export function sampleMogi(rng: Rng): Source {
  const sign = rng.chance(0.5) ? 1 : -1;
  return { kind: 'mogi', volumeChangeM3: sign * (2e6 + 1e6 * rng.next()), depthM: 1000 + 3000 * rng.next() };
}

/** A buried fault: strike 0-359, dip 20-89, rake -180..180, slip 0.2-2 m, top 1-5 km. */
export function sampleFault(rng: Rng): Source {
  const dipDeg = rng.uniform(20, 89);
  const widthM = 3000 + 7000 * rng.next();
  const topDepthM = 1000 + 4000 * rng.next();
  return {
    kind: 'fault', strikeDeg: rng.uniform(0, 360), dipDeg, rakeDeg: rng.uniform(-180, 180),
    lengthM: 4000 + 12000 * rng.next(), widthM, slipM: 0.2 + 1.8 * rng.next(), openingM: 0,
    depthM: topDepthM + (widthM / 2) * Math.sin((dipDeg * Math.PI) / 180),
  };
}

export function sampleSource(rng: Rng, kind: SourceKind): Source {
  switch (kind) {
    case 'dyke': return sampleDyke(rng);
    case 'sill': return sampleSill(rng);
    case 'mogi': return sampleMogi(rng);
    case 'fault': return sampleFault(rng);
  }
}

/**
 * Multiply the strength of a source (opening, slip or volume change) by `factor`.
 * Surface displacement is linear in these, so a field computed once can be rescaled the same way.
 */
export function scaleSource(source: Source, factor: number): Source {
  if (source.kind === 'mogi') return { ...source, volumeChangeM3: source.volumeChangeM3 * factor };
  return {
    ...source,
    openingM: (source.openingM ?? 0) * factor,
    slipM: (source.slipM ?? 0) * factor,
  };
}
