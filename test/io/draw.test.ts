import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  blit, blitScaled, cloneCanvas, colourbar, contactSheet, contrastingText, createCanvas, drawLine, drawPolyline, drawRect,
  drawText, ellipsize, fillCircle, fillRect, formatNumber, getPixel, linePixels, parseColour, scaleBar, scaleCanvas, setPixel,
  textHeight, textWidth, wrapText,
} from '../../src/io/draw.js';
import type { Canvas } from '../../src/io/draw.js';
import { GLYPH_HEIGHT, LINE_HEIGHT, glyph, glyphArt, hasGlyph } from '../../src/io/font.js';
import { greys } from '../../src/io/colormap.js';

const WHITE = [255, 255, 255, 255];
const RED = [255, 0, 0, 255];

/** '#' where the pixel differs from the background, '.' elsewhere; one line per row. */
function art(c: Canvas, bg = WHITE): string {
  const rows: string[] = [];
  for (let y = 0; y < c.height; y++) {
    let line = '';
    for (let x = 0; x < c.width; x++) line += getPixel(c, x, y).every((v, i) => v === bg[i]) ? '.' : '#';
    rows.push(line);
  }
  return rows.join('\n');
}
const lines = (...rows: string[]) => rows.join('\n');

/** Bounding box of non-background pixels. */
function inkBox(c: Canvas, bg = WHITE): { x0: number; y0: number; x1: number; y1: number; n: number } {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, n = 0;
  for (let y = 0; y < c.height; y++) {
    for (let x = 0; x < c.width; x++) {
      if (getPixel(c, x, y).every((v, i) => v === bg[i])) continue;
      n++;
      x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
    }
  }
  return { x0, y0, x1, y1, n };
}

test('createCanvas fills the background; colours parse from hex, names and arrays', () => {
  const c = createCanvas(3, 2, '#102030');
  assert.equal(c.data.length, 24);
  for (let i = 0; i < 6; i++) assert.deepEqual([...c.data.subarray(i * 4, i * 4 + 4)], [16, 32, 48, 255]);
  assert.deepEqual([...createCanvas(1, 1).data], WHITE);
  assert.deepEqual([...createCanvas(1, 1, 'transparent').data], [0, 0, 0, 0]);
  assert.deepEqual(parseColour('#f00'), [255, 0, 0, 255]);
  assert.deepEqual(parseColour('#ff000080'), [255, 0, 0, 128]);
  assert.deepEqual(parseColour('black'), [0, 0, 0, 255]);
  assert.deepEqual(parseColour([1, 2, 3]), [1, 2, 3, 255]);
  assert.deepEqual(parseColour([300, -4, 2.6, 10]), [255, 0, 3, 10]);
  assert.throws(() => parseColour('#zz'), RangeError);
  assert.throws(() => getPixel(c, 3, 0), RangeError);
});

test('fillRect: inclusive corners, any corner order, clipped', () => {
  const c = createCanvas(5, 4);
  fillRect(c, 2, 2, 1, 1, RED);
  assert.equal(art(c), lines('.....', '.##..', '.##..', '.....'));
  const d = createCanvas(5, 4);
  fillRect(d, 3, -5, 99, 1, RED);
  assert.equal(art(d), lines('...##', '...##', '.....', '.....'));
  const e = createCanvas(5, 4);
  fillRect(e, 10, 10, 20, 20, RED);
  fillRect(e, -9, -9, -1, -1, RED);
  assert.equal(inkBox(e).n, 0);
});

test('drawRect: outline inside its corners, thickness grows inwards', () => {
  const c = createCanvas(6, 5);
  drawRect(c, 1, 1, 4, 3, RED);
  assert.equal(art(c), lines('......', '.####.', '.#..#.', '.####.', '......'));
  const t = createCanvas(7, 7);
  drawRect(t, 0, 0, 6, 6, RED, 2);
  assert.equal(art(t), lines('#######', '#######', '##...##', '##...##', '##...##', '#######', '#######'));
  // a box too small for its border is filled
  const s = createCanvas(4, 4);
  drawRect(s, 1, 1, 2, 2, RED, 2);
  assert.equal(art(s), lines('....', '.##.', '.##.', '....'));
});

