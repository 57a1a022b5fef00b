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
 *
 * Abstaining, as `scan`: an input with more than `maxMasked` (60 %) of its pixels masked gets "not
 * enough data" and the network is not run; a deformation class below `minScore` (0.8) is "below
 * threshold". A raster much larger than the network's view is still predicted, with a warning
 * (`viewWarning`): squeezing a 50 km frame into 224 px makes a few-km source a few pixels wide.
 * The warning fires when the raster is georeferenced on a lon/lat grid and its square spans more
 * than 1.5× the model's ground size (224 × 90 m = 20.16 km), or otherwise when it is more than
 * twice the model's pixels per side; it suggests `caldera scan`, which looks window by window.
 * On a lon/lat grid the box also gets lon/lat corners (GDAL convention: pixel (c, r) covers
 * c..c+1, r..r+1 from the grid's north-west corner).
 */
import * as path from 'node:path';
import { HDF5_NAME, readHdf5CBandProduct } from '../io/hdf5.js';
import { InputError } from '../core/errors.js';
import { readNpy } from '../io/npy.js';
import { readGeoTiff } from '../io/geotiff.js';
import { boxCorners, type CentreBox } from '../core/box.js';
import { C_BAND_WAVELENGTH_M, checkWavelengthM, losToPhaseArray, rescalePhaseArray } from '../physics/units.js';
import { layerOf, losMetres, unitsNote, RASTER_UNITS, type RasterUnits } from '../io/licsar.js';
import { checkInterferogramValues } from '../io/value-sanity.js';
import { groundSpacingM, pixelToLonLatFn, projectionOf } from '../io/reproject.js';
import { maxAbs } from '../core/arrays.js';
import { formatNeeds, makeChannels, type ChannelFormat } from '../data/channels.js';
import { resampleLayers } from '../data/resample.js';
import { phaseImage } from '../data/view.js';
import { contactSheet, type Canvas } from '../io/draw.js';
import { cyclic } from '../io/colormap.js';
import { CLASS_NAMES } from '../core/classes.js';
import type { GeoReference } from '../io/geotiff.js';
import { MODEL_SPACING_M } from '../data/windows.js';
import type { Detector, ModelOutput } from './detector.js';
import { boxRecord, notEnoughData, predictionFields, thresholdProblem, verdictOf, type PredictionFields, type Thresholds, type Verdict } from './record.js';
import { M_PER_DEG } from '../physics/units.js';


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
  /** Its grid, when it is a GeoTIFF on a lon/lat grid (degrees). */
  readonly lonLatGrid?: GeoReference | null;
  /** Things the user should know about the values (units that look wrong, a rescaled wavelength). */
  readonly notes?: readonly string[];
  /**
   * For a projected grid caldera knows (UTM, `io/reproject.ts`): GDAL pixel coordinates to
   * [lon, lat], and the ground pixel size in metres. The raster itself is not resampled.
   */
  readonly projected?: { readonly pixelToLonLat: (x: number, y: number) => [number, number]; readonly spacingM: number } | null;
}

/** A GeoTIFF's grid when it is lon/lat degrees (a geographic CRS, or no CRS and degree-like numbers), else null. */
function lonLatGridOf(geo: GeoReference | null, geographic: boolean | null, width: number, height: number): GeoReference | null {
  if (!geo || geographic === false) return null;
  const south = geo.north + height * geo.dLat, east = geo.west + width * geo.dLon;
  const degrees = [geo.north, south].every((v) => Math.abs(v) <= 90) && [geo.west, east].every((v) => Math.abs(v) <= 360) && Math.abs(geo.dLon) < 1 && Math.abs(geo.dLat) < 1;
  return degrees ? geo : null;
}

/** 'rad' unwrapped phase, 'm' or 'mm' LOS displacement (positive toward the satellite). */
export type Units = RasterUnits;

