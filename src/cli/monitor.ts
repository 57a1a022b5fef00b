/**
 * `caldera monitor`: watch volcanoes through time (LiCSAR frames, LiCSBAS / MintPy HDF5 time
 * series, folders of synthetic stacks) and raise alerts; `caldera synth-series`: make synthetic
 * stacks with a known onset. Parse and call only.
 */
import * as path from 'node:path';
import { InputError } from '../core/errors.js';
import { findVolcano, VOLCANOES } from '../data/volcanoes.js';
import { parseLonLat, DEFAULT_WINDOW_KM } from '../data/windows.js';
import { DEFAULT_RULE, SIGNALS, type Signal } from '../monitor/alerts.js';
import { monitor } from '../monitor/monitor.js';
import type { TargetSpec } from '../monitor/sources.js';
import { DEFAULT_STACK_CLASSES, synthesiseSeries } from '../monitor/stacks.js';
import { DEFAULT_TIME_SERIES_CONFIG, GROWTHS, type Growth } from '../synth/time-series.js';
import { DEFAULT_MIN_COHERENCE } from '../io/licsar.js';
import { bool, list, num, requireNum, requireStr, str, type Parsed } from './args.js';
import { command } from './command.js';
import { engineOf, threadsOf } from './engine.js';
import { progressBar } from './progress.js';
import { parseClassList } from '../core/classes.js';
import { terrainFromFlags } from './terrain.js';
import { shardFlag, shardOf } from './shard.js';
import { writePartMarker } from '../queue/parts.js';
import { loadSpecDetector } from '../queue/run-job.js';
import type { MonitorSpec } from '../queue/jobs.js';

function isoDate(s: string, flag: string): string {
  const c = s.replace(/-/g, '');
  if (!/^\d{8}$/.test(c) || !Number.isFinite(Date.parse(`${c.slice(0, 4)}-${c.slice(4, 6)}-${c.slice(6, 8)}T00:00:00Z`))) {
    throw new InputError(`--${flag} expects a date YYYY-MM-DD or YYYYMMDD, got '${s}'`);
  }
  return `${c.slice(0, 4)}-${c.slice(4, 6)}-${c.slice(6, 8)}`;
}

function targetsOf(p: Parsed): TargetSpec | null {
  const at = str(p, 'at');
  const names = list(p, 'volcano');
  if (at && names) throw new InputError('give --at or --volcano, not both');
  if (at) return { kind: 'points', points: [parseLonLat(at)] };
  if (!names) return null;
  if (names.length === 1 && names[0]!.toLowerCase() === 'all') return { kind: 'volcanoes-inside', volcanoes: VOLCANOES };
  return {
    kind: 'points',
    points: names.map((n) => {
      const v = findVolcano(n);
      if (!v) throw new InputError(`unknown volcano '${n}' (not in the bundled list; use --at LON,LAT)`);
      return { name: v.name, lon: v.lon, lat: v.lat };
    }),
  };
}

