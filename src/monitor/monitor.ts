/**
 * The monitoring run: for every target of every source, the inputs not yet in the state (new
 * interferograms, new cumulative epochs) go through the one inference path — window
 * (`data/windows.ts`) → channels (`scan/scan.ts` windowInput, `data/channels.ts`) → the detector
 * (`scan/detector.ts`) — in batches, and become timeline rows, saved to the state as they come
 * (every 20 s and at the end, so a killed run resumes). Alerts and files are made from the state
 * afterwards (`output.ts`). Prints nothing.
 */
import { CLASS_NAMES } from '../core/classes.js';
import { argmax } from '../core/arrays.js';
import { windowBoxToLonLat, DEFAULT_WINDOW_KM, MODEL_SIZE_PX } from '../data/windows.js';
import type { CentreBox } from '../core/box.js';
import type { Detector, ModelOutput } from '../scan/detector.js';
import { windowInput } from '../scan/scan.js';
import * as path from 'node:path';
import { InputError } from '../core/errors.js';
import { shardSlice, type Shard } from '../core/shard.js';
import { writeFileAtomicSync } from '../io/atomic.js';
import { writePng } from '../io/png.js';
import type { Hdf5Options } from '../io/hdf5.js';
import { SIGNALS, type AlertRule, type TimelineRow } from './alerts.js';
import { loadState, processedKeys, saveState, stateDir, type MonitorState } from './state.js';
import { openSources, type MonitorSource, type MonitorTarget, type SourceContext, type TargetSpec, type WindowJob } from './sources.js';
import { results, writeOutputs, type TargetResult, type Written } from './output.js';
import { delayFigure, scoreMarkdown, scoreStacks, type ScoreSummary } from './score.js';

export interface MonitorOptions {
  readonly outDir: string;
  readonly detector: Detector;
  /** Window ground size, km (default 20.16 = 224 x 90 m). */
  readonly sizeKm?: number;
  /** Cumulative displacement since this date (ISO); default the first epoch. */
  readonly baseline?: string | null;
  /** The detector averages each input with its negative (recorded in the state). */
  readonly symmetric?: boolean;
  /** Forget the state and process everything again. */
  readonly restart?: boolean;
  readonly onProgress?: (done: number, total: number) => void;
  /** Seconds between state saves (default 20). */
  readonly saveEverySeconds?: number;
  /**
   * Array jobs: watch only shard K of N, a contiguous block of the targets (volcanoes, points,
   * stacks) in the order the sources list them; `caldera merge` joins the parts' states.
   */
  readonly shard?: Shard;
}

export interface MonitorRun {
  readonly state: MonitorState;
  /** Rows made in this run. */
  readonly processed: number;
  /** Inputs already in the state, not processed again. */
  readonly alreadyDone: number;
  /** Inputs offered by two sources (the first kept). */
  readonly duplicates: number;
  /** What the sources said (sorting, duplicates) and products that could not be used. */
  readonly notes: string[];
  readonly run: string;
}

const round = (v: number): number => Math.round(v * 1e4) / 1e4;

/** A timeline row from a model answer on a window. */
export function rowOf(job: WindowJob, out: ModelOutput, run: string): TimelineRow {
  const w = job.window;
  const ci = argmax(out.probs);
  const className = CLASS_NAMES[ci]!;
  let boxWindow: CentreBox | null = null;
  let boxLonLat: TimelineRow['boxLonLat'] = null;
  if (className !== 'none') {
    const [cx, cy, hw, hh] = out.box;
    boxWindow = { x: round(cx * w.size), y: round(cy * w.size), halfWidth: round(hw * w.size), halfHeight: round(hh * w.size) };
    boxLonLat = windowBoxToLonLat(w, boxWindow).map((v) => Math.round(v * 1e6) / 1e6) as unknown as TimelineRow['boxLonLat'];
  }
  return {
    target: job.target.name, key: job.input.key, kind: job.input.kind, dates: job.input.dates, product: job.input.product,
    className, probs: [round(out.probs[0]!), round(out.probs[1]!), round(out.probs[2]!)],
    boxWindow, boxLonLat, maskedFraction: round(w.maskedFraction), run,
  };
}

