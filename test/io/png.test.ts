import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { crc32, decodePng, encodePng, writePng } from '../../src/io/png.js';
import { isInputError } from '../../src/core/errors.js';

const HAS_PYTHON = spawnSync('python3', ['-c', 'import zlib, hashlib'], { stdio: 'ignore' }).status === 0;

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** Smooth, compressible pixels (gradients) so the filters have something to do. */
function gradient(w: number, h: number, channels: number): Uint8Array {
  const out = new Uint8Array(w * h * channels);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < channels; c++) out[(y * w + x) * channels + c] = (x * 3 + y * 5 + c * 40 + ((x * y) >> 3)) & 255;
    }
  }
  return out;
}

interface Chunk { type: string; data: Uint8Array; crc: number; offset: number }

function chunks(png: Uint8Array): Chunk[] {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: Chunk[] = [];
  let pos = 8;
  while (pos < png.length) {
    const len = dv.getUint32(pos);
    const type = Buffer.from(png.subarray(pos + 4, pos + 8)).toString('latin1');
    out.push({ type, data: png.subarray(pos + 8, pos + 8 + len), crc: dv.getUint32(pos + 8 + len), offset: pos });
    pos += 12 + len;
  }
  assert.equal(pos, png.length, 'chunks end exactly at the end of the file');
  return out;
}

test('RGBA and RGB round-trip exactly, for every filter and odd sizes', () => {
  for (const [w, h] of [[1, 1], [7, 5], [64, 33], [3, 200]] as const) {
    for (const channels of [3, 4] as const) {
      for (const data of [randomBytes(w * h * channels, w * 31 + h), gradient(w, h, channels)]) {
        for (const filter of [undefined, 0, 1, 2, 3, 4] as const) {
          const png = encodePng({ width: w, height: h, data, channels }, filter === undefined ? {} : { filter });
          const back = decodePng(png);
          assert.equal(back.width, w);
          assert.equal(back.height, h);
          assert.equal(back.channels, channels);
          assert.deepEqual(back.data, data, `${w}x${h}x${channels} filter ${filter}`);
        }
      }
    }
  }
});

test('greyscale and grey+alpha round-trip; channels default to 4 (RGBA canvas)', () => {
  for (const channels of [1, 2] as const) {
    const data = gradient(13, 9, channels);
    const back = decodePng(encodePng({ width: 13, height: 9, data, channels }));
    assert.equal(back.channels, channels);
    assert.deepEqual(back.data, data);
  }
  const rgba = new Uint8ClampedArray(gradient(4, 4, 4));
  const back = decodePng(encodePng({ width: 4, height: 4, data: rgba }));
  assert.equal(back.channels, 4);
  assert.deepEqual(back.data, new Uint8Array(rgba));
});

test('file structure: signature, IHDR fields, IDAT that inflates to filtered rows, IEND last, correct CRCs', () => {
  const w = 21;
  const h = 11;
  const png = encodePng({ width: w, height: h, data: gradient(w, h, 3), channels: 3 });
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  const cs = chunks(png);
  assert.deepEqual(cs.map((c) => c.type), ['IHDR', 'IDAT', 'IEND']);
  const ihdr = new DataView(cs[0]!.data.buffer, cs[0]!.data.byteOffset, 13);
  assert.equal(cs[0]!.data.length, 13);
  assert.equal(ihdr.getUint32(0), w);
  assert.equal(ihdr.getUint32(4), h);
  assert.deepEqual([...cs[0]!.data.subarray(8)], [8, 2, 0, 0, 0]); // 8-bit, RGB, deflate, adaptive, no interlace
  assert.equal(cs[2]!.data.length, 0);
  for (const c of cs) {
    // node's own CRC-32 as the independent reference
    const expected = zlib.crc32(png.subarray(c.offset + 4, c.offset + 8 + c.data.length));
    assert.equal(c.crc, expected, `${c.type} CRC`);
  }
  const raw = zlib.inflateSync(cs[1]!.data);
  assert.equal(raw.length, (w * 3 + 1) * h);
  for (let y = 0; y < h; y++) assert.ok(raw[y * (w * 3 + 1)]! <= 4, 'filter byte 0..4');
});

