/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The web page (the bundle's entry): products dropped or picked are scanned in the browser by
 * the library's own scan (`scan-files.ts`) with the bundled model on tfjs (`tf-detector.ts`), and
 * shown on a map (`map.ts`) with a list of detections, their probabilities, and downloads of the
 * same scan.jsonl and scan.geojson `caldera scan` writes; a `caldera scan` output folder opens as
 * results (`results.ts`). Problems are plain messages in the page, which keeps working.
 *
 * For tests and scripts the page's state is on `window.caldera` (and `body[data-state]`:
 * starting, ready, no-model, scanning, done).
 */
import { InputError } from '../core/errors.js';
import { DEFAULT_MIN_COHERENCE, type Product } from '../io/product.js';
import { KM_PER_DEG, maskedWhy } from '../scan/figure.js';
import { detectionFeature, geoJsonText, sceneRecords, toJsonLines, type GeoJsonFeature, type ScanRecord } from '../scan/output.js';
import { DEFAULT_MAX_MASKED, DEFAULT_MIN_SCORE } from '../scan/record.js';
import { DEFAULT_PHASE_COHERENCE, DEFAULT_SCALES_KM, noValidPixelsText, type SceneResult } from '../scan/scan.js';
import type { PhaseCoherenceMode } from '../data/coherence-mask.js';
import { detectionsOf, renderLegend, renderMap, type MapView } from './map.js';
import { groupByProduct, parseScanGeoJson, parseScanJsonl } from './results.js';
import { scanGivenFiles, type GivenFile, type PageScanOptions } from './scan-files.js';
import { BACKENDS, loadModel, startBackend, type BackendName, type LoadedModel } from './tf-detector.js';

/** One product shown: scanned here (with its rasters) or read from a scan folder. */
interface Item {
  readonly id: string;
  readonly source: 'scanned here' | 'scan results';
  readonly records: ScanRecord[];
  readonly product: Product | null;
  readonly picture: File | null;
  readonly summary: string[];
  readonly notes: string[];
  /** The probability threshold of its scan (null: not known). */
  readonly minScore: number | null;
}

/** What scripts and the browser test read. */
interface Hook {
  state: string;
  backend: string | null;
  model: string | null;
  messages: string[];
  /** Records of every product scanned in the page, as scan.jsonl has them. */
  records: ScanRecord[];
  /** Unrounded detections (for comparing engines). */
  detections: { product: string; className: string; probs: number[]; boxPixels: number[]; sizeKm: number }[];
  /** Every window the network answered, unrounded: where, and its probabilities and box (window pixels). */
  windows: { product: string; centre: [number, number]; sizeKm: number; probs: number[]; box: number[] | null }[];
  lastScan: { products: number; scanned: number; failures: number } | null;
  geojson(): string;
  jsonl(): string;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page: #${id} is missing`);
  return e as T;
};

function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { className?: string } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

const features: GeoJsonFeature[] = [];
const hook: Hook = {
  state: 'starting', backend: null, model: null, messages: [], records: [], detections: [], windows: [], lastScan: null,
  geojson: () => geoJsonText({ type: 'FeatureCollection', features }),
  jsonl: () => toJsonLines(hook.records),
};
(window as unknown as { caldera: Hook }).caldera = hook;

let model: LoadedModel | null = null;
let modelProblem: string | null = 'the model is still loading';
let busy = false;
const items: Item[] = [];
let current = -1;
let map: MapView | null = null;
/** Frees the picture of a results item on show. */
let releasePicture: (() => void) | null = null;
let active: number | null = null;

function setState(s: string): void {
  hook.state = s;
  document.body.dataset.state = s;
}

// ---------------------------------------------------------------------------------------------
// Messages and progress

function clearMessages(): void {
  $('messages').replaceChildren();
  hook.messages = [];
}

function say(text: string, kind: 'error' | 'note' = 'error'): void {
  hook.messages.push(text);
  $('messages').appendChild(h('p', { className: `msg ${kind}` }, text));
}

function progress(value: number | null, text = ''): void {
  const box = $('progress');
  box.hidden = value === null;
  const bar = $<HTMLProgressElement>('progress-bar');
  if (value !== null) bar.value = Math.max(0, Math.min(1, value));
  $('progress-text').textContent = text;
}

