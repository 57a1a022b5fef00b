/**
 * What the fuzz harness fuzzes: every reader of user files, each with valid inputs written here
 * and the mutations that suit its format. A target's `run` mutates one input (from the case's own
 * Rng), reads it, and checks the result is well-formed; the harness classifies what it throws.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Rng } from '../../src/core/rng.js';
import { CLASS_NAMES } from '../../src/core/classes.js';
import { decodeNpy, encodeNpy, type DecodedNpy } from '../../src/io/npy.js';
import { decodeNpz, encodeNpz } from '../../src/io/npz.js';
import { decodeZip, encodeZip } from '../../src/io/zip.js';
import { decodeGeoTiff, encodeGeoTiff } from '../../src/io/geotiff.js';
import { decodeHgt } from '../../src/io/hgt.js';
import { decodePng, encodePng } from '../../src/io/png.js';
import { readDataset, readManifest, shardFileName } from '../../src/data/dataset.js';
import { mutateBytes, mutateBytesStacked, mutateJson, mutateNpy, mutatePng, mutateTiff, mutateZip, type Mutated } from './mutate.js';

/**
 * Where a target keeps its files: the folder the parent test gave the child (and removes after,
 * so a child killed on a hang leaves nothing behind), else a new temporary folder.
 */
function workDir(name: string): string {
  const root = process.env.CALDERA_FUZZ_TMP;
  if (root) {
    const d = path.join(root, name);
    fs.mkdirSync(d, { recursive: true });
    return d;
  }
  return fs.mkdtempSync(path.join(os.tmpdir(), `caldera-fuzz-${name}-`));
}

export interface Target {
  readonly name: string;
  /** Share of the cases. */
  readonly weight: number;
  /** Make the valid inputs (once per child process). */
  setup(): Promise<void>;
  /** Mutate, read, check; returns what was done. Throws what the reader throws (or an invariant Error). */
  run(rng: Rng, caseDir: string): Promise<string>;
}

let announce: (how: string) => void = () => {};
/** Called with each case's mutation before the reader runs (the child reports it, for hangs and crashes). */
export function onMutated(f: (how: string) => void): void {
  announce = f;
}

/** Run `read` (the reader on mutated input); whatever it throws carries `how` (the mutation) for the report. */
async function reading(how: string, read: () => unknown): Promise<string> {
  announce(how);
  try {
    await read();
  } catch (e) {
    if (e !== null && typeof e === 'object') (e as { fuzzHow?: string }).fuzzHow = how;
    throw e;
  }
  return how;
}

function invariant(ok: boolean, what: string): void {
  if (!ok) throw new Error(`invariant broken: ${what}`);
}

function checkNd(a: DecodedNpy, where: string): void {
  const n = a.shape.reduce((x, y) => x * y, 1);
  invariant(a.data.length === n, `${where}: ${a.data.length} values for shape ${a.shape.join('x')}`);
}

function npyBytes(header: string, body: Uint8Array, major = 1): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  let h = header;
  while ((prefix + h.length + 1) % 64 !== 0) h += ' ';
  h += '\n';
  const out = new Uint8Array(prefix + h.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, h.length, true);
  else dv.setUint32(8, h.length, true);
  for (let i = 0; i < h.length; i++) out[prefix + i] = h.charCodeAt(i);
  out.set(body, prefix + h.length);
  return out;
}

const ramp = (n: number, f: (i: number) => number): Float32Array => Float32Array.from({ length: n }, (_, i) => f(i));

// --- npy --------------------------------------------------------------------------------------

let npys: Uint8Array[] = [];
const npy: Target = {
  name: 'npy', weight: 6,
  async setup() {
    npys = [
      encodeNpy({ data: ramp(30, (i) => Math.sin(i) * 3), shape: [5, 6] }),
      encodeNpy({ data: Int16Array.from({ length: 30 }, (_, i) => i * 100 - 1500), shape: [30] }),
      encodeNpy({ data: new Uint8Array(30).map((_, i) => i % 2), shape: [2, 3, 5], dtype: 'bool' }),
      encodeNpy({ data: new Float64Array(30).map((_, i) => i / 7), shape: [3, 10] }),
      npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (5, 6), }", new Uint8Array(ramp(30, (i) => i).buffer)),
      npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 15), }", new Uint8Array(120).fill(0x3f), 2),
    ];
  },
  async run(rng) {
    const m = mutateNpy(rng, rng.pick(npys));
    return reading(m.how, () => checkNd(decodeNpy(m.value, 'fuzz.npy'), 'npy'));
  },
};

/** Mutate one array inside an .npz (its .npy header or bytes) and re-zip it with valid CRCs. */
function mutateNpzMember(rng: Rng, src: Uint8Array): Mutated<Uint8Array> {
  const entries = decodeZip(src, 'base.npz');
  const k = rng.int(0, entries.length - 1);
  const m = mutateNpy(rng, entries[k]!.data);
  entries[k] = { name: entries[k]!.name, data: m.value };
  return { value: encodeZip(entries.map((e) => ({ ...e, compress: rng.chance(0.5) }))), how: `${entries[k]!.name}: ${m.how}` };
}