test('drawRect clips boxes that extend past the canvas and sets exactly the visible edges', () => {
  const c = createCanvas(5, 5);
  assert.doesNotThrow(() => drawRect(c, -2, -2, 3, 3, RED));
  assert.equal(art(c), lines('...#.', '...#.', '...#.', '####.', '.....'));
  const d = createCanvas(6, 6);
  drawRect(d, 3, 3, 10, 10, RED, 2);
  assert.equal(art(d), lines('......', '......', '......', '...###', '...###', '...##.'));
  const e = createCanvas(4, 4);
  drawRect(e, -100, -100, 100, 100, RED, 3); // encloses the whole canvas: nothing visible
  drawRect(e, 50, 50, 60, 60, RED);
  drawRect(e, -1e9, -1e9, 1e9, -1, RED);
  assert.equal(inkBox(e).n, 0);
});

test('translucent colours blend over the background', () => {
  const c = createCanvas(2, 1);
  fillRect(c, 0, 0, 0, 0, [255, 0, 0, 128]);
  const [r, g, b, a] = getPixel(c, 0, 0);
  assert.equal(r, 255);
  assert.ok(Math.abs(g - 127) <= 1 && Math.abs(b - 127) <= 1);
  assert.equal(a, 255);
  setPixel(c, 1, 0, 'transparent');
  assert.deepEqual(getPixel(c, 1, 0), WHITE);
  setPixel(c, -1, 0, RED); // clipped, no throw
});

test('drawLine: Bresenham pixels, end points included, thickness, clipping of huge lines', () => {
  const c = createCanvas(7, 5);
  drawLine(c, 1, 2, 5, 2, RED);
  assert.equal(art(c), lines('.......', '.......', '.#####.', '.......', '.......'));
  const d = createCanvas(5, 5);
  drawLine(d, 4, 4, 0, 0, RED);
  assert.equal(art(d), lines('#....', '.#...', '..#..', '...#.', '....#'));
  for (const [x0, y0, x1, y1] of [[0, 0, 9, 3], [2, 7, -3, -4], [5, 5, 5, 5], [0, 9, 1, 0]] as const) {
    const p = linePixels(x0, y0, x1, y1);
    assert.deepEqual(p[0], [x0, y0]);
    assert.deepEqual(p[p.length - 1], [x1, y1]);
    assert.equal(p.length, Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0)) + 1);
    for (let i = 1; i < p.length; i++) {
      assert.ok(Math.abs(p[i]![0] - p[i - 1]![0]) <= 1 && Math.abs(p[i]![1] - p[i - 1]![1]) <= 1, '8-connected');
    }
  }
  const t = createCanvas(7, 5);
  drawLine(t, 1, 2, 5, 2, RED, 3); // the pen is stamped at every pixel: caps reach 1 px past the ends
  assert.equal(art(t), lines('.......', '#######', '#######', '#######', '.......'));
  const t2 = createCanvas(7, 5);
  drawLine(t2, 1, 2, 5, 2, RED, 2);
  assert.equal(art(t2), lines('.......', '.......', '.######', '.######', '.......'));
  const h = createCanvas(10, 10);
  const t0 = Date.now();
  drawLine(h, -1e7, -1e7, 1e7, 1e7, RED);
  assert.ok(Date.now() - t0 < 200, 'off-canvas part is clipped, not iterated');
  for (let i = 0; i < 10; i++) assert.deepEqual(getPixel(h, i, i), RED);
  assert.equal(inkBox(h).n, 10);
});

test('drawPolyline paints each pixel once, so translucent joins are even', () => {
  const c = createCanvas(8, 8);
  drawPolyline(c, [[1, 1], [6, 1], [6, 6]], [0, 0, 255, 100], 1);
  const colours = new Set<string>();
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
    const p = getPixel(c, x, y);
    if (p.join() !== WHITE.join()) colours.add(p.join());
  }
  assert.equal(colours.size, 1);
  assert.equal(inkBox(c).n, 11);
});

