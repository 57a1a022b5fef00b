/**
 * Prediction on user interferograms of any size: read a raster (.npy or single-band GeoTIFF, phase
 * in radians or LOS metres), fit it into the model's square input, run one forward pass, and map
 * the box back to the input's own pixels.
 *
 * Fitting (keeps the aspect ratio): the raster (W×H) is centred in an L×L square, L = max(W, H),
 * the short side padded with masked pixels (padX = floor((L−W)/2), padY = floor((L−H)/2)); the
 * square is then resampled to S×S (S = 224) by the one resampler (`data/resample.ts`: area
 * averaging of the valid pixels with a footprint of max(1, s) input pixels, wrapped phase as
 * exp(iφ); an output pixel is masked when less than half its footprint is valid). The network runs
 * through the same detector as `scan` and `eval` (`detector.ts`). With s = L/S, pixel centres at integer
 * coordinates, the network's box (cx, cy, hw, hh, normalised to S) maps back as
 *   x = (cx·S + 0.5)·s − 0.5 − padX,   y = (cy·S + 0.5)·s − 0.5 − padY,
 *   halfWidth = hw·S·s,                halfHeight = hh·S·s.
 * A 224×224 input is used as is (s = 1, no padding).
 */
import * as path from 'node:path';
import { InputError } from '../core/errors.js';
import { readNpy } from '../io/npy.js';
import { readGeoTiff } from '../io/geotiff.js';
import { boxCorners, type CentreBox } from '../core/box.js';
import { losToPhaseArray } from '../physics/units.js';
import { formatNeeds, makeChannels, type ChannelFormat } from '../data/channels.js';
import { resampleLayers } from '../data/resample.js';
import { phaseImage } from '../data/view.js';
import { contactSheet, type Canvas } from '../io/draw.js';
import { cyclic } from '../io/colormap.js';
import { CLASS_NAMES } from '../core/classes.js';
import type { Detector, ModelOutput } from './detector.js';


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

/**
 * Resample a W×H raster (NaN = masked) into the S×S model square (see the module comment):
 * NaN where less than half an output pixel's footprint is valid. The raster is treated as
 * unwrapped values (averaged linearly).
 */
export function resampleToSquare(data: Float32Array, fit: SquareFit): Float32Array {
  if (data.length !== fit.width * fit.height) throw new RangeError(`resampleToSquare: ${data.length} values for ${fit.width}×${fit.height}`);
  return fitLayers(data, fit).unwrappedRad!;
}

/** The one resampler, mapping square pixel j to input coordinate (j + 0.5)·s − 0.5 − pad. */
function fitLayers(data: Float32Array, fit: SquareFit): ReturnType<typeof resampleLayers> {
  const mask = new Uint8Array(data.length);
  const wrapped = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    const ok = Number.isFinite(v);
    mask[i] = ok ? 0 : 1;
    wrapped[i] = ok ? v : 0;
  }
  return resampleLayers({ width: fit.width, height: fit.height, wrappedRad: wrapped, unwrappedRad: data, mask },
    fit.size, fit.size, (x, y, at) => {
      at[0] = (x + 0.5) * fit.scale - 0.5 - fit.padX;
      at[1] = (y + 0.5) * fit.scale - 0.5 - fit.padY;
    }, fit.scale);
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
  /** With a sign-symmetric detector: the prediction on the negated input alone (the main answer averages both). */
  readonly negated?: Prediction;
}

export interface PredictOptions {
  /** Elevation (m) on the same grid, for formats with a DEM channel. */
  readonly demM?: Float32Array;
  /** Coherence 0..1 on the same grid, for formats with a coherence channel. */
  readonly coherence?: Float32Array;
}

/** The network input (S×S×C) for a raster, and how it was fitted. */
export function prepareInput(r: PhaseRaster, format: ChannelFormat, size: number, opts: PredictOptions = {}): { x: Float32Array; fit: SquareFit } {
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
  for (const layer of [dem, coherence]) {
    if (layer) for (let i = 0; i < layer.length; i++) if (!Number.isFinite(layer[i]!)) { layer[i] = 0; mask[i] = 1; }
  }
  const x = makeChannels({ width: size, height: size, phaseRad: phase, dem, coherence, mask, spacingM: 90 * fit.scale }, format);
  return { x, fit };
}

function toPrediction(probs: ArrayLike<number>, box: ArrayLike<number>, fit: SquareFit): Prediction {
  let k = 0;
  for (let j = 1; j < CLASS_NAMES.length; j++) if (probs[j]! > probs[k]!) k = j;
  return { className: CLASS_NAMES[k]!, probabilities: [probs[0]!, probs[1]!, probs[2]!], box: boxToInput(box, fit) };
}

/** Predict the class and box of one interferogram (sign symmetry is the detector's: `loadDetector({ symmetric })`). */
export async function predictRaster(d: Detector, r: PhaseRaster, opts: PredictOptions = {}): Promise<PredictionResult> {
  const { x, fit } = prepareInput(r, d.format, d.size, opts);
  const [out] = await d.run([x]) as [ModelOutput];
  const own = toPrediction(out.probs, out.box, fit);
  return { ...own, width: r.width, height: r.height, ...(out.negated ? { negated: toPrediction(out.negated.probs, out.negated.box, fit) } : {}) };
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