function setBusy(b: boolean): void {
  busy = b;
  for (const id of ['pick-files-button', 'pick-folder-button', 'clear']) $<HTMLButtonElement>(id).disabled = b;
  $('drop').setAttribute('aria-disabled', String(b));
}

// ---------------------------------------------------------------------------------------------
// Showing products

const fmtLat = (v: number): string => `${Math.abs(v).toFixed(3)}°${v < 0 ? 'S' : 'N'}`;
const fmtLon = (v: number): string => `${Math.abs(v).toFixed(3)}°${v < 0 ? 'W' : 'E'}`;
const pct = (v: number): string => `${Math.round(v * 100)} %`;

function probBar(label: string, v: number, strong: boolean): HTMLElement {
  const fill = h('span', { className: 'fill' });
  fill.style.width = `${(v * 100).toFixed(1)}%`;
  const bar = h('span', { className: 'bar' }, fill);
  bar.setAttribute('aria-hidden', 'true');
  return h('span', { className: `prob${strong ? ' strong' : ''}` }, h('span', { className: 'label' }, label), bar, h('span', { className: 'value' }, v.toFixed(2)));
}

function boxSizeKm(r: ScanRecord): [number, number] | null {
  const b = r.box?.lonLat;
  if (!b) return null;
  const lat = (b[1]! + b[3]!) / 2;
  return [(b[2]! - b[0]!) * KM_PER_DEG * Math.cos((lat * Math.PI) / 180), (b[3]! - b[1]!) * KM_PER_DEG];
}

function select(k: number | null): void {
  active = k;
  map?.setActive(k);
  for (const b of $('detections').querySelectorAll('button')) b.setAttribute('aria-pressed', String(Number(b.dataset.k) === k));
}

function renderDetections(item: Item | null): void {
  const list = $('detections');
  list.replaceChildren();
  const dets = item ? detectionsOf(item.records) : [];
  $('det-count').textContent = item ? `(${dets.length})` : '';
  const empty = $('det-empty');
  empty.hidden = dets.length > 0;
  empty.textContent = !item ? 'No product yet.' : `No detection at probability ≥ ${item.minScore ?? 'the scan\'s threshold'} in ${item.id}.`;
  dets.forEach((r, k) => {
    const p = r.probabilities!;
    const b = r.box!.lonLat!;
    const size = boxSizeKm(r);
    const head = h('span', { className: 'det-head' },
      h('span', { className: 'rank' }, String(k + 1)),
      h('span', { className: `cls ${r.class}` }, r.class ?? ''),
      h('span', { className: 'p' }, (r.probability ?? 0).toFixed(2)));
    const meta = h('span', { className: 'meta' },
      `${r.window ? `${Math.round(r.window.sizeKm)} km window · ` : ''}centre ${fmtLat((b[1]! + b[3]!) / 2)} ${fmtLon((b[0]! + b[2]!) / 2)}` +
      `${size ? ` · box ${size[0].toFixed(1)} × ${size[1].toFixed(1)} km` : ''}`);
    const probs = h('span', { className: 'probs' },
      probBar('dyke', p.dyke, r.class === 'dyke'), probBar('sill', p.sill, r.class === 'sill'), probBar('none', p.none, r.class === 'none'));
    const btn = h('button', { type: 'button', className: 'det-item' }, head, probs, meta);
    btn.dataset.k = String(k);
    btn.setAttribute('aria-pressed', 'false');
    btn.setAttribute('aria-label', `Detection ${k + 1}: ${r.class}, probability ${(r.probability ?? 0).toFixed(2)}; ${meta.textContent}`);
    btn.addEventListener('click', () => select(active === k ? null : k));
    btn.addEventListener('focus', () => select(k));
    list.appendChild(h('li', {}, btn));
  });
}

function renderRecords(item: Item): void {
  const body = $('records-body');
  body.replaceChildren();
  for (const r of item.records) {
    const w = r.window;
    body.appendChild(h('tr', {},
      h('td', {}, r.verdict),
      h('td', {}, r.class ?? '–'),
      h('td', { className: 'num' }, r.probability === null ? '–' : r.probability.toFixed(3)),
      h('td', { className: 'num' }, w ? `${w.sizeKm.toFixed(1)} km` : '–'),
      h('td', {}, w ? `${fmtLat(w.centre[1])} ${fmtLon(w.centre[0])}` : '–'),
      h('td', { className: 'num' }, w ? pct(w.maskedFraction) : '–')));
  }
  $('records-count').textContent = String(item.records.length);
  $('records-panel').hidden = item.records.length === 0;
}

