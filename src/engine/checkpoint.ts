/**
 * Training checkpoints that survive a kill at any moment. A checkpoint is a directory:
 *   model.json, weights.bin   the model (io-handler format, weights checked by SHA-256)
 *   optimizer.bin             the optimizer's state (Adam: iteration count, first and second moments)
 *   state.json                written last: epoch, step, run config, history, optimizer specs + SHA-256
 * It is written whole into a temporary sibling directory, then swapped in by renames:
 *   dir → dir.old,  tmp → dir,  rm dir.old
 * so at every instant either `dir` or `dir.old` holds a complete checkpoint (a directory cannot be
 * renamed over a non-empty one, hence the two steps); {@link loadCheckpoint} falls back to
 * `dir.old` when `dir` is missing or incomplete.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../core/errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { oneLine, readInputFileSync, readInputTextSync } from '../io/input-file.js';
import { loadModel, saveModel } from './io-handler.js';

export const STATE_JSON = 'state.json';
export const OPTIMIZER_BIN = 'optimizer.bin';

export interface OptimizerRecord {
  readonly className: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly specs: tf.io.WeightsManifestEntry[];
  /**
   * Scalar state the optimizer's getWeights leaves out, exactly (float32 values are exact in
   * JSON): Adam's running β1^t and β2^t. tfjs' setWeights recomputes them as pow(β, t), which
   * differs in the last bits from the product accumulated step by step, so without them a resumed
   * run drifts from the uninterrupted one at ~1e-8.
   */
  readonly scalars?: Record<string, number>;
}

/** Optimizer fields that hold scalar running state as variables (tfjs AdamOptimizer, AdamaxOptimizer). */
const SCALAR_STATE = ['accBeta1', 'accBeta2'] as const;

interface ScalarVariable { dataSync(): ArrayLike<number>; assign(t: tf.Tensor): void; size: number }

function scalarState(optimizer: tf.Optimizer): Partial<Record<(typeof SCALAR_STATE)[number], ScalarVariable>> {
  const o = optimizer as unknown as Record<string, unknown>;
  const out: Partial<Record<(typeof SCALAR_STATE)[number], ScalarVariable>> = {};
  for (const k of SCALAR_STATE) {
    const v = o[k] as Partial<ScalarVariable> | undefined;
    if (v && typeof v.assign === 'function' && typeof v.dataSync === 'function' && v.size === 1) out[k] = v as ScalarVariable;
  }
  return out;
}

export interface CheckpointFile<S> {
  readonly version: 1;
  readonly savedAt: string;
  readonly optimizer: OptimizerRecord | null;
  readonly state: S;
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Write a complete checkpoint of `model`, `optimizer` and `state` to `dir`, atomically (see above). */
export async function saveCheckpoint<S>(dir: string, model: tf.LayersModel, optimizer: tf.Optimizer | null, state: S, modelMeta?: Record<string, unknown>): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  await saveModel(model, tmp, modelMeta);
  let optimizerRecord: OptimizerRecord | null = null;
  if (optimizer) {
    // Adam names both moments of a variable after it: number the entries so names are unique.
    const named = (await optimizer.getWeights()).map((w, i) => ({ name: `${i}:${w.name}`, tensor: w.tensor }));
    const { data, specs } = await tf.io.encodeWeights(named);
    const bytes = new Uint8Array(data);
    await writeFileAtomic(path.join(tmp, OPTIMIZER_BIN), bytes);
    const scalars = Object.fromEntries(Object.entries(scalarState(optimizer)).map(([k, v]) => [k, v.dataSync()[0]!]));
    optimizerRecord = { className: optimizer.getClassName(), bytes: bytes.byteLength, sha256: sha256(bytes), specs, scalars };
  }
  const file: CheckpointFile<S> = { version: 1, savedAt: new Date().toISOString(), optimizer: optimizerRecord, state };
  await writeFileAtomic(path.join(tmp, STATE_JSON), JSON.stringify(file));
  const old = `${dir}.old`;
  if (fs.existsSync(dir)) {
    fs.rmSync(old, { recursive: true, force: true });
    fs.renameSync(dir, old);
  }
  fs.renameSync(tmp, dir);
  fs.rmSync(old, { recursive: true, force: true });
}

