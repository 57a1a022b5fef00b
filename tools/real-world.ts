/**
 * The real-world figures of issue 10 for one or more models, side by side (a measurement tool, not
 * a test):
 *   1. the 90 scenes of the original SyInterferoPy (../shared/reference/syinterferopy): accuracy and
 *      median box-centre error, each scene through `predict` as a user would run it;
 *   2. caldera's held-out test (600 scenes, seed 999, 8 volcanoes never trained on): accuracy;
 *   3. the same scenes with real-product artefacts (`--artefacts --ramps 0.03`): accuracy;
 *   4. a whole-frame scan of the Calbuco product (../shared/real): dyke/sill boxes more than 10 km
 *      from the concentric pattern west of the summit (pixel 510, 220);
 *   5. 1,000 windows of decorrelated noise and atmosphere without deformation, made with settings
 *      unlike training (other spectra, pure random phase, salt and pepper, stormy atmosphere):
 *      false detections;
 *   6. expected calibration error of the class probabilities on the held-out test.
 *
 *   node dist/tools/real-world.js --model models/default [--model runs/new] [--out docs/real-world]
 *        [--shared ../shared] [--cache runs/real-world-cache] [--engine onnx|tfjs] [--noise 1000]
 *
 * The test datasets are made once into --cache (deterministic seeds) and reused. Writes
 * `figures.json` (one object per model) and `report.md` (a table) into --out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLASS_NAMES, NONE_CLASS } from '../src/core/classes.js';
import { centreError, type CentreBox } from '../src/core/box.js';
import { median } from '../src/core/arrays.js';
import { Rng } from '../src/core/rng.js';
import { readNpy } from '../src/io/npy.js';
import { synthesise } from '../src/data/generate.js';
import { createSpectralCache, gaussianField, type Spectrum } from '../src/synth/atmosphere.js';
import { evaluateDataset, scoreRows } from '../src/evaluate/evaluate.js';
import { expectedCalibrationError } from '../src/evaluate/calibration.js';
import { loadDetector, type Detector, type EngineName } from '../src/scan/detector.js';
import { predictRaster } from '../src/scan/predict.js';
import { scanAll } from '../src/scan/scan-all.js';

const HELDOUT_VOLCANOES = ['Aso', 'Kuju', 'Tsurumi', 'Lopevi', 'Kuwae', 'Iwaki', 'Tarumai', 'Eniwa'];
const PATTERN_PX = { x: 510, y: 220 };
/** Calbuco frame columns west of this were never cut for real negatives (a spatial hold-out). */
const HELD_OUT_COLUMNS = 150;

interface Opts { models: string[]; out: string; shared: string; cache: string; engine: EngineName; noise: number }

function parseArgs(argv: string[]): Opts {
  const o: Opts = { models: [], out: 'docs/real-world', shared: '../shared', cache: 'runs/real-world-cache', engine: 'onnx', noise: 1000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!, v = argv[i + 1];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--model') o.models.push(v);
    else if (a === '--out') o.out = v;
    else if (a === '--shared') o.shared = v;
    else if (a === '--cache') o.cache = v;
    else if (a === '--engine') o.engine = v as EngineName;
    else if (a === '--noise') o.noise = Number(v);
    else throw new Error(`unknown argument ${a}`);
    i++;
  }
  if (o.models.length === 0) o.models.push('models/default');
  return o;
}

export interface ModelFigures {
  readonly model: string;
  /** meanDxPx: the mean signed column error of the boxes by pass (SyInterferoPy's names): the bias along the look direction. */
  readonly reference: { n: number; accuracy: number; medianCentreErrorPx: number; perClassAccuracy: Record<string, number>; meanDxPx: Record<string, number> } | null;
  readonly heldout: { n: number; accuracy: number; ece: number } | null;
  readonly heldoutArtefacts: { n: number; accuracy: number } | null;
  /** The default masking (`.cc` and phase-derived coherence), and (`ccOnly`) the `.cc` file alone. */
  readonly calbuco: (CalbucoScan & { ccOnly: CalbucoScan }) | null;
  /** falseDetections: what `predict` reports as a detection (class ≠ none at ≥ the scan threshold, not abstained); anyNonNone: the network's class ≠ none at all. */
  readonly noise: { n: number; falseDetections: number; rate: number; anyNonNone: number; abstained: number; byKind: Record<string, number> };
}

// ---------------------------------------------------------------------------------------------
// 1. SyInterferoPy's reference scenes

interface RefItem { file: string; class: string; Y_loc: [number, number, number, number]; asc_or_desc?: string }

