/**
 * From a sample's physical layers to one training example: the network input in a channel
 * format, and the targets (class index, box normalised to the image size). Phase uses the LiCSAR
 * sign (motion toward the satellite = negative phase); `randomSign` flips it half the time, so a
 * model learns that processors disagree on the sign and that sources inflate and deflate.
 */
import type { Rng } from '../core/rng.js';
import { losToPhaseArray } from '../physics/index.js';
import { MASK_INCOHERENT } from '../synth/scene.js';
import { type CentreBox } from '../core/box.js';
import { CLASS_NAMES, type ClassName } from '../core/classes.js';
import { makeChannels, type ChannelFormat } from './channels.js';

/** What a scene or a stored sample has in common. */
export interface LayeredSample {
  readonly size: number;
  readonly spacingM: number;
  readonly losM: Float32Array;
  readonly dem: Float32Array;
  readonly coherence: Float32Array;
  readonly mask: Uint8Array;
  readonly className: ClassName;
  readonly box: CentreBox | null;
  readonly meta: { readonly headingDeg: number };
}

export interface Example {
  /** H x W x C, channels last. */
  readonly x: Float32Array;
  readonly classIndex: number;
  /** [cx/W, cy/H, halfWidth/W, halfHeight/H]; zeros when there is no box. */
  readonly box: readonly [number, number, number, number];
  readonly hasBox: boolean;
}

export interface ExampleOptions {
  readonly rng?: Rng;
  /** Flip the phase sign with probability 0.5 (needs rng). */
  readonly randomSign?: boolean;
  /** Force the phase sign (overrides randomSign): -1 gives the negated interferogram. */
  readonly sign?: 1 | -1;
  /** Render incoherent (not water) pixels as random phase, like an unmasked product (needs rng). */
  readonly incoherent?: 'zero' | 'random';
}

export function normaliseBox(box: CentreBox, width: number, height: number): [number, number, number, number] {
  return [box.x / width, box.y / height, box.halfWidth / width, box.halfHeight / height];
}

export function toExample(s: LayeredSample, format: ChannelFormat, opts: ExampleOptions = {}): Example {
  const n = s.size;
  const sign: 1 | -1 = opts.sign ?? (opts.randomSign && opts.rng?.chance(0.5) ? -1 : 1);
  const incoherent = opts.incoherent ?? 'zero';
  let randomMask: Uint8Array | undefined;
  if (incoherent === 'random') {
    randomMask = new Uint8Array(s.mask.length);
    for (let i = 0; i < randomMask.length; i++) randomMask[i] = s.mask[i]! & MASK_INCOHERENT;
  }
  const x = makeChannels(
    { width: n, height: n, phaseRad: losToPhaseArray(s.losM), dem: s.dem, coherence: s.coherence, mask: s.mask, headingDeg: s.meta.headingDeg, spacingM: s.spacingM },
    format,
    { sign, incoherent, randomMask, rng: opts.rng },
  );
  return {
    x,
    classIndex: CLASS_NAMES.indexOf(s.className),
    box: s.box ? normaliseBox(s.box, n, n) : [0, 0, 0, 0],
    hasBox: s.box !== null,
  };
}