/** Run the detector over every new input of the sources; returns the updated state (saved). */
export async function runMonitor(sources: readonly MonitorSource[], o: MonitorOptions): Promise<MonitorRun> {
  const sizeKm = o.sizeKm ?? DEFAULT_WINDOW_KM;
  const size = o.detector.size ?? MODEL_SIZE_PX;
  const baseline = o.baseline ?? null;
  const state = loadState(o.outDir, { model: o.detector.name, format: o.detector.format, sizeKm, symmetric: o.symmetric ?? false, baseline }, o.restart);
  const run = new Date().toISOString();
  state.runs.push(run);
  const notes: string[] = [];
  const ctx: SourceContext = { sizeKm, size, baseline, stateDir: stateDir(o.outDir), onProblem: (m) => notes.push(m) };

  // This shard's targets: a block of all targets in source order.
  const ours = new Set(shardSlice([...new Set(sources.flatMap((s) => s.targets.map((t) => t.name)))], o.shard));
  // What each source has to do: inputs not in the state and not offered by an earlier source.
  const claimed = new Map<string, Set<string>>();
  const plans: { source: MonitorSource; wanted: Map<string, Set<string>> }[] = [];
  let total = 0, alreadyDone = 0, duplicates = 0;
  for (const source of sources) {
    notes.push(...source.notes);
    const wanted = new Map<string, Set<string>>();
    for (const t of source.targets) {
      if (!ours.has(t.name)) continue;
      const ts = (state.targets[t.name] ??= { point: t.point, sources: [], rows: [] });
      if (!ts.sources.includes(source.label)) ts.sources.push(source.label);
      const done = processedKeys(state, t.name);
      const mine = claimed.get(t.name) ?? claimed.set(t.name, new Set()).get(t.name)!;
      const keys = new Set<string>();
      for (const inp of source.inputs(t, ctx)) {
        if (done.has(inp.key)) { alreadyDone++; continue; }
        if (mine.has(inp.key)) { duplicates++; continue; }
        mine.add(inp.key);
        keys.add(inp.key);
      }
      wanted.set(t.name, keys);
      total += keys.size;
    }
    plans.push({ source, wanted });
  }
  if (duplicates) notes.push(`${duplicates} input${duplicates === 1 ? '' : 's'} offered twice (the same dates in two sources): the first kept`);

  let done = 0;
  let lastSave = Date.now();
  const every = (o.saveEverySeconds ?? 20) * 1000;
  const bs = Math.max(1, o.detector.batchSize ?? 16);
  let pending: WindowJob[] = [];
  const flush = async (): Promise<void> => {
    while (pending.length) {
      const batch = pending.splice(0, bs);
      const outs = await o.detector.run(batch.map((j) => windowInput(j.window, o.detector.format)));
      if (outs.length !== batch.length) throw new Error(`model returned ${outs.length} outputs for ${batch.length} inputs`);
      batch.forEach((j, i) => state.targets[j.target.name]!.rows.push(rowOf(j, outs[i]!, run)));
      done += batch.length;
      o.onProgress?.(done, total);
      if (Date.now() - lastSave > every) { saveState(o.outDir, state); lastSave = Date.now(); }
    }
  };
  o.onProgress?.(0, total);
  try {
    for (const { source, wanted } of plans) {
      if ([...wanted.values()].every((k) => k.size === 0) && source.kind !== 'licsar') continue;
      for await (const jobs of source.windows(wanted, ctx)) {
        pending.push(...jobs);
        if (pending.length >= bs) {
          const keep = pending.length % bs;
          const rest = keep ? pending.splice(pending.length - keep, keep) : [];
          await flush();
          pending = rest;
        }
      }
    }
    await flush();
  } finally {
    for (const s of sources) s.close();
    for (const t of Object.values(state.targets)) t.rows.sort((a, b) => (a.dates[1] + a.kind + a.dates[0]).localeCompare(b.dates[1] + b.kind + b.dates[0]));
    saveState(o.outDir, state);
  }
  return { state, processed: done, alreadyDone, duplicates, notes, run };
}

