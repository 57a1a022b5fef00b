import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { addSample } from '../../src/data/real.js';
import { realMixer } from '../../src/data/real-mix.js';
import type { BatchData, BatchRequest } from '../../src/data/feeder.js';
import { bump, fakeProduct } from '../helpers/products.js';

const V = { lon: -72.7, lat: -41.2 };
const SIZE = 64;

function syntheticBatch(n: number): BatchData {
  return {
    n, size: SIZE, channels: 1, x: new Float32Array(n * SIZE * SIZE).fill(0.25), classIndex: new Uint8Array(n).fill(2),
    box: new Float32Array(n * 5), boxesPx: new Array(n).fill(null), terrain: new Array(n).fill('synthetic'), indices: Array.from({ length: n }, (_, i) => i),
  };
}

test('real examples replace about the asked share of training examples, reproducibly, never in validation', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-mix-'));
  const p = fakeProduct({ id: 'f_20200101_20200113', width: 300, height: 300, dLon: 0.002, dLat: -0.0015, phase: (lon, lat) => 0.5 + bump(V.lon, V.lat, 2, 4)(lon, lat) });
  await addSample(dir, p, { className: 'sill', box: [-72.74, -41.23, -72.66, -41.17], volcano: { name: 'Test Peak', ...V } });
  const mix = await realMixer({ dir, fraction: 0.3 }, 'w', SIZE);
  const n = 200;
  const req: BatchRequest = { indices: Array.from({ length: n }, (_, i) => i), augmentSeed: 5 };
  const a = mix(syntheticBatch(n), req);
  const real = a.terrain.filter((t) => t.startsWith('real:')).length;
  assert.ok(real > 0.3 * n - 25 && real < 0.3 * n + 25, `${real} real of ${n}`);
  for (let j = 0; j < n; j++) {
    if (!a.terrain[j]!.startsWith('real:')) continue;
    assert.equal(a.classIndex[j], 1, 'the real sample is a sill');
    assert.equal(a.box[j * 5 + 4], 1);
    assert.ok(a.boxesPx[j]!.halfWidth > 0);
  }
  assert.deepEqual(mix(syntheticBatch(n), req).x, a.x, 'same seed, same batch');
  const val = syntheticBatch(n);
  assert.equal(mix(val, { indices: req.indices, augmentSeed: null }), val, 'validation batches are left alone');
  await assert.rejects(realMixer({ dir, fraction: 1.5 }, 'w', SIZE), /fraction of real samples/);
  await assert.rejects(realMixer({ dir, fraction: 0.5 }, 'wwd', SIZE), /needs a DEM/);
});
