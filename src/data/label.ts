/**
 * Labelling real products into a labelled real dataset (`real.ts`'s layout): one product with a
 * class and a lon/lat box given by hand, or many products labelled from VolcNet-style deformation
 * episodes (`episodes.ts`: each product gets the episode its dates span, or `none`).
 */
import { InputError, isInputError } from '../core/errors.js';
import { CLASS_NAMES, type ClassName } from '../core/classes.js';
import { discoverProducts, readProduct, type RasterUnits } from '../io/licsar.js';
import { labelFromEpisodes, readEpisodes } from './episodes.js';
import { addSample, type NewLabel, type RealSampleMeta } from './real.js';
import type { LonLat, LonLatBox } from './windows.js';

/** By hand (one product) or from an episodes file (any number). */
export type LabelSource =
  | { readonly kind: 'class'; readonly className: ClassName; readonly box: LonLatBox | null; readonly note?: string }
  | { readonly kind: 'episodes'; readonly file: string };

export interface LabelOptions {
  /** Plain single-band rasters: 'rad' (unwrapped phase), 'm' or 'mm' (LOS metres, millimetres). */
  readonly units: RasterUnits;
  /** Radar wavelength (m) of phase inputs (default C band; stored samples hold C-band phase, see io/licsar.ts). */
  readonly wavelengthM?: number;
  readonly source: LabelSource;
  /** Training windows are cut around this volcano (default: the box or episode centre). */
  readonly volcano?: NewLabel['volcano'];
  /** Or around this point. */
  readonly centre?: LonLat | null;
  /** Side of the stored crop, km (0 = whole product). */
  readonly cropKm: number;
  /** Called for each sample written. */
  readonly onSample?: (meta: RealSampleMeta, replaced: boolean) => void;
}

export interface LabelResult {
  readonly counts: Record<ClassName, number>;
  /** Products not labelled: `skipped ...` (no episode decision) or why they failed. */
  readonly problems: string[];
}

/** Label the products found under `paths` into dataset `outDir` (see the module comment). */
export async function labelProducts(paths: readonly string[], outDir: string, o: LabelOptions): Promise<LabelResult> {
  const found = discoverProducts(paths, { units: o.units });
  const problems = found.problems.map((f) => f.message);
  const byEpisodes = o.source.kind === 'episodes';
  if (!byEpisodes && found.products.length > 1) {
    throw new InputError(`a class labels one product; ${found.products.length} were found (label many from an episodes file)`);
  }
  const episodes = o.source.kind === 'episodes' ? readEpisodes(o.source.file) : [];
  const counts = Object.fromEntries(CLASS_NAMES.map((c) => [c, 0])) as Record<ClassName, number>;
  for (const files of found.products) {
    try {
      const prod = await readProduct(files, { units: o.units, ...(o.wavelengthM !== undefined ? { wavelengthM: o.wavelengthM } : {}) });
      let label: NewLabel;
      if (o.source.kind === 'episodes') {
        const l = labelFromEpisodes(episodes, prod);
        if (l.kind === 'skip') { problems.push(`skipped ${l.reason}`); continue; }
        label = {
          className: l.className, polygon: l.episode?.polygon ?? null, volcano: o.volcano ?? l.volcano, centre: o.centre ?? l.centre, cropKm: o.cropKm,
          source: { kind: 'episode', ...(l.episode ? { episode: l.episode.id } : {}), file: o.source.file },
          ...(l.others.length ? { note: `also spans ${l.others.map((e) => e.id).join(', ')}` } : {}),
        };
      } else {
        label = {
          className: o.source.className, box: o.source.box, volcano: o.volcano ?? null, centre: o.centre ?? null, cropKm: o.cropKm,
          ...(o.source.note ? { note: o.source.note } : {}),
        };
      }
      const { meta, replaced } = await addSample(outDir, prod, label);
      counts[meta.className]++;
      o.onSample?.(meta, replaced);
    } catch (e) {
      if (!isInputError(e) || !byEpisodes) throw e;
      problems.push((e as Error).message);
    }
  }
  return { counts, problems };
}
