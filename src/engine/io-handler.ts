/**
 * Save/load a tfjs LayersModel as a directory in the standard tfjs layers format — `model.json`
 * (topology + weights manifest) and `weights.bin` — loadable as is by `tf.loadLayersModel` in a
 * browser (serve the directory, load `.../model.json`).
 *
 * Writes are atomic per file (temp file + fsync + rename) and ordered: weights.bin first, model.json
 * last, so model.json appearing is the commit point. model.json also records the byte length and
 * SHA-256 of weights.bin (under `userDefinedMetadata.caldera`), so a weights file from another save
 * (e.g. a crash between the two renames) or a truncated/corrupt one is detected on load with a
 * clear error instead of loading garbage.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../core/errors.js';
import { ensureWritableDir, writeFileAtomic } from '../io/atomic.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** Integrity record stored in model.json's userDefinedMetadata under this key. */
export const INTEGRITY_KEY = 'caldera';

interface Integrity { weightsBytes: number; weightsSha256: string; savedAt: string }

function sha256(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

function joinWeights(data: tf.io.WeightData | undefined): Uint8Array {
  if (data == null) return new Uint8Array(0);
  const buf = Array.isArray(data) ? tf.io.CompositeArrayBuffer.join(data) : data;
  return new Uint8Array(buf);
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

/** Bytes the weight specs need (honours quantisation). */
export function expectedWeightBytes(specs: tf.io.WeightsManifestEntry[]): number {
  let n = 0;
  for (const s of specs) {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const dtype = s.quantization?.dtype ?? s.dtype;
    const b = BYTES[dtype];
    if (b == null) throw new Error(`unsupported weight dtype '${dtype}' for ${s.name}`);
    n += size * b;
  }
  return n;
}

/**
 * An IOHandler for `model.save(handler)` / `tf.loadLayersModel(handler)` backed by directory `dir`.
 * `extraMeta` is merged into the saved model's userDefinedMetadata.
 */
export function directoryHandler(dir: string, extraMeta?: Record<string, unknown>): tf.io.IOHandler {
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('directoryHandler: binary (graph) model topologies are not supported');
      }
      ensureWritableDir(dir);
      const weights = joinWeights(artifacts.weightData);
      const specs = artifacts.weightSpecs ?? [];
      const expected = expectedWeightBytes(specs);
      if (expected !== weights.byteLength) {
        throw new Error(`directoryHandler: weights are ${weights.byteLength} bytes but the specs need ${expected}`);
      }
      const integrity: Integrity = { weightsBytes: weights.byteLength, weightsSha256: sha256(weights), savedAt: new Date().toISOString() };
      const meta = { ...(artifacts.userDefinedMetadata ?? {}), ...(extraMeta ?? {}), [INTEGRITY_KEY]: integrity };
      const json: Record<string, unknown> = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: specs }],
        userDefinedMetadata: meta,
      };
      if (artifacts.trainingConfig != null) json.trainingConfig = artifacts.trainingConfig;
      if (artifacts.signature != null) json.signature = artifacts.signature;
      // Weights first, model.json last: model.json is the commit point.
      await writeFileAtomic(path.join(dir, WEIGHTS_BIN), weights);
      const text = JSON.stringify(json);
      await writeFileAtomic(path.join(dir, MODEL_JSON), text);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: Buffer.byteLength(JSON.stringify(artifacts.modelTopology)),
          weightSpecsBytes: Buffer.byteLength(JSON.stringify(specs)),
          weightDataBytes: weights.byteLength,
        },
      };
    },
    load: async (): Promise<tf.io.ModelArtifacts> => readArtifacts(dir),
  };
}