test('fillCircle stays inside its radius', () => {
  const c = createCanvas(11, 11);
  fillCircle(c, 5, 5, 3, RED);
  const b = inkBox(c);
  assert.deepEqual([b.x0, b.y0, b.x1, b.y1], [2, 2, 8, 8]);
  assert.deepEqual(getPixel(c, 2, 2), WHITE);
});

test('blit copies with clipping; blitScaled enlarges and shrinks by nearest neighbour', () => {
  const src = createCanvas(2, 2);
  const cols = [[10, 0, 0, 255], [20, 0, 0, 255], [30, 0, 0, 255], [40, 0, 0, 255]];
  cols.forEach((col, i) => fillRect(src, i % 2, i >> 1, i % 2, i >> 1, col));
  const d = createCanvas(3, 3);
  blit(d, src, -1, 2);
  assert.deepEqual(getPixel(d, 0, 2), cols[1]);
  assert.equal(inkBox(d).n, 1);

  const big = createCanvas(4, 4);
  blitScaled(big, src, 0, 0, 2);
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) assert.deepEqual(getPixel(big, x, y), cols[(y >> 1) * 2 + (x >> 1)]);
  const clipped = createCanvas(3, 3);
  assert.doesNotThrow(() => blitScaled(clipped, src, -2, -2, 3));
  assert.deepEqual(getPixel(clipped, 0, 0), cols[0]);
  assert.deepEqual(getPixel(clipped, 1, 0), cols[1]);

  const four = createCanvas(4, 4);
  for (let i = 0; i < 16; i++) fillRect(four, i % 4, i >> 2, i % 4, i >> 2, [i, i, i, 255]);
  const half = scaleCanvas(four, 0.5);
  assert.equal(half.width, 2);
  assert.deepEqual([0, 1, 2, 3].map((i) => getPixel(half, i % 2, i >> 1)[0]), [5, 7, 13, 15]);
  assert.equal(scaleCanvas(four, 1.5).width, 6);
  assert.throws(() => blitScaled(four, src, 0, 0, 0), RangeError);
  const copy = cloneCanvas(four);
  fillRect(copy, 0, 0, 3, 3, RED);
  assert.equal(getPixel(four, 0, 0)[0], 0, 'clone is independent');
});

test('font: every printable ASCII glyph has ink, glyphs are distinct, unknown characters draw a box', () => {
  const seen = new Map<string, string>();
  for (let c = 33; c < 127; c++) {
    const ch = String.fromCharCode(c);
    assert.ok(hasGlyph(ch));
    const g = glyph(ch);
    assert.ok(g.width >= 1 && g.width <= 5, `${ch} width ${g.width}`);
    assert.equal(g.advance, g.width + 1);
    const key = glyphArt(ch);
    assert.ok(key.includes('#'), `${ch} has ink`);
    assert.ok(!seen.has(key), `${ch} looks like ${seen.get(key)}`);
    seen.set(key, ch);
  }
  assert.equal(glyphArt('A'), lines('.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#', '.....'));
  assert.equal(glyphArt('g').split('\n')[7], '.###.', 'g has a descender row');
  assert.equal(glyph(' ').width, 0);
  assert.ok(!hasGlyph('é'));
  assert.ok(glyphArt('é').includes('#'));
  assert.ok(hasGlyph('π') && hasGlyph('°') && hasGlyph('µ'));
  assert.equal(glyphArt('\u2212'), glyphArt('-'));
});