/** The flags of monitor (also those of `enqueue monitor`). */
export const monitorFlags = {
  at: { type: 'string', help: 'watch this point', value: 'LON,LAT' },
  volcano: { type: 'list', help: "watch these volcanoes (bundled list), or 'all' inside the data", value: 'NAME,...' },
  out: { type: 'string', help: 'output folder: timeline.jsonl/.csv, alerts.geojson, summary.json, timelines/*.png, monitor-state.json', default: 'monitor-out', value: 'DIR' },
  k: { type: 'int', help: 'alert when at least k ...', default: DEFAULT_RULE.k },
  n: { type: 'int', help: '... of the last n epochs are detections', default: DEFAULT_RULE.n },
  'min-score': { type: 'number', help: 'probability of dyke or sill that makes a detection', default: DEFAULT_RULE.minScore },
  signal: { type: 'string', help: 'what decides an epoch: the cumulative displacement since the baseline, the new interferograms, or either', default: DEFAULT_RULE.signal, value: SIGNALS.join('|') },
  baseline: { type: 'string', help: 'cumulative displacement since this date (default: the first epoch)', value: 'DATE' },
  'size-km': { type: 'number', help: 'window size on the ground (resampled to the model input)', default: DEFAULT_WINDOW_KM, value: 'KM' },
  wavelength: { type: 'number', help: 'radar wavelength (m) of HDF5 series without a WAVELENGTH attribute, or to override it (default C band)', value: 'M' },
  'min-coherence': { type: 'number', help: 'LiCSAR products: mask pixels with lower coherence', default: DEFAULT_MIN_COHERENCE },
  model: { type: 'string', help: "model directory (default: the bundled models/default), a .onnx file, or 'stand-in'", value: 'DIR' },
  sign: { type: 'boolean', help: 'also run every window with the phase negated and average the answers' },
  batch: { type: 'int', help: 'windows per model call', default: 16 },
  threads: { type: 'int', help: 'ONNX Runtime threads (default: all cores)', value: 'N' },
  engine: { type: 'string', help: "what runs the network: 'onnx' or 'tfjs'", default: 'onnx', value: 'onnx|tfjs' },
  restart: { type: 'boolean', help: 'forget the state in the output folder and process everything again' },
  'max-delay': { type: 'int', help: 'synthetic stacks: onset detected in time when alerted at most this many acquisitions after the 3 cm crossing', default: 2 },
  'no-png': { type: 'boolean', help: 'skip the timeline pictures' },
  'max-pngs': { type: 'int', help: 'draw at most this many timeline pictures', value: 'N' },
  quiet: { type: 'boolean', help: 'no progress bar' },
} as const;

/** Everything the monitor flags decide, as data. */
export function monitorSpecOf(p: Parsed): MonitorSpec {
  const signal = str(p, 'signal') ?? DEFAULT_RULE.signal;
  if (!(SIGNALS as readonly string[]).includes(signal)) throw new InputError(`--signal must be one of ${SIGNALS.join(', ')}, got '${signal}'`);
  const baseline = str(p, 'baseline');
  const wavelength = num(p, 'wavelength');
  const maxPngs = num(p, 'max-pngs');
  return {
    paths: p.positionals, targets: targetsOf(p),
    detector: {
      ...(str(p, 'model') ? { model: str(p, 'model')! } : {}), batchSize: num(p, 'batch') ?? 16, symmetric: bool(p, 'sign'),
      ...(str(p, 'model') === 'stand-in' ? {} : { engine: engineOf(p), ...threadsOf(p) }),
    },
    sizeKm: num(p, 'size-km') ?? DEFAULT_WINDOW_KM, baseline: baseline ? isoDate(baseline, 'baseline') : null,
    rule: { k: num(p, 'k') ?? DEFAULT_RULE.k, n: num(p, 'n') ?? DEFAULT_RULE.n, minScore: num(p, 'min-score') ?? DEFAULT_RULE.minScore, signal: signal as Signal },
    png: !bool(p, 'no-png'), ...(maxPngs !== undefined ? { maxPngs } : {}),
    minCoherence: num(p, 'min-coherence') ?? DEFAULT_MIN_COHERENCE,
    ...(wavelength !== undefined ? { hdf5: { wavelengthM: wavelength } } : {}),
    maxDelay: num(p, 'max-delay') ?? 2,
  };
}