test('crc32 matches node:zlib on random data and the PNG reference value', () => {
  for (const n of [0, 1, 13, 1000]) {
    const b = randomBytes(n, n + 5);
    assert.equal(crc32(b), zlib.crc32(b));
  }
  assert.equal(crc32(Buffer.from('IEND', 'latin1')), 0xae426082);
});

test('adaptive filtering compresses smooth images better than no filtering', () => {
  const data = gradient(128, 128, 3);
  const adaptive = encodePng({ width: 128, height: 128, data, channels: 3 });
  const none = encodePng({ width: 128, height: 128, data, channels: 3 }, { filter: 0 });
  assert.ok(adaptive.length < none.length, `${adaptive.length} < ${none.length}`);
});

test('corrupt, truncated and unsupported files throw InputError naming the problem', () => {
  const good = encodePng({ width: 5, height: 4, data: gradient(5, 4, 4) });
  const throwsInput = (bytes: Uint8Array, re: RegExp) => assert.throws(() => decodePng(bytes, 'x.png'), (e: unknown) => {
    assert.ok(isInputError(e), `InputError, got ${e}`);
    assert.match((e as Error).message, re);
    assert.match((e as Error).message, /^x\.png: /);
    return true;
  });
  throwsInput(Uint8Array.of(1, 2, 3), /signature/);
  const badCrc = good.slice();
  badCrc[20] ^= 0xff; // inside IHDR payload
  throwsInput(badCrc, /CRC in IHDR/);
  throwsInput(good.subarray(0, good.length - 12), /IEND/);
  throwsInput(good.subarray(0, good.length - 20), /truncated/);
  // 16-bit: rewrite IHDR depth and fix its CRC
  const deep = good.slice();
  deep[24] = 16;
  new DataView(deep.buffer).setUint32(29, zlib.crc32(deep.subarray(12, 29)));
  throwsInput(deep, /bit depth 16/);
  // palette
  const pal = good.slice();
  pal[25] = 3;
  new DataView(pal.buffer).setUint32(29, zlib.crc32(pal.subarray(12, 29)));
  throwsInput(pal, /colour type 3/);
});

test('encodePng rejects inconsistent input', () => {
  assert.throws(() => encodePng({ width: 2, height: 2, data: new Uint8Array(15) }), /16/);
  assert.throws(() => encodePng({ width: 0, height: 2, data: new Uint8Array(0) }), RangeError);
  assert.throws(() => encodePng({ width: 1, height: 1, data: new Uint8Array(5), channels: 5 as 4 }), RangeError);
});