// --- npz / zip --------------------------------------------------------------------------------

let npzs: Uint8Array[] = [];
const npz: Target = {
  name: 'npz', weight: 6,
  async setup() {
    const rec = {
      a: { data: ramp(20, (i) => i * 0.5), shape: [4, 5] },
      b: { data: Int32Array.from({ length: 7 }, (_, i) => i - 3), shape: [7] },
      m: { data: new Uint8Array(2000), shape: [2000], dtype: 'bool' as const },
    };
    npzs = [encodeNpz(rec), encodeNpz(rec, { compress: true }), encodeNpz(rec, { compress: ['m'] })];
  },
  async run(rng) {
    const base = rng.pick(npzs);
    const r = rng.next();
    const m: Mutated<Uint8Array> = r < 0.45 ? mutateZip(rng, base) : r < 0.75 ? mutateNpzMember(rng, base) : mutateBytesStacked(rng, base);
    return reading(m.how, () => {
      const some = decodeNpz(m.value, 'fuzz.npz', { keys: ['a'] });
      invariant(Object.keys(some).every((k) => k === 'a'), 'npz keys: only a');
      const all = decodeNpz(m.value, 'fuzz.npz');
      for (const [k, a] of Object.entries(all)) checkNd(a, `npz ${k}`);
    });
  },
};

// --- GeoTIFF ----------------------------------------------------------------------------------

const GEO = { west: 14.1, north: 40.9, dLon: 0.001, dLat: -0.001 };
let tiffs: { bytes: Uint8Array; band?: number }[] = [];
const geotiff: Target = {
  name: 'geotiff', weight: 9,
  async setup() {
    const r = { width: 40, height: 30, data: ramp(1200, (i) => Math.sin(i / 7) * 3 + (i % 40) * 0.01) };
    const r2 = { width: 40, height: 30, data: ramp(1200, (i) => i % 13) };
    tiffs = [
      { bytes: encodeGeoTiff(r, GEO) },
      { bytes: encodeGeoTiff(r, GEO, { compression: 'deflate' }) },
      { bytes: encodeGeoTiff(r, GEO, { compression: 'lzw' }) },
      { bytes: encodeGeoTiff(r, GEO, { compression: 'lzw', tileSize: 16 }) },
      { bytes: encodeGeoTiff(r2, GEO, { dtype: 'int16', compression: 'deflate', nodata: -9999 }) },
      { bytes: encodeGeoTiff(r, GEO, { extraBands: [r2.data] }), band: 1 },
      { bytes: encodeGeoTiff(r2, GEO, { dtype: 'uint8', tileSize: 16 }) },
    ];
  },
  async run(rng) {
    const base = rng.pick(tiffs);
    const m = mutateTiff(rng, base.bytes);
    const opts = { requireGeo: rng.chance(0.5), requireGeographic: rng.chance(0.5), ...(base.band !== undefined ? { band: base.band } : {}) };
    return reading(m.how, async () => {
      const g = await decodeGeoTiff(m.value, 'fuzz.tif', opts);
      invariant(g.raster.data.length === g.raster.width * g.raster.height, 'geotiff: raster size');
      invariant(g.raster.width > 0 && g.raster.height > 0, 'geotiff: empty raster');
    });
  },
};

// --- .hgt -------------------------------------------------------------------------------------

let hgtBytes = new Uint8Array(0);
const hgt: Target = {
  name: 'hgt', weight: 1,
  async setup() {
    hgtBytes = new Uint8Array(1201 * 1201 * 2);
    const dv = new DataView(hgtBytes.buffer);
    for (let i = 0; i < 1201 * 1201; i++) dv.setInt16(2 * i, (i % 1201) - 100 + (i % 7 === 0 ? -32768 : 0), false);
  },
  async run(rng) {
    const m = mutateBytes(rng, hgtBytes);
    const name = rng.chance(0.9) ? 'N40E014.hgt' : rng.pick(['X40E014.hgt', 'N91E014.hgt', 'n40e014.HGT', 'N40E014.hgt.zip']);
    return reading(`${m.how}; name ${name}`, () => {
      const t = decodeHgt(m.value, name);
      invariant(t.data.length === t.size * t.size, 'hgt size');
    });
  },
};

// --- PNG --------------------------------------------------------------------------------------