async function show(k: number): Promise<void> {
  current = k;
  active = null;
  map?.dispose();
  map = null;
  releasePicture?.();
  releasePicture = null;
  const item = items[k] ?? null;
  const sel = $<HTMLSelectElement>('product');
  sel.replaceChildren(...items.map((it, i) => h('option', { value: String(i), selected: i === k }, `${it.id} (${it.source})`)));
  $('product-bar').hidden = items.length === 0;
  $('empty').hidden = item !== null;
  $('figure').hidden = item === null;
  $('title').textContent = item ? item.id : '';
  $('subtitle').replaceChildren(...(item?.summary ?? []).map((s) => h('span', {}, s)));
  $('notes').replaceChildren(...(item?.notes ?? []).map((n) => h('li', {}, n)));
  renderDetections(item);
  const holder = $('map');
  holder.replaceChildren();
  $('legend').replaceChildren();
  if (!item) {
    $('records-panel').hidden = true;
    return;
  }
  renderRecords(item);
  if (item.picture) {
    const url = URL.createObjectURL(item.picture);
    const img = h('img', { src: url, alt: `the picture caldera scan drew of ${item.id}: wrapped phase, boxes and what the network saw`, className: 'picture' });
    holder.appendChild(img);
    releasePicture = () => URL.revokeObjectURL(url);
    return;
  }
  const notRun = $<HTMLInputElement>('show-not-run').checked;
  map = await renderMap(item.product, item.records, { onSelect: (i) => select(active === i ? null : i), showNotRun: notRun });
  if (current !== k) { map.dispose(); return; }
  holder.appendChild(map.element);
  $('legend').appendChild(renderLegend(item.product, item.records.some((r) => r.verdict === 'not enough data')));
}

function updateDownloads(): void {
  const n = hook.records.length;
  $<HTMLButtonElement>('dl-geojson').disabled = n === 0;
  $<HTMLButtonElement>('dl-jsonl').disabled = n === 0;
  $('dl-geojson').textContent = `Download GeoJSON (${features.length} box${features.length === 1 ? '' : 'es'})`;
}

function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---------------------------------------------------------------------------------------------
// Scanning

function readSettings(): PageScanOptions & { sign: boolean } {
  const num = (id: string, what: string): number => {
    const v = Number($<HTMLInputElement>(id).value);
    if (!($<HTMLInputElement>(id).value.trim() !== '' && v >= 0 && v <= 1)) throw new InputError(`${what} must be a number from 0 to 1, got '${$<HTMLInputElement>(id).value}'`);
    return v;
  };
  return {
    minScore: num('min-score', 'The smallest probability reported'),
    minCoherence: num('min-coherence', 'The coherence threshold'),
    phaseCoherence: $<HTMLSelectElement>('phase-coherence').value as PhaseCoherenceMode,
    units: $<HTMLSelectElement>('units').value === 'm' ? 'm' : 'rad',
    sign: $<HTMLInputElement>('sign').checked,
  };
}

function sceneSummary(s: SceneResult): string[] {
  const p = s.product;
  const model = `model ${s.model} (${s.temperature === null ? 'uncalibrated' : `calibrated, T = ${s.temperature.toFixed(2)}`}), channels ${s.format}`;
  const dates = p.files.dates ? `${p.files.dates[0]} to ${p.files.dates[1]}` : 'dates unknown';
  if (s.status === 'no valid pixels') return [dates, noValidPixelsText(s), model];
  const nd = s.notEnoughData.length;
  return [
    dates,
    `${s.windowCount + nd} windows of ${s.scalesKm.join(', ')} km: ${s.windowCount} run, ${nd} not enough data (> ${pct(s.maxMasked)} masked)`,
    `${s.detections.length} detection${s.detections.length === 1 ? '' : 's'} at probability ≥ ${s.minScore} after merging`,
    `masked ${pct(p.maskedFraction)} (${maskedWhy(p)}, or no data)`,
    model,
  ];
}