async function referenceFigures(d: Detector, dir: string): Promise<ModelFigures['reference']> {
  const labels = path.join(dir, 'labels.json');
  if (!fs.existsSync(labels)) return null;
  const items = (JSON.parse(fs.readFileSync(labels, 'utf8')) as { items: RefItem[] }).items;
  const toClass = (c: string): number => (c === 'no_def' ? NONE_CLASS : CLASS_NAMES.indexOf(c === 'mogi' ? 'sill' : (c as 'dyke' | 'sill')));
  let right = 0;
  const errors: number[] = [];
  const perClass = new Map<string, [number, number]>();
  const dx = new Map<string, number[]>();
  for (const it of items) {
    const a = readNpy(path.join(dir, it.file));
    const [h, w] = a.shape as [number, number];
    // Every scene is classified (no abstaining on heavily masked scenes): accuracy over all 90.
    const r = await predictRaster(d, { width: w, height: h, phaseRad: Float32Array.from(a.data as ArrayLike<number>) }, { maxMasked: 1 });
    const want = toClass(it.class);
    const got = CLASS_NAMES.indexOf(r.className);
    const ok = got === want;
    if (ok) right++;
    const pc = perClass.get(it.class) ?? [0, 0];
    perClass.set(it.class, [pc[0] + (ok ? 1 : 0), pc[1] + 1]);
    if (want !== NONE_CLASS && got !== NONE_CLASS) {
      const [x, y, hw, hh] = it.Y_loc;
      const truth: CentreBox = { x, y, halfWidth: hw, halfHeight: hh };
      errors.push(centreError(truth, r.box));
      const pass = it.asc_or_desc ?? 'unknown';
      dx.set(pass, [...(dx.get(pass) ?? []), r.box.x - x]);
    }
  }
  return {
    n: items.length, accuracy: right / items.length, medianCentreErrorPx: median(errors),
    perClassAccuracy: Object.fromEntries([...perClass].map(([k, [r, n]]) => [k, r / n])),
    meanDxPx: Object.fromEntries([...dx].map(([k, v]) => [k, v.reduce((a, b) => a + b, 0) / v.length])),
  };
}

// ---------------------------------------------------------------------------------------------
// 2, 3, 6. caldera's held-out test, plain and with artefacts

async function ensureHeldout(cache: string, demDir: string, artefacts: boolean): Promise<string | null> {
  if (!fs.existsSync(demDir)) return null;
  const dir = path.join(cache, artefacts ? 'heldout-artefacts' : 'heldout');
  if (fs.existsSync(path.join(dir, 'manifest.json'))) return dir;
  process.stderr.write(`making ${dir} (600 scenes)\n`);
  await synthesise({
    outDir: dir, count: 600, seed: 999, classes: [...CLASS_NAMES], workers: 2, shardSize: 100,
    terrain: { kind: 'srtm', path: demDir, volcanoes: HELDOUT_VOLCANOES },
    ...(artefacts ? { scene: { artefacts: {}, rampMaxM: 0.03 } } : {}),
  });
  return dir;
}

async function heldoutFigures(d: Detector, dir: string | null): Promise<{ n: number; accuracy: number; ece: number } | null> {
  if (!dir) return null;
  const rows = await evaluateDataset(d, dir, { workers: 1 });
  const report = scoreRows(rows);
  const ece = expectedCalibrationError(rows.map((r) => r.probabilities), rows.map((r) => r.trueClass));
  return { n: rows.length, accuracy: report.accuracy, ece };
}

// ---------------------------------------------------------------------------------------------
// 4. The Calbuco frame

interface CalbucoScan { detections: number; farFromPattern: number; farInHeldOutStrip: number; boxes: string[] }

/**
 * One whole-frame scan of the Calbuco product: boxes more than 10 km from the pattern, and those
 * in the western strip (columns < HELD_OUT_COLUMNS) that no training window ever came from (the
 * real negatives of `runs/real-neg` are cut from columns 140–460, see docs/real-world).
 */
