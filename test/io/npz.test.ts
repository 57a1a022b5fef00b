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

test('npz: only the arrays asked for are inflated (an unused member is never touched)', () => {
  const big = new Uint8Array(4 << 20); // 4 MiB of zeros deflates to ~4 KiB
  const z = encodeNpz({ a: { data: new Float32Array([1, 2]), shape: [2] }, unused: { data: big, shape: [big.length] } }, { compress: ['unused'] });
  // Corrupt the unused member's deflate stream: reading everything fails, reading 'a' does not look at it.
  const bad = z.slice();
  const at = Buffer.from(bad).indexOf(Buffer.from('unused.npy')) + 'unused.npy'.length + 20;
  for (let i = 0; i < 16; i++) bad[at + i] ^= 0x5a;
  assert.throws(() => decodeNpz(bad, 'b.npz'), (e: unknown) => e instanceof InputError && /unused\.npy/.test(e.message));
  const only = decodeNpz(bad, 'b.npz', { keys: ['a'] });
  assert.deepEqual(Object.keys(only), ['a']);
  assert.deepEqual(Array.from(only.a!.data), [1, 2]);
});

test('zip: declared sizes bound inflation; sizes DEFLATE cannot reach are refused before inflating', () => {
  const data = new Uint8Array(100000).fill(3);
  const z = encodeZip([{ name: 'x.npy', data }], { compress: true });
  const dv = new DataView(z.buffer);
  const cd = Buffer.from(z).lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  // Claim 1 GiB uncompressed from a few hundred bytes: impossible for DEFLATE.
  const huge = z.slice();
  new DataView(huge.buffer).setUint32(cd + 24, 1 << 30, true);
  assert.throws(() => decodeZip(huge, 'h.npz'), (e: unknown) => e instanceof InputError && /more than DEFLATE can hold/.test(e.message));
  // Claim fewer bytes than the stream holds: inflation stops at the declared size.
  const small = z.slice();
  new DataView(small.buffer).setUint32(cd + 24, 1000, true);
  assert.throws(() => decodeZip(small, 's.npz'), (e: unknown) => e instanceof InputError && /inflates to more than the 1000 bytes/.test(e.message));
  assert.equal(dv.getUint32(cd + 24, true), 100000);
});

test('npz: a member named __proto__ does not change the result object', () => {
  const z = encodeZip([{ name: '__proto__.npy', data: encodeNpz({ a: { data: new Float32Array(1), shape: [1] } }).subarray(0, 0) }]);
  // An empty member is not a valid .npy: InputError, and Object.prototype is untouched.
  assert.throws(() => decodeNpz(z, 'p.npz'), InputError);
  const y = encodeZip([{ name: '__proto__.npy', data: decodeZip(encodeNpz({ a: { data: new Float32Array([5]), shape: [1] } }))[0]!.data }]);
  const r = decodeNpz(y, 'p.npz');
  assert.equal(Object.getPrototypeOf(r), Object.prototype);
  assert.deepEqual(Array.from(r['__proto__']!.data), [5]);
});