test('writePng writes a file that decodes to the same pixels', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-png-'));
  try {
    const data = gradient(9, 6, 4);
    const file = path.join(dir, 'a.png');
    writePng(file, { width: 9, height: 6, data });
    assert.deepEqual(decodePng(new Uint8Array(fs.readFileSync(file))).data, data);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// An independent PNG reader/writer in Python (zlib only): checks the encoder against a decoder we
// did not write in TypeScript, and the decoder against Paeth/Average/Sub/Up rows we did not encode.
const PY_DECODE = `
import sys, zlib, struct, hashlib
b = open(sys.argv[1], 'rb').read()
assert b[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
pos, idat = 8, b''
while pos < len(b):
    n, = struct.unpack('>I', b[pos:pos+4]); t = b[pos+4:pos+8]; d = b[pos+8:pos+8+n]
    assert struct.unpack('>I', b[pos+8+n:pos+12+n])[0] == zlib.crc32(t + d) & 0xffffffff
    if t == b'IHDR': w, h, depth, ct = struct.unpack('>IIBB', d[:10])
    if t == b'IDAT': idat += d
    pos += 12 + n
bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ct]; stride = w * bpp
raw = zlib.decompress(idat); out = bytearray(); prev = bytearray(stride)
for y in range(h):
    f = raw[y*(stride+1)]; row = bytearray(raw[y*(stride+1)+1:(y+1)*(stride+1)])
    for i in range(stride):
        a = row[i-bpp] if i >= bpp else 0; up = prev[i]; c = prev[i-bpp] if i >= bpp else 0
        if f == 1: row[i] = (row[i] + a) & 255
        elif f == 2: row[i] = (row[i] + up) & 255
        elif f == 3: row[i] = (row[i] + (a + up) // 2) & 255
        elif f == 4:
            p = a + up - c; pa, pb, pc = abs(p-a), abs(p-up), abs(p-c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else up if pb <= pc else c)) & 255
    out += row; prev = row
print(w, h, bpp, hashlib.sha256(bytes(out)).hexdigest())
`;

const PY_ENCODE = `
import sys, zlib, struct
w, h = 23, 17
px = bytes(((x * 7 + y * 13 + c * 50 + (x * y) // 5) & 255) for y in range(h) for x in range(w) for c in range(4))
def paeth(a, b, c):
    p = a + b - c; pa, pb, pc = abs(p-a), abs(p-b), abs(p-c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c
stride = w * 4; raw = bytearray(); prev = bytes(stride)
for y in range(h):
    row = px[y*stride:(y+1)*stride]; f = y % 5; raw.append(f)
    for i in range(stride):
        a = row[i-4] if i >= 4 else 0; b = prev[i]; c = prev[i-4] if i >= 4 else 0
        p = [0, a, b, (a + b) // 2, paeth(a, b, c)][f]
        raw.append((row[i] - p) & 255)
    prev = row
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
png = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 6, 0, 0, 0)) + chunk(b'tEXt', b'Software\\x00py')
comp = zlib.compress(bytes(raw), 9)
png += chunk(b'IDAT', comp[:len(comp)//2]) + chunk(b'IDAT', comp[len(comp)//2:]) + chunk(b'IEND', b'')
open(sys.argv[1], 'wb').write(png); open(sys.argv[2], 'wb').write(px)
`;

test('an independent Python decoder reads our PNGs; our decoder reads Python-written PNGs', { skip: !HAS_PYTHON && 'python3 not available' }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-pypng-'));
  try {
    for (const channels of [3, 4] as const) {
      const data = gradient(37, 19, channels);
      const file = path.join(dir, `ours${channels}.png`);
      fs.writeFileSync(file, encodePng({ width: 37, height: 19, data, channels }));
      const r = spawnSync('python3', ['-c', PY_DECODE, file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const sha = createHash('sha256').update(data).digest('hex');
      assert.equal(r.stdout.trim(), `37 19 ${channels} ${sha}`);
    }
    const pyPng = path.join(dir, 'py.png');
    const pyPx = path.join(dir, 'py.raw');
    const r = spawnSync('python3', ['-c', PY_ENCODE, pyPng, pyPx], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const back = decodePng(new Uint8Array(fs.readFileSync(pyPng)));
    assert.equal(back.width, 23);
    assert.equal(back.height, 17);
    assert.equal(back.channels, 4);
    assert.deepEqual(back.data, new Uint8Array(fs.readFileSync(pyPx)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('decodePng bounds inflation by the header: a decompression bomb or a huge header is refused', () => {
  const png = encodePng({ width: 4, height: 4, channels: 1, data: new Uint8Array(16) });
  const withIhdr = (w: number, h: number, idat?: Uint8Array): Uint8Array => {
    const out = Buffer.from(png);
    out.writeUInt32BE(w, 16);
    out.writeUInt32BE(h, 20);
    out.writeUInt32BE(crc32(out, 12, 29), 29);
    if (!idat) return out;
    const pre = out.subarray(0, 33);
    const chunk = Buffer.alloc(12 + idat.length);
    chunk.writeUInt32BE(idat.length, 0);
    chunk.write('IDAT', 4, 'latin1');
    Buffer.from(idat).copy(chunk, 8);
    chunk.writeUInt32BE(crc32(chunk, 4, 8 + idat.length), 8 + idat.length);
    return Buffer.concat([pre, chunk, Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82])]);
  };
  assert.throws(() => decodePng(withIhdr(100000, 100000), 'huge.png'), (e: unknown) => isInputError(e) && /huge\.png: 100000x100000 pixels is more than/.test((e as Error).message));
  // 64 MB of zeros behind a 4x4 header: inflation stops at the 20 bytes the header allows.
  const bomb = zlib.deflateSync(Buffer.alloc(64 << 20));
  assert.throws(() => decodePng(withIhdr(4, 4, bomb), 'bomb.png'), (e: unknown) => isInputError(e) && /bomb\.png: corrupt image data/.test((e as Error).message));
});
