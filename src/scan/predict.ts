/**
 * Prediction on user interferograms of any size: read a raster (.npy or single-band GeoTIFF, phase
 * in radians or LOS metres), fit it into the model's square input, run one forward pass, and map
 * the box back to the input's own pixels.
 *
 * Fitting (keeps the aspect ratio): the raster (W×H) is centred in an L×L square, L = max(W, H),
 * the short side padded with masked pixels (padX = floor((L−W)/2), padY = floor((L−H)/2)); the
 * square is then resampled to S×S (S = 224) by area averaging of the valid pixels (an output pixel
 * is masked when less than half its footprint is valid). With s = L/S, pixel centres at integer
 * coordinates, the network's box (cx, cy, hw, hh, normalised to S) maps back as
 *   x = (cx·S + 0.5)·s − 0.5 − padX,   y = (cy·S + 0.5)·s − 0.5 − padY,
 *   halfWidth = hw·S·s,                halfHeight = hh·S·s.
 * A 224×224 input is used as is (s = 1, no padding).
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../core/errors.js';
import { readNpy } from '../io/npy.js';
import { readGeoTiff } from '../io/geotiff.js';
import { boxCorners, type CentreBox } from '../core/box.js';
import { losToPhaseArray } from '../physics/units.js';
import { makeChannels, parseChannelFormat, type ChannelFormat } from '../data/channels.js';
import { phaseImage } from '../data/view.js';
import { contactSheet, type Canvas } from '../io/draw.js';
import { cyclic } from '../io/colormap.js';
import { initBackend } from '../engine/backend.js';
import { loadModel, readModelMetadata } from '../engine/io-handler.js';
import { predict } from '../engine/network.js';
import { CLASS_NAMES } from '../core/classes.js';
import { MODEL_META_KEY, type ModelMeta } from '../train/train.js';

/** `models/default/` at the package root (this file is dist/src/model/predict.js). */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../../models/default/', import.meta.url));

export interface TrainedModel {
  readonly dir: string;
  readonly model: tf.LayersModel;
  readonly format: ChannelFormat;
  readonly size: number;
  readonly meta: ModelMeta;
}

/** What a format needs beyond the phase. */
export function formatNeeds(format: ChannelFormat): { dem: boolean; coherence: boolean } {
  return { dem: format.includes('d'), coherence: format.includes('c') };
}

/** Load a model saved by `caldera train` and check its metadata (channel format, input size). */
export async function loadTrainedModel(dir: string): Promise<TrainedModel> {
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
  await initBackend();
  const model = await loadModel(dir);
  const shape = model.inputs[0]?.shape;
  if (!shape || shape[1] !== size || shape[2] !== size || shape[3] !== format.length) {
    model.dispose();
    throw new InputError(`${dir}: the network's input [${shape?.slice(1).join('×')}] does not match its metadata (${size}×${size}, format '${format}')`);
  }
  return { dir, model, format, size, meta: raw as ModelMeta };
}

/** Where an input raster sits in the model's square input. */
export interface SquareFit {
  readonly width: number;
  readonly height: number;
  /** Side of the padded square, in input pixels. */
  readonly side: number;
  readonly padX: number;
  readonly padY: number;
  /** Model input size. */
  readonly size: number;
  /** Input pixels per model pixel (side / size). */
  readonly scale: number;
}

export function squareFit(width: number, height: number, size: number): SquareFit {
  const side = Math.max(width, height);
  return { width, height, side, padX: Math.floor((side - width) / 2), padY: Math.floor((side - height) / 2), size, scale: side / size };
}

/** Source pixels and weights of each output pixel along one axis (footprint [j·s − pad, (j+1)·s − pad)). */
function axisWeights(n: number, out: number, scale: number, pad: number): { idx: Int32Array; w: Float32Array; start: Int32Array } {
  const starts: number[] = [0];
  const idx: number[] = [];
  const w: number[] = [];
  for (let j = 0; j < out; j++) {
    const a = j * scale - pad, b = (j + 1) * scale - pad;
    for (let k = Math.max(0, Math.floor(a)); k < Math.min(n, Math.ceil(b)); k++) {
      const ov = Math.min(b, k + 1) - Math.max(a, k);
      if (ov > 1e-9) { idx.push(k); w.push(ov); }
    }
    starts.push(idx.length);
  }
  return { idx: Int32Array.from(idx), w: Float32Array.from(w), start: Int32Array.from(starts) };
}

