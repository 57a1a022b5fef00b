import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeNpz, encodeNpz, readNpz, writeNpz } from '../../src/io/npz.js';
import { crc32, decodeZip, encodeZip, listZip } from '../../src/io/zip.js';
import { InputError } from '../../src/core/errors.js';

const HAS_NUMPY = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-npz-'));
}

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test('zip round-trips stored and deflated entries', () => {
  const big = new Uint8Array(10000).fill(7);
  const entries = [{ name: 'a.txt', data: new TextEncoder().encode('hello') }, { name: 'b.bin', data: big },
    { name: 'ünï.txt', data: new Uint8Array(0) }];
  for (const compress of [false, true]) {
    const z = encodeZip(entries, { compress });
    assert.deepEqual(listZip(z), ['a.txt', 'b.bin', 'ünï.txt']);
    const back = decodeZip(z);
    assert.deepEqual(back.map((e) => Array.from(e.data)), entries.map((e) => Array.from(e.data)));
    if (compress) assert.ok(z.length < 1000, 'repetitive data deflated');
  }
});

test('zip reader reports truncated and corrupt archives as InputError', () => {
  const z = encodeZip([{ name: 'x.npy', data: new Uint8Array(100).fill(1) }]);
  assert.throws(() => decodeZip(z.subarray(0, 50), 'cut.npz'),
    (e: unknown) => e instanceof InputError && /^cut\.npz: /.test(e.message));
  const bad = z.slice();
  bad[40] ^= 0xff; // inside the stored data
  assert.throws(() => decodeZip(bad, 'bad.npz'), (e: unknown) => e instanceof InputError && /CRC-32/.test(e.message));
  assert.throws(() => decodeZip(new Uint8Array(10), 'tiny.npz'), InputError);
});

test('npz round-trips several arrays, compressed and not', () => {
  const rec = {
    phase: { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] },
    label: { data: new Int32Array([3]), shape: [1] },
    mask: { data: new Uint8Array([1, 0]), shape: [2], dtype: 'bool' as const },
  };
  for (const compress of [false, true]) {
    const back = decodeNpz(encodeNpz(rec, { compress }));
    assert.deepEqual(Object.keys(back).sort(), ['label', 'mask', 'phase']);
    assert.deepEqual(back.phase!.shape, [2, 3]);
    assert.deepEqual(Array.from(back.phase!.data), [1, 2, 3, 4, 5, 6]);
    assert.equal(back.mask!.dtype, 'bool');
    assert.equal(back.label!.dtype, 'int32');
  }
});

test('npz written here loads with numpy.load', { skip: !HAS_NUMPY && 'numpy not available' }, () => {
  const dir = tmpDir();
  try {
    for (const compress of [false, true]) {
      const f = path.join(dir, `out-${compress}.npz`);
      const f32 = new Float32Array(2 * 3 * 4).map((_, i) => i * 0.25 - 1);
      const f64 = new Float64Array([Math.PI, Math.E, -1e-300]);
      writeNpz(f, { x: { data: f32, shape: [2, 3, 4] }, y: { data: f64, shape: [3] } }, { compress });
      const py = spawnSync('python3', ['-c', `
import numpy as np, sys, math
d = np.load(sys.argv[1])
assert sorted(d.files) == ['x', 'y'], d.files
x, y = d['x'], d['y']
assert x.dtype == np.float32 and x.shape == (2, 3, 4), (x.dtype, x.shape)
assert np.array_equal(x.ravel(), np.arange(24, dtype=np.float32) * 0.25 - 1)
assert y.dtype == np.float64 and y.shape == (3,)
assert y[0] == math.pi and y[1] == math.e and y[2] == -1e-300
print('ok')
`, f], { encoding: 'utf8' });
      assert.equal(py.status, 0, py.stderr);
      assert.equal(py.stdout.trim(), 'ok');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('npz written by np.savez and np.savez_compressed decodes', { skip: !HAS_NUMPY && 'numpy not available' }, () => {
  const dir = tmpDir();
  try {
    const py = spawnSync('python3', ['-c', `
import numpy as np, sys, os
d = sys.argv[1]
a = (np.arange(30, dtype=np.float32).reshape(5, 6) / 7).astype(np.float32)
b = np.array([[1, -2], [3, -4]], dtype=np.int16)
c = np.array([True, False, True])
e = np.arange(6, dtype='>f8').reshape(2, 3)
np.savez(os.path.join(d, 'plain.npz'), a=a, b=b, c=c, e=e)
np.savez_compressed(os.path.join(d, 'comp.npz'), a=a, b=b, c=c, e=e)
`, dir], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    for (const name of ['plain.npz', 'comp.npz']) {
      const r = readNpz(path.join(dir, name));
      assert.deepEqual(Object.keys(r).sort(), ['a', 'b', 'c', 'e']);
      assert.deepEqual(r.a!.shape, [5, 6]);
      assert.equal(r.a!.dtype, 'float32');
      assert.equal(r.a!.data[29], Math.fround(29 / 7));
      assert.deepEqual(Array.from(r.b!.data), [1, -2, 3, -4]);
      assert.equal(r.b!.dtype, 'int16');
      assert.equal(r.c!.dtype, 'bool');
      assert.deepEqual(Array.from(r.c!.data), [1, 0, 1]);
      assert.deepEqual(Array.from(r.e!.data), [0, 1, 2, 3, 4, 5]);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('readNpz names the file when it is missing', () => {
  assert.throws(() => readNpz('/nonexistent/q.npz'), (e: unknown) => e instanceof InputError && /q\.npz/.test(e.message));
});