test('drawText draws ink exactly within its textWidth x glyph-height box', () => {
  for (const [text, scale] of [['Hello, gj!', 1], ['LOS -2.8 cm', 2], ['i', 3], ['0.25 π', 1]] as const) {
    const c = createCanvas(200, 40);
    const box = drawText(c, text, 5, 3, '#000', scale);
    const ink = inkBox(c);
    const w = textWidth(text, scale);
    assert.ok(ink.n > 0);
    assert.equal(ink.x0, 5, `${text}: starts at x`);
    assert.equal(ink.x1, 5 + w - 1, `${text}: ends at x + textWidth - 1`);
    assert.ok(ink.y0 >= 3 && ink.y1 <= 3 + GLYPH_HEIGHT * scale - 1, `${text}: inside the glyph box`);
    assert.deepEqual(box, { x0: 5, y0: 3, x1: 5 + w - 1, y1: 3 + GLYPH_HEIGHT * scale - 1 });
  }
  assert.equal(textWidth(''), 0);
  assert.equal(textWidth('ab\nabcd'), textWidth('abcd'));
  assert.equal(textHeight('a\nb', 2), (LINE_HEIGHT + GLYPH_HEIGHT) * 2);
  assert.equal(textWidth('Hi', 3), 3 * textWidth('Hi'));
});

test('drawText alignment, rotation, multi-line, halo and clipping', () => {
  const c = createCanvas(100, 30);
  drawText(c, 'Mogi', 50, 5, '#000', 1, { align: 'center' });
  const ink = inkBox(c);
  const w = textWidth('Mogi');
  assert.equal(ink.x0, 50 - Math.round(w / 2));
  const r = createCanvas(100, 30);
  drawText(r, 'Mogi', 90, 5, '#000', 1, { align: 'right' });
  assert.equal(inkBox(r).x1, 89);
  // rotated 90° counter-clockwise: reads upwards, glyph tops face left
  const v = createCanvas(30, 60);
  const vb = drawText(v, 'Loss', 10, 50, '#000', 1, { rotate: 90 });
  const vi = inkBox(v);
  assert.equal(vi.y1, 50);
  assert.equal(vi.y0, 50 - textWidth('Loss') + 1);
  assert.ok(vi.x0 >= 10 && vi.x1 <= 10 + GLYPH_HEIGHT - 1);
  assert.deepEqual(vb, { x0: 10, y0: 50 - textWidth('Loss') + 1, x1: 10 + GLYPH_HEIGHT - 1, y1: 50 });
  // two lines are LINE_HEIGHT apart
  const m = createCanvas(40, 30);
  drawText(m, 'T\nT', 2, 2, '#000');
  assert.deepEqual(getPixel(m, 2, 2), [0, 0, 0, 255]);
  assert.deepEqual(getPixel(m, 2, 2 + LINE_HEIGHT), [0, 0, 0, 255]);
  // halo: outline pixels in the halo colour around the ink
  const h = createCanvas(30, 20, '#808080');
  drawText(h, 'I', 10, 5, '#000', 1, { halo: '#fff' });
  assert.deepEqual(getPixel(h, 9, 5), [255, 255, 255, 255]);
  assert.deepEqual(getPixel(h, 10, 5), [0, 0, 0, 255]);
  // text partly or wholly off the canvas does not throw
  const o = createCanvas(10, 10);
  assert.doesNotThrow(() => {
    drawText(o, 'overflowing text', -20, -3, '#000', 2);
    drawText(o, 'gone', 500, 500);
  });
});

test('wrapText and ellipsize keep lines within the width', () => {
  const text = 'Mogi source at 3 km depth beneath the summit';
  const ls = wrapText(text, 60);
  assert.ok(ls.length > 1);
  for (const l of ls) assert.ok(textWidth(l) <= 60, l);
  assert.equal(ls.join(' '), text);
  const two = wrapText(text, 60, 1, 2);
  assert.equal(two.length, 2);
  assert.ok(two[1]!.endsWith('…') && textWidth(two[1]!) <= 60);
  assert.ok(textWidth(ellipsize('supercalifragilistic', 30)) <= 30);
  assert.equal(ellipsize('ok', 30), 'ok');
  assert.equal(contrastingText('#08306b'), '#ffffff');
  assert.equal(contrastingText('#f7fbff'), '#111111');
});

