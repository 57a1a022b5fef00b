/**
 * Pixel-statistics fixtures for the pictures a user sees: an image is summarised by its size and
 * the share of its pixels in each colour (quantised to 32 levels per channel), and compared with a
 * fixture in test/fixtures/images/NAME.json. A change that moves, loses or recolours part of a
 * figure changes these shares; a fixture is (re)written with CALDERA_UPDATE_FIXTURES=1 — look at
 * the PNG written beside it before committing.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Canvas } from '../../src/io/draw.js';
import { encodePng } from '../../src/io/png.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');

export interface ImageStats {
  readonly width: number;
  readonly height: number;
  /** Quantised colour '#rrggbb' → share of pixels, for colours covering at least 0.2 % of the image. */
  readonly colours: Record<string, number>;
}

/** Size and colour shares of an RGBA canvas. */
export function imageStats(c: Canvas): ImageStats {
  const counts = new Map<string, number>();
  const n = c.width * c.height;
  const q = (v: number): string => (Math.min(255, (v >> 3) * 8 + 4)).toString(16).padStart(2, '0');
  for (let i = 0; i < n; i++) {
    const k = `#${q(c.data[4 * i]!)}${q(c.data[4 * i + 1]!)}${q(c.data[4 * i + 2]!)}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const colours: Record<string, number> = {};
  for (const [k, v] of [...counts].sort((a, b) => b[1] - a[1])) if (v / n >= 0.002) colours[k] = Math.round((v / n) * 1e4) / 1e4;
  return { width: c.width, height: c.height, colours };
}

/**
 * The image matches fixture `name`: same size, and every colour share within `tolerance`
 * (absolute, default 0.005) of the fixture's, counting a colour missing on one side as 0.
 */
export function assertImageFixture(name: string, c: Canvas, tolerance = 0.005): void {
  const file = path.join(FIXTURES, 'images', `${name}.json`);
  const stats = imageStats(c);
  if (process.env.CALDERA_UPDATE_FIXTURES === '1') {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(stats, null, 1) + '\n');
    fs.writeFileSync(file.replace(/\.json$/, '.png'), encodePng(c));
  }
  assert.ok(fs.existsSync(file), `no fixture ${file}: run the tests once with CALDERA_UPDATE_FIXTURES=1 and look at the PNG`);
  const want = JSON.parse(fs.readFileSync(file, 'utf8')) as ImageStats;
  assert.equal(stats.width, want.width, `${name}: width`);
  assert.equal(stats.height, want.height, `${name}: height`);
  const keys = new Set([...Object.keys(want.colours), ...Object.keys(stats.colours)]);
  const off = [...keys]
    .map((k) => ({ k, got: stats.colours[k] ?? 0, want: want.colours[k] ?? 0 }))
    .filter((d) => Math.abs(d.got - d.want) > tolerance);
  assert.deepEqual(off, [], `${name}: colour shares differ from the fixture`);
}
