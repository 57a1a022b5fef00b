/**
 * Mixing augmented real interferograms into training batches (`caldera train --real DIR
 * --real-fraction F`; Gaddes et al. 2021 mixed VolcNet's augmented real data with the synthetic
 * set). Each training example is replaced, with probability F, by an augmented real example; the
 * choice and the example are drawn from the batch's augmentation seed and the example's index, so
 * a run is reproducible and resumable. Validation and evaluation batches are never mixed.
 */
import { Rng } from '../core/rng.js';
import type { ChannelFormat } from './channels.js';
import { loadRealTraining, type RealTrainingSet } from './real.js';
import { InputError } from '../core/errors.js';
import type { BatchData, BatchRequest } from './feeder.js';

export interface RealMixSpec {
  readonly dir: string;
  /** Share of training examples that are real (0..1). */
  readonly fraction: number;
}

/** A batch post-processor that swaps in real examples; identity for unaugmented requests. */
export type BatchMixer = (batch: BatchData, req: BatchRequest) => BatchData;

const REAL_STREAM = 0x5eed_7ea1;

export async function realMixer(spec: RealMixSpec, format: ChannelFormat, size: number): Promise<BatchMixer> {
  if (!(spec.fraction > 0 && spec.fraction <= 1)) throw new InputError(`the fraction of real samples must be in (0, 1], got ${spec.fraction}`);
  const real: RealTrainingSet = await loadRealTraining(spec.dir, { format, size });
  return (batch, req) => {
    if (req.augmentSeed == null) return batch;
    const px = size * size * batch.channels;
    const x = Float32Array.from(batch.x);
    const classIndex = Uint8Array.from(batch.classIndex);
    const box = Float32Array.from(batch.box);
    const boxesPx = [...batch.boxesPx];
    const terrain = [...batch.terrain];
    let changed = false;
    req.indices.forEach((index, j) => {
      if (!Rng.stream(req.augmentSeed! ^ REAL_STREAM, index).chance(spec.fraction)) return;
      const ex = real.exampleAt(req.augmentSeed!, index);
      x.set(ex.x, j * px);
      classIndex[j] = ex.classIndex;
      box.set([...ex.box, ex.hasBox ? 1 : 0], j * 5);
      boxesPx[j] = ex.hasBox ? { x: ex.box[0] * size, y: ex.box[1] * size, halfWidth: ex.box[2] * size, halfHeight: ex.box[3] * size } : null;
      terrain[j] = `real:${ex.sampleId}`;
      changed = true;
    });
    return changed ? { ...batch, x, classIndex, box, boxesPx, terrain } : batch;
  };
}
