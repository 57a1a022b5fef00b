/**
 * `scanAll`: scanning products in files and folders (Node): LiCSAR layers and LOS rasters, and
 * MintPy / LiCSBAS HDF5 files. Discovery and reading are the file system's (`io/licsar.ts`, HDF5
 * by `io/hdf5.ts`); the loop over products (read, mask, scan, report failures) is `scanFound` in
 * scan.ts, which the web page runs on dropped files.
 */
import { shardSlice } from '../core/shard.js';
import { discoverProducts, readProduct } from '../io/licsar.js';
import type { Detector } from './forward.js';
import { scanFound, type ScanAllOptions, type ScanAllResult } from './scan.js';

/**
 * Find every product under `paths` (HDF5 files included unless `discover.hdf5` is false), read,
 * mask (the .cc file, and the phase-derived coherence per `phaseCoherence`: HDF5 files have no
 * .cc, so only that) and scan each; a bad product is reported and skipped. Products are read one
 * at a time, so memory stays bounded on a folder of hundreds. `shard` K/N: only a block of the
 * products (array jobs).
 */
export async function scanAll(paths: readonly string[], model: Detector, opts: ScanAllOptions = {}): Promise<ScanAllResult> {
  const found = opts.found ?? discoverProducts(paths, { hdf5: true, ...opts.discover });
  // Array jobs: shard K of N scans its block of the products; shard 0 alone reports the problems.
  const mine = opts.shard
    ? { products: shardSlice(found.products, opts.shard), problems: opts.shard.k === 0 ? found.problems : [] }
    : found;
  const result = await scanFound(mine, readProduct, model, opts);
  return { ...result, ignored: found.ignored };
}
