/** `caldera deform`: forward-model one source on a grid ("what would X look like?"). */
import { wrappedPhaseToRgba } from '../io/colormap.js';
import { InputError } from '../core/errors.js';
import { writeNpz } from '../io/npz.js';
import { writePng } from '../io/png.js';
import { contactSheet } from '../io/draw.js';
import { cyclic } from '../io/colormap.js';
import { C_BAND_WAVELENGTH_M, forwardModel, losToPhaseArray, validateSource, S1_ASCENDING_HEADING_DEG, type Source } from '../physics/index.js';
import { maxAbs } from '../core/arrays.js';
import { num, numArg, requireStr, str, type Parsed } from './args.js';
import { command } from './command.js';
import { wavelengthOf } from './units.js';

const KINDS = ['mogi', 'dyke', 'sill', 'fault'] as const;

function need(p: Parsed, name: string): number {
  const v = num(p, name);
  if (v === undefined) throw new InputError(`--${name} is required for --source ${str(p, 'source')}`);
  return v;
}

export function sourceFromFlags(p: Parsed): Source {
  const kind = requireStr(p, 'source');
  if (!(KINDS as readonly string[]).includes(kind)) throw new InputError(`--source must be one of ${KINDS.join(', ')}, got '${kind}'`);
  const poisson = numArg(p, 'poisson');
  let s: Source;
  if (kind === 'mogi') {
    s = { kind: 'mogi', depthM: need(p, 'depth'), volumeChangeM3: need(p, 'volume-change'), poisson };
  } else {
    const defaults = kind === 'dyke' ? { dip: 85 } : kind === 'sill' ? { dip: 0 } : { dip: 45 };
    s = {
      kind: kind as 'dyke' | 'sill' | 'fault', depthM: need(p, 'depth'), lengthM: need(p, 'length'), widthM: need(p, 'width'),
      strikeDeg: num(p, 'strike') ?? 0, dipDeg: num(p, 'dip') ?? defaults.dip, rakeDeg: numArg(p, 'rake'),
      slipM: num(p, 'slip') ?? 0, openingM: num(p, 'opening') ?? (kind === 'fault' ? 0 : need(p, 'opening')), poisson,
    };
    if (kind === 'fault' && !s.slipM) throw new InputError('--slip is required for --source fault');
  }
  validateSource(s);
  return s;
}

export const deformCommand = command('deform', 'forward-model one source: E/N/U and LOS displacement on a grid', '--source mogi|dyke|sill|fault [parameters] --out FILE.npz [--png FILE]', {
  source: { type: 'string', help: 'mogi, dyke, sill or fault', value: 'KIND' },
  depth: { type: 'number', help: 'centroid depth, m (positive down)', value: 'M' },
  'volume-change': { type: 'number', help: 'Mogi volume change, m^3 (negative = deflation)', value: 'M3' },
  strike: { type: 'number', help: 'strike, degrees clockwise from north', value: 'DEG' },
  dip: { type: 'number', help: 'dip, degrees from horizontal, dipping right of strike (default dyke 85, sill 0, fault 45)', value: 'DEG' },
  length: { type: 'number', help: 'length along strike, m', value: 'M' },
  width: { type: 'number', help: 'width down dip, m', value: 'M' },
  opening: { type: 'number', help: 'opening, m (positive = opening)', value: 'M' },
  slip: { type: 'number', help: 'slip, m', value: 'M' },
  rake: { type: 'number', help: 'rake, degrees', default: 0, value: 'DEG' },
  poisson: { type: 'number', help: "Poisson's ratio", default: 0.25 },
  extent: { type: 'number', help: 'grid half-size, m', default: 10000, value: 'M' },
  spacing: { type: 'number', help: 'grid spacing, m', default: 100, value: 'M' },
  heading: { type: 'number', help: 'satellite heading, degrees (S1 asc ~348, desc ~192)', default: S1_ASCENDING_HEADING_DEG, value: 'DEG' },
  incidence: { type: 'number', help: 'incidence angle, degrees', default: 37, value: 'DEG' },
  out: { type: 'string', help: '.npz with float64 x, y, east, north, up, los (m)', value: 'FILE.npz' },
  png: { type: 'string', help: 'PNG of wrapped LOS phase', value: 'FILE.png' },
  wavelength: { type: 'number', help: `radar wavelength for the picture's phase, m (default Sentinel-1 C band ${C_BAND_WAVELENGTH_M}; ALOS-2 0.2424, NISAR L 0.2385)`, value: 'M' },
}, async (p: Parsed) => {
  const out = str(p, 'out');
  const png = str(p, 'png');
  if (!out && !png) throw new InputError('give --out FILE.npz and/or --png FILE.png');
  if (out && !/\.npz$/i.test(out)) throw new InputError(`--out ${out}: deform writes a NumPy .npz archive (x, y, east, north, up, los); name it .npz`);
  if (png && !/\.png$/i.test(png)) throw new InputError(`--png ${png}: deform draws a PNG; name it .png`);
  const wavelengthM = wavelengthOf(p) ?? C_BAND_WAVELENGTH_M;
  const source = sourceFromFlags(p);
  const m = forwardModel(source, { extentM: numArg(p, 'extent'), spacingM: numArg(p, 'spacing') },
    { headingDeg: numArg(p, 'heading'), incidenceDeg: numArg(p, 'incidence') });
  const { xs, ys, losM: los } = m;
  const n = xs.length;
  const f64 = (a: ArrayLike<number>): Float64Array => Float64Array.from(a);
  if (out) {
    writeNpz(out, {
      x: { data: xs, shape: [n] }, y: { data: ys, shape: [n] },
      east: { data: f64(m.east), shape: [n, n] }, north: { data: f64(m.north), shape: [n, n] },
      up: { data: f64(m.up), shape: [n, n] }, los: { data: los, shape: [n, n] },
    });
  }
  if (png) {
    const phase = losToPhaseArray(Float32Array.from(los), { wavelengthM });
    const img = wrappedPhaseToRgba({ width: n, height: n, data: phase });
    const scale = Math.max(1, Math.floor(448 / n));
    writePng(png, contactSheet([{ image: img, title: `${source.kind}: LOS max ${maxAbs(los).toFixed(3)} m` }], {
      scale, colourbar: { cmap: cyclic, min: -Math.PI, max: Math.PI, minLabel: '-π', maxLabel: 'π', label: `wrapped LOS phase (rad), ${wavelengthM === C_BAND_WAVELENGTH_M ? 'C band' : `wavelength ${wavelengthM} m`}` },
    }));
  }
  process.stdout.write(`${source.kind}: ${n}x${n} grid, max |LOS| ${maxAbs(los).toFixed(4)} m${out ? `, wrote ${out}` : ''}${png ? `, drew ${png}` : ''}\n`);
});
