/**
 * Parts: what one shard of an array job, or one queued job, leaves for `caldera merge`.
 *
 * - A synth part is a dataset folder whose manifest says `part: {k, n}` (`data/dataset.ts`).
 * - A scan or monitor part is the command's usual output folder plus `caldera-part.json`: the kind,
 *   k of n, the caldera version, and what merging needs (the scan's pictures in order and its
 *   failures; the monitor's report settings, sources and notes).
 *
 * Queued jobs make their part in a fresh temporary folder beside the final one and rename it into
 * place (`commitPart`): a job killed at any moment leaves no half part, and a job done twice
 * leaves the same files (the second rename replaces the first part with an identical one).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from '../core/errors.js';
import { checkShard, shardText, type Shard } from '../core/shard.js';
import { writeFileAtomicSync } from '../io/atomic.js';
import { oneLine } from '../io/input-file.js';
import { readManifest, manifestPath } from '../data/dataset.js';
import type { MonitorSpec } from './jobs.js';
import { CALDERA_VERSION } from './jobs.js';

export const PART_FILE = 'caldera-part.json';
export const PART_FORMAT = 'caldera-part/1';

export interface ScanPartInfo {
  readonly kind: 'scan';
  /** Pictures in scene order: the product and the file name (in the part folder). */
  readonly pictures: readonly { readonly product: string; readonly file: string }[];
  /** One line per product that could not be scanned. */
  readonly failures: readonly string[];
  readonly products: number;
}

export interface MonitorPartInfo {
  readonly kind: 'monitor';
  /** How to report (rule, pictures, scoring) and where the sources are (to reopen them for truths and stacks). */
  readonly spec: Omit<MonitorSpec, 'detector'>;
  readonly notes: readonly string[];
}

export type PartInfo = ScanPartInfo | MonitorPartInfo;
export type PartMarker = PartInfo & { readonly format: typeof PART_FORMAT; readonly version: string; readonly part: Shard };

/** Write the marker of a finished scan or monitor part (last, atomically). */
export function writePartMarker(dir: string, part: Shard, info: PartInfo): void {
  const m: PartMarker = { format: PART_FORMAT, version: CALDERA_VERSION, part: { k: part.k, n: part.n }, ...info };
  writeFileAtomicSync(path.join(dir, PART_FILE), JSON.stringify(m, null, 1) + '\n');
}

/** A part folder as merge sees it. */
export type FoundPart =
  | { readonly dir: string; readonly kind: 'synth'; readonly part: Shard }
  | { readonly dir: string; readonly kind: 'scan' | 'monitor'; readonly part: Shard; readonly marker: PartMarker };

/** Read a part folder (InputError naming it when it is not a finished part). */
export function readPart(dir: string): FoundPart {
  const marker = path.join(dir, PART_FILE);
  if (fs.existsSync(marker)) {
    let m: PartMarker;
    try {
      m = JSON.parse(fs.readFileSync(marker, 'utf8')) as PartMarker;
    } catch (e) {
      throw new InputError(`${marker}: corrupt part marker (${oneLine((e as Error).message)})`);
    }
    if (m?.format !== PART_FORMAT) throw new InputError(`${marker}: format ${JSON.stringify(m?.format ?? null)} is not ${PART_FORMAT}`);
    if (m.version !== CALDERA_VERSION) throw new InputError(`${dir}: a part made by caldera ${String(m.version)}, this is caldera ${CALDERA_VERSION}; merge it with that version`);
    if (m.kind !== 'scan' && m.kind !== 'monitor') throw new InputError(`${marker}: unknown kind ${JSON.stringify((m as { kind?: unknown }).kind)}`);
    checkShard(m.part ?? { k: NaN, n: NaN });
    return { dir, kind: m.kind, part: m.part, marker: m };
  }
  if (fs.existsSync(manifestPath(dir))) {
    const m = readManifest(dir);
    if (!m.part) throw new InputError(`${dir}: a whole dataset, not a part of one (made without --shard)`);
    if (!m.complete) throw new InputError(`${dir}: part ${shardText(m.part)} is not finished (rerun its synth --shard ${shardText(m.part)} to complete it)`);
    return { dir, kind: 'synth', part: m.part };
  }
  throw new InputError(`${dir}: not a finished part (no ${PART_FILE}, no dataset manifest); is its job still running, or did it fail?`);
}

/** The folder of part k of n under a queued job's output folder. */
export function partDir(out: string, part: Shard): string {
  const w = Math.max(5, String(part.n - 1).length);
  return path.join(out, 'parts', `${String(part.k).padStart(w, '0')}-of-${String(part.n).padStart(w, '0')}`);
}

/** A fresh temporary folder beside a part's final folder, unique to this attempt. */
export function partTempDir(final: string): string {
  fs.mkdirSync(path.dirname(final), { recursive: true });
  return fs.mkdtempSync(path.join(path.dirname(final), `.${path.basename(final)}.tmp-${process.pid}-${os.hostname().replace(/[^A-Za-z0-9]/g, '')}-`));
}

/** True for a temporary part folder (a killed attempt's, or one in progress). */
export function isPartTemp(name: string): boolean {
  return /^\..+\.(tmp|old)-\d+-/.test(name);
}

/**
 * Move a finished part from its temporary folder to `final`. A part already there (the job ran
 * twice) is moved aside first and removed after, so `final` is always a whole part.
 */
export function commitPart(tmp: string, final: string): void {
  let aside: string | null = null;
  if (fs.existsSync(final)) {
    aside = `${path.join(path.dirname(final), `.${path.basename(final)}.old-${process.pid}-`)}${Math.random().toString(36).slice(2, 8)}`;
    try {
      fs.renameSync(final, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // another attempt moved it meanwhile
      aside = null;
    }
  }
  try {
    fs.renameSync(tmp, final);
  } catch (e) {
    // Another attempt of the same job committed between our two renames: its part is the same.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (aside) fs.rmSync(aside, { recursive: true, force: true });
}