async function scan(files: GivenFile[]): Promise<void> {
  if (!model) {
    say(`Scanning is off: ${modelProblem ?? 'no model'}. Scan results (scan.jsonl) can still be opened.`);
    return;
  }
  let settings: ReturnType<typeof readSettings>;
  try {
    settings = readSettings();
  } catch (e) {
    say((e as Error).message);
    return;
  }
  setBusy(true);
  setState('scanning');
  progress(0, 'reading…');
  const first = items.length;
  try {
    const res = await scanGivenFiles(files, model.detector(settings.sign), settings, {
      onScene: async (s) => {
        const recs = sceneRecords(s);
        hook.records.push(...recs);
        features.push(...s.detections.map((d) => detectionFeature(s, d)));
        hook.detections.push(...s.detections.map((d) => ({ product: s.product.id, className: d.className, probs: [...d.probs], boxPixels: [...d.boxPixels], sizeKm: d.sizeKm })));
        hook.windows.push(...s.predictions.map((w) => ({
          product: s.product.id, centre: [w.centre.lon, w.centre.lat] as [number, number], sizeKm: w.sizeKm, probs: [...w.probs],
          box: w.boxWindow ? [w.boxWindow.x, w.boxWindow.y, w.boxWindow.halfWidth, w.boxWindow.halfHeight] : null,
        })));
        items.push({ id: s.product.id, source: 'scanned here', records: recs, product: s.product, picture: null, summary: sceneSummary(s), notes: [...s.product.notes, ...s.notes], minScore: s.minScore });
        updateDownloads();
        if (items.length - 1 === first) await show(first);
        else await show(current); // refresh the product list
      },
      onFailure: (f) => say(f.message),
      onProgress: (pd, pn, wd, wn) => {
        const prod = pn > 1 ? `product ${Math.min(pd + 1, pn)} of ${pn}` : '';
        const win = wn > 0 ? `window ${wd} of ${wn}` : '';
        progress(pn > 0 ? (pd + (wn > 0 ? wd / wn : 0)) / pn : 0, [prod, win].filter(Boolean).join(', ') || 'reading…');
      },
    });
    hook.lastScan = { products: res.products, scanned: res.scanned, failures: res.failures.length };
    if (res.products === 0 && res.failures.length === 0) {
      say('No interferogram among these files: give *.geo.unw.tif and/or *.geo.diff_pha.tif (with *.geo.cc.tif to mask by coherence), or a single-band GeoTIFF.');
    } else {
      say(`${res.scanned} of ${res.products} product${res.products === 1 ? '' : 's'} scanned${res.empty ? ` (${res.empty} with no valid pixels)` : ''}` +
        `${res.failures.length ? `; ${res.failures.length} problem${res.failures.length === 1 ? '' : 's'} above` : ''}.`, 'note');
    }
  } catch (e) {
    say(`The scan stopped: ${(e as Error).message ?? String(e)}`);
  } finally {
    progress(null);
    setBusy(false);
    setState('done');
  }
}

// ---------------------------------------------------------------------------------------------
// Results

async function openResults(files: File[], names: string[]): Promise<void> {
  const pictures = names.filter((n) => /\.png$/i.test(n));
  const byName = new Map(names.map((n, i) => [n, files[i]!]));
  let records: ScanRecord[] = [];
  for (const [i, n] of names.entries()) {
    if (/\.jsonl$/i.test(n)) {
      const r = parseScanJsonl(await files[i]!.text(), n.slice(n.lastIndexOf('/') + 1));
      r.problems.forEach((p) => say(p));
      records = records.concat(r.items);
    } else if (/\.geojson$/i.test(n)) {
      const r = parseScanGeoJson(await files[i]!.text(), n.slice(n.lastIndexOf('/') + 1));
      r.problems.forEach((p) => say(p));
      if (r.problems.length === 0) say(`${n}: ${r.items.length} detection box${r.items.length === 1 ? '' : 'es'}.`, 'note');
    }
  }
  if (records.length === 0) {
    if (!names.some((n) => /\.jsonl$/i.test(n))) say('No scan.jsonl among these files: the results view needs the scan.jsonl that caldera scan wrote.');
    return;
  }
  const first = items.length;
  for (const g of groupByProduct(records, pictures)) {
    const count = (v: string): number => g.records.filter((r) => r.verdict === v).length;
    const r0 = g.records[0]!;
    items.push({
      id: g.id, source: 'scan results', records: g.records, product: null, picture: g.picture ? byName.get(g.picture) ?? null : null,
      summary: [
        r0.dates ? `${r0.dates[0]} to ${r0.dates[1]}` : 'dates unknown',
        `${g.records.length} records: ${g.detections.length} detection${g.detections.length === 1 ? '' : 's'}, ${count('below threshold')} below threshold, ${count('not enough data')} not enough data`,
        `model ${r0.model} (${r0.temperature === null ? 'uncalibrated' : `calibrated, T = ${r0.temperature}`}), channels ${r0.format}`,
      ],
      notes: g.records.filter((r) => r.message && r.verdict !== 'not enough data').map((r) => r.message!),
      minScore: null,
    });
  }
  say(`Opened ${records.length} record${records.length === 1 ? '' : 's'} of ${items.length - first} product${items.length - first === 1 ? '' : 's'}.`, 'note');
  await show(first);
}

