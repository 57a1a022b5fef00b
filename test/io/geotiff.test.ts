import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fromArrayBuffer } from 'geotiff';
import {
  decodeGeoTiff, encodeGeoTiff, lzwEncode, parseNodata, readGeoTiff, writeGeoTiff, type GeoTransform,
} from '../../src/io/geotiff.js';
import { InputError } from '../../src/core/errors.js';
import type { Raster } from '../../src/core/raster.js';
import { spawnSync } from 'node:child_process';
import { lzwDecode, packBitsDecode } from '../../src/io/tiff-codecs.js';
import { Rng } from '../../src/core/rng.js';
import { withDir as withTempDir } from '../helpers/files.js';

const REAL_DIR = '/work/shared/real';
const GEO: GeoTransform = { west: -73.8374, north: -40.8576, dLon: 0.0022222, dLat: -0.0022222 };

function ramp(width: number, height: number, f = (x: number, y: number) => x * 0.5 - y * 1.25 + 3): Raster {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = f(x, y);
  return { width, height, data };
}

function inputError(re: RegExp) {
  return (e: unknown) => e instanceof InputError && re.test(e.message);
}

const withDir = (f: (dir: string) => Promise<void>): Promise<void> => withTempDir('caldera-tif-', f);

test('float32 round trip through a file: values, NaN nodata, georeference', async () => {
  await withDir(async (dir) => {
    const r = ramp(37, 23);
    r.data[5] = NaN;
    r.data[6] = -9999;
    const f = path.join(dir, 'a.tif');
    await writeGeoTiff(f, r, GEO, { nodata: -9999 });
    const back = await readGeoTiff(f);
    assert.equal(back.raster.width, 37);
    assert.equal(back.raster.height, 23);
    assert.equal(back.sampleFormat, 'float');
    assert.equal(back.bitsPerSample, 32);
    assert.equal(back.nodata, -9999);
    assert.equal(back.epsg, 4326);
    assert.equal(back.geographic, true);
    assert.deepEqual(back.geo, { ...GEO, crs: 'EPSG:4326' });
    assert.ok(Number.isNaN(back.raster.data[5]!) && Number.isNaN(back.raster.data[6]!));
    for (let i = 7; i < r.data.length; i++) assert.equal(back.raster.data[i], r.data[i]);
    assert.deepEqual(fs.readdirSync(dir), ['a.tif']);
  });
});

test('NaN nodata is written as "nan" and read back', async () => {
  const bytes = encodeGeoTiff(ramp(4, 3), GEO, { nodata: NaN });
  const back = await decodeGeoTiff(bytes, 'n.tif');
  assert.ok(back.nodata !== null && Number.isNaN(back.nodata));
  assert.equal(parseNodata('-3.4028234663852886e+38\0'), -3.4028234663852886e+38);
  assert.equal(parseNodata(' 0 '), 0);
  assert.equal(parseNodata(undefined), null);
});

test('every sample type reads back; integer nodata becomes NaN', async () => {
  const r = ramp(20, 9, (x, y) => x * 10 - y * 3 + 0.2);
  r.data[0] = NaN;
  const cases = [
    { dtype: 'float64' as const, fmt: 'float', bits: 64, nodata: -1e30 },
    { dtype: 'int16' as const, fmt: 'int', bits: 16, nodata: -32768 },
    { dtype: 'int32' as const, fmt: 'int', bits: 32, nodata: -99999 },
    { dtype: 'uint8' as const, fmt: 'uint', bits: 8, nodata: 255 },
    { dtype: 'uint16' as const, fmt: 'uint', bits: 16, nodata: 65535 },
  ];
  for (const c of cases) {
    const back = await decodeGeoTiff(encodeGeoTiff(r, GEO, { dtype: c.dtype, nodata: c.nodata }), `${c.dtype}.tif`);
    assert.equal(back.sampleFormat, c.fmt, c.dtype);
    assert.equal(back.bitsPerSample, c.bits, c.dtype);
    assert.ok(Number.isNaN(back.raster.data[0]!), `${c.dtype} nodata -> NaN`);
    for (let i = 1; i < r.data.length; i++) {
      const v = r.data[i]!;
      const expect = c.dtype === 'float64' ? Math.fround(v)
        : Math.min(c.fmt === 'uint' ? (1 << c.bits) - 1 : Infinity, Math.max(c.fmt === 'uint' ? 0 : -Infinity, Math.round(v)));
      const want = expect === c.nodata ? NaN : expect;
      assert.ok(Object.is(back.raster.data[i], Math.fround(want)) || (Number.isNaN(want) && Number.isNaN(back.raster.data[i]!)),
        `${c.dtype}[${i}] ${back.raster.data[i]} vs ${want}`);
    }
  }
});

