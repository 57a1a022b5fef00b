/**
 * Writing a scan's outputs (Node): `ScanWriter` puts the records and GeoJSON of `output.ts` and
 * the pictures of `figure.ts` into a folder, atomically and under a folder lock (`io/run-dir.ts`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureWritableDir, writeFileAtomicSync } from '../io/atomic.js';
import { encodePng } from '../io/png.js';
import { cleanStaleTemps, lockDir, type DirLock } from '../io/run-dir.js';
import type { SceneResult } from './scan.js';
import { detectionFeature, geoJsonText, safeName, sceneRecords, toJsonLines, type FeatureCollection, type GeoJsonFeature } from './output.js';
import { scanFigure, type ScanFigureOptions } from './figure.js';

export interface ScanOutputs {
  readonly jsonl: string;
  readonly geojson: string;
  readonly pngs: string[];
  /** The pictures in scene order with their products (merging array-job parts names them as one run would). */
  readonly pictures: { product: string; file: string }[];
  readonly records: number;
  readonly boxes: number;
}

/** A temporary name beside `file` that `io/run-dir.ts` cleanStaleTemps knows (removed once this PID is gone). */
function tempOf(file: string): string {
  return `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/** The product ids a previous `scan.jsonl` names, in order (unreadable lines skipped). */
function previousProducts(jsonl: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(jsonl, 'utf8');
  } catch {
    return [];
  }
  const ids = new Set<string>();
  for (const line of text.split('\n')) {
    try {
      const id = (JSON.parse(line) as { product?: unknown } | null)?.product;
      if (typeof id === 'string') ids.add(id);
    } catch {
      // not a record: ignore
    }
  }
  return [...ids];
}

/**
 * Writes a scan into `dir` atomically: nothing in `dir` changes until `finish()`. Records are
 * appended scene by scene to a temporary `scan.jsonl.tmp-PID-…` (follow a long run with tail -f),
 * pictures go to temporary names; `finish()` renames the pictures into place, writes
 * `scan.geojson`, renames the records to `scan.jsonl` and removes the pictures a previous scan
 * of this folder drew for products this one did not draw. A scan that fails or is killed leaves the
 * previous results as they were (`abort()` removes the temporary files; those of a killed run are
 * removed by the next scan). The folder is locked (`.caldera.lock`) while a scan writes it.
 * Only the small records are kept in memory, never the rasters.
 */
export class ScanWriter {
  readonly jsonl: string;
  readonly geojson: string;
  private readonly tmpJsonl: string;
  private readonly features: GeoJsonFeature[] = [];
  private readonly pictures: { tmp: string; file: string; product: string }[] = [];
  private readonly used = new Set<string>();
  private readonly lock: DirLock;
  private records = 0;
  private done = false;

  constructor(readonly dir: string, private readonly figure: ScanFigureOptions & { readonly png?: boolean } = {}) {
    ensureWritableDir(dir);
    this.lock = lockDir(dir, 'caldera scan');
    cleanStaleTemps(dir);
    this.jsonl = path.join(dir, 'scan.jsonl');
    this.geojson = path.join(dir, 'scan.geojson');
    this.tmpJsonl = tempOf(this.jsonl);
    try {
      fs.writeFileSync(this.tmpJsonl, '', { flag: 'wx' });
    } catch (e) {
      this.lock.release();
      throw e;
    }
  }

  add(s: SceneResult): void {
    if (this.done) throw new Error('ScanWriter: add after finish or abort');
    const recs = sceneRecords(s);
    fs.appendFileSync(this.tmpJsonl, toJsonLines(recs));
    this.records += recs.length;
    for (const d of s.detections) this.features.push(detectionFeature(s, d));
    if (this.figure.png === false) return;
    let name = safeName(s.product.id);
    for (let k = 2; this.used.has(name); k++) name = `${safeName(s.product.id)}-${k}`;
    this.used.add(name);
    const file = path.join(this.dir, `${name}.png`);
    const tmp = tempOf(file);
    fs.writeFileSync(tmp, encodePng(scanFigure(s, this.figure)), { flag: 'wx' });
    this.pictures.push({ tmp, file, product: s.product.id });
  }

  finish(): ScanOutputs {
    if (this.done) throw new Error('ScanWriter: finish twice');
    this.done = true;
    try {
      const before = previousProducts(this.jsonl);
      for (const p of this.pictures) fs.renameSync(p.tmp, p.file);
      const fc: FeatureCollection = { type: 'FeatureCollection', features: this.features };
      writeFileAtomicSync(this.geojson, geoJsonText(fc));
      const fd = fs.openSync(this.tmpJsonl, 'r+');
      try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
      fs.renameSync(this.tmpJsonl, this.jsonl);
      // Pictures of the previous scan that this one did not redraw would describe results no longer there.
      for (const id of before) {
        const stem = safeName(id);
        const re = new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:-\\d+)?\\.png$`);
        for (const f of fs.readdirSync(this.dir)) {
          if (re.test(f) && !this.used.has(f.slice(0, -4))) fs.rmSync(path.join(this.dir, f), { force: true });
        }
      }
    } finally {
      this.cleanup();
    }
    return { jsonl: this.jsonl, geojson: this.geojson, pngs: this.pictures.map((p) => p.file),
      pictures: this.pictures.map((p) => ({ product: p.product, file: path.basename(p.file) })), records: this.records, boxes: this.features.length };
  }

  /** Drop everything written so far (the previous results in `dir` stay as they were). */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.cleanup();
  }

  private cleanup(): void {
    for (const f of [this.tmpJsonl, ...this.pictures.map((p) => p.tmp)]) fs.rmSync(f, { force: true });
    this.lock.release();
  }
}
