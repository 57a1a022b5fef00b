/**
 * A trained caldera model on disk: the standard tfjs layers files plus caldera's metadata
 * (`calderaModel` in model.json: channel format, input size, classes, architecture), loaded and
 * checked against the network's own input shape. The bundled model is `models/default/`.
 */
import { fileURLToPath } from 'node:url';
import type * as tf from '@tensorflow/tfjs';
import { InputError } from '../core/errors.js';
import { parseChannelFormat, type ChannelFormat } from '../data/channels.js';
import { initBackend } from './backend.js';
import { loadModel, readModelMetadata } from './io-handler.js';
import type { NetworkVariant } from './network.js';

/** The bundled model. */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../../models/default/', import.meta.url));

export const MODEL_META_KEY = 'calderaModel';

export interface ModelMeta {
  readonly channelFormat: ChannelFormat;
  readonly inputSize: number;
  readonly classes: readonly string[];
  readonly arch: NetworkVariant;
  readonly epoch: number;
  readonly imagesSeen: number;
  /** How the box is encoded: normalised centre and half-sizes of the input square. */
  readonly box: 'cx/W, cy/H, halfWidth/W, halfHeight/H';
  readonly source: string;
}

export interface TrainedModel {
  readonly dir: string;
  readonly model: tf.LayersModel;
  readonly format: ChannelFormat;
  readonly size: number;
  readonly meta: ModelMeta;
}

/** The channel format and input size a model directory records (no network loaded). */
export async function readTrainedModelMeta(dir: string): Promise<{ format: ChannelFormat; size: number; meta: ModelMeta }> {
  const raw = (await readModelMetadata(dir))[MODEL_META_KEY] as Partial<ModelMeta> | undefined;
  if (!raw || typeof raw !== 'object') throw new InputError(`${dir}: not a caldera model (no ${MODEL_META_KEY} in model.json)`);
  let format: ChannelFormat;
  try {
    format = parseChannelFormat(String(raw.channelFormat));
  } catch (e) {
    throw new InputError(`${dir}: ${(e as Error).message}`);
  }
  const size = Number(raw.inputSize);
  if (!Number.isInteger(size) || size < 32) throw new InputError(`${dir}: bad input size '${String(raw.inputSize)}' in model.json`);
  return { format, size, meta: raw as ModelMeta };
}

/** Load a model saved by `caldera train` and check its metadata (channel format, input size). */
export async function loadTrainedModel(dir: string): Promise<TrainedModel> {
  const { format, size, meta } = await readTrainedModelMeta(dir);
  await initBackend();
  const model = await loadModel(dir);
  const shape = model.inputs[0]?.shape;
  if (!shape || shape[1] !== size || shape[2] !== size || shape[3] !== format.length) {
    model.dispose();
    throw new InputError(`${dir}: the network's input [${shape?.slice(1).join('×')}] does not match its metadata (${size}×${size}, format '${format}')`);
  }
  return { dir, model, format, size, meta };
}