test('tiled and stripped layouts with deflate and LZW compression', async () => {
  const r = ramp(70, 45, (x, y) => Math.sin(x / 7) * 100 + y);
  for (const compression of ['none', 'deflate', 'lzw'] as const) {
    for (const tileSize of [undefined, 16, 32]) {
      const bytes = encodeGeoTiff(r, GEO, { compression, tileSize });
      const back = await decodeGeoTiff(bytes, `${compression}-${tileSize}.tif`);
      assert.deepEqual(Array.from(back.raster.data), Array.from(r.data), `${compression} tile ${tileSize}`);
      const img = await (await fromArrayBuffer(bytes.slice().buffer)).getImage();
      assert.equal(img.getTileWidth(), tileSize ?? 70);
    }
  }
  // Long repetitive input exercises the LZW code-width changes and table resets.
  const big = ramp(300, 200, (x, y) => ((x * y) % 97) * 1.5);
  const back = await decodeGeoTiff(encodeGeoTiff(big, GEO, { compression: 'lzw', dtype: 'int16' }), 'big.tif');
  assert.deepEqual(Array.from(back.raster.data), Array.from(big.data).map(Math.round));
  assert.ok(lzwEncode(new Uint8Array(0)).length > 0);
});

test('several bands need the band option', async () => {
  const a = ramp(8, 6);
  const b = ramp(8, 6, (x, y) => x * y);
  const bytes = encodeGeoTiff(a, GEO, { extraBands: [b.data] });
  await assert.rejects(decodeGeoTiff(bytes, 'rgb.tif'), inputError(/^rgb\.tif: has 2 bands; choose one with the band option/));
  const second = await decodeGeoTiff(bytes, 'rgb.tif', { band: 1 });
  assert.deepEqual(Array.from(second.raster.data), Array.from(b.data));
  assert.equal(second.bands, 2);
  await assert.rejects(decodeGeoTiff(bytes, 'rgb.tif', { band: 2 }), inputError(/band 2 does not exist/));
});

test('missing georeference fails unless requireGeo is false', async () => {
  const bytes = encodeGeoTiff(ramp(5, 4), null);
  await assert.rejects(decodeGeoTiff(bytes, 'plain.tif'), inputError(/^plain\.tif: has no georeference/));
  const back = await decodeGeoTiff(bytes, 'plain.tif', { requireGeo: false });
  assert.equal(back.geo, null);
  assert.equal(back.raster.width, 5);
});

test('a projected CRS is reported with its EPSG code', async () => {
  const utm: GeoTransform = { west: 650000, north: 5480000, dLon: 30, dLat: -30 };
  const bytes = encodeGeoTiff(ramp(5, 4), utm, { epsg: 32718 });
  await assert.rejects(decodeGeoTiff(bytes, 'utm.tif'), inputError(/^utm\.tif: has projected CRS EPSG:32718/));
  const back = await decodeGeoTiff(bytes, 'utm.tif', { requireGeographic: false });
  assert.equal(back.geographic, false);
  assert.deepEqual(back.geo, { ...utm, crs: 'EPSG:32718' });
});

test('PixelIsPoint tie points are shifted to the pixel corner, as GDAL does', async () => {
  const bytes = encodeGeoTiff(ramp(5, 4), GEO);
  // Patch GTRasterTypeGeoKey (1025, 0, 1, 1) to PixelIsPoint (2).
  const u16 = new Uint16Array(bytes.buffer, 0, bytes.length >> 1);
  const at = u16.findIndex((v, i) => v === 1025 && u16[i + 1] === 0 && u16[i + 2] === 1 && u16[i + 3] === 1);
  assert.ok(at > 0);
  u16[at + 3] = 2;
  const back = await decodeGeoTiff(bytes, 'point.tif');
  assert.ok(Math.abs(back.geo!.west - (GEO.west - GEO.dLon / 2)) < 1e-12);
  assert.ok(Math.abs(back.geo!.north - (GEO.north - GEO.dLat / 2)) < 1e-12);
});

