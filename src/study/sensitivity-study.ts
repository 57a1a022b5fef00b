/**
 * The sensitivity study end to end, as `caldera study sensitivity` runs it: the plan from a few
 * options (the full sweep or `quick`), the scoring (resumable, sensitivity.ts), then
 * `sensitivity.json`, the PNG curves and `report.md` (sensitivity-report.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../io/atomic.js';
import { InputError } from '../core/errors.js';
import type { TerrainSpec } from '../data/terrain-source.js';
import type { EngineName } from '../scan/detector.js';
import { modelIdentity, presetPlan, runSensitivity, type SensitivityPlan, type SensitivityProgress } from './sensitivity.js';
import { writeSensitivityReport, type ScoringRun, type SensitivitySummary } from './sensitivity-report.js';

export interface SensitivityStudyOptions {
  readonly outDir: string;
  /** Model directory, .onnx file or 'stand-in'. */
  readonly model: string;
  readonly quick?: boolean;
  /** Scenes per point of the main grid (default 1100 full, 2 quick); the size sweep gets half, the deformation-free cells twice. */
  readonly scenes?: number;
  readonly seed?: number;
  readonly terrain?: TerrainSpec;
  readonly engine?: EngineName;
  readonly jobs?: number;
  readonly command?: string;
  /** Markdown placed in the report after the headline. */
  readonly findings?: string;
}

export interface SensitivityStudyResult {
  readonly report: string;
  readonly summary: SensitivitySummary;
  readonly plan: SensitivityPlan;
  /** Seconds spent scoring in this run. */
  readonly seconds: number;
}

export async function sensitivityStudy(o: SensitivityStudyOptions, onProgress?: (p: SensitivityProgress) => void): Promise<SensitivityStudyResult> {
  if (o.scenes !== undefined && !(Number.isInteger(o.scenes) && o.scenes >= 1)) throw new InputError(`the number of scenes per point must be a positive whole number, got ${o.scenes}`);
  if (o.model !== 'stand-in' && !fs.existsSync(o.model)) throw new InputError(`${o.model}: no such model`);
  const plan = presetPlan(o.quick ? 'quick' : 'full', { seed: o.seed, scenes: o.scenes, terrain: o.terrain });
  const jobs = Math.max(1, o.jobs ?? 1);
  // The scoring runs of this folder (a resumed study has several), for the report's cost line;
  // this run's entry is saved every 10 s, so a killed run still counts.
  const runsFile = path.join(o.outDir, 'runs.json');
  let runs: ScoringRun[] = [];
  try { runs = JSON.parse(fs.readFileSync(runsFile, 'utf8')) as ScoringRun[]; } catch { /* first run */ }
  const t0 = Date.now();
  const date = new Date().toISOString();
  let resumed = 0, lastSave = t0;
  const save = (scenes: number): void => {
    if (scenes <= 0 || !fs.existsSync(o.outDir)) return;
    writeFileAtomicSync(runsFile, JSON.stringify([...runs, { date, seconds: Math.round((Date.now() - t0) / 100) / 10, scenes, jobs }], null, 1) + '\n');
  };
  const { scenes } = await runSensitivity({ outDir: o.outDir, plan, model: o.model, engine: o.engine, jobs }, (p) => {
    resumed = p.resumed;
    if (Date.now() - lastSave > 10_000) { lastSave = Date.now(); save(p.done - resumed); }
    onProgress?.(p);
  });
  const seconds = (Date.now() - t0) / 1000;
  save(scenes);
  if (scenes > 0) runs.push({ date, seconds: Math.round(seconds * 10) / 10, scenes, jobs });
  const id = modelIdentity(o.model);
  const { report, summary } = writeSensitivityReport(o.outDir, plan, {
    model: o.model, modelCreatedAt: id.createdAt, command: o.command ?? '', runs, date: new Date().toISOString().slice(0, 10),
  }, o.findings ?? '', o.quick ? 50 : 400);
  return { report, summary, plan, seconds };
}
