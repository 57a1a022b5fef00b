import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readNpz } from '../../src/io/npz.js';
import { decodePng } from '../../src/io/png.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-cli-'));
after(() => fs.rmSync(ROOT, { recursive: true, force: true }));
let n = 0;
const tmp = (): string => fs.mkdtempSync(path.join(ROOT, `${n++}-`));

function run(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('--help lists the commands; an unknown command is an error', () => {
  const h = run('--help');
  assert.equal(h.code, 0);
  for (const c of ['demo', 'deform', 'synth', 'show']) assert.match(h.out, new RegExp(`\\n  ${c} `));
  const u = run('frobnicate');
  assert.equal(u.code, 2);
  assert.match(u.err, /unknown command 'frobnicate'/);
});

test('deform writes a numpy-readable npz on the requested grid, and a PNG', () => {
  const d = tmp();
  const npz = path.join(d, 'm.npz'), png = path.join(d, 'm.png');
  const r = run('deform', '--source', 'mogi', '--depth', '2000', '--volume-change', '2e6', '--extent', '5000', '--spacing', '250', '--out', npz, '--png', png);
  assert.equal(r.code, 0, r.err);
  const z = readNpz(npz);
  assert.deepEqual(z['x']!.shape, [41]);
  assert.equal(z['x']!.data[0], -5000);
  assert.equal(z['x']!.data[40], 5000);
  assert.equal(z['y']!.data[0], 5000, 'row 0 is the north edge');
  assert.deepEqual(z['up']!.shape, [41, 41]);
  assert.equal(z['up']!.dtype, 'float64');
  // Mogi uplift above the source: (1 - nu) dV / (pi d^2) with nu = 0.25.
  const centre = 20 * 41 + 20;
  assert.ok(Math.abs(z["up"]!.data[centre]! / ((0.75 * 2e6) / (Math.PI * 2000 ** 2)) - 1) < 1e-6); // float32 physics
  const img = decodePng(fs.readFileSync(png));
  assert.ok(img.width >= 41 && img.height >= 41);
  // L band (ALOS-2): the same motion draws ~4.4 times fewer fringes; the colour bar says the wavelength.
  const l = path.join(d, 'l.png');
  const rl = run('deform', '--source', 'mogi', '--depth', '2000', '--volume-change', '2e6', '--extent', '5000', '--spacing', '250', '--png', l, '--wavelength', '0.2424');
  assert.equal(rl.code, 0, rl.err);
  assert.notDeepEqual(decodePng(fs.readFileSync(l)).data, img.data);
  // A million-point grid draws (no spread of a million values into a call).
  const big = run('deform', '--source', 'mogi', '--depth', '2000', '--volume-change', '1e6', '--extent', '10000', '--spacing', '20', '--png', path.join(d, 'big.png'));
  assert.equal(big.code, 0, big.err);
});

test('bad parameters and unwritable outputs: one line, exit 2, nothing written', () => {
  const d = tmp();
  const out = path.join(d, 'x.npz');
  const cases: [string[], RegExp][] = [
    [['deform', '--source', 'dyke', '--depth', '-5', '--length', '5000', '--width', '3000', '--opening', '1', '--out', out], /depth/],
    [['deform', '--source', 'dyke', '--depth', '3000', '--length', '5000', '--width', '3000', '--opening', '1', '--dip', '95', '--out', out], /dip/],
    [['deform', '--source', 'volcano', '--depth', '3000', '--out', out], /--source must be one of/],
    [['deform', '--source', 'mogi', '--depth', '3000', '--out', out], /--volume-change is required/],
    [['deform', '--source', 'sill', '--depth', '3000', '--length', '5000', '--width', '3000', '--opening', '1', '--out', '/nonexistent-dir/x.npz'], /cannot write/],
    [['synth', '--count', '5', '--out', d, '--bogus', '1'], /unknown option '--bogus'/],
    [['synth', '--count', 'many', '--out', d], /--count expects a number/],
    [['synth', '--count', '5', '--out', path.join(d, 's'), '--dem-dir', '/nonexistent-dem'], /no such DEM directory/],
    [['synth', '--count', '5', '--out', path.join(d, 's2'), '--classes', 'dyke,lava'], /unknown class 'lava'/],
    [['show', path.join(d, 'nothing-here'), '--out', path.join(d, 'a.png')], /not a caldera dataset/],
    // Output names that say another format than the one written are refused.
    [['deform', '--source', 'mogi', '--depth', '2000', '--volume-change', '1e6', '--out', path.join(d, 'm.npy')], /--out .*m\.npy: deform writes a NumPy \.npz archive .*name it \.npz/],
    [['deform', '--source', 'mogi', '--depth', '2000', '--volume-change', '1e6', '--png', path.join(d, 'm.jpg')], /--png .*m\.jpg: deform draws a PNG; name it \.png/],
    [['deform', '--source', 'mogi', '--depth', '2000', '--volume-change', '1e6', '--png', path.join(d, 'm.png'), '--wavelength', '23'], /--wavelength must be a radar wavelength in metres/],
    [['show', path.join(d, 'nothing-here'), '--out', path.join(d, 'sheet.jpg')], /--out .*sheet\.jpg: show draws a PNG contact sheet; name it \.png/],
  ];
  for (const [args, re] of cases) {
    const r = run(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
  assert.deepEqual(fs.readdirSync(d).filter((f) => !f.startsWith('s')), []);
});

test('synth then show: a dataset and its contact sheet', () => {
  const d = tmp();
  const data = path.join(d, 'data'), sheet = path.join(d, 'sheet.png');
  const s = run('synth', '--count', '6', '--out', data, '--seed', '3', '--workers', '1', '--quiet');
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /6 interferograms/);
  const v = run('show', data, '--out', sheet, '--per-class', '2');
  assert.equal(v.code, 0, v.err);
  const img = decodePng(fs.readFileSync(sheet));
  assert.ok(img.width > 400 && img.height > 200);
  void execFileSync;
});
