/**
 * Pictures of samples (the MintPy view.py role): a dataset sample or any phase raster drawn as
 * wrapped phase in a cyclic colour map over faint relief, masked pixels grey, with its label box.
 */
import { cyclic, drapeOnHillshade, hillshade, wrappedPhaseToRgba } from '../io/colormap.js';
import { contactSheet, type Canvas, type Tile } from '../io/draw.js';
import { boxCorners, type CentreBox } from '../core/box.js';
import { C_BAND_WAVELENGTH_M } from '../physics/index.js';
import type { Sample } from './dataset.js';

export const CLASS_COLOURS: Readonly<Record<string, string>> = { dyke: '#000000', sill: '#ffffff', none: '#808080' };

/** LOS metres -> phase radians for display (LiCSAR sign: motion toward the satellite = negative phase). */
export function losToDisplayPhase(losM: Float32Array, wavelengthM = C_BAND_WAVELENGTH_M): Float32Array {
  const k = (-4 * Math.PI) / wavelengthM;
  return losM.map((v) => v * k);
}

/** Wrapped phase with masked pixels grey, draped over a hillshade of `dem` when given. */
export function phaseImage(phaseRad: Float32Array, size: { width: number; height: number }, mask?: Uint8Array, dem?: Float32Array, spacingM = 90): Canvas {
  const img = wrappedPhaseToRgba({ ...size, data: phaseRad }, mask ? { mask } : {});
  if (!dem) return img;
  return drapeOnHillshade(img, hillshade({ ...size, data: dem }, spacingM), 0.25);
}

export function boxOverlay(box: CentreBox, colour: string, label?: string): { x0: number; y0: number; x1: number; y1: number; colour: string; label?: string } {
  const [x0, y0, x1, y1] = boxCorners(box);
  return { x0: Math.round(x0), y0: Math.round(y0), x1: Math.round(x1), y1: Math.round(y1), colour, ...(label ? { label } : {}) };
}

/** A model's answer for a sample, drawn beside the truth. */
export interface SamplePrediction {
  readonly className: string;
  readonly probability: number;
  readonly box: CentreBox;
}

export function sampleTile(s: Sample, prediction?: SamplePrediction): Tile {
  const size = { width: s.size, height: s.size };
  const image = phaseImage(losToDisplayPhase(s.losM), size, s.mask, s.dem);
  const m = s.meta;
  const src = m.source ? (m.source.kind === 'mogi' ? 'mogi' : m.source.kind) : 'atmosphere';
  const truth = s.box ? [boxOverlay(s.box, CLASS_COLOURS[s.className] ?? '#000000', s.className)] : [];
  if (!prediction) {
    const title = `#${s.index} ${s.className} (${src}) ${m.terrain}, ${m.pass}${m.snr !== null ? `, SNR ${m.snr.toFixed(1)}` : ''}`;
    return { image, title, boxes: truth };
  }
  const ok = prediction.className === s.className;
  const label = `${prediction.className} ${(prediction.probability * 100).toFixed(0)}%`;
  const predicted = prediction.className === 'none' ? [] : [boxOverlay(prediction.box, '#ffd000', label)];
  return { image, title: `#${s.index} true ${s.className} (${src}) - model: ${label} ${ok ? 'ok' : 'WRONG'}`, boxes: [...truth, ...predicted] };
}

export function sampleSheet(samples: readonly Sample[], title: string, columns = 6, predictions?: readonly SamplePrediction[]): Canvas {
  return contactSheet(samples.map((s, i) => sampleTile(s, predictions?.[i])), {
    columns, scale: 1, title,
    colourbar: { cmap: cyclic, min: -Math.PI, max: Math.PI, minLabel: '-π', maxLabel: 'π', label: 'wrapped phase (rad); grey = water or incoherent' },
  });
}