let pngs: Uint8Array[] = [];
const png: Target = {
  name: 'png', weight: 5,
  async setup() {
    const img = (w: number, h: number, c: 1 | 2 | 3 | 4) => ({ width: w, height: h, channels: c, data: new Uint8Array(w * h * c).map((_, i) => (i * 37) & 0xff) });
    pngs = [encodePng(img(7, 5, 1)), encodePng(img(16, 9, 3)), encodePng(img(3, 3, 4)), encodePng(img(5, 4, 2))];
  },
  async run(rng) {
    const m = mutatePng(rng, rng.pick(pngs));
    return reading(m.how, () => {
      const p = decodePng(m.value, 'fuzz.png');
      invariant(p.data.length === p.width * p.height * p.channels, 'png size');
    });
  },
};

// --- dataset (manifest.json, shard sidecars, shard .npz) ----------------------------------------

let datasetDir = '';
const dataset: Target = {
  name: 'dataset', weight: 7,
  async setup() {
    const { synthesise } = await import('../../src/data/generate.js');
    datasetDir = workDir('dataset-base');
    await synthesise({ outDir: datasetDir, count: 4, seed: 5, classes: ['dyke', 'sill', 'none'], terrain: { kind: 'procedural' }, shardSize: 2, workers: 1, scene: { size: 32 } });
  },
  async run(rng, caseDir) {
    const dir = path.join(caseDir, 'ds');
    fs.cpSync(datasetDir, dir, { recursive: true });
    const which = rng.int(0, 9);
    let how: string;
    if (which < 4) {
      const f = path.join(dir, 'manifest.json');
      const m = mutateJson(rng, fs.readFileSync(f, 'utf8'));
      fs.writeFileSync(f, m.value);
      how = `manifest.json: ${m.how}`;
    } else if (which < 7) {
      const name = shardFileName(rng.int(0, 1)).replace('.npz', '.json');
      const f = path.join(dir, name);
      const m = mutateJson(rng, fs.readFileSync(f, 'utf8'));
      fs.writeFileSync(f, m.value);
      how = `${name}: ${m.how}`;
    } else {
      const name = shardFileName(rng.int(0, 1));
      const f = path.join(dir, name);
      const bytes = new Uint8Array(fs.readFileSync(f));
      const r = rng.next();
      const m = r < 0.4 ? mutateZip(rng, bytes) : r < 0.8 ? mutateNpzMember(rng, bytes) : mutateBytesStacked(rng, bytes);
      fs.writeFileSync(f, m.value);
      how = `${name}: ${m.how}`;
    }
    const { DatasetReader } = await import('../../src/data/feeder.js');
    return reading(how, () => {
      const manifest = readManifest(dir);
      const reader = new DatasetReader(dir);
      let n = 0;
      for (const s of readDataset(dir)) {
        invariant(CLASS_NAMES.includes(s.className), `dataset: class ${String(s.className)}`);
        invariant(s.box === null || [s.box.x, s.box.y, s.box.halfWidth, s.box.halfHeight].every(Number.isFinite), 'dataset: box finite');
        invariant(s.losM.length === s.size * s.size && s.coherence.length === s.size * s.size && s.mask.length === s.size * s.size, 'dataset: layer sizes');
        invariant(typeof s.meta.headingDeg === 'number' && Number.isFinite(s.meta.headingDeg), 'dataset: heading');
        n++;
      }
      invariant(n === reader.count, `dataset: read ${n} samples, manifest counts ${reader.count}`);
      for (const sh of manifest.shards) reader.get(sh.start);
    });
  },
};

// --- model.json + weights.bin -----------------------------------------------------------------

let modelDir = '';
const model: Target = {
  name: 'model', weight: 4,
  async setup() {
    const { initBackend } = await import('../../src/engine/backend.js');
    const { buildNetwork } = await import('../../src/engine/network.js');
    const { saveModel } = await import('../../src/engine/io-handler.js');
    await initBackend();
    modelDir = workDir('model-base');
    const m = buildNetwork({ inputChannels: 1, width: 32, height: 32, variant: 'tiny', seed: 1 });
    await saveModel(m, modelDir, { calderaModel: { channelFormat: 'w', inputSize: 32 } });
    m.dispose();
  },
  async run(rng, caseDir) {
    const { loadModel, readModelMetadata } = await import('../../src/engine/io-handler.js');
    const dir = path.join(caseDir, 'model');
    fs.cpSync(modelDir, dir, { recursive: true });
    let how: string;
    if (rng.chance(0.75)) {
      const f = path.join(dir, 'model.json');
      const m = mutateJson(rng, fs.readFileSync(f, 'utf8'));
      fs.writeFileSync(f, m.value);
      how = `model.json: ${m.how}`;
    } else {
      const f = path.join(dir, 'weights.bin');
      const m = mutateBytesStacked(rng, fs.readFileSync(f));
      fs.writeFileSync(f, m.value);
      how = `weights.bin: ${m.how}`;
    }
    return reading(how, async () => {
      await readModelMetadata(dir);
      const loaded = await loadModel(dir);
      loaded.dispose();
    });
  },
};

export { workDir };

export const TARGETS: readonly Target[] = [npy, npz, geotiff, hgt, png, dataset, model];