// ---------------------------------------------------------------------------------------------
// Files in

interface Picked { file: File; name: string; fromFolder: boolean }

const isResultText = (n: string): boolean => /\.(jsonl|geojson)$/i.test(n);

async function take(picked: Picked[]): Promise<void> {
  if (picked.length === 0) return;
  if (busy) {
    say('A scan is running: give these files again when it has finished.');
    return;
  }
  clearMessages();
  setState('reading');
  try {
    const resultsGiven = picked.some((p) => isResultText(p.name));
    const results = picked.filter((p) => isResultText(p.name) || (resultsGiven && /\.png$/i.test(p.name)));
    const rest = picked.filter((p) => !results.includes(p));
    const npy = rest.filter((p) => /\.npy$/i.test(p.name));
    for (const p of npy) say(`${p.name}: a .npy raster has no georeference, so its boxes cannot be put on a map; the page scans GeoTIFF products (caldera predict reads .npy).`);
    const products = rest.filter((p) => !npy.includes(p));
    if (results.length) await openResults(results.map((p) => p.file), results.map((p) => p.name));
    if (products.length) {
      await scan(products.map((p) => ({
        name: p.name, fromFolder: p.fromFolder,
        bytes: async () => {
          try {
            return new Uint8Array(await p.file.arrayBuffer());
          } catch (e) {
            throw new InputError(`${p.name}: cannot read (${(e as Error).message})`);
          }
        },
      })));
      return;
    }
  } catch (e) {
    say(`Could not open these files: ${(e as Error).message ?? String(e)}`);
  }
  setState(model ? 'ready' : 'no-model');
}

function fromInput(input: HTMLInputElement): Picked[] {
  const out = [...(input.files ?? [])].map((f) => ({ file: f, name: f.webkitRelativePath || f.name, fromFolder: f.webkitRelativePath !== '' }));
  input.value = '';
  return out;
}

/** Files of a drop, folders walked (their files carry the folder path). */
async function fromDrop(dt: DataTransfer): Promise<Picked[]> {
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.() ?? null);
  if (entries.every((e) => e === null)) return [...dt.files].map((f) => ({ file: f, name: f.name, fromFolder: false }));
  const out: Picked[] = [];
  const walk = async (e: FileSystemEntry, folder: string | null): Promise<void> => {
    if (e.isFile) {
      const file = await new Promise<File>((resolve, reject) => (e as FileSystemFileEntry).file(resolve, reject));
      out.push({ file, name: folder ? `${folder}/${e.name}` : e.name, fromFolder: folder !== null });
    } else if (e.isDirectory) {
      const reader = (e as FileSystemDirectoryEntry).createReader();
      const kids: FileSystemEntry[] = [];
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        kids.push(...batch);
      }
      kids.sort((a, b) => a.name.localeCompare(b.name));
      for (const k of kids) await walk(k, folder ? `${folder}/${e.name}` : e.name);
    }
  };
  for (const e of entries) if (e) await walk(e, null);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Start