test('formatNumber picks decimals from the tick step and uses exponents at extremes', () => {
  assert.equal(formatNumber(0.25, 0.25), '0.25');
  assert.equal(formatNumber(0.5, 0.25), '0.50');
  assert.equal(formatNumber(10, 5), '10');
  assert.equal(formatNumber(0.2, 0.1), '0.2');
  assert.equal(formatNumber(-0.0001, 0.1), '0.0');
  assert.equal(formatNumber(2.5e-5), '2.5e-5');
  assert.equal(formatNumber(1234567), '1.23e6');
  assert.equal(formatNumber(0), '0');
  assert.equal(formatNumber(-3.14159), '-3.142');
  assert.equal(formatNumber(1200), '1200');
  assert.equal(formatNumber(NaN), 'NaN');
});

function solid(w: number, h: number, colour: number[]): Canvas {
  return createCanvas(w, h, colour);
}

test('contactSheet lays tiles in a grid and scales boxes with their tile', () => {
  const A = [200, 0, 0, 255], B = [0, 200, 0, 255], C = [0, 0, 200, 255], BOX = [255, 255, 0, 255];
  const sheet = contactSheet([
    { image: solid(10, 8, A), boxes: [{ x0: 1, y0: 1, x1: 3, y1: 2, colour: BOX }] },
    { image: solid(10, 8, B), boxes: [{ x0: 5, y0: 5, x1: 50, y1: 50, colour: BOX }] },
    { image: solid(10, 8, C) },
  ], { columns: 2, scale: 3, padding: 4, boxThickness: 1 });
  assert.equal(sheet.width, 2 * 30 + 3 * 4);
  assert.equal(sheet.height, 2 * 24 + 3 * 4);
  assert.deepEqual(getPixel(sheet, 4, 4), A);
  assert.deepEqual(getPixel(sheet, 38, 4), B);
  assert.deepEqual(getPixel(sheet, 4, 32), C);
  assert.deepEqual(getPixel(sheet, 3, 3), WHITE, 'padding');
  // box (1,1)-(3,2) in tile pixels → (3,3)-(11,8) at scale 3 → offset by the tile's (4,4)
  assert.deepEqual(getPixel(sheet, 7, 7), BOX);
  assert.deepEqual(getPixel(sheet, 15, 12), BOX);
  assert.deepEqual(getPixel(sheet, 15, 7), BOX);
  assert.deepEqual(getPixel(sheet, 11, 9), A, 'inside the box');
  assert.deepEqual(getPixel(sheet, 6, 7), A, 'left of the box');
  assert.deepEqual(getPixel(sheet, 16, 12), A, 'right of the box');
  assert.deepEqual(getPixel(sheet, 15, 13), A, 'below the box');
  // box past the tile's edge: top and left edges drawn, nothing outside the tile
  assert.deepEqual(getPixel(sheet, 53, 19), BOX);
  assert.deepEqual(getPixel(sheet, 67, 19), BOX);
  assert.deepEqual(getPixel(sheet, 60, 27), B);
  for (let y = 0; y < sheet.height; y++) for (let x = 68; x < sheet.width; x++) assert.deepEqual(getPixel(sheet, x, y), WHITE);
  for (let x = 38; x < 68; x++) assert.deepEqual(getPixel(sheet, x, 28), WHITE);
});

test('contactSheet titles go under tiles; box labels are drawn; empty and single-tile sheets work', () => {
  const img = solid(20, 20, [0, 0, 0, 255]);
  const plain = contactSheet([{ image: img }, { image: img }], { columns: 2, padding: 6 });
  const titled = contactSheet([{ image: img, title: 'Campi Flegrei' }, { image: img }], { columns: 2, padding: 6 });
  assert.ok(titled.height > plain.height);
  const band = createCanvas(titled.width, titled.height - 26);
  blit(band, titled, 0, -26); // rows under the tiles
  const ink = inkBox(band);
  assert.ok(ink.n > 0 && ink.x1 < 6 + 20 + 3, 'title is under the first tile');
  const labelled = contactSheet([{ image: solid(40, 40, [0, 0, 0, 255]), boxes: [{ x0: 10, y0: 20, x1: 30, y1: 35, colour: '#ffffff', label: 'dyke' }] }], { padding: 0 });
  let white = 0;
  for (let y = 0; y < 20; y++) for (let x = 0; x < 40; x++) if (getPixel(labelled, x, y).join() === WHITE.join()) white++;
  assert.ok(white > 20, 'label background drawn above the box');
  const empty = contactSheet([]);
  assert.ok(empty.width > 0 && empty.height > 0);
  const headed = contactSheet([{ image: img }], { title: 'Sheet', padding: 4 });
  assert.ok(headed.height > 28);
});

