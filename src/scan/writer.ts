/**
 * Writing a scan's outputs as it goes (Node): `ScanWriter` puts the records and GeoJSON of
 * `output.ts` and the pictures of `figure.ts` into a folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureWritableDir, writeFileAtomicSync } from '../io/atomic.js';
import { writePng } from '../io/png.js';
import type { SceneResult } from './scan.js';
import { detectionFeature, geoJsonText, safeName, sceneRecords, toJsonLines, type FeatureCollection, type GeoJsonFeature } from './output.js';
import { scanFigure, type ScanFigureOptions } from './figure.js';

export interface ScanOutputs {
  readonly jsonl: string;
  readonly geojson: string;
  readonly pngs: string[];
  readonly records: number;
  readonly boxes: number;
}

/**
 * Writes a scan into `dir` scene by scene: `<product>.png` per scene, `scan.jsonl` appended as
 * scenes finish (so a long run can be followed with tail -f), and `scan.geojson` at the end.
 * Only the small records are kept in memory, never the rasters.
 */
export class ScanWriter {
  readonly jsonl: string;
  readonly geojson: string;
  private readonly features: GeoJsonFeature[] = [];
  private readonly pngs: string[] = [];
  private readonly used = new Set<string>();
  private records = 0;

  constructor(readonly dir: string, private readonly figure: ScanFigureOptions & { readonly png?: boolean } = {}) {
    ensureWritableDir(dir);
    this.jsonl = path.join(dir, 'scan.jsonl');
    this.geojson = path.join(dir, 'scan.geojson');
    fs.writeFileSync(this.jsonl, '');
  }

  add(s: SceneResult): void {
    const recs = sceneRecords(s);
    fs.appendFileSync(this.jsonl, toJsonLines(recs));
    this.records += recs.length;
    for (const d of s.detections) this.features.push(detectionFeature(s, d));
    if (this.figure.png === false) return;
    let name = safeName(s.product.id);
    for (let k = 2; this.used.has(name); k++) name = `${safeName(s.product.id)}-${k}`;
    this.used.add(name);
    const file = path.join(this.dir, `${name}.png`);
    writePng(file, scanFigure(s, this.figure));
    this.pngs.push(file);
  }

  finish(): ScanOutputs {
    const fc: FeatureCollection = { type: 'FeatureCollection', features: this.features };
    writeFileAtomicSync(this.geojson, geoJsonText(fc));
    return { jsonl: this.jsonl, geojson: this.geojson, pngs: [...this.pngs], records: this.records, boxes: this.features.length };
  }
}