function validOptimizerRecord(r: unknown): r is OptimizerRecord {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return false;
  const o = r as Record<string, unknown>;
  return typeof o.className === 'string' && typeof o.bytes === 'number' && typeof o.sha256 === 'string' && Array.isArray(o.specs) &&
    o.specs.every((s) => s !== null && typeof s === 'object' && typeof (s as Record<string, unknown>).name === 'string' &&
      typeof (s as Record<string, unknown>).dtype === 'string' && Array.isArray((s as Record<string, unknown>).shape) &&
      ((s as Record<string, unknown>).shape as unknown[]).every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) &&
    (o.scalars === undefined || (o.scalars !== null && typeof o.scalars === 'object'));
}

/** The directory holding the last complete checkpoint (`dir`, else `dir.old`), or null. */
export function findCheckpoint(dir: string): string | null {
  for (const d of [dir, `${dir}.old`]) {
    if (fs.existsSync(path.join(d, STATE_JSON))) return d;
  }
  return null;
}

export interface LoadedCheckpoint<S> {
  readonly dir: string;
  readonly model: tf.LayersModel;
  readonly state: S;
  /** Call once the optimizer exists (after building it with the same class). */
  restoreOptimizer(optimizer: tf.Optimizer): Promise<void>;
}

/** Load the last complete checkpoint under `dir` (see {@link findCheckpoint}); null when there is none. InputError when it is corrupt. */
export async function loadCheckpoint<S>(dir: string): Promise<LoadedCheckpoint<S> | null> {
  const d = findCheckpoint(dir);
  if (!d) return null;
  const statePath = path.join(d, STATE_JSON);
  let file: CheckpointFile<S>;
  try {
    file = JSON.parse(readInputTextSync(statePath, { maxBytes: 256 << 20 })) as CheckpointFile<S>;
  } catch (e) {
    throw new InputError(`${statePath}: corrupt checkpoint state (${oneLine((e as Error).message)})`);
  }
  if (file === null || typeof file !== 'object' || Array.isArray(file)) throw new InputError(`${statePath}: corrupt checkpoint state (not an object)`);
  if (file.version !== 1) throw new InputError(`${statePath}: unknown checkpoint version ${String(file.version)}`);
  if (file.optimizer !== null && !validOptimizerRecord(file.optimizer)) throw new InputError(`${statePath}: corrupt optimizer record`);
  let optimizerBytes: Uint8Array | null = null;
  if (file.optimizer) {
    const p = path.join(d, OPTIMIZER_BIN);
    if (!fs.existsSync(p)) throw new InputError(`${p}: missing (the checkpoint's state.json refers to it)`);
    optimizerBytes = new Uint8Array(readInputFileSync(p));
    if (optimizerBytes.byteLength !== file.optimizer.bytes || sha256(optimizerBytes) !== file.optimizer.sha256) {
      throw new InputError(`${p}: size or checksum differs from ${STATE_JSON} (corrupt checkpoint)`);
    }
  }
  const model = await loadModel(d);
  const rec = file.optimizer;
  return {
    dir: d,
    model,
    state: file.state,
    restoreOptimizer: async (optimizer) => {
      if (!rec || !optimizerBytes) return;
      if (optimizer.getClassName() !== rec.className) {
        throw new InputError(`${d}: the checkpoint holds ${rec.className} state, not ${optimizer.getClassName()}`);
      }
      const buf = optimizerBytes.buffer.slice(optimizerBytes.byteOffset, optimizerBytes.byteOffset + optimizerBytes.byteLength) as ArrayBuffer;
      let map: tf.NamedTensorMap;
      try {
        map = tf.io.decodeWeights(buf, rec.specs);
      } catch (e) {
        throw new InputError(`${path.join(d, OPTIMIZER_BIN)}: does not match its specs in ${STATE_JSON} (${(e as Error).message})`, { cause: e });
      }
      await optimizer.setWeights(rec.specs.map((s) => ({ name: s.name.slice(s.name.indexOf(':') + 1), tensor: map[s.name]! })));
      const vars = scalarState(optimizer);
      for (const [k, v] of Object.entries(rec.scalars ?? {})) {
        const target = vars[k as keyof typeof vars];
        if (target && typeof v === 'number' && Number.isFinite(v)) tf.tidy(() => target.assign(tf.scalar(v)));
      }
    },
  };
}
