/**
 * Save/load a tfjs LayersModel as a directory in the standard tfjs layers format — `model.json`
 * (topology + weights manifest) and `weights.bin` — loadable as is by `tf.loadLayersModel` in a
 * browser (serve the directory, load `.../model.json`).
 *
 * Writes are atomic per file (temp file + fsync + rename) and ordered: weights.bin first, model.json
 * last, so model.json appearing is the commit point. model.json also records the byte length and
 * SHA-256 of weights.bin (under `userDefinedMetadata.caldera`), so a weights file from another save
 * (e.g. a crash between the two renames) or a truncated/corrupt one is detected on load with a
 * clear error instead of loading garbage. It also records each weight's name, shape, dtype and a
 * SHA-256 of its bytes, in order: weightsManifest entries reordered or edited (which tfjs would
 * load by name into the wrong bytes, passing the whole-file checksum) are refused; for older saves
 * without that record, `loadModel` checks the entries' order against the model it builds.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../core/errors.js';
import { ensureWritableDir, writeFileAtomic } from '../io/atomic.js';
import { oneLine, readInputFile } from '../io/input-file.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** Integrity record stored in model.json's userDefinedMetadata under this key. */
export const INTEGRITY_KEY = 'caldera';

/** One weight as saved: name, shape, dtype and the first 16 hex digits of the SHA-256 of its bytes. */
interface WeightRecord { name: string; shape: number[]; dtype: string; sha256: string }

interface Integrity { weightsBytes: number; weightsSha256: string; savedAt: string; weights?: WeightRecord[] }

