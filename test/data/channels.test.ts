import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHANNEL_FORMATS, channelCount, makeChannels, parseChannelFormat, type PhaseLayers } from '../../src/data/channels.js';
import { Rng } from '../../src/core/rng.js';

function layers(w = 16, h = 12): PhaseLayers {
  const n = w * h;
  const phaseRad = new Float32Array(n), dem = new Float32Array(n), coherence = new Float32Array(n).fill(0.9), mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const x = i % w, y = Math.floor(i / w);
    phaseRad[i] = 0.7 * x - 0.3 * y + 0.1;
    dem[i] = 100 + 20 * y;
  }
  mask[5] = 1; mask[37] = 2;
  return { width: w, height: h, phaseRad, dem, coherence, mask, headingDeg: 348, spacingM: 90 };
}

test('every format has as many channels as letters, values in [-1, 1], masked pixels 0', () => {
  const L = layers();
  for (const f of CHANNEL_FORMATS) {
    const c = channelCount(f);
    const x = makeChannels(L, f, { rng: new Rng(1) });
    assert.equal(x.length, L.width * L.height * c, f);
    for (let k = 0; k < c; k++) {
      assert.equal(x[5 * c + k], 0, `${f} masked pixel, channel ${k}`);
      assert.equal(x[37 * c + k], 0, `${f} masked pixel, channel ${k}`);
    }
    if (f !== 'rid') for (const v of x) assert.ok(v >= -1 - 1e-6 && v <= 1 + 1e-6, `${f}: ${v}`);
  }
});

test('unwrapped is min-max rescaled to exactly [-1, 1]; wrapped is phase/pi', () => {
  const L = layers();
  const u = makeChannels(L, 'u');
  const valid = [...u].filter((_, i) => !L.mask[i]);
  assert.ok(Math.abs(Math.min(...valid) + 1) < 1e-6 && Math.abs(Math.max(...valid) - 1) < 1e-6);
  const w = makeChannels(L, 'w');
  const i = 3 * 16 + 7;
  const ph = L.phaseRad[i]!;
  const wrapped = ph - 2 * Math.PI * Math.floor((ph + Math.PI) / (2 * Math.PI));
  assert.ok(Math.abs(w[i]! - wrapped / Math.PI) < 1e-6);
});

test('flipping the phase sign negates u and w channels (the model must be sign-blind)', () => {
  const L = layers();
  const a = makeChannels(L, 'uuu');
  const b = makeChannels(L, 'uuu', { sign: -1 });
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! + b[i]!) < 1e-5);
  const wa = makeChannels(L, 'w'), wb = makeChannels(L, 'w', { sign: -1 });
  for (let i = 0; i < wa.length; i++) if (Math.abs(wa[i]!) < 0.999) assert.ok(Math.abs(wa[i]! + wb[i]!) < 1e-5);
});

test('DEM channel is the rescaled DEM; formats needing a missing layer throw', () => {
  const L = layers();
  const x = makeChannels(L, 'uud');
  assert.ok(Math.abs(x[2]! + 1) < 1e-6); // pixel 0 lies on the lowest row of valid DEM (y = 0)
  const noDem = { ...L, dem: undefined };
  assert.throws(() => makeChannels(noDem, 'wwd'), /needs a DEM/);
  assert.throws(() => makeChannels(noDem, 'rid'), /needs a DEM/);
  assert.throws(() => makeChannels({ ...L, coherence: undefined }, 'wc'), /needs coherence/);
  assert.throws(() => parseChannelFormat('xyz'), /unknown channel format/);
});

test("incoherent: 'random' paints masked pixels with random phase, deterministic for a seed", () => {
  const L = layers();
  const a = makeChannels(L, 'w', { incoherent: 'random', rng: new Rng(7) });
  const b = makeChannels(L, 'w', { incoherent: 'random', rng: new Rng(7) });
  assert.deepEqual(a, b);
  assert.notEqual(a[5], 0);
  assert.ok(Math.abs(a[5]!) <= 1);
  assert.throws(() => makeChannels(L, 'w', { incoherent: 'random' }), /needs an rng/);
});