export const monitorCommand = command('monitor', 'watch volcanoes through time and raise alerts when deformation starts (LiCSAR frames, cum.h5 / timeseries.h5, synthetic stacks)',
  'PATH... [--at LON,LAT | --volcano NAME[,NAME|all]] [--out DIR] [--k 2 --n 3] [--signal cumulative|ifg|either]', {
    ...monitorFlags,
    shard: { ...shardFlag, help: 'array jobs: watch only block K of N of the targets (K from 0); caldera merge joins the parts' },
  }, async (p: Parsed) => {
    const out = str(p, 'out') ?? 'monitor-out';
    const { detector: dspec, ...spec } = monitorSpecOf(p);
    const shard = shardOf(p);
    const detector = await loadSpecDetector(dspec);
    let bar: ReturnType<typeof progressBar> | null = null;
    const r = await monitor({
      ...spec, outDir: out, detector, symmetric: dspec.symmetric, restart: bool(p, 'restart'), ...(shard ? { shard } : {}),
      onProgress: (done, total) => {
        if (bool(p, 'quiet') || total === 0) return;
        bar ??= progressBar('monitor', total, { unit: 'windows' });
        bar.update(done);
      },
    });
    (bar as ReturnType<typeof progressBar> | null)?.finish();
    if (shard) writePartMarker(out, shard, { kind: 'monitor', spec: { ...spec, paths: spec.paths.map((f) => path.resolve(f)) }, notes: r.run.notes });
    const lines: string[] = [];
    for (const n of r.run.notes) lines.push(`note: ${n}`);
    for (const t of r.results) {
      if (r.results.length > 20 && t.alerts.length === 0) continue;
      lines.push(`${t.name}: ${t.epochs.length} epochs, ${t.epochs.filter((e) => e.detected).length} with a detection` +
        (t.alerts.length ? `; ${t.alerts.map((a) => `ALERT ${a.className} raised ${a.raisedDate}, onset ${a.onsetDate}${a.onsetAfter ? ` (after ${a.onsetAfter})` : ''}` +
          `${a.endDate ? `, ended ${a.endDate}` : ''}${a.boxLonLat ? `, box lon/lat ${a.boxLonLat.map((v) => v.toFixed(4)).join(', ')}` : ''}`).join('; ')}` : '; no alert'));
    }
    if (r.results.length > 20) lines.push(`(${r.results.length} targets; those without an alert are in ${r.written.csv})`);
    if (r.score) {
      const s = r.score;
      lines.push(`score: onset detected within ${s.maxDelay} acquisitions of the 3 cm crossing in ${s.inTime} of ${s.deforming} deforming stacks ` +
        `(${(100 * s.inTimeRate).toFixed(1)} %); false alerts on ${s.falseAlerts} of ${s.quiet} stacks without deformation (${(100 * s.falseAlertRate).toFixed(1)} %); ` +
        `median delay ${s.medianDelay ?? '-'} acquisitions`);
    }
    lines.push(`${r.run.processed} new window${r.run.processed === 1 ? '' : 's'} processed (${r.run.alreadyDone} already done) with ${detector.name}; ` +
      `${r.written.alerts} alert${r.written.alerts === 1 ? '' : 's'} in ${r.written.geojson}; timeline in ${r.written.csv}` +
      (r.written.pngs.length ? `, ${r.written.pngs.length} picture${r.written.pngs.length === 1 ? '' : 's'}` : '') +
      (r.scoreFiles.length ? `; score in ${r.scoreFiles[1]}` : ''));
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  });

