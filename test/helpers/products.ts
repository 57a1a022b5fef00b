/** Synthetic in-memory products and a fake network for scan / window / augmentation tests. */
import { wrapPhase } from '../../src/core/raster.js';
import type { Product } from '../../src/io/licsar.js';
import type { ModelOutput, Detector } from '../../src/scan/detector.js';

export interface FakeProductOptions {
  width: number;
  height: number;
  west?: number;
  north?: number;
  dLon?: number;
  dLat?: number;
  /** Unwrapped phase (rad) at lon/lat. */
  phase: (lon: number, lat: number) => number;
  /** Coherence at lon/lat (default 0.9). */
  coherence?: (lon: number, lat: number) => number;
  minCoherence?: number;
  id?: string;
}

export function fakeProduct(o: FakeProductOptions): Product {
  const { width, height } = o;
  const geo = { west: o.west ?? -73, north: o.north ?? -41, dLon: o.dLon ?? 0.002, dLat: o.dLat ?? -0.0015, crs: 'EPSG:4326' };
  const n = width * height;
  const unw = new Float32Array(n), wr = new Float32Array(n), cc = new Float32Array(n), mask = new Uint8Array(n);
  const minC = o.minCoherence ?? 0.3;
  let masked = 0;
  for (let r = 0; r < height; r++) {
    const lat = geo.north + (r + 0.5) * geo.dLat;
    for (let c = 0; c < width; c++) {
      const lon = geo.west + (c + 0.5) * geo.dLon;
      const i = r * width + c;
      unw[i] = o.phase(lon, lat);
      wr[i] = wrapPhase(unw[i]!);
      cc[i] = o.coherence ? o.coherence(lon, lat) : 0.9;
      if (cc[i]! < minC) { mask[i] = 2; masked++; }
    }
  }
  const id = o.id ?? 'fake_20200101_20200113';
  return {
    id, files: { id, prefix: `/nowhere/${id}`, unw: `/nowhere/${id}.geo.unw.tif`, dates: ['2020-01-01', '2020-01-13'], frame: null },
    width, height, geo, wrappedRad: wr, unwrappedRad: unw, coherence: cc, mask,
    maskedFraction: masked / n, minCoherence: minC, source: 'licsar', notes: [],
  };
}

/** Gaussian bump of phase (rad) centred at (lon0, lat0) with e-folding radius rKm. */
export function bump(lon0: number, lat0: number, rKm: number, amp: number): (lon: number, lat: number) => number {
  return (lon, lat) => {
    const dx = (lon - lon0) * 111.195 * Math.cos((lat0 * Math.PI) / 180);
    const dy = (lat - lat0) * 111.195;
    return amp * Math.exp(-(dx * dx + dy * dy) / (rKm * rKm));
  };
}

/**
 * A fake network for 'w'-first inputs: pixels whose wrapped phase differs from `background`
 * by more than `threshold` rad are "deformation"; their bounding box is the box, class sill with
 * probability 0.9 when there are at least `minPixels` of them, else none. Records every call.
 */
export function thresholdModel(opts: { background: number; threshold?: number; minPixels?: number; size?: number; channels?: number } = { background: 0.5 }): Detector & { calls: number[] } {
  const size = opts.size ?? 224;
  const C = opts.channels ?? 3;
  const thr = opts.threshold ?? 0.5;
  const calls: number[] = [];
  const run = async (inputs: Float32Array[]): Promise<ModelOutput[]> => {
    calls.push(inputs.length);
    return inputs.map((x) => {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, k = 0;
      for (let y = 0; y < size; y++) {
        for (let xx = 0; xx < size; xx++) {
          const v = x[(y * size + xx) * C]! * Math.PI;
          if (v === 0) continue; // masked
          if (Math.abs(wrapPhase(v - opts.background)) > thr) {
            k++;
            x0 = Math.min(x0, xx); x1 = Math.max(x1, xx); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
          }
        }
      }
      if (k < (opts.minPixels ?? 30)) return { probs: [0.05, 0.05, 0.9], box: [0.5, 0.5, 0.1, 0.1] as const };
      return {
        probs: [0.05, 0.9, 0.05],
        box: [(x0 + x1) / 2 / size, (y0 + y1) / 2 / size, (x1 - x0) / 2 / size, (y1 - y0) / 2 / size] as const,
      };
    });
  };
  return { run, format: 'www', size, name: 'threshold test model', batchSize: 8, calls };
}

/**
 * A fake product written as LiCSAR GeoTIFFs (`DIR/NAME.geo.unw.tif` and `.geo.cc.tif`); `shift`
 * moves its two phase bumps, so that products differ.
 */
export async function writeProductFiles(dir: string, name: string, o: { width?: number; height?: number; shift?: number } = {}): Promise<string[]> {
  const { writeGeoTiff } = await import('../../src/io/geotiff.js');
  const fs = await import('node:fs');
  const path = await import('node:path');
  const d = o.shift ?? 0;
  const phase = (lon: number, lat: number): number => 0.5 + bump(-72.75 + d, -41.2, 2.5, 2)(lon, lat) + bump(-72.33 - d, -41.25, 2, 2)(lon, lat);
  const p = fakeProduct({ width: o.width ?? 400, height: o.height ?? 300, dLon: 0.002, dLat: -0.0015, phase });
  const geo = { west: p.geo.west, north: p.geo.north, dLon: p.geo.dLon, dLat: p.geo.dLat };
  fs.mkdirSync(dir, { recursive: true });
  const unw = path.join(dir, `${name}.geo.unw.tif`), cc = path.join(dir, `${name}.geo.cc.tif`);
  await writeGeoTiff(unw, { width: p.width, height: p.height, data: p.unwrappedRad! }, geo, { compression: 'deflate' });
  await writeGeoTiff(cc, { width: p.width, height: p.height, data: p.coherence!.map((c) => c * 255) }, geo, { dtype: 'uint8' });
  return [unw, cc];
}