async function calbucoScan(d: Detector, dir: string, phaseCoherence: 'on' | 'auto'): Promise<CalbucoScan> {
  const boxes: string[] = [];
  let detections = 0, far = 0, strip = 0;
  await scanAll([dir], d, {
    phaseCoherence,
    onScene: (s) => {
      const g = s.product.geo;
      const lon0 = g.west + (PATTERN_PX.x + 0.5) * g.dLon, lat0 = g.north + (PATTERN_PX.y + 0.5) * g.dLat;
      const stripEast = g.west + HELD_OUT_COLUMNS * g.dLon;
      for (const det of s.detections) {
        detections++;
        const [w, so, e, n] = det.boxLonLat;
        const lon = (w + e) / 2, lat = (so + n) / 2;
        const km = Math.hypot((lon - lon0) * 111.195 * Math.cos((lat0 * Math.PI) / 180), (lat - lat0) * 111.195);
        if (km > 10) far++;
        if (km > 10 && lon < stripEast) strip++;
        boxes.push(`${det.className} ${det.probs[det.classIndex]!.toFixed(2)} at ${lon.toFixed(3)}, ${lat.toFixed(3)} (${km.toFixed(1)} km from the pattern)`);
      }
    },
  });
  return { detections, farFromPattern: far, farInHeldOutStrip: strip, boxes };
}

async function calbucoFigures(d: Detector, dir: string): Promise<ModelFigures['calbuco']> {
  if (!fs.existsSync(dir)) return null;
  return { ...(await calbucoScan(d, dir, 'on')), ccOnly: await calbucoScan(d, dir, 'auto') };
}

// ---------------------------------------------------------------------------------------------
// 5. Windows of noise and atmosphere, unlike training

type NoiseKind = 'uniform' | 'patches' | 'salt-pepper' | 'stormy' | 'steep-spectrum' | 'masked-noise';
const NOISE_KINDS: readonly NoiseKind[] = ['uniform', 'patches', 'salt-pepper', 'stormy', 'steep-spectrum', 'masked-noise'];

/** One 224² window (unwrapped phase, rad; NaN = masked) of kind `kind`: no deformation. */
export function noiseWindow(rng: Rng, kind: NoiseKind, cache = createSpectralCache(256)): Float32Array {
  const size = 224, n = size * size, grid = { width: size, height: size, spacingM: 90 };
  const field = (spectrum: Spectrum, rmsRad: number): Float32Array => {
    const f = gaussianField(rng, grid, spectrum, cache);
    let ss = 0;
    for (const v of f) ss += v * v;
    const k = rmsRad / Math.sqrt(ss / n || 1);
    return f.map((v) => v * k);
  };
  const random = (): number => rng.uniform(-Math.PI, Math.PI);
  // Smooth background atmosphere of another spectrum than training's (-8/3 power law).
  const atmosphere = field({ kind: 'powerLaw', exponent: -8 / 3, outerScaleM: 30_000 }, rng.uniform(0.5, 3));
  const out = new Float32Array(n);
  if (kind === 'uniform') {
    for (let i = 0; i < n; i++) out[i] = random();
  } else if (kind === 'patches') {
    const shape = field({ kind: 'exponentialCovariance', correlationLengthM: rng.uniform(400, 3000) }, 1);
    const cut = rng.uniform(-0.5, 0.8);
    for (let i = 0; i < n; i++) out[i] = shape[i]! > cut ? random() : atmosphere[i]!;
  } else if (kind === 'salt-pepper') {
    const p = rng.uniform(0.1, 0.6);
    for (let i = 0; i < n; i++) out[i] = rng.chance(p) ? random() : atmosphere[i]!;
  } else if (kind === 'stormy') {
    const storm = field({ kind: 'powerLaw', exponent: -11 / 3, outerScaleM: 8_000 }, rng.uniform(3, 8)); // 1.3–3.5 cm rms
    for (let i = 0; i < n; i++) out[i] = storm[i]! + atmosphere[i]!;
  } else if (kind === 'steep-spectrum') {
    const s = field({ kind: 'powerLaw', exponent: -4.5 }, rng.uniform(2, 6));
    for (let i = 0; i < n; i++) out[i] = s[i]!;
  } else {
    const shape = field({ kind: 'exponentialCovariance', correlationLengthM: rng.uniform(1000, 5000) }, 1);
    const [lo, hi] = [rng.uniform(-1, 0), rng.uniform(0.3, 1.2)];
    for (let i = 0; i < n; i++) out[i] = shape[i]! < lo ? NaN : shape[i]! < hi ? random() : atmosphere[i]!;
  }
  return out;
}

async function noiseFigures(d: Detector, count: number): Promise<ModelFigures['noise']> {
  const rng = new Rng(20261130);
  const cache = createSpectralCache(256);
  const byKind: Record<string, number> = Object.fromEntries(NOISE_KINDS.map((k) => [k, 0]));
  let falseDetections = 0, anyNonNone = 0, abstained = 0;
  for (let i = 0; i < count; i++) {
    const kind = NOISE_KINDS[i % NOISE_KINDS.length]!;
    const phase = noiseWindow(rng, kind, cache);
    const raster = { width: 224, height: 224, phaseRad: phase };
    const r = await predictRaster(d, raster);
    if (r.verdict === 'detection') { falseDetections++; byKind[kind]!++; }
    if (r.verdict === 'not enough data') abstained++;
    const raw = r.verdict === 'not enough data' ? await predictRaster(d, raster, { maxMasked: 1 }) : r;
    if (raw.className !== 'none') anyNonNone++;
  }
  return { n: count, falseDetections, rate: falseDetections / count, anyNonNone, abstained, byKind };
}

