/**
 * The monitor's memory between runs: `monitor-state.json` in the output folder holds every
 * timeline row made so far (per target) and the settings that decide a row (model, window size,
 * sign symmetry, baseline). A rerun with more products processes only inputs whose key is not
 * there; alerts are recomputed from all rows each time, so changing the alert rule (k, n, score,
 * signal) needs no reprocessing. LiCSAR chains live beside it in `state/`. Written atomically.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../core/errors.js';
import { writeFileAtomicSync } from '../io/atomic.js';
import type { TimelineRow } from './alerts.js';
import type { LonLat } from '../data/windows.js';

export const STATE_FORMAT = 'caldera-monitor/1';

/** What decides a row: a rerun with other values would mix incomparable answers. */
export interface RowSettings {
  readonly model: string;
  readonly format: string;
  readonly sizeKm: number;
  readonly symmetric: boolean;
  readonly baseline: string | null;
}

export interface TargetState {
  readonly point: LonLat;
  /** Where its products came from (paths), for reports. */
  readonly sources: string[];
  rows: TimelineRow[];
}

export interface MonitorState {
  readonly format: typeof STATE_FORMAT;
  readonly settings: RowSettings;
  readonly targets: Record<string, TargetState>;
  /** ISO times of the runs. */
  readonly runs: string[];
}

export function statePath(outDir: string): string {
  return path.join(outDir, 'monitor-state.json');
}

/** The chains' folder. */
export function stateDir(outDir: string): string {
  return path.join(outDir, 'state');
}

function describe(s: RowSettings): string {
  return `model ${s.model} (${s.format}), window ${s.sizeKm} km, ${s.symmetric ? 'sign-symmetric' : 'one sign'}, baseline ${s.baseline ?? 'first epoch'}`;
}

/** Load the state of `outDir`, or a fresh one. InputError when it was made with other row settings (unless `restart`). */
export function loadState(outDir: string, settings: RowSettings, restart = false): MonitorState {
  const p = statePath(outDir);
  if (restart && fs.existsSync(p)) {
    fs.rmSync(p);
    fs.rmSync(stateDir(outDir), { recursive: true, force: true });
  }
  if (!fs.existsSync(p)) return { format: STATE_FORMAT, settings, targets: {}, runs: [] };
  let s: MonitorState;
  try {
    s = JSON.parse(fs.readFileSync(p, 'utf8')) as MonitorState;
  } catch (e) {
    throw new InputError(`${p}: corrupt state file (${(e as Error).message}); rerun with a new output folder or restart`);
  }
  if (s.format !== STATE_FORMAT) throw new InputError(`${p}: format '${String(s.format)}' is not ${STATE_FORMAT}`);
  if (JSON.stringify(s.settings) !== JSON.stringify(settings)) {
    throw new InputError(`${p}: made with ${describe(s.settings)}; this run asks for ${describe(settings)}. ` +
      'Use another output folder, or restart to process everything again');
  }
  return s;
}

export function saveState(outDir: string, s: MonitorState): void {
  fs.mkdirSync(outDir, { recursive: true });
  writeFileAtomicSync(statePath(outDir), JSON.stringify(s) + '\n');
}

/** Keys already processed for a target. */
export function processedKeys(s: MonitorState, target: string): Set<string> {
  return new Set((s.targets[target]?.rows ?? []).map((r) => r.key));
}
