/** `caldera predict` takes MintPy and LiCSBAS HDF5 files directly, like GeoTIFFs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { writeHdf5Series } from '../../src/io/hdf5.js';
import { readInterferogram } from '../../src/scan/predict.js';
import { losToPhaseArray } from '../../src/physics/units.js';
import { runCli, withDir } from '../helpers/files.js';

test('predict reads cum.h5 (LiCSBAS) and timeseries.h5 (MintPy): LOS from first to last epoch, C-band phase, lon/lat boxes', async () => {
  await withDir('caldera-h5-predict-', async (dir) => {
    const W = 64, H = 48, geo = { west: -72.8, north: -41.2, dLon: 0.002, dLat: -0.0015 };
    const dates = ['2020-01-01', '2020-01-13', '2020-01-25'];
    // An uplift bump growing through time (LOS metres), with a NaN corner.
    const epoch = (k: number): Float32Array => Float32Array.from({ length: W * H }, (_, i) => {
      const x = i % W, y = Math.floor(i / W);
      if (x < 4 && y < 4) return NaN;
      return 0.02 * k * Math.exp(-((x - 30) ** 2 + (y - 20) ** 2) / 80);
    });
    for (const [layout, name] of [['licsbas', 'cum.h5'], ['mintpy', 'timeseries.h5']] as const) {
      const file = path.join(dir, layout, name);
      await import('node:fs').then((fs) => fs.mkdirSync(path.dirname(file), { recursive: true }));
      await writeHdf5Series(file, layout, { width: W, height: H, geo, dates, epochsM: dates.map((_, k) => epoch(k)), wavelengthM: 0.2362 });
      const r = await readInterferogram(file, 'rad');
      assert.equal(r.width, W);
      assert.equal(r.height, H);
      const want = losToPhaseArray(epoch(2)); // C band, whatever the file's wavelength (L band here)
      const i = 20 * W + 30;
      assert.ok(Math.abs(r.phaseRad[i]! - want[i]!) < 1e-3, `${layout}: ${r.phaseRad[i]} vs ${want[i]}`);
      assert.ok(Number.isNaN(r.phaseRad[0]!), 'no data stays masked');
      assert.ok(r.lonLatGrid && Math.abs(r.lonLatGrid.west - geo.west) < 1e-9);
      const cli = runCli('predict', '--json', file);
      assert.equal(cli.code, 0, cli.err);
      const rec = JSON.parse(cli.out.trim().split('\n')[0]!) as { class: string; box: { lonLat: unknown } | null };
      assert.ok(['dyke', 'sill', 'none'].includes(rec.class));
    }
  });
});
