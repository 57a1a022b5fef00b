/** `caldera label`: add labelled real interferograms to a dataset (by hand, or from an episode file). */
import { InputError } from '../core/errors.js';
import { labelProducts } from '../data/label.js';
import { parseLonLatBox } from '../data/real.js';
import { findVolcano } from '../data/volcanoes.js';
import { parseLonLat } from '../data/windows.js';
import { CLASS_NAMES, type ClassName } from '../core/classes.js';
import { list, num, numArg, requireStr, str, type Parsed } from './args.js';
import { command } from './command.js';
import { loadVolcanoList } from '../scan/points.js';
import { unitsFlag, unitsOf, wavelengthFlag, wavelengthOf } from './units.js';

export const labelCommand = command('label', 'add labelled real interferograms to a dataset (class + lon/lat box, or from deformation episodes)',
  'PRODUCT... (--class dyke|sill|none [--box LON0,LAT0,LON1,LAT1] | --episodes FILE) --out DIR', {
    class: { type: 'string', help: 'label: dyke, sill or none', value: 'CLASS' },
    box: { type: 'string', help: 'deformation box, two opposite corners in degrees (dyke and sill)', value: 'LON0,LAT0,LON1,LAT1' },
    episodes: { type: 'string', help: 'VolcNet-style episode file: each product gets the episode its dates span, or none', value: 'FILE' },
    volcano: { type: 'list', help: 'the volcano (training windows are cut around it; default the box centre)', value: 'NAME' },
    volcanoes: { type: 'string', help: 'JSON volcano list [{name, lon, lat}] instead of the bundled one', value: 'FILE' },
    at: { type: 'string', help: 'centre of training windows, instead of a volcano', value: 'LON,LAT' },
    'crop-km': { type: 'number', help: 'side of the stored crop (0 = whole product)', default: 40, value: 'KM' },
    units: { ...unitsFlag, help: "plain single-band rasters: 'rad' unwrapped phase, 'm' or 'mm' LOS displacement" },
    wavelength: wavelengthFlag,
    note: { type: 'string', help: 'free text kept with the sample', value: 'TEXT' },
    out: { type: 'string', help: 'dataset folder (created if needed)', value: 'DIR' },
  }, async (p: Parsed) => {
    const out = requireStr(p, 'out');
    if (p.positionals.length === 0) throw new InputError('give the product(s) to label');
    const units = unitsOf(p);
    const wavelengthM = wavelengthOf(p);
    const episodesFile = str(p, 'episodes');
    const cls = str(p, 'class');
    if (episodesFile && (cls || str(p, 'box'))) throw new InputError('give --class/--box or --episodes, not both');
    if (!episodesFile && !cls) throw new InputError('give --class (with --box for dyke and sill) or --episodes FILE');
    if (cls && !(CLASS_NAMES as readonly string[]).includes(cls)) throw new InputError(`--class must be one of ${CLASS_NAMES.join(', ')}, got '${cls}'`);
    const volcanoes = loadVolcanoList(str(p, 'volcanoes'));
    const vName = list(p, 'volcano')?.[0];
    const v = vName ? findVolcano(vName, volcanoes) : undefined;
    if (vName && !v) throw new InputError(`unknown volcano '${vName}' (use --at LON,LAT or --volcanoes FILE)`);
    const at = str(p, 'at');
    const centre = at ? parseLonLat(at) : null;
    const box = str(p, 'box') ? parseLonLatBox(str(p, 'box')!) : null;
    const cropKm = numArg(p, 'crop-km');

    const { counts, problems } = await labelProducts(p.positionals, out, {
      units, ...(wavelengthM !== undefined ? { wavelengthM } : {}), cropKm, volcano: v ?? null, centre,
      source: episodesFile ? { kind: 'episodes', file: episodesFile }
        : { kind: 'class', className: cls as ClassName, box, ...(str(p, 'note') ? { note: str(p, 'note')! } : {}) },
      onSample: (meta, replaced) => process.stdout.write(`${replaced ? 'replaced' : 'added'} ${meta.id}: ${meta.className}` +
        `${meta.box ? ` box ${meta.box.map((x) => x.toFixed(4)).join(',')}` : ''}${meta.dates ? ` ${meta.dates[0]}..${meta.dates[1]}` : ''}\n`),
    });
    const summary = CLASS_NAMES.map((c) => `${counts[c]} ${c}`).join(', ');
    process.stdout.write(`${out}: ${summary} added\n`);
    if (problems.length) process.stderr.write(`${problems.length} not labelled:\n${problems.map((m) => `  ${m}`).join('\n')}\n`);
    return problems.some((m) => !m.startsWith('skipped ')) ? 1 : 0;
  });