// ---------------------------------------------------------------------------------------------

const pct = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(1)} %`);

export function reportTable(figs: readonly ModelFigures[]): string {
  const col = (f: (m: ModelFigures) => string): string => figs.map(f).join(' | ');
  return [
    `| figure | ${figs.map((m) => `\`${m.model}\``).join(' | ')} | target |`,
    `|---|${figs.map(() => '---').join('|')}|---|`,
    `| SyInterferoPy reference (90 scenes): accuracy / median centre error | ${col((m) => (m.reference ? `${pct(m.reference.accuracy)} / ${m.reference.medianCentreErrorPx.toFixed(1)} px` : '–'))} | ≥ 95 % / ≤ 6 px |`,
    `| held-out test (8 unseen volcanoes, seed 999): accuracy | ${col((m) => pct(m.heldout?.accuracy))} | ≥ 98 % |`,
    `| the same with \`--artefacts --ramps 0.03\`: accuracy | ${col((m) => pct(m.heldoutArtefacts?.accuracy))} | ≥ 97 % |`,
    `| Calbuco frame scan: dyke/sill boxes > 10 km from the pattern (default masking: \`.cc\` and phase-derived coherence) | ${col((m) => (m.calbuco ? `${m.calbuco.farFromPattern} (of ${m.calbuco.detections})` : '–'))} | 0 |`,
    `| the same scan masked by the \`.cc\` file alone (\`--phase-coherence auto\`) | ${col((m) => (m.calbuco ? `${m.calbuco.ccOnly.farFromPattern} (of ${m.calbuco.ccOnly.detections})` : '–'))} | |`,
    `| of those, in the western strip no real negative was cut from (columns < ${HELD_OUT_COLUMNS}) | ${col((m) => (m.calbuco ? String(m.calbuco.ccOnly.farInHeldOutStrip) : '–'))} | |`,
    `| ${figs[0]?.noise.n ?? 0} noise / atmosphere windows unlike training: false detections (class ≠ none at p ≥ 0.8, as \`predict\` reports) | ${col((m) => `${m.noise.falseDetections} (${pct(m.noise.rate)})`)} | ≤ 0.5 % |`,
    `| the same windows: the network's class ≠ none at any probability (abstaining off) | ${col((m) => `${m.noise.anyNonNone} (${pct(m.noise.anyNonNone / m.noise.n)})`)} | |`,
    `| expected calibration error, held-out test | ${col((m) => pct(m.heldout?.ece))} | ≤ 3 % |`,
  ].join('\n');
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const demDir = path.join(o.shared, 'dem', 'srtm3');
  const heldout = await ensureHeldout(o.cache, demDir, false);
  const heldoutArt = await ensureHeldout(o.cache, demDir, true);
  const figs: ModelFigures[] = [];
  for (const model of o.models) {
    process.stderr.write(`${model}: scoring\n`);
    const d = await loadDetector(model, { engine: o.engine, batchSize: 32 });
    const ha = await heldoutFigures(d, heldoutArt);
    figs.push({
      model,
      reference: await referenceFigures(d, path.join(o.shared, 'reference', 'syinterferopy')),
      heldout: await heldoutFigures(d, heldout),
      heldoutArtefacts: ha ? { n: ha.n, accuracy: ha.accuracy } : null,
      calbuco: await calbucoFigures(d, path.join(o.shared, 'real')),
      noise: await noiseFigures(d, o.noise),
    });
    process.stderr.write(`${JSON.stringify(figs.at(-1))}\n`);
  }
  fs.mkdirSync(o.out, { recursive: true });
  fs.writeFileSync(path.join(o.out, 'figures.json'), JSON.stringify(figs, null, 1) + '\n');
  const table = reportTable(figs);
  fs.writeFileSync(path.join(o.out, 'table.md'), table + '\n');
  process.stdout.write(table + '\n');
}

const isMain = process.argv[1] && path.resolve(process.argv[1]).endsWith(path.join('tools', 'real-world.js'));
if (isMain) {
  main().catch((e: unknown) => {
    process.stderr.write(`real-world: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