test('truncated, corrupt and missing files are InputErrors naming the file', async () => {
  const bytes = encodeGeoTiff(ramp(64, 64), GEO);
  await assert.rejects(decodeGeoTiff(bytes.subarray(0, bytes.length - 100), 'cut.tif'), inputError(/^cut\.tif: truncated/));
  await assert.rejects(decodeGeoTiff(bytes.subarray(0, 50), 'stub.tif'), inputError(/^stub\.tif: /));
  await assert.rejects(decodeGeoTiff(new TextEncoder().encode('not a tiff at all'), 'junk.tif'), inputError(/^junk\.tif: not a readable TIFF/));
  await assert.rejects(decodeGeoTiff(new Uint8Array(0), 'empty.tif'), inputError(/^empty\.tif: /));
  await assert.rejects(readGeoTiff('/nonexistent/x.tif'), inputError(/x\.tif: cannot read/));
  assert.throws(() => encodeGeoTiff(ramp(2, 2), { ...GEO, dLat: 0.1 }), InputError);
});

const REAL = fs.existsSync(REAL_DIR) ? fs.readdirSync(REAL_DIR).filter((n) => n.endsWith('.tif')) : [];

test('real Calbuco LiCSAR-like products read as 636x420 EPSG:4326 float32', { skip: REAL.length === 0 && 'no real GeoTIFFs in ' + REAL_DIR }, async () => {
  for (const name of REAL) {
    const r = await readGeoTiff(path.join(REAL_DIR, name));
    assert.equal(r.raster.width, 636, name);
    assert.equal(r.raster.height, 420, name);
    assert.equal(r.sampleFormat, 'float');
    assert.equal(r.bitsPerSample, 32);
    assert.equal(r.geo!.crs, 'EPSG:4326');
    assert.ok(Math.abs(r.geo!.west - -73.8374) < 1e-3 && Math.abs(r.geo!.north - -40.8576) < 1e-3, name);
    assert.ok(Math.abs(r.geo!.dLon - 0.0022222) < 1e-6 && Math.abs(r.geo!.dLat + 0.0022222) < 1e-6, name);
    const finite = r.raster.data.filter(Number.isFinite);
    assert.ok(finite.length > 0.3 * r.raster.data.length, name);
    if (name.includes('.cc.')) assert.ok(finite.every((v) => v >= 0 && v <= 1), 'coherence in 0..1');
    if (name.includes('diff_pha')) assert.ok(finite.every((v) => Math.abs(v) <= Math.PI + 1e-5), 'wrapped phase');
    // And it survives our writer unchanged.
    const again = await decodeGeoTiff(encodeGeoTiff(r.raster, r.geo!, { nodata: NaN }), name);
    assert.deepEqual(Array.from(again.raster.data).map(String), Array.from(r.raster.data).map(String));
  }
});

/** Set an inline SHORT or LONG tag's (first) value in a little-endian classic TIFF. */
function patchTag(bytes: Uint8Array, tag: number, value: number): Uint8Array {
  const out = bytes.slice();
  const dv = new DataView(out.buffer);
  const ifd = dv.getUint32(4, true);
  for (let k = 0; k < dv.getUint16(ifd, true); k++) {
    const e = ifd + 2 + 12 * k;
    if (dv.getUint16(e, true) !== tag) continue;
    const type = dv.getUint16(e + 2, true);
    const count = dv.getUint32(e + 4, true);
    const size = type === 3 ? 2 : 4;
    const at = count * size > 4 ? dv.getUint32(e + 8, true) : e + 8;
    if (type === 3) dv.setUint16(at, value, true);
    else dv.setUint32(at, value, true);
    return out;
  }
  throw new Error(`no tag ${tag}`);
}

test('a header claiming LZW (or Deflate, PackBits) on uncompressed floats is one InputError, fast and small', async () => {
  const r = ramp(400, 300, (x, y) => Math.sin(x / 7) * 3 + y * 1e-3);
  for (const tileSize of [undefined, 64]) {
    const raw = encodeGeoTiff(r, GEO, tileSize ? { tileSize } : {});
    for (const code of [5, 8, 32773]) {
      const t0 = Date.now();
      const rss0 = process.memoryUsage().rss;
      const bad = patchTag(raw, 259, code);
      let outcome: string;
      try {
        const back = await decodeGeoTiff(bad, 'liar.tif');
        outcome = `read ${back.raster.width}x${back.raster.height}`;
      } catch (e) {
        assert.ok(e instanceof InputError, `compression ${code}: ${(e as Error).stack}`);
        assert.ok(!e.message.includes('\n'));
        assert.match(e.message, /^liar\.tif: /);
        outcome = e.message;
      }
      assert.ok(Date.now() - t0 < 3000, `compression ${code} took ${Date.now() - t0} ms (${outcome})`);
      assert.ok(process.memoryUsage().rss - rss0 < 300e6, `compression ${code} grew memory by ${(process.memoryUsage().rss - rss0) / 1e6} MB`);
    }
  }
  // The same float data really LZW-compressed still reads.
  const back = await decodeGeoTiff(encodeGeoTiff(r, GEO, { compression: 'lzw' }), 'lzw.tif');
  assert.deepEqual(Array.from(back.raster.data), Array.from(r.data));
});

