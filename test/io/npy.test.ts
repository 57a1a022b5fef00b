import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeNpy, encodeNpy, readNpy, writeNpy } from '../../src/io/npy.js';
import { InputError } from '../../src/core/errors.js';

const HAS_NUMPY = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

function npyBytes(header: string, body: Uint8Array, major = 1): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  let h = header;
  while ((prefix + h.length + 1) % 64 !== 0) h += ' ';
  h += '\n';
  const out = new Uint8Array(prefix + h.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, h.length, true);
  else dv.setUint32(8, h.length, true);
  for (let i = 0; i < h.length; i++) out[prefix + i] = h.charCodeAt(i);
  out.set(body, prefix + h.length);
  return out;
}

test('npy round-trips every dtype and rank', () => {
  const cases = [
    { data: new Float32Array([1.5, -2, NaN, 3e30, 0, 7]), shape: [2, 3] },
    { data: new Float64Array([Math.PI, -1e-300]), shape: [2] },
    { data: new Uint8Array([0, 255, 7, 8]), shape: [2, 1, 2] },
    { data: new Int16Array([-32768, 32767, 0]), shape: [3, 1] },
    { data: new Int32Array([-2147483648, 2147483647]), shape: [1, 2] },
    { data: new Float32Array([42]), shape: [] },
    { data: new Float32Array(0), shape: [0, 5] },
  ];
  for (const c of cases) {
    const bytes = encodeNpy(c);
    assert.equal((bytes.length - c.data.byteLength) % 64, 0, 'header padded to 64');
    const back = decodeNpy(bytes);
    assert.deepEqual(back.shape, c.shape);
    assert.equal(back.data.constructor, c.data.constructor);
    assert.deepEqual(Array.from(back.data), Array.from(c.data));
  }
});

test('npy bool is written as |b1 and read back as bool', () => {
  const bytes = encodeNpy({ data: new Uint8Array([1, 0, 1]), shape: [3], dtype: 'bool' });
  assert.match(new TextDecoder().decode(bytes.subarray(10, 80)), /'descr': '\|b1'/);
  const back = decodeNpy(bytes);
  assert.equal(back.dtype, 'bool');
  assert.deepEqual(Array.from(back.data), [1, 0, 1]);
});

test('npy reads big-endian data and v2 headers', () => {
  const be = new Uint8Array(8);
  new DataView(be.buffer).setFloat32(0, 1.25, false);
  new DataView(be.buffer).setFloat32(4, -3.5, false);
  const a = decodeNpy(npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", be));
  assert.equal(a.dtype, 'float32');
  assert.deepEqual(Array.from(a.data), [1.25, -3.5]);
  const be16 = new Uint8Array([0x80, 0x00, 0x00, 0x05]);
  const b = decodeNpy(npyBytes("{'descr': '>i2', 'fortran_order': False, 'shape': (1, 2), }", be16, 2));
  assert.deepEqual(Array.from(b.data), [-32768, 5]);
  assert.deepEqual(b.shape, [1, 2]);
});

test('npy reads Fortran order (np.asfortranarray) into C order, in any number of dimensions', () => {
  // 2x3 array [[0, 1, 2], [3, 4, 5]] stored column by column.
  const f2 = new Float32Array([0, 3, 1, 4, 2, 5]);
  const a = decodeNpy(npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", new Uint8Array(f2.buffer)), 'f.npy');
  assert.deepEqual(a.shape, [2, 3]);
  assert.deepEqual(Array.from(a.data), [0, 1, 2, 3, 4, 5]);
  // 2x3x4 with value = C index, stored with the first index fastest.
  const shape = [2, 3, 4];
  const fort = new Int16Array(24);
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) fort[i + 2 * j + 6 * k] = i * 12 + j * 4 + k;
  const b = decodeNpy(npyBytes("{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3, 4), }", new Uint8Array(fort.buffer)), 'g.npy');
  assert.deepEqual(b.shape, shape);
  assert.deepEqual(Array.from(b.data), Array.from({ length: 24 }, (_, i) => i));
  // 1-d and empty arrays are the same in both orders.
  const c = decodeNpy(npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", new Uint8Array(new Float32Array([7, 8]).buffer)));
  assert.deepEqual(Array.from(c.data), [7, 8]);
  const d = decodeNpy(npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (0, 3), }", new Uint8Array(0)));
  assert.deepEqual(d.shape, [0, 3]);
});

test('npy: a FIFO (or a directory) given as a file is refused in one line instead of blocking', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-npy-'));
  try {
    const fifo = path.join(dir, 'pipe.npy');
    if (spawnSync('mkfifo', [fifo]).status === 0) {
      assert.throws(() => readNpy(fifo), (e: unknown) => e instanceof InputError && /pipe\.npy: is a FIFO/.test(e.message) && !e.message.includes('\n'));
    }
    assert.throws(() => readNpy(dir), (e: unknown) => e instanceof InputError && /is a directory/.test(e.message));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('npy rejects unsupported dtypes, truncation, impossible shapes and junk with InputError', () => {
  const body = new Uint8Array(16);
  assert.throws(() => decodeNpy(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", body), 'x.npy'),
    (e: unknown) => e instanceof InputError && /x\.npy: truncated/.test(e.message));
  assert.throws(() => decodeNpy(npyBytes("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", body), 'y.npy'),
    (e: unknown) => e instanceof InputError && /y\.npy: unsupported dtype '<c8'/.test(e.message));
  assert.throws(() => decodeNpy(npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", body), 'z.npy'),
    (e: unknown) => e instanceof InputError && /z\.npy: truncated/.test(e.message));
  assert.throws(() => decodeNpy(new TextEncoder().encode('hello world'), 'w.npy'),
    (e: unknown) => e instanceof InputError && /not a \.npy/.test(e.message));
  assert.throws(() => encodeNpy({ data: new Float32Array(5), shape: [2, 3] }), InputError);
});

test('npy files written here load in numpy and vice versa', { skip: !HAS_NUMPY && 'numpy not available' }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-npy-'));
  try {
    const f = path.join(dir, 'a.npy');
    writeNpy(f, { data: new Float32Array([1, 2, 3, 4, 5, 6.5]), shape: [2, 3] });
    const g = path.join(dir, 'b.npy');
    const py = spawnSync('python3', ['-c', `
import numpy as np, sys
a = np.load(sys.argv[1])
assert a.dtype == np.float32 and a.shape == (2, 3), (a.dtype, a.shape)
assert a[1, 2] == 6.5
np.save(sys.argv[2], np.arange(12, dtype='>f8').reshape(3, 4) * 0.5)
np.save(sys.argv[3], np.asfortranarray(np.arange(24, dtype='<f4').reshape(2, 3, 4)))
`, f, g, path.join(dir, 'c.npy')], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    const b = readNpy(g);
    assert.equal(b.dtype, 'float64');
    assert.deepEqual(b.shape, [3, 4]);
    assert.equal(b.data[11], 5.5);
    const c = readNpy(path.join(dir, 'c.npy'));
    assert.deepEqual(c.shape, [2, 3, 4]);
    assert.deepEqual(Array.from(c.data), Array.from({ length: 24 }, (_, i) => i));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
