/** The --units and --wavelength flags, shared by predict, scan, label and deform. */
import { InputError } from '../core/errors.js';
import { RASTER_UNITS, type RasterUnits } from '../io/licsar.js';
import { checkWavelengthM } from '../physics/units.js';
import { num, str, type FlagSpec, type Parsed } from './args.js';

export const unitsFlag: FlagSpec = {
  type: 'string', default: 'rad', value: 'rad|m|mm',
  help: "input values: 'rad' unwrapped phase, 'm' or 'mm' LOS displacement, + toward the satellite (LiCSBAS: mm, MintPy: m)",
};

export const wavelengthFlag: FlagSpec = {
  type: 'number', value: 'M',
  help: 'radar wavelength of phase inputs, m (default Sentinel-1 C band 0.0555; ALOS-2 0.2424, NISAR L 0.2385): rescaled to the C-band phase the network knows',
};

export function unitsOf(p: Parsed): RasterUnits {
  const u = str(p, 'units') ?? 'rad';
  if (!(RASTER_UNITS as readonly string[]).includes(u)) throw new InputError(`--units must be rad, m or mm, got '${u}'`);
  return u as RasterUnits;
}

/** --wavelength in metres, checked (undefined when not given). */
export function wavelengthOf(p: Parsed): number | undefined {
  const w = num(p, 'wavelength');
  if (w === undefined) return undefined;
  try {
    return checkWavelengthM(w, '--wavelength');
  } catch (e) {
    throw new InputError((e as Error).message, { cause: e });
  }
}
