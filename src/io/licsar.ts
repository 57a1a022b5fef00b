/**
 * Real interferograms as their users have them: LiCSAR-style GeoTIFF products and single-band LOS
 * displacement rasters (LiCSBAS / MintPy exports).
 *
 * A LiCSAR interferogram is up to three single-band EPSG:4326 GeoTIFFs sharing one prefix,
 * `FRAME/interferograms/YYYYMMDD_YYYYMMDD/YYYYMMDD_YYYYMMDD.geo.{unw,diff_pha,cc}.tif`:
 *   unw       unwrapped phase, radians (LiCSAR sign: d = -phi lambda / 4 pi, see physics/units.ts)
 *   diff_pha  wrapped (filtered) phase, radians, -pi..pi
 *   cc        coherence, 0..1 as float, or 0..255 as uint8 (newer products)
 * Any subset works; missing data is NaN, the GDAL nodata value, or 0 (LiCSAR writes 0 outside
 * the swath in older products). Layers on a projected grid caldera knows (WGS84 UTM, Web Mercator,
 * as LiCSBAS / MintPy / GDAL exports may be) are reprojected to lon/lat by nearest neighbour
 * (`reproject.ts`), with a note.
 *
 * With `hdf5` (scan), MintPy / LiCSBAS HDF5 files (`.h5`, `.hdf5`, `.he5`) are products too, each
 * by itself, read by `hdf5.ts` as the displacement over the file's span in C-band phase.
 *
 * The pure parts (names, pairing by prefix, decoding a layer, the product and its mask, and why
 * the coherence threshold is 0.3) are in `product.ts`, re-exported here; this file adds the file
 * system: finding products in files and folders, and reading their files.
 *
 * Pure reading: no CLI, no printing; every problem is an InputError naming the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readInputFile } from './input-file.js';
// Loading geotiff.ts makes Node's zlib the Deflate inflater of the bounded TIFF decoders (as before the split),
// and its reprojector (proj4) serves projected layers.
import { nodeReprojector } from './geotiff.js';
import { HDF5_NAME, readHdf5CBandProduct } from './hdf5.js';
import {
  checkReadOptions, decodeLayer, productFromLayers, ProductPairing, layerOf,
  type DiscoverOptions, type Discovery, type Product, type ProductFiles, type ReadProductOptions,
} from './product.js';

export * from './product.js';

function walk(dir: string, out: string[]): void {
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() || e.isSymbolicLink()) out.push(p);
  }
}

/**
 * Find products in files and folders (folders are searched recursively). Layers are paired by
 * their common prefix (`ProductPairing`); a product may have any subset of unw / diff_pha / cc, but
 * at least one phase layer. With `opts.hdf5`, each HDF5 file (`.h5`, `.hdf5`, `.he5`) is a product
 * by itself. Paths that do not exist, or products with only coherence, are `problems`.
 */
export function discoverProducts(paths: readonly string[], opts: DiscoverOptions = {}): Discovery {
  const pairing = new ProductPairing(path, opts);
  const add = (f: string, explicit: boolean): void => {
    if (opts.hdf5 && HDF5_NAME.test(path.basename(f))) pairing.addHdf5(f);
    else pairing.add(f, explicit);
  };
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      pairing.problems.push({ path: p, message: `${p}: no such file or folder` });
      continue;
    }
    if (st.isDirectory()) {
      const files: string[] = [];
      walk(p, files);
      for (const f of files) add(f, false);
    } else {
      add(p, true);
      // A layer named on its own brings its siblings (e.g. the .cc.tif that masks a .unw.tif).
      const l = layerOf(path.basename(p));
      if (l.kind !== null && l.kind !== 'raster') {
        for (const sib of fs.readdirSync(path.dirname(p)).sort()) {
          const s = layerOf(sib);
          const f = path.join(path.dirname(p), sib);
          if (s.kind !== null && s.kind !== 'raster' && s.prefix === l.prefix && path.resolve(f) !== path.resolve(p)) pairing.add(f, false);
        }
      }
    }
  }
  const products = pairing.products(process.cwd());
  return { products, problems: pairing.problems, ignored: pairing.ignored };
}

/**
 * Read a product's layers, check they share one grid, and build its mask. InputError when a file
 * is unreadable, not geographic, not georeferenced, on a different grid, or entirely masked. An
 * HDF5 product is read by `hdf5.ts` (`readHdf5CBandProduct`: its unit is the file's, LOS needs no
 * wavelength; `units` and `wavelengthM` do not apply).
 */
export async function readProduct(files: ProductFiles, opts: ReadProductOptions = {}): Promise<Product> {
  const { minCoherence } = checkReadOptions(opts);
  if (files.hdf5) return readHdf5CBandProduct(files.hdf5, { files, minCoherence, ...(opts.allowEmpty ? { allowEmpty: true } : {}) });
  // Layers on a projected grid reproject.ts knows (UTM, Web Mercator) are reprojected to lon/lat here (proj4: Node only).
  const read = async (f: string | undefined) => (f ? decodeLayer(await readInputFile(f), path.basename(f), nodeReprojector) : undefined);
  const unw = await read(files.unw);
  const diffPha = await read(files.diffPha);
  const cc = await read(files.cc);
  const raster = await read(files.raster);
  return productFromLayers(files, { unw, diffPha, cc, raster }, opts, path);
}