// ---------------------------------------------------------------------------------------------
// The whole job: sources -> rows -> alerts -> files (and a score when the truth is known)

export interface MonitorJob extends MonitorOptions {
  readonly paths: readonly string[];
  /** Where to look in products (stacks bring their own targets). */
  readonly targets: TargetSpec | null;
  readonly rule: AlertRule;
  readonly png?: boolean;
  readonly maxPngs?: number;
  readonly minCoherence?: number;
  readonly hdf5?: Hdf5Options;
  /** Scoring of synthetic stacks: in time = at most this many acquisitions after the 3 cm crossing (default 2). */
  readonly maxDelay?: number;
}

export interface MonitorReport {
  readonly run: MonitorRun;
  readonly results: TargetResult[];
  readonly written: Written;
  readonly score: ScoreSummary | null;
  readonly scoreFiles: string[];
}

/** Open the sources, process what is new, and write the timeline, alerts and (for stacks) the score. */
export async function monitor(job: MonitorJob): Promise<MonitorReport> {
  validateRule(job.rule);
  const sources = await openSources(job.paths, job.targets, {
    ...(job.minCoherence !== undefined ? { minCoherence: job.minCoherence } : {}), ...(job.hdf5 ? { hdf5: job.hdf5 } : {}),
  });
  const run = await runMonitor(sources, job);
  return { run, ...reportMonitor(job, sources, run.state, run.notes) };
}

/** What a monitoring report needs besides the state: where, the alert rule, pictures, scoring. */
export type ReportOptions = Pick<MonitorJob, 'outDir' | 'rule' | 'png' | 'maxPngs' | 'maxDelay'>;

/**
 * Alerts, the timeline files and (for synthetic stacks) the score, from a state: the end of every
 * run, and of `caldera merge` over the states of array-job parts.
 */
export function reportMonitor(job: ReportOptions, sources: readonly MonitorSource[], state: MonitorState, notes: readonly string[]): Omit<MonitorReport, 'run'> {
  validateRule(job.rule);
  const truths = new Map<string, MonitorTarget['truth']>();
  for (const s of sources) for (const t of s.targets) if (t.truth) truths.set(t.name, t.truth);
  const res = results(state, job.rule, truths);
  let score: ScoreSummary | null = null;
  const scoreFiles: string[] = [];
  if (truths.size) {
    score = scoreStacks(res.filter((r) => truths.has(r.name)), job.maxDelay ?? 2);
    const { perStack, ...head } = score;
    const f = path.join(job.outDir, 'score.json');
    writeFileAtomicSync(f, JSON.stringify({ rule: job.rule, ...head, perStack }, null, 1) + '\n');
    const md = path.join(job.outDir, 'score.md');
    writeFileAtomicSync(md, scoreMarkdown(score));
    const png = path.join(job.outDir, 'delays.png');
    writePng(png, delayFigure(score));
    scoreFiles.push(f, md, png);
  }
  const stackSources = sources.filter((s) => s.stack);
  const written = writeOutputs(job.outDir, state, res, job.rule, { notes }, {
    png: job.png ?? true, ...(job.maxPngs !== undefined ? { maxPngs: job.maxPngs } : {}),
    ...(stackSources.length ? { stackOf: (name: string) => { for (const s of stackSources) { const st = s.stack!(name); if (st) return st; } return null; } } : {}),
  });
  return { results: res, written, score, scoreFiles };
}

function validateRule(rule: AlertRule): void {
  if (!Number.isInteger(rule.k) || !Number.isInteger(rule.n) || rule.k < 1 || rule.n < rule.k) {
    throw new InputError(`the alert rule needs whole numbers 1 <= k <= n, got k ${rule.k}, n ${rule.n}`);
  }
  if (!(rule.minScore > 0 && rule.minScore <= 1)) throw new InputError(`the detection score must be within 0..1, got ${rule.minScore}`);
  if (!SIGNALS.includes(rule.signal)) throw new InputError(`signal must be one of ${SIGNALS.join(', ')}, got '${String(rule.signal)}'`);
}
