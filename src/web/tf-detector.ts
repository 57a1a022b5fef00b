/// <reference lib="dom" />
/**
 * The detector in a browser: tfjs on the wasm backend (the `.wasm` files served beside the page),
 * else WebGL, else plain JS; the model fetched from the site's own folder (standard tfjs layers
 * `model.json` + `weights.bin`, checked against the SHA-256 caldera recorded when it saved them),
 * run by the network's own `predict` (`engine/network.ts`) and wrapped by `detectorFromForward`
 * (`scan/forward.ts`: batching, calibration temperature), as the Node engines are.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { predict } from '../engine/network.js';
import { parseChannelFormat, type ChannelFormat } from '../data/channels.js';
import { detectorFromForward, type Detector, type Forward } from '../scan/forward.js';

export type BackendName = 'wasm' | 'webgl' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['wasm', 'webgl', 'cpu'];

/**
 * Start the first backend of `order` that works (wasm from `wasmDir`). Returns its name and what
 * failed before it.
 */
export async function startBackend(wasmDir: string, order: readonly BackendName[] = BACKENDS): Promise<{ backend: BackendName; failed: string[] }> {
  setWasmPaths(wasmDir);
  const failed: string[] = [];
  for (const b of order) {
    try {
      if (await tf.setBackend(b)) {
        await tf.ready();
        if (tf.getBackend() === b) return { backend: b, failed };
      }
      failed.push(`${b}: did not start`);
    } catch (e) {
      failed.push(`${b}: ${(e as Error).message ?? String(e)}`);
    }
  }
  throw new Error(`no tfjs backend started (${failed.join('; ')})`);
}

export interface LoadedModel {
  /** The detector, with sign symmetry (also run the negated phase and average) or without. */
  detector(symmetric?: boolean): Detector;
  readonly format: ChannelFormat;
  readonly size: number;
  /** Whether the weights' SHA-256 was checked (needs a secure context: https or 127.0.0.1). */
  readonly checked: boolean;
  readonly temperature: number | null;
}

async function fetchOk(url: URL, what: string): Promise<Response> {
  let r: Response;
  try {
    r = await fetch(url);
  } catch (e) {
    throw new Error(`${what} (${url.pathname}): cannot be fetched (${(e as Error).message})`);
  }
  if (!r.ok) throw new Error(`${what} (${url.pathname}): HTTP ${r.status} ${r.statusText}`.trim());
  return r;
}

const hex = (b: ArrayBuffer): string => [...new Uint8Array(b)].map((v) => v.toString(16).padStart(2, '0')).join('');

/** Wait for the next task, so the page can paint progress between batches. */
const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Load the caldera model at `modelUrl` (a folder URL ending in '/'): its channel format and input
 * size from `calderaModel` in model.json, the weights checked, the calibration temperature from
 * `calibration.json` when there is one (`opts.calibration`: whether there is; unknown: try). `name`
 * is the model's name in records.
 */
export async function loadModel(modelUrl: URL, name: string, opts: { batchSize?: number; calibration?: boolean } = {}): Promise<LoadedModel> {
  const jsonUrl = new URL('model.json', modelUrl);
  let json: {
    modelTopology?: unknown; weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    userDefinedMetadata?: Record<string, unknown>; format?: string; generatedBy?: string; convertedBy?: string | null;
  };
  try {
    json = await (await fetchOk(jsonUrl, 'model.json')).json();
  } catch (e) {
    throw e instanceof SyntaxError ? new Error(`model.json: not valid JSON (${e.message})`) : e;
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new Error('model.json: not a tfjs layers model (no modelTopology or weightsManifest)');
  }
  const meta = json.userDefinedMetadata?.calderaModel as { channelFormat?: unknown; inputSize?: unknown } | undefined;
  if (!meta || typeof meta !== 'object') throw new Error('model.json: not a caldera model (no calderaModel metadata)');
  const format = parseChannelFormat(String(meta.channelFormat));
  const size = Number(meta.inputSize);
  if (!Number.isInteger(size) || size < 32) throw new Error(`model.json: bad input size '${String(meta.inputSize)}'`);

  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) parts.push(await (await fetchOk(new URL(p, jsonUrl), p)).arrayBuffer());
  }
  const total = parts.reduce((a, b) => a + b.byteLength, 0);
  const weights = new Uint8Array(total);
  let off = 0;
  for (const p of parts) { weights.set(new Uint8Array(p), off); off += p.byteLength; }
  const integrity = json.userDefinedMetadata?.caldera as { weightsSha256?: string } | undefined;
  let checked = false;
  if (integrity?.weightsSha256 && globalThis.crypto?.subtle) {
    const sum = hex(await crypto.subtle.digest('SHA-256', weights));
    if (sum !== integrity.weightsSha256) throw new Error('weights.bin: checksum mismatch with model.json (corrupt, or from another save)');
    checked = true;
  }
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel({
      load: async () => ({
        modelTopology: json.modelTopology as object, weightSpecs: specs, weightData: weights.buffer,
        format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy ?? undefined,
      }),
    });
  } catch (e) {
    throw new Error(`model.json: cannot build the model (${String((e as Error).message ?? e).split('\n')[0]})`);
  }
  const shape = model.inputs[0]?.shape;
  if (!shape || shape[1] !== size || shape[2] !== size || shape[3] !== format.length) {
    model.dispose();
    throw new Error(`model.json: the network's input [${shape?.slice(1).join('×')}] does not match its metadata (${size}×${size}, format '${format}')`);
  }

  let temperature: number | null = null;
  // calibration.json: fetched when the site says the model has one (unknown: try, a 404 means none).
  const cal = opts.calibration === false ? null : await fetch(new URL('calibration.json', modelUrl)).catch(() => null);
  if (opts.calibration === true && !cal?.ok) throw new Error(`calibration.json: cannot be fetched (${cal ? `HTTP ${cal.status}` : 'no answer'})`);
  if (cal?.ok) {
    const t = ((await cal.json().catch(() => ({}))) as { temperature?: unknown }).temperature;
    if (typeof t !== 'number' || !(t > 0) || !Number.isFinite(t)) throw new Error(`calibration.json: temperature must be a number > 0, got ${JSON.stringify(t)}`);
    temperature = t;
  }

  const C = format.length;
  const forward: Forward = async (inputs) => {
    await nextTask();
    const px = size * size * C;
    const flat = new Float32Array(inputs.length * px);
    inputs.forEach((x, i) => flat.set(x, i * px));
    const x = tf.tensor4d(flat, [inputs.length, size, size, C]);
    const { classProbs, box } = tf.tidy(() => predict(model, x));
    const [probs, boxes] = await Promise.all([classProbs.data(), box.data()]);
    tf.dispose([x, classProbs, box]);
    return { probs: probs as Float32Array, boxes: boxes as Float32Array };
  };
  const detector = (symmetric = false): Detector => detectorFromForward(forward, {
    format, size, name: `${name}${symmetric ? ' (sign-symmetric)' : ''}`, batchSize: opts.batchSize ?? 16,
    ...(temperature !== null ? { temperature } : {}),
  }, symmetric);
  return { detector, format, size, checked, temperature };
}