function sha256(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

function joinWeights(data: tf.io.WeightData | undefined): Uint8Array {
  if (data == null) return new Uint8Array(0);
  const buf = Array.isArray(data) ? tf.io.CompositeArrayBuffer.join(data) : data;
  return new Uint8Array(buf);
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

/** Bytes one weight spec needs (honours quantisation). */
function specBytes(s: tf.io.WeightsManifestEntry): number {
  const size = s.shape.reduce((a, b) => a * b, 1);
  const dtype = s.quantization?.dtype ?? s.dtype;
  const b = Object.prototype.hasOwnProperty.call(BYTES, dtype) ? BYTES[dtype] : undefined;
  if (b == null) throw new Error(`unsupported weight dtype '${String(dtype)}' for ${s.name}`);
  return size * b;
}

/** Bytes the weight specs need (honours quantisation). */
export function expectedWeightBytes(specs: tf.io.WeightsManifestEntry[]): number {
  let n = 0;
  for (const s of specs) n += specBytes(s);
  return n;
}

function weightRecords(specs: tf.io.WeightsManifestEntry[], weights: Uint8Array): WeightRecord[] {
  let off = 0;
  return specs.map((s) => {
    const n = specBytes(s);
    const rec = { name: s.name, shape: [...s.shape], dtype: s.dtype, sha256: sha256(weights.subarray(off, off + n)).slice(0, 16) };
    off += n;
    return rec;
  });
}

/** A tfjs message as one line (its unknown-class message runs over several). */
export function oneLineMessage(msg: string): string {
  const unknown = /^Unknown ([\w ]+?): ([^\s.]+)\. This may be due/.exec(msg);
  if (unknown) return `unknown ${unknown[1]} class '${unknown[2]}' (not a tfjs built-in, e.g. defined in Python or a custom class)`;
  const flat = msg.replace(/\s*\n\s*/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * What is wrong with a layers-model topology's structure, or null: layers with string names, once
 * each; every inbound node, input and output naming an existing layer and a node it will have;
 * and the nodes buildable in some order (tfjs' own loader loops forever on a node that waits for
 * a layer or node that never comes).
 */
export function topologyProblem(topology: unknown): string | null {
  if (!isObj(topology)) return 'not an object';
  const t = isObj(topology.model_config) ? topology.model_config : topology; // Keras files wrap it
  if (typeof t.class_name !== 'string') return 'class_name is not a string';
  if (!isObj(t.config)) return t.class_name === 'Sequential' && Array.isArray(t.config) ? null : 'config is not an object';
  const layers = t.config.layers;
  if (!Array.isArray(layers)) return 'config.layers is not a list';
  const nodes = new Map<string, { inbound: unknown[]; made: number; isInput: boolean }>();
  for (const [i, l] of layers.entries()) {
    if (!isObj(l) || typeof l.class_name !== 'string' || !isObj(l.config)) return `layer ${i} is not {class_name, config}`;
    if (t.class_name === 'Sequential') continue;
    // tfjs keys layers by the top-level name and names them from config.name: both, the same.
    const name = l.name;
    if (typeof name !== 'string' || name === '') return `layer ${i} has no name`;
    if (l.config.name !== name) return `layer '${name}' has config.name ${JSON.stringify(l.config.name) ?? 'missing'}`;
    if (nodes.has(name)) return `two layers are named '${name}'`;
    const inbound = l.inbound_nodes ?? l.inboundNodes ?? [];
    if (!Array.isArray(inbound)) return `layer '${name}': inbound_nodes is not a list`;
    nodes.set(name, { inbound, made: l.class_name === 'InputLayer' ? 1 : 0, isInput: l.class_name === 'InputLayer' });
  }
  if (t.class_name === 'Sequential') return null;
  // Each inbound node: a list of [layer name, node index, tensor index, kwargs?].
  const pending: { layer: string; refs: [string, number][] }[] = [];
  for (const [name, n] of nodes) {
    for (const node of n.inbound) {
      if (!Array.isArray(node) || node.length === 0) return `layer '${name}': an inbound node is not a non-empty list`;
      const refs: [string, number][] = [];
      for (const ref of node) {
        if (!Array.isArray(ref) || ref.length < 3 || typeof ref[0] !== 'string' || !isIndex(ref[1]) || !isIndex(ref[2]) ||
            (ref[3] != null && !isObj(ref[3]))) {
          return `layer '${name}': an inbound node entry is not [layer name, node index, tensor index]`;
        }
        if (!nodes.has(ref[0])) return `layer '${name}' takes its input from '${ref[0]}', which is not a layer of the model`;
        refs.push([ref[0], ref[1]]);
      }
      pending.push({ layer: name, refs });
    }
  }
  // Build the nodes in passes, as tfjs does; a pass that builds nothing means some never can.
  while (pending.length > 0) {
    const before = pending.length;
    for (let k = 0; k < pending.length; k++) {
      const p = pending[k]!;
      if (p.refs.every(([l, i]) => nodes.get(l)!.made > i)) {
        nodes.get(p.layer)!.made++;
        pending.splice(k--, 1);
      }
    }
    if (pending.length === before) return `the inputs of layer '${pending[0]!.layer}' can never be built (a cycle, or a node that does not exist)`;
  }
  for (const key of ['input_layers', 'output_layers'] as const) {
    const list = t.config[key] ?? t.config[key === 'input_layers' ? 'inputLayers' : 'outputLayers'];
    if (!Array.isArray(list) || list.length === 0) return `config.${key} is not a non-empty list`;
    for (const ref of list) {
      if (!Array.isArray(ref) || typeof ref[0] !== 'string' || !isIndex(ref[1]) || !isIndex(ref[2]) || !nodes.has(ref[0]) || nodes.get(ref[0])!.made <= ref[1]) {
        return `config.${key} names a layer or node the model does not have`;
      }
    }
  }
  return null;
}

/** A weightsManifest entry must name a weight, with a shape of non-negative integers and a dtype. */
function checkSpec(v: unknown, jsonPath: string, where: string): tf.io.WeightsManifestEntry {
  if (!isObj(v) || typeof v.name !== 'string' || typeof v.dtype !== 'string' || !Array.isArray(v.shape) ||
      !v.shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0) ||
      (v.quantization !== undefined && (!isObj(v.quantization) || typeof v.quantization.dtype !== 'string'))) {
    throw new InputError(`${jsonPath}: corrupt weightsManifest ${where} (needs name, shape and dtype)`);
  }
  return v as unknown as tf.io.WeightsManifestEntry;
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
      const integrity: Integrity = {
        weightsBytes: weights.byteLength, weightsSha256: sha256(weights), savedAt: new Date().toISOString(), weights: weightRecords(specs, weights),
      };
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
    text = (await readInputFile(jsonPath, { maxBytes: 256 << 20 })).toString('utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? ((e as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    if (e instanceof InputError && code !== 'ENOENT') throw e;
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
    throw new InputError(`${jsonPath}: corrupt (not valid JSON: ${oneLine((e as Error).message)})`, { cause: e });
  }
  if (!isObj(json) || !isObj(json.modelTopology) || !Array.isArray(json.weightsManifest)) {
    throw new InputError(`${jsonPath}: corrupt (missing modelTopology or weightsManifest)`);
  }
  if (json.userDefinedMetadata !== undefined && !isObj(json.userDefinedMetadata)) {
    throw new InputError(`${jsonPath}: corrupt (userDefinedMetadata is not an object)`);
  }
  const graphProblem = topologyProblem(json.modelTopology);
  if (graphProblem) throw new InputError(`${jsonPath}: corrupt modelTopology (${graphProblem})`);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  for (const [g, group] of json.weightsManifest.entries()) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights) || !group.paths.every((p) => typeof p === 'string')) {
      throw new InputError(`${jsonPath}: corrupt weightsManifest entry`);
    }
    group.weights.forEach((w, i) => specs.push(checkSpec(w, jsonPath, `group ${g} weight ${i}`)));
    for (const p of group.paths) {
      const rel = path.normalize(p);
      if (path.isAbsolute(rel) || rel.startsWith('..') || p.includes('\0')) throw new InputError(`${jsonPath}: weights path '${p}' leaves the model directory`);
      const file = path.join(dir, rel);
      try {
        parts.push(new Uint8Array(await readInputFile(file)));
      } catch (e) {
        const code = ((e as Error).cause as NodeJS.ErrnoException | undefined)?.code;
        throw new InputError(code === 'ENOENT' ? `${file}: missing (referenced by ${MODEL_JSON})` : (e as Error).message, { cause: e });
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
  if (integrity?.weights !== undefined) checkWeightIdentity(integrity.weights, specs, null, jsonPath, weightsName);
  if (integrity?.weightsSha256 != null && integrity.weightsSha256 !== sha256(weights)) {
    throw new InputError(`${weightsName}: checksum mismatch with ${MODEL_JSON} (corrupt, or from another save)`);
  }
  if (integrity?.weights !== undefined && integrity.weightsSha256 == null) checkWeightIdentity(integrity.weights, specs, weights, jsonPath, weightsName);
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

const shapeText = (s: readonly unknown[]): string => `[${s.join(',')}]`;

/**
 * Each weight of the manifest must be the one the save recorded at that place (name, shape,
 * dtype) and, when `weights` is given, have the bytes it had: tfjs decodes weights by their place in the manifest and loads them
 * by name, so reordered entries would put bytes into the wrong layers without changing the file.
 */
function checkWeightIdentity(recorded: unknown, specs: tf.io.WeightsManifestEntry[], weights: Uint8Array | null, jsonPath: string, weightsName: string): void {
  if (!Array.isArray(recorded)) throw new InputError(`${jsonPath}: corrupt integrity record (weights is not a list)`);
  if (recorded.length !== specs.length) {
    throw new InputError(`${jsonPath}: weightsManifest lists ${specs.length} weights, the save recorded ${recorded.length} (edited?)`);
  }
  let off = 0;
  specs.forEach((s, i) => {
    const r = recorded[i] as Partial<WeightRecord> | null;
    const same = isObj(r) && r.name === s.name && r.dtype === s.dtype && Array.isArray(r.shape) && shapeText(r.shape) === shapeText(s.shape);
    if (!same) {
      const was = isObj(r) ? `'${String(r.name)}' ${Array.isArray(r.shape) ? shapeText(r.shape) : '?'}` : 'nothing';
      throw new InputError(`${jsonPath}: weightsManifest entry ${i} is '${s.name}' ${shapeText(s.shape)}, the save recorded ${was} there ` +
        '(entries reordered or edited: the weights would load into the wrong layers)');
    }
    const n = specBytes(s);
    if (weights && sha256(weights.subarray(off, off + n)).slice(0, 16) !== r.sha256) {
      throw new InputError(`${weightsName}: checksum mismatch for weight '${s.name}' (entry ${i}) with ${MODEL_JSON} (corrupt, or from another save)`);
    }
    off += n;
  });
}

/**
 * While models are being built from files, every weight tfjs creates (it allocates each layer's
 * weights from the topology before loading the file's values) must fit in what the files' weight
 * specs hold, with 1 MiB to spare: a topology edited to need huge weights (a million filters, a
 * huge input) is refused before the allocation instead of taking gigabytes. One guard around
 * `Layer.addWeight`, shared by concurrent loads (their budgets add up).
 */
const weightGuard = { open: 0, remaining: 0, installed: false };

function openWeightBudget(bytes: number): { close(): void } {
  if (!weightGuard.installed) {
    weightGuard.installed = true;
    const proto = tf.layers.Layer.prototype as unknown as { addWeight: (...a: unknown[]) => unknown };
    const original = proto.addWeight;
    proto.addWeight = function guarded(this: unknown, ...args: unknown[]): unknown {
      if (weightGuard.open > 0) {
        const [name, shape, dtype] = args as [string, unknown, string | undefined];
        const dims = Array.isArray(shape) ? shape : [];
        if (!Array.isArray(shape) || !dims.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
          throw new InputError(`weight '${name}' has shape [${dims.join(',')}] (corrupt topology)`);
        }
        const bytes = dims.reduce((a: number, d) => a * (d as number), 1) * (BYTES[dtype ?? 'float32'] ?? 4);
        if (bytes > weightGuard.remaining) {
          throw new InputError(`the topology needs weight '${name}' [${dims.join(',')}] (${bytes} bytes), more than the weights file holds`);
        }
        weightGuard.remaining -= bytes;
      }
      return original.apply(this, args);
    };
  }
  weightGuard.open++;
  weightGuard.remaining += bytes + (1 << 20);
  let closed = false;
  return {
    close(): void {
      if (closed) return;
      closed = true;
      if (--weightGuard.open === 0) weightGuard.remaining = 0;
    },
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
  const jsonPath = path.join(dir, MODEL_JSON);
  let model: tf.LayersModel;
  const budget = openWeightBudget(expectedWeightBytes(artifacts.weightSpecs ?? []));
  try {
    model = await tf.loadLayersModel({ load: async () => artifacts });
  } catch (e) {
    throw new InputError(`${jsonPath}: cannot build the model (${oneLineMessage(String((e as Error)?.message ?? e))})`, { cause: e });
  } finally {
    budget.close();
  }
  // A caldera save lists the weights in the model's own order (what LayersModel.save writes):
  // check it, so that reordered entries are caught also in saves made before per-weight records.
  if (artifacts.userDefinedMetadata?.[INTEGRITY_KEY] != null) {
    const names = model.weights.map((w) => w.originalName);
    const specs = artifacts.weightSpecs ?? [];
    const k = specs.findIndex((s, i) => s.name !== names[i]);
    if (k >= 0 || specs.length !== names.length) {
      model.dispose();
      const at = k >= 0 ? k : Math.min(specs.length, names.length);
      throw new InputError(`${jsonPath}: weightsManifest entry ${at} is '${specs[at]?.name ?? 'missing'}', the model's weight ${at} is ` +
        `'${names[at] ?? 'missing'}' (entries reordered or edited: the weights would load into the wrong layers)`);
    }
  }
  return model;
}

/** The userDefinedMetadata of a saved model (without loading weights). */
export async function readModelMetadata(dir: string): Promise<Record<string, unknown>> {
  const jsonPath = path.join(dir, MODEL_JSON);
  let text: string;
  try {
    text = (await readInputFile(jsonPath, { maxBytes: 256 << 20 })).toString('utf8');
  } catch (e) {
    const code = ((e as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    throw new InputError(code === 'ENOENT' ? `${dir}: no saved model here (missing ${MODEL_JSON})` : (e as Error).message, { cause: e });
  }
  try {
    const meta = (JSON.parse(text) as { userDefinedMetadata?: unknown } | null)?.userDefinedMetadata ?? {};
    if (!isObj(meta)) throw new Error('userDefinedMetadata is not an object');
    return meta;
  } catch (e) {
    throw new InputError(`${jsonPath}: corrupt (not valid JSON)`, { cause: e });
  }
}