/**
 * Resample a W×H raster (NaN = masked) into the S×S model square (see the module comment):
 * NaN where less than half an output pixel's footprint is valid.
 */
export function resampleToSquare(data: Float32Array, fit: SquareFit): Float32Array {
  const { width, height, size, scale } = fit;
  if (data.length !== width * height) throw new RangeError(`resampleToSquare: ${data.length} values for ${width}×${height}`);
  const ax = axisWeights(width, size, scale, fit.padX);
  const ay = axisWeights(height, size, scale, fit.padY);
  // Pass 1: along x, for every input row: weighted sums of valid values and of valid weights.
  const s1 = new Float64Array(height * size), w1 = new Float64Array(height * size);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let j = 0; j < size; j++) {
      let s = 0, wsum = 0;
      for (let q = ax.start[j]!; q < ax.start[j + 1]!; q++) {
        const v = data[row + ax.idx[q]!]!;
        if (Number.isFinite(v)) { s += ax.w[q]! * v; wsum += ax.w[q]!; }
      }
      s1[y * size + j] = s; w1[y * size + j] = wsum;
    }
  }
  // Pass 2: along y.
  const out = new Float32Array(size * size);
  const full = scale * scale;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      let s = 0, wsum = 0;
      for (let q = ay.start[i]!; q < ay.start[i + 1]!; q++) {
        const k = ay.idx[q]! * size + j;
        s += ay.w[q]! * s1[k]!; wsum += ay.w[q]! * w1[k]!;
      }
      out[i * size + j] = wsum >= 0.5 * full ? s / wsum : NaN;
    }
  }
  return out;
}

/** The network's normalised box → a box in the input's own pixels (see the module comment). */
export function boxToInput(b: ArrayLike<number>, fit: SquareFit): CentreBox {
  const S = fit.size, s = fit.scale;
  return {
    x: (b[0]! * S + 0.5) * s - 0.5 - fit.padX,
    y: (b[1]! * S + 0.5) * s - 0.5 - fit.padY,
    halfWidth: b[2]! * S * s,
    halfHeight: b[3]! * S * s,
  };
}

/** An input raster: phase in radians, NaN = masked. */
export interface PhaseRaster {
  readonly width: number;
  readonly height: number;
  readonly phaseRad: Float32Array;
}

export type Units = 'rad' | 'm';

/** A 2-D float raster from a .npy or single-band GeoTIFF file (NaN / nodata = masked). */
export async function readRaster(file: string): Promise<{ width: number; height: number; data: Float32Array }> {
  const ext = path.extname(file).toLowerCase();
  let width: number, height: number, data: Float32Array;
  if (ext === '.npy') {
    const a = readNpy(file);
    if (a.shape.length !== 2) throw new InputError(`${file}: expected a 2-D array (rows × columns), got shape (${a.shape.join(', ')})`);
    [height, width] = a.shape as [number, number];
    data = a.data instanceof Float32Array ? a.data : Float32Array.from(a.data as ArrayLike<number>);
  } else if (ext === '.tif' || ext === '.tiff') {
    const g = await readGeoTiff(file, { requireGeo: false, requireGeographic: false });
    ({ width, height, data } = g.raster);
  } else {
    throw new InputError(`${file}: unsupported input (expected .npy or a GeoTIFF .tif)`);
  }
  if (width < 2 || height < 2) throw new InputError(`${file}: ${width}×${height} is too small to be an interferogram`);
  let finite = 0;
  for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i]!)) finite++;
  if (finite === 0) throw new InputError(`${file}: every value is NaN or nodata (nothing to look at)`);
  return { width, height, data };
}