/** A 2-D float raster from a .npy or single-band GeoTIFF file (NaN / nodata = masked). */
export async function readRaster(file: string): Promise<{ width: number; height: number; data: Float32Array; lonLatGrid: GeoReference | null; projected: PhaseRaster['projected'] }> {
  const ext = path.extname(file).toLowerCase();
  let width: number, height: number, data: Float32Array;
  let lonLatGrid: GeoReference | null = null;
  let projected: PhaseRaster['projected'] = null;
  if (ext === '.npy') {
    const a = readNpy(file);
    if (a.shape.length !== 2) throw new InputError(`${file}: expected a 2-D array (rows × columns), got shape (${a.shape.join(', ')})`);
    [height, width] = a.shape as [number, number];
    data = a.data instanceof Float32Array ? a.data : Float32Array.from(a.data as ArrayLike<number>);
  } else if (ext === '.tif' || ext === '.tiff') {
    const g = await readGeoTiff(file, { requireGeo: false, requireGeographic: false });
    ({ width, height, data } = g.raster);
    lonLatGrid = lonLatGridOf(g.geo, g.geographic, width, height);
    if (!lonLatGrid && g.geo && g.geographic === false && g.epsg !== null && projectionOf(g.epsg)) {
      const sp = groundSpacingM(g.geo, g.epsg, width, height);
      projected = { pixelToLonLat: pixelToLonLatFn(g.geo, g.epsg), spacingM: Math.sqrt(sp.east * sp.north) };
    }
  } else {
    throw new InputError(`${file}: unsupported input (expected .npy or a GeoTIFF .tif)`);
  }
  if (width < 2 || height < 2) throw new InputError(`${file}: ${width}×${height} is too small to be an interferogram`);
  if (data.every((v) => Number.isNaN(v))) throw new InputError(`${file}: every value is NaN or nodata (nothing to look at)`);
  return { width, height, data, lonLatGrid, projected };
}

/**
 * A DEM (metres) or coherence (0..1, or 0..255 stored as bytes: divided by 255) raster for a
 * model's extra channel: finite values in their range, NaN = masked.
 */