test('contactSheet can add a colour key under the grid', () => {
  const img = solid(60, 20, [0, 0, 0, 255]);
  const without = contactSheet([{ image: img }, { image: img }], { columns: 2, padding: 6 });
  const keyed = contactSheet([{ image: img }, { image: img }], {
    columns: 2, padding: 6, colourbar: { cmap: greys, min: 0, max: 1, width: 50, label: 'coherence' },
  });
  assert.equal(keyed.width, without.width);
  assert.ok(keyed.height > without.height + 20);
  // the key's left end is black and right end white, in a row below the tiles
  const y = without.height + 2;
  const xs = Math.round((keyed.width - 50) / 2);
  assert.deepEqual(getPixel(keyed, xs, y), [0, 0, 0, 255]);
  assert.deepEqual(getPixel(keyed, xs + 49, y), [255, 255, 255, 255]);
  assert.deepEqual(getPixel(keyed, xs + 25, y).slice(0, 3).map((v) => Math.abs(v - 128) < 8), [true, true, true]);
  // a key wider than the grid widens the sheet; the grid is centred and the key fits inside
  const narrow = contactSheet([{ image: solid(20, 20, [0, 0, 0, 255]) }], { padding: 4, colourbar: { cmap: greys, min: 0, max: 1, width: 200 } });
  assert.ok(narrow.width >= 200 + 8);
  const row = 28 + 3;
  const dark = [...Array(narrow.width).keys()].filter((x) => getPixel(narrow, x, row)[0] < 20);
  assert.ok(dark.length > 0 && dark[0]! > 4, 'key starts inside the sheet');
  const tileCols = [...Array(narrow.width).keys()].filter((x) => getPixel(narrow, x, 10).join() === '0,0,0,255');
  assert.equal(tileCols.length, 20);
  assert.ok(Math.abs(tileCols[0]! + 10 - narrow.width / 2) <= 1, 'grid centred');
});

test('colourbar draws the map left to right with a frame and labels below', () => {
  const c = createCanvas(160, 60);
  const size = colourbar(c, 10, 5, { cmap: greys, min: 0, max: 1, width: 100, height: 8, label: 'coherence' });
  assert.deepEqual(getPixel(c, 10, 5), [0, 0, 0, 255]);
  assert.deepEqual(getPixel(c, 109, 12), [255, 255, 255, 255]);
  const mid = getPixel(c, 60, 8)[0];
  assert.ok(mid > 100 && mid < 160);
  assert.deepEqual(getPixel(c, 9, 4), [68, 68, 68, 255], 'frame');
  const below = createCanvas(160, 60 - 14);
  blit(below, c, 0, -14);
  assert.ok(inkBox(below).n > 20, 'labels under the bar');
  assert.ok(size.height > 8 + 2 * GLYPH_HEIGHT);
});

test('scaleBar is km * pixelsPerKm long, with a halo and a label above', () => {
  const c = createCanvas(100, 40, '#808080');
  const len = scaleBar(c, 10, 30, 20, 2);
  assert.equal(len, 40);
  for (let x = 10; x < 50; x++) for (let y = 30; y < 33; y++) assert.deepEqual(getPixel(c, x, y), [0, 0, 0, 255]);
  assert.deepEqual(getPixel(c, 50, 31), WHITE, 'halo right of the bar');
  assert.deepEqual(getPixel(c, 52, 31), [128, 128, 128, 255]);
  let labelInk = 0;
  for (let y = 0; y < 26; y++) for (let x = 20; x < 40; x++) if (getPixel(c, x, y)[0] === 0) labelInk++;
  assert.ok(labelInk > 10, 'label above');
  const m = createCanvas(100, 40);
  assert.equal(scaleBar(m, 5, 30, 100, 0.5, { halo: 'none' }), 50);
});