async function startModel(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const status = $('engine');
  if (location.protocol === 'file:') {
    modelProblem = 'this page was opened as a file, and browsers do not let a file page load its model';
    status.textContent = 'No model: open the page through a web server';
    say('This page was opened from a file: the browser does not let it load its model. Serve the folder (caldera web --serve, or python3 -m http.server in it) and open the address shown. Scan results (scan.jsonl) can still be opened here.');
    setState('no-model');
    return;
  }
  try {
    const config = await (await fetch('config.json')).json().catch(() => ({})) as { model?: { path?: string; name?: string; calibration?: boolean } };
    const modelPath = params.get('model') ?? config.model?.path ?? 'model/';
    const name = params.get('model') ?? config.model?.name ?? modelPath;
    const wanted = params.get('backend');
    const order = wanted && (BACKENDS as readonly string[]).includes(wanted) ? [wanted as BackendName] : BACKENDS;
    status.textContent = 'Starting tfjs…';
    const { backend } = await startBackend(new URL('wasm/', location.href).href, order);
    hook.backend = backend;
    status.textContent = `Loading the model (tfjs ${backend})…`;
    const calibration = params.get('model') === null ? config.model?.calibration : undefined;
    model = await loadModel(new URL(modelPath.endsWith('/') ? modelPath : `${modelPath}/`, location.href), name, calibration === undefined ? {} : { calibration });
    hook.model = name;
    modelProblem = null;
    status.textContent = `Model ${name} · channels ${model.format} · ${model.temperature === null ? 'uncalibrated' : `calibrated (T = ${model.temperature.toFixed(2)})`} · tfjs ${backend}`;
    status.title = model.checked ? 'weights checked against their SHA-256 in model.json' : 'weights not checked (needs https or 127.0.0.1)';
    setState('ready');
  } catch (e) {
    modelProblem = `the model could not be loaded (${(e as Error).message ?? String(e)})`;
    status.textContent = 'No model: scanning is off';
    status.classList.add('problem');
    say(`The model could not be loaded: ${(e as Error).message ?? String(e)}. Scanning is off; scan results (scan.jsonl) can still be opened.`);
    setState('no-model');
  }
}

function wire(): void {
  $('min-score').setAttribute('value', String(DEFAULT_MIN_SCORE));
  $('min-coherence').setAttribute('value', String(DEFAULT_MIN_COHERENCE));
  $<HTMLSelectElement>('phase-coherence').value = DEFAULT_PHASE_COHERENCE;
  $('scales').textContent = `Windows of ${DEFAULT_SCALES_KM.map((s) => Math.round(s)).join(', ')} km overlapping by half; windows more than ${pct(DEFAULT_MAX_MASKED)} masked are not run; boxes merged across windows and scales (as caldera scan).`;
  const files = $<HTMLInputElement>('pick-files'), folder = $<HTMLInputElement>('pick-folder');
  $('pick-files-button').addEventListener('click', () => files.click());
  $('pick-folder-button').addEventListener('click', () => folder.click());
  files.addEventListener('change', () => void take(fromInput(files)));
  folder.addEventListener('change', () => void take(fromInput(folder)));
  const drop = $('drop');
  drop.addEventListener('click', () => { if (!busy) files.click(); });
  drop.addEventListener('keydown', (e) => {
    if ((e.key === 'Enter' || e.key === ' ') && !busy) { e.preventDefault(); files.click(); }
  });
  for (const t of [document.body]) {
    t.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
    t.addEventListener('dragleave', (e) => { if (e.target === drop || !e.relatedTarget) drop.classList.remove('over'); });
    t.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      if (e.dataTransfer) void fromDrop(e.dataTransfer).then(take, (err: unknown) => say(`Could not read the dropped files: ${(err as Error).message}`));
    });
  }
  $<HTMLSelectElement>('product').addEventListener('change', (e) => void show(Number((e.target as HTMLSelectElement).value)));
  $('show-not-run').addEventListener('change', () => void show(current));
  $('clear').addEventListener('click', () => {
    items.length = 0;
    features.length = 0;
    hook.records = [];
    hook.detections = [];
    hook.windows = [];
    clearMessages();
    updateDownloads();
    void show(-1);
  });
  $('dl-geojson').addEventListener('click', () => download('scan.geojson', hook.geojson(), 'application/geo+json'));
  $('dl-jsonl').addEventListener('click', () => download('scan.jsonl', hook.jsonl(), 'application/jsonl'));
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && active !== null) select(null);
  });
  updateDownloads();
  void show(-1);
}

wire();
void startModel();