/** Read an interferogram: unwrapped phase in radians, or LOS metres (`units: 'm'`, converted with the LiCSAR sign). */
export async function readInterferogram(file: string, units: Units): Promise<PhaseRaster> {
  const r = await readRaster(file);
  return { width: r.width, height: r.height, phaseRad: units === 'm' ? losToPhaseArray(r.data) : r.data };
}

export interface Prediction {
  readonly className: (typeof CLASS_NAMES)[number];
  /** In CLASS_NAMES order. */
  readonly probabilities: readonly [number, number, number];
  /** In the input's pixels (meaningless when the class is `none`). */
  readonly box: CentreBox;
}

export interface PredictionResult extends Prediction {
  readonly width: number;
  readonly height: number;
  /** With `symmetric`: the prediction on the negated input alone (the main answer averages both). */
  readonly negated?: Prediction;
}

export interface PredictOptions {
  /** Also run the negated interferogram and average the two answers (sign-symmetric). */
  readonly symmetric?: boolean;
  /** Elevation (m) on the same grid, for formats with a DEM channel. */
  readonly demM?: Float32Array;
  /** Coherence 0..1 on the same grid, for formats with a coherence channel. */
  readonly coherence?: Float32Array;
}

/** The network input (S×S×C) for a raster, and how it was fitted. */
export function prepareInput(r: PhaseRaster, format: ChannelFormat, size: number, opts: PredictOptions = {}, sign: 1 | -1 = 1): { x: Float32Array; fit: SquareFit } {
  const needs = formatNeeds(format);
  if (needs.dem && !opts.demM) throw new InputError(`the model uses channel format '${format}', which needs a DEM: pass --dem FILE`);
  if (needs.coherence && !opts.coherence) throw new InputError(`the model uses channel format '${format}', which needs coherence: pass --coherence FILE`);
  for (const [name, a] of [['DEM', opts.demM], ['coherence', opts.coherence]] as const) {
    if (a && a.length !== r.width * r.height) throw new InputError(`the ${name} has ${a.length} pixels, the interferogram ${r.width}×${r.height}`);
  }
  const fit = squareFit(r.width, r.height, size);
  const phase = resampleToSquare(r.phaseRad, fit);
  const mask = new Uint8Array(size * size);
  for (let i = 0; i < mask.length; i++) mask[i] = Number.isFinite(phase[i]!) ? 0 : 1;
  const dem = opts.demM ? resampleToSquare(opts.demM, fit) : undefined;
  const coherence = opts.coherence ? resampleToSquare(opts.coherence, fit) : undefined;
  if (dem) for (let i = 0; i < dem.length; i++) if (!Number.isFinite(dem[i]!)) { dem[i] = 0; mask[i] = 1; }
  if (coherence) for (let i = 0; i < coherence.length; i++) if (!Number.isFinite(coherence[i]!)) { coherence[i] = 0; mask[i] = 1; }
  const x = makeChannels({ width: size, height: size, phaseRad: phase, dem, coherence, mask, spacingM: 90 * fit.scale }, format, { sign });
  return { x, fit };
}

function toPrediction(probs: ArrayLike<number>, box: ArrayLike<number>, fit: SquareFit): Prediction {
  let k = 0;
  for (let j = 1; j < CLASS_NAMES.length; j++) if (probs[j]! > probs[k]!) k = j;
  return { className: CLASS_NAMES[k]!, probabilities: [probs[0]!, probs[1]!, probs[2]!], box: boxToInput(box, fit) };
}

/** Predict the class and box of one interferogram. */
export function predictRaster(tm: TrainedModel, r: PhaseRaster, opts: PredictOptions = {}): PredictionResult {
  const signs: (1 | -1)[] = opts.symmetric ? [1, -1] : [1];
  const inputs = signs.map((s) => prepareInput(r, tm.format, tm.size, opts, s));
  const fit = inputs[0]!.fit;
  const C = tm.format.length;
  const xs = new Float32Array(inputs.length * tm.size * tm.size * C);
  inputs.forEach((inp, i) => xs.set(inp.x, i * inp.x.length));
  return runBatch(tm, xs, inputs.length, (probs, boxes) => {
    const own = toPrediction(probs.subarray(0, 3), boxes.subarray(0, 4), fit);
    if (!opts.symmetric) return { ...own, width: r.width, height: r.height };
    const neg = toPrediction(probs.subarray(3, 6), boxes.subarray(4, 8), fit);
    const avgP = [0, 1, 2].map((j) => (probs[j]! + probs[3 + j]!) / 2);
    const avgB = [0, 1, 2, 3].map((j) => (boxes[j]! + boxes[4 + j]!) / 2);
    return { ...toPrediction(avgP, avgB, fit), width: r.width, height: r.height, negated: neg };
  });
}