export async function readAuxRaster(file: string, what: 'dem' | 'coherence'): Promise<Float32Array> {
  const r = await readRaster(file);
  let lo = Infinity, hi = -Infinity;
  for (const v of r.data) {
    if (Number.isNaN(v)) continue;
    if (!Number.isFinite(v)) throw new InputError(`${file}: holds ±Infinity, which no ${what === 'dem' ? 'elevation' : 'coherence'} has`);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (what === 'dem') {
    if (lo < -12000 || hi > 9000) throw new InputError(`${file}: elevations ${lo}..${hi}, not metres of terrain (expected -12000..9000)`);
    return r.data;
  }
  if (lo < 0 || hi > 255) throw new InputError(`${file}: coherence ${lo}..${hi}; expected 0..1 (or 0..255 as bytes)`);
  return hi > 1.0001 ? r.data.map((v) => v / 255) : r.data;
}

export interface ReadInterferogramOptions {
  /**
   * Radar wavelength (m) of phase inputs (default Sentinel-1 C band): unwrapped phase of another
   * wavelength (L band) is rescaled to the C-band phase the network knows (phi lambda / lambda_C).
   * LOS inputs (m, mm) do not depend on it.
   */
  readonly wavelengthM?: number;
}

/**
 * Read an interferogram as the phase the network takes (C band, radians): unwrapped phase in
 * radians (`rad`, rescaled from `wavelengthM`), or LOS metres / millimetres (`m`, `mm`, converted
 * with the LiCSAR sign). Refused in one line: files whose LiCSAR name says they are not phase (a
 * `.geo.cc.tif` is coherence), values no interferogram has (io/value-sanity.ts: ±Infinity,
 * byte-swapped or ×1e30 floats), wrapped phase (`.diff_pha`) of another wavelength. Values that
 * look like other units than those given are noted (`notes`), as `scan` notes them.
 */
export async function readInterferogram(file: string, units: Units, opts: ReadInterferogramOptions = {}): Promise<PhaseRaster> {
  if (!(RASTER_UNITS as readonly string[]).includes(units)) throw new InputError(`units must be rad, m or mm, got '${String(units)}'`);
  const base = path.basename(file);
  if (HDF5_NAME.test(base)) return readHdf5Interferogram(file);
  const wavelengthM = checkWavelengthM(opts.wavelengthM ?? C_BAND_WAVELENGTH_M);
  const layer = /\.tiff?$/i.test(base) ? layerOf(base) : null;
  if (layer?.kind === 'cc') {
    throw new InputError(`${file}: the name says coherence (LiCSAR .cc), not phase; give the .unw.tif (or the .diff_pha.tif) and this one as --coherence for a model with a coherence channel`);
  }
  if (layer && layer.kind === null && /\.geo\./i.test(base)) throw new InputError(`${file}: ${layer.reason}`);
  const r = await readRaster(file);
  checkInterferogramValues(r.data, file, units);
  const notes: string[] = [];
  const note = unitsNote(file, maxAbs(r.data), units);
  if (note) notes.push(note);
  let phaseRad: Float32Array;
  if (units !== 'rad') {
    phaseRad = losToPhaseArray(losMetres(r.data, units));
  } else if (Math.abs(wavelengthM - C_BAND_WAVELENGTH_M) > 1e-9) {
    if (layer?.kind === 'diff_pha') {
      throw new InputError(`${file}: wrapped phase at wavelength ${wavelengthM} m cannot be rescaled to the C-band phase the network knows; give unwrapped phase (.unw.tif)`);
    }
    phaseRad = rescalePhaseArray(r.data, wavelengthM);
    notes.push(`${file}: phase at wavelength ${wavelengthM} m rescaled to C-band phase (x${(wavelengthM / C_BAND_WAVELENGTH_M).toFixed(3)}), what the network was trained on`);
  } else {
    phaseRad = r.data;
  }
  return { width: r.width, height: r.height, phaseRad, lonLatGrid: r.lonLatGrid, projected: r.projected, notes };
}

/**
 * A MintPy (`velocity.h5`, `timeseries.h5`) or LiCSBAS (`cum.h5`, `cum_filt.h5`) file as one
 * interferogram: the product `scan` reads too (`io/hdf5.ts` readHdf5CBandProduct: a velocity as the
 * displacement over its span, a time series from its first to its last epoch, LOS metres to C-band
 * phase whatever the satellite's band), masked pixels NaN.
 */
async function readHdf5Interferogram(file: string): Promise<PhaseRaster> {
  const p = await readHdf5CBandProduct(file);
  const phase = p.unwrappedRad ?? p.wrappedRad;
  const phaseRad = Float32Array.from(phase, (v, i) => (p.mask[i] ? NaN : v));
  return { width: p.width, height: p.height, phaseRad, lonLatGrid: p.geo, notes: p.notes };
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
  /** detection, below threshold, none; or not enough data (then the network was not run: probabilities NaN). */
  readonly verdict: Verdict;
  /** Share of the raster's own pixels that are masked (NaN). */
  readonly maskedFraction: number;
  /** Input pixels per network pixel (the squeeze). */
  readonly scale: number;
  /** Box corners [lon, lat] (NW, NE, SE, SW) when the raster is on a lon/lat grid, else null. */
  readonly polygon: [number, number][] | null;
  /** The fit of the raster into the network's square. */
  readonly fit: SquareFit;
  /** The calibration temperature the detector applied (null: uncalibrated). */
  readonly temperature: number | null;
  /** Things the user should know (a raster much larger than the network's view...). */
  readonly warnings: string[];
  /** With a sign-symmetric detector: the prediction on the negated input alone (the main answer averages both). */
  readonly negated?: Prediction & { readonly verdict: Verdict };
}

export interface PredictOptions extends Thresholds {
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

/** Ground metres per pixel of a lon/lat grid (geometric mean of east and north) at its centre. */
function gridSpacingM(g: GeoReference, height: number): number {
  const lat = g.north + (height / 2) * g.dLat;
  const mPerDeg = M_PER_DEG;
  return mPerDeg * Math.sqrt(Math.abs(g.dLon) * Math.cos((lat * Math.PI) / 180) * Math.abs(g.dLat));
}

/**
 * A warning when fitting the raster into the network's square squeezes it far beyond the view the
 * network was trained on (see the module comment), else null.
 */
export function viewWarning(r: PhaseRaster, size: number, name = 'the input'): string | null {
  const fit = squareFit(r.width, r.height, size);
  const modelKm = (size * MODEL_SPACING_M) / 1000;
  const dims = `${r.width}×${r.height} px`;
  const spacingM = r.lonLatGrid ? gridSpacingM(r.lonLatGrid, r.height) : r.projected?.spacingM;
  if (spacingM !== undefined) {
    const sideKm = (fit.side * spacingM) / 1000;
    if (sideKm <= 1.5 * modelKm) return null;
    return `${name}: ${dims} (about ${sideKm.toFixed(0)} km across) is squeezed into the network's ${size} px view, ` +
      `${(sideKm / modelKm).toFixed(1)}× the ${modelKm.toFixed(1)} km it was trained on: sources of a few km become a few pixels. ` +
      `caldera scan ${name} looks at it window by window (10, 20, 40 km)`;
  }
  if (fit.side <= 2 * size) return null;
  return `${name}: ${dims} is squeezed ${fit.scale.toFixed(1)}× into the network's ${size} px view: sources of a few km become a few pixels. ` +
    'Crop it around the area of interest, or give a GeoTIFF on a lon/lat grid to caldera scan, which looks at it window by window';
}

/**
 * Lon/lat corners (NW, NE, SE, SW) of a box in the raster's pixels (centre convention), given the
 * map from GDAL pixel coordinates to [lon, lat] (a lon/lat grid's affine map, or a projection's).
 */
function boxLonLat(b: CentreBox, at: (x: number, y: number) => [number, number]): [number, number][] {
  // Centre-convention coordinate u is GDAL coordinate u + 0.5.
  const x0 = b.x - b.halfWidth + 0.5, x1 = b.x + b.halfWidth + 0.5, y0 = b.y - b.halfHeight + 0.5, y1 = b.y + b.halfHeight + 0.5;
  return [at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1)];
}

/** GDAL pixel coordinates -> [lon, lat] for a raster on a lon/lat or known projected grid, else null. */
function lonLatMap(r: PhaseRaster): ((x: number, y: number) => [number, number]) | null {
  const g = r.lonLatGrid;
  if (g) return (x, y) => [g.west + x * g.dLon, g.north + y * g.dLat];
  return r.projected?.pixelToLonLat ?? null;
}

/**
 * Predict the class and box of one interferogram (sign symmetry is the detector's:
 * `loadDetector({ symmetric })`), with its verdict, lon/lat box corners when the raster is on a
 * lon/lat grid, and a warning when it is much larger than the network's view.
 */
export async function predictRaster(d: Detector, r: PhaseRaster, opts: PredictOptions = {}, name = 'the input'): Promise<PredictionResult> {
  const tp = thresholdProblem(opts);
  if (tp) throw new InputError(tp);
  let masked = 0;
  for (let i = 0; i < r.phaseRad.length; i++) if (!Number.isFinite(r.phaseRad[i]!)) masked++;
  const maskedFraction = masked / (r.width * r.height);
  const warning = viewWarning(r, d.size, name);
  const fit = squareFit(r.width, r.height, d.size);
  const common = {
    width: r.width, height: r.height, maskedFraction, scale: fit.scale, fit, temperature: d.temperature ?? null,
    warnings: [...(r.notes ?? []), ...(warning ? [warning] : [])],
  };
  if (notEnoughData(maskedFraction, opts)) {
    const centre = { x: (r.width - 1) / 2, y: (r.height - 1) / 2, halfWidth: 0, halfHeight: 0 };
    return { ...common, verdict: 'not enough data', className: 'none', probabilities: [NaN, NaN, NaN], box: centre, polygon: null };
  }
  const { x } = prepareInput(r, d.format, d.size, opts);
  const [out] = await d.run([x]) as [ModelOutput];
  const judged = (q: Prediction): Prediction & { verdict: Verdict } => ({ ...q, verdict: verdictOf(q.className, q.probabilities[CLASS_NAMES.indexOf(q.className)]!, opts) });
  const own = judged(toPrediction(out.probs, out.box, fit));
  const map = lonLatMap(r);
  const polygon = map && own.className !== 'none' ? boxLonLat(own.box, map) : null;
  return {
    ...common, ...own, polygon,
    ...(out.negated ? { negated: judged(toPrediction(out.negated.probs, out.negated.box, fit)) } : {}),
  };
}

/** The input's wrapped phase with the predicted box and a title. */
export function predictionFigure(r: PhaseRaster, p: PredictionResult, title: string): Canvas {
  const mask = new Uint8Array(r.width * r.height);
  for (let i = 0; i < mask.length; i++) mask[i] = Number.isFinite(r.phaseRad[i]!) ? 0 : 1;
  const image = phaseImage(r.phaseRad, { width: r.width, height: r.height }, mask);
  const pct = (v: number): string => `${Math.round(v * 100)}%`;
  const scale = Math.max(1, Math.floor(448 / Math.max(r.width, r.height)));
  if (p.verdict === 'not enough data') {
    return contactSheet([{ image, title: `${title}: not enough data (${pct(p.maskedFraction)} masked)`, boxes: [] }], {
      columns: 1, scale, colourbar: { cmap: cyclic, min: -Math.PI, max: Math.PI, minLabel: '-π', maxLabel: 'π', label: 'wrapped phase (rad); grey = masked' },
    });
  }
  const label = `${p.className} ${pct(Math.max(...p.probabilities))}`;
  const [x0, y0, x1, y1] = boxCorners(p.box);
  const boxes = p.className === 'none' ? [] : [{ x0: Math.round(x0), y0: Math.round(y0), x1: Math.round(x1), y1: Math.round(y1), colour: '#ff2d2d', label }];
  const probs = CLASS_NAMES.map((c, j) => `${c} ${pct(p.probabilities[j]!)}`).join(', ');
  return contactSheet([{ image, title: `${title}: ${p.verdict === 'detection' ? '' : `${p.verdict}: `}${label} (${probs})`, boxes }], {
    columns: 1, scale, colourbar: { cmap: cyclic, min: -Math.PI, max: Math.PI, minLabel: '-π', maxLabel: 'π', label: 'wrapped phase (rad); grey = masked' },
  });
}

/** The shared fields (scan/record.ts) of one answer: box in GDAL pixels of the input, the fitted square's pixels, lon/lat. */
function predictionRecord(p: Prediction & { readonly verdict: Verdict }, fit: SquareFit, polygon: [number, number][] | null): PredictionFields {
  if (p.verdict === 'not enough data') return predictionFields('not enough data', null, null);
  const b = p.box;
  const pixels = [b.x - b.halfWidth + 0.5, b.y - b.halfHeight + 0.5, b.x + b.halfWidth + 0.5, b.y + b.halfHeight + 0.5];
  // The network's box in its own square: invert boxToInput.
  const s = fit.scale;
  const window = [(b.x + 0.5 + fit.padX) / s - 0.5, (b.y + 0.5 + fit.padY) / s - 0.5, b.halfWidth / s, b.halfHeight / s];
  const lonLat = polygon ? [Math.min(...polygon.map((c) => c[0])), Math.min(...polygon.map((c) => c[1])), Math.max(...polygon.map((c) => c[0])), Math.max(...polygon.map((c) => c[1]))] : null;
  return predictionFields(p.verdict, p.probabilities, boxRecord(pixels, window, lonLat, polygon));
}

/**
 * The JSON record of one file's prediction: the fields `scan` records share (scan/record.ts:
 * verdict, class, probability, probabilities, box {pixels, lonLat, polygon, window}) and the
 * raster's size, masked share, squeeze, calibration and warnings.
 */
export function predictionJson(file: string, r: PredictionResult): Record<string, unknown> {
  return {
    file, width: r.width, height: r.height, maskedFraction: Math.round(r.maskedFraction * 1e4) / 1e4,
    scale: Math.round(r.scale * 1000) / 1000, temperature: r.temperature,
    ...predictionRecord(r, r.fit, r.polygon),
    ...(r.negated ? { negated: predictionRecord(r.negated, r.fit, null) } : {}),
    ...(r.warnings.length ? { warnings: r.warnings } : {}),
  };
}

/** One line for people. */
export function predictionText(file: string, r: PredictionResult): string {
  if (r.verdict === 'not enough data') return `${file}: not enough data (${Math.round(r.maskedFraction * 100)} % masked; more than the threshold): no verdict`;
  const probs = CLASS_NAMES.map((c, j) => `${c} ${r.probabilities[j]!.toFixed(3)}`).join(', ');
  const b = r.box;
  const box = r.className === 'none' ? 'no deformation' : `box centre (${b.x.toFixed(1)}, ${b.y.toFixed(1)}) px, half-size ${b.halfWidth.toFixed(1)} × ${b.halfHeight.toFixed(1)} px`;
  const ll = r.polygon ? `, lon/lat ${r.polygon[0]![0].toFixed(4)}, ${r.polygon[0]![1].toFixed(4)} .. ${r.polygon[2]![0].toFixed(4)}, ${r.polygon[2]![1].toFixed(4)}` : '';
  const neg = r.negated ? `; negated: ${r.negated.className}` : '';
  return `${file}: ${r.verdict} ${r.className} (${probs}); ${box}${ll}${neg}`;
}