/** Read and validate model.json + weights from `dir`. Throws InputError naming the problem. */
export async function readArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  const jsonPath = path.join(dir, MODEL_JSON);
  let text: string;
  try {
    const st = await fs.stat(dir);
    if (!st.isDirectory()) throw new InputError(`${dir}: not a directory`);
    text = await fs.readFile(jsonPath, 'utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new InputError(`${dir}: no saved model here (missing ${MODEL_JSON})`, { cause: e });
    }
    throw new InputError(`${jsonPath}: cannot read (${(e as Error).message})`, { cause: e });
  }
  let json: {
    modelTopology?: unknown; format?: string; generatedBy?: string; convertedBy?: string | null;
    weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    userDefinedMetadata?: Record<string, unknown>; trainingConfig?: tf.io.TrainingConfig; signature?: object;
  };
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${jsonPath}: corrupt (not valid JSON: ${(e as Error).message})`, { cause: e });
  }
  if (json == null || typeof json !== 'object' || json.modelTopology == null || !Array.isArray(json.weightsManifest)) {
    throw new InputError(`${jsonPath}: corrupt (missing modelTopology or weightsManifest)`);
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) {
      throw new InputError(`${jsonPath}: corrupt weightsManifest entry`);
    }
    specs.push(...group.weights);
    for (const p of group.paths) {
      const rel = path.normalize(p);
      if (path.isAbsolute(rel) || rel.startsWith('..')) throw new InputError(`${jsonPath}: weights path '${p}' leaves the model directory`);
      const file = path.join(dir, rel);
      try {
        parts.push(new Uint8Array(await fs.readFile(file)));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new InputError(code === 'ENOENT'
          ? `${file}: missing (referenced by ${MODEL_JSON})`
          : `${file}: cannot read (${(e as Error).message})`, { cause: e });
      }
    }
  }
  const total = parts.reduce((a, b) => a + b.byteLength, 0);
  const weights = new Uint8Array(total);
  let off = 0;
  for (const p of parts) { weights.set(p, off); off += p.byteLength; }
  let expected: number;
  try {
    expected = expectedWeightBytes(specs);
  } catch (e) {
    throw new InputError(`${jsonPath}: ${(e as Error).message}`, { cause: e });
  }
  const weightsName = path.join(dir, json.weightsManifest.length === 1 && json.weightsManifest[0].paths.length === 1
    ? json.weightsManifest[0].paths[0] : WEIGHTS_BIN);
  if (total !== expected) {
    throw new InputError(`${weightsName}: expected ${expected} bytes (from ${MODEL_JSON}), got ${total}` +
      (total < expected ? ' (truncated?)' : ''));
  }
  const integrity = json.userDefinedMetadata?.[INTEGRITY_KEY] as Partial<Integrity> | undefined;
  if (integrity?.weightsSha256 != null && integrity.weightsSha256 !== sha256(weights)) {
    throw new InputError(`${weightsName}: checksum mismatch with ${MODEL_JSON} (corrupt, or from another save)`);
  }
  return {
    modelTopology: json.modelTopology as object,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
    weightSpecs: specs,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    userDefinedMetadata: json.userDefinedMetadata as { [key: string]: {} } | undefined,
    trainingConfig: json.trainingConfig,
    signature: json.signature,
  };
}

/**
 * Save `model` to directory `dir` (created if needed) as model.json + weights.bin. `extraMeta`
 * (JSON-serialisable) is stored in model.json's userDefinedMetadata and comes back from
 * `loadModel(dir).getUserDefinedMetadata()` (or {@link readModelMetadata}).
 */
export async function saveModel(model: tf.LayersModel, dir: string, extraMeta?: Record<string, unknown>): Promise<tf.io.SaveResult> {
  return model.save(directoryHandler(dir, extraMeta));
}

/** Load a model saved by {@link saveModel} (or any tfjs layers-format directory). InputError on a bad directory. */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const artifacts = await readArtifacts(dir);
  try {
    return await tf.loadLayersModel({ load: async () => artifacts });
  } catch (e) {
    throw new InputError(`${path.join(dir, MODEL_JSON)}: cannot build the model (${(e as Error).message})`, { cause: e });
  }
}

/** The userDefinedMetadata of a saved model (without loading weights). */
export async function readModelMetadata(dir: string): Promise<Record<string, unknown>> {
  const jsonPath = path.join(dir, MODEL_JSON);
  let text: string;
  try {
    text = await fs.readFile(jsonPath, 'utf8');
  } catch (e) {
    throw new InputError(`${dir}: no saved model here (missing ${MODEL_JSON})`, { cause: e });
  }
  try {
    return (JSON.parse(text).userDefinedMetadata ?? {}) as Record<string, unknown>;
  } catch (e) {
    throw new InputError(`${jsonPath}: corrupt (not valid JSON)`, { cause: e });
  }
}