function runBatch<T>(tm: TrainedModel, xs: Float32Array, n: number, read: (probs: Float32Array, boxes: Float32Array) => T): T {
  const x = tf.tensor4d(xs, [n, tm.size, tm.size, tm.format.length]);
  const { classProbs, box } = predict(tm.model, x);
  const probs = classProbs.dataSync() as Float32Array;
  const boxes = box.dataSync() as Float32Array;
  tf.dispose([x, classProbs, box]);
  return read(probs, boxes);
}

/** The input's wrapped phase with the predicted box and a title. */
export function predictionFigure(r: PhaseRaster, p: PredictionResult, title: string): Canvas {
  const mask = new Uint8Array(r.width * r.height);
  for (let i = 0; i < mask.length; i++) mask[i] = Number.isFinite(r.phaseRad[i]!) ? 0 : 1;
  const image = phaseImage(r.phaseRad, { width: r.width, height: r.height }, mask);
  const pct = (v: number): string => `${Math.round(v * 100)}%`;
  const label = `${p.className} ${pct(Math.max(...p.probabilities))}`;
  const [x0, y0, x1, y1] = boxCorners(p.box);
  const boxes = p.className === 'none' ? [] : [{ x0: Math.round(x0), y0: Math.round(y0), x1: Math.round(x1), y1: Math.round(y1), colour: '#ff2d2d', label }];
  const scale = Math.max(1, Math.floor(448 / Math.max(r.width, r.height)));
  const probs = CLASS_NAMES.map((c, j) => `${c} ${pct(p.probabilities[j]!)}`).join(', ');
  return contactSheet([{ image, title: `${title}: ${label} (${probs})`, boxes }], {
    columns: 1, scale, colourbar: { cmap: cyclic, min: -Math.PI, max: Math.PI, minLabel: '-π', maxLabel: 'π', label: 'wrapped phase (rad); grey = masked' },
  });
}

const round = (v: number, d: number): number => Math.round(v * 10 ** d) / 10 ** d;

function predictionRecord(p: Prediction): Record<string, unknown> {
  return {
    class: p.className,
    probabilities: Object.fromEntries(CLASS_NAMES.map((c, j) => [c, round(p.probabilities[j]!, 4)])),
    box: { x: round(p.box.x, 1), y: round(p.box.y, 1), halfWidth: round(p.box.halfWidth, 1), halfHeight: round(p.box.halfHeight, 1) },
  };
}

/** The JSON record of one file's prediction (box in the input's pixels, probabilities to 4 decimals). */
export function predictionJson(file: string, r: PredictionResult): Record<string, unknown> {
  return {
    file, width: r.width, height: r.height, ...predictionRecord(r),
    ...(r.negated ? { negated: predictionRecord(r.negated) } : {}),
  };
}

/** One line for people. */
export function predictionText(file: string, r: PredictionResult): string {
  const probs = CLASS_NAMES.map((c, j) => `${c} ${r.probabilities[j]!.toFixed(3)}`).join(', ');
  const b = r.box;
  const box = r.className === 'none' ? 'no deformation' : `box centre (${b.x.toFixed(1)}, ${b.y.toFixed(1)}) px, half-size ${b.halfWidth.toFixed(1)} × ${b.halfHeight.toFixed(1)} px`;
  const neg = r.negated ? `; negated: ${r.negated.className}` : '';
  return `${file}: ${r.className} (${probs}); ${box}${neg}`;
}