export const synthSeriesCommand = command('synth-series', 'make synthetic time series: stacks of acquisitions with deformation from a known onset, their interferograms and cumulative series',
  '--count N --out DIR [--epochs 20] [--spacing 12] [--growth random] [options]', {
    count: { type: 'int', help: 'number of stacks', value: 'N' },
    out: { type: 'string', help: 'output folder (resumes an unfinished run)', value: 'DIR' },
    seed: { type: 'int', help: 'random seed', default: 1 },
    epochs: { type: 'int', help: 'acquisitions per stack', default: DEFAULT_TIME_SERIES_CONFIG.epochs },
    spacing: { type: 'int', help: 'days between acquisitions (Sentinel-1: 6 or 12)', default: DEFAULT_TIME_SERIES_CONFIG.spacingDays },
    start: { type: 'string', help: 'date of the first acquisition', default: DEFAULT_TIME_SERIES_CONFIG.startDate, value: 'DATE' },
    pairs: { type: 'int', help: 'each acquisition is paired with the next 1..N (LiCSAR: 3)', default: DEFAULT_TIME_SERIES_CONFIG.maxPairSpan },
    growth: { type: 'string', help: `how deformation grows after the onset: ${GROWTHS.join(', ')} or random (one per stack)`, default: 'random', value: 'KIND' },
    'onset-window': { type: 'list', help: 'the onset falls between these fractions of the span', default: DEFAULT_TIME_SERIES_CONFIG.onsetWindow.map(String), value: 'A,B' },
    classes: { type: 'list', help: 'classes in turn (none = a stack without deformation)', default: [...DEFAULT_STACK_CLASSES], value: 'LIST' },
    'dem-dir': { type: 'string', help: 'directory of SRTM .hgt tiles (default: procedural terrain)', value: 'DIR' },
    dem: { type: 'string', help: 'a GeoTIFF DEM (EPSG:4326) instead of .hgt tiles', value: 'FILE' },
    volcanoes: { type: 'list', help: 'volcano names from the bundled list (default: all the DEM covers)', value: 'A,B' },
    atmosphere: { type: 'string', help: 'turbulence spectrum: kolmogorov or syinterferopy', default: 'kolmogorov', value: 'KIND' },
    ramps: { type: 'number', help: 'orbital ramps up to this max |value| (m) per acquisition pair', default: 0, value: 'M' },
    h5: { type: 'string', help: 'also write each stack as a LiCSBAS cum.h5 (licsbas) or MintPy timeseries.h5 (mintpy)', value: 'licsbas|mintpy' },
    quiet: { type: 'boolean', help: 'no progress bar' },
  }, async (p: Parsed) => {
    const out = requireStr(p, 'out');
    const growth = str(p, 'growth') ?? 'random';
    if (growth !== 'random' && !(GROWTHS as readonly string[]).includes(growth)) throw new InputError(`--growth must be ${GROWTHS.join(', ')} or random, got '${growth}'`);
    const ow = (list(p, 'onset-window') ?? []).map(Number);
    if (ow.length !== 2 || ow.some((v) => !Number.isFinite(v))) throw new InputError('--onset-window expects two fractions A,B');
    const atmosphere = str(p, 'atmosphere') ?? 'kolmogorov';
    if (atmosphere !== 'kolmogorov' && atmosphere !== 'syinterferopy') throw new InputError(`--atmosphere must be kolmogorov or syinterferopy, got '${atmosphere}'`);
    const h5 = str(p, 'h5');
    if (h5 !== undefined && h5 !== 'licsbas' && h5 !== 'mintpy') throw new InputError(`--h5 must be licsbas or mintpy, got '${h5}'`);
    const ramps = num(p, 'ramps') ?? 0;
    if (ramps < 0) throw new InputError(`--ramps must be >= 0, got ${ramps}`);
    let bar: ReturnType<typeof progressBar> | null = null;
    const m = await synthesiseSeries({
      outDir: out, count: requireNum(p, 'count'), seed: num(p, 'seed') ?? 1, classes: parseClassList(list(p, 'classes')),
      terrain: terrainFromFlags(p),
      scene: { ...(atmosphere !== 'kolmogorov' ? { turbulenceSpectrum: atmosphere } : {}), ...(ramps > 0 ? { rampMaxM: ramps } : {}) },
      series: {
        epochs: num(p, 'epochs') ?? DEFAULT_TIME_SERIES_CONFIG.epochs, spacingDays: num(p, 'spacing') ?? DEFAULT_TIME_SERIES_CONFIG.spacingDays,
        startDate: isoDate(str(p, 'start') ?? DEFAULT_TIME_SERIES_CONFIG.startDate, 'start'), maxPairSpan: num(p, 'pairs') ?? DEFAULT_TIME_SERIES_CONFIG.maxPairSpan,
        growth: growth as Growth | 'random', onsetWindow: [ow[0]!, ow[1]!],
      },
      hdf5: (h5 as 'licsbas' | 'mintpy' | undefined) ?? null,
    }, (pr) => {
      bar ??= progressBar(pr.resumed > 0 ? `synth-series (resumed at ${pr.resumed})` : 'synth-series', pr.total, { unit: 'stacks', startAt: pr.resumed, quiet: bool(p, 'quiet') });
      bar.update(pr.done);
    });
    (bar as ReturnType<typeof progressBar> | null)?.finish();
    const s = m.settings;
    process.stdout.write(`${out}: ${s.count} stacks of ${s.series.epochs} acquisitions ${s.series.spacingDays} days apart ` +
      `(${s.classes.join(', ')} in turn; terrain ${s.dem.kind})\n`);
    return 0;
  });