test('impossible sizes are refused before decoding: huge rasters, strips too small for their pixels', async () => {
  const raw = encodeGeoTiff(ramp(64, 64), GEO);
  // 1e5 x 1e5 pixels in a 17 kB file.
  const huge = patchTag(patchTag(raw, 256, 100000), 257, 100000);
  await assert.rejects(decodeGeoTiff(huge, 'huge.tif'), inputError(/^huge\.tif: .*more than the \d+ this reader accepts/));
  // 2000 x 64 uncompressed in the bytes of 64 x 64.
  await assert.rejects(decodeGeoTiff(patchTag(raw, 256, 2000), 'wide.tif'), inputError(/^wide\.tif: (truncated|corrupt)/));
  // Deflate that would have to expand 64 kB of pixels out of a few bytes per strip.
  const comp = encodeGeoTiff(ramp(64, 64, () => 0), GEO, { compression: 'deflate' });
  await assert.rejects(decodeGeoTiff(patchTag(comp, 256, 60000), 'bomb.tif'), inputError(/^bomb\.tif: corrupt: strip \d+ holds \d+ bytes, which Deflate cannot expand/));
  // Unknown compression, zero tile size.
  await assert.rejects(decodeGeoTiff(patchTag(raw, 259, 7), 'jpeg.tif'), inputError(/compression 7 is not supported/));
  await assert.rejects(decodeGeoTiff(patchTag(raw, 278, 0), 'rows.tif'), inputError(/^rows\.tif: corrupt TIFF: strip size/));
});

test('a FIFO given as a GeoTIFF is refused instead of blocking', async () => {
  await withDir(async (dir) => {
    const fifo = path.join(dir, 'pipe.tif');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return;
    await assert.rejects(readGeoTiff(fifo), inputError(/pipe\.tif: is a FIFO/));
  });
});

test('bounded LZW and PackBits decoders: round trips, output capped, junk is an Error not a hang', () => {
  const rng = new Rng(7);
  for (const n of [0, 1, 5, 300, 5000, 70000]) {
    for (const kind of ['random', 'runs', 'constant']) {
      const x = new Uint8Array(n).map((_, i) => kind === 'random' ? rng.int(0, 255) : kind === 'runs' ? Math.floor(i / 37) % 5 : 9);
      const z = lzwEncode(x);
      assert.deepEqual(lzwDecode(z, n), x, `${kind} ${n}`);
      assert.equal(lzwDecode(z, Math.floor(n / 2)).length, Math.floor(n / 2), 'output stops at the cap');
    }
  }
  // PackBits: literal run of 3, repeat of 4, the no-op -128.
  assert.deepEqual(Array.from(packBitsDecode(new Uint8Array([2, 1, 2, 3, 0xfd, 7, 0x80]), 100)), [1, 2, 3, 7, 7, 7, 7]);
  assert.equal(packBitsDecode(new Uint8Array([0x81, 5]), 10).length, 10, 'a long run is cut at the cap');
  for (let k = 0; k < 200; k++) {
    const junk = new Uint8Array(rng.int(1, 400)).map(() => rng.int(0, 255));
    try {
      assert.ok(lzwDecode(junk, 1000).length <= 1000);
    } catch (e) {
      assert.match((e as Error).message, /LZW code/);
    }
    assert.ok(packBitsDecode(junk, 1000).length <= 1000);
  }
});

test('predict on a float GeoTIFF whose header claims LZW: one line, exit 2, in seconds (was: abort after 22 s, 2.2 GB)', async () => {
  const { fileURLToPath } = await import('node:url');
  const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
  await withDir(async (dir) => {
    const f = path.join(dir, 'liar.geo.diff_pha.tif');
    fs.writeFileSync(f, patchTag(encodeGeoTiff(ramp(600, 500, (x, y) => Math.sin(x / 9) * 3 + y * 1e-3), GEO), 259, 5));
    const r = spawnSync(process.execPath, [main, 'predict', f], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /liar\.geo\.diff_pha\.tif: corrupt image data \(LZW code/);
  });
});
