/**
 * `scanAll`: scanning products in files and folders (Node). Discovery and reading are the file
 * system's (`io/licsar.ts`); the loop over products (read, mask, scan, report failures) is
 * `scanFound` in scan.ts, which the web page runs on dropped files.
 */
import { discoverProducts, readProduct } from '../io/licsar.js';
import type { Detector } from './forward.js';
import { scanFound, type ScanAllOptions, type ScanAllResult } from './scan.js';

/**
 * Find every product under `paths`, read, mask (the .cc file, and the phase-derived coherence per
 * `phaseCoherence`) and scan each; a bad product is reported and skipped. Products are read one
 * at a time, so memory stays bounded on a folder of hundreds.
 */
export async function scanAll(paths: readonly string[], model: Detector, opts: ScanAllOptions = {}): Promise<ScanAllResult> {
  const found = opts.found ?? discoverProducts(paths, opts.discover);
  const result = await scanFound(found, readProduct, model, opts);
  return { ...result, ignored: found.ignored };
}
