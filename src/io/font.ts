/**
 * A small built-in bitmap font: proportional 5x7 glyphs (cap height 7 px, plus one row for the
 * descenders of g j p q y, so an 8-row box) for printable ASCII 32–126 and a few symbols InSAR
 * figures need (° π ± µ ² ³ × … Δ σ λ φ ·). Unicode minus and dashes draw as "-"; any other
 * character draws as a hollow box.
 *
 * Encoding: each glyph is 8 characters, one per row from the top; each character is a base-32
 * digit (0-9a-v) whose 5 bits are that row's pixels, bit 4 = leftmost column. Glyphs are trimmed
 * to their inked columns when the module loads, so text is proportional: advance = inked width + 1.
 */

const B32 = '0123456789abcdefghijklmnopqrstuv';

/** ASCII 32..126, 8 base-32 digits per glyph. */
const ASCII =
  '0000000044444040aaa00000aavavaa04fke5u40op248j30cik8lid044800000248884208422248004lel400044v4400' +
  '0000088g000u000000000oo011248gg0ciiiiic04c4444e0eh1248v0eh161he026aiv220vgu11he068guhhe0v1248880' +
  'ehhehhe0ehhf12c00oo0oo000oo0088g248g842000v0v000g84248g0eh124040ehnlmgf0ehhvhhh0uhhuhhu0ehggghe0' +
  'sihhhis0vgguggv0vgguggg0ehgnhhf0hhhvhhh0s88888s072222ic0hikokih0ggggggv0hrllhhh0hhpljhh0ehhhhhe0' +
  'uhhuggg0ehhhlid0uhhukih0fgge11u0v4444440hhhhhhe0hhhhha40hhhllla0hha4ahh0hha44440v1248gv0sgggggs0' +
  'gg842110s44444s04ah000000000000vg840000000e1fhf0ggmphhu000egghe011djhhf000ehvge0688s888000fhhf1e' +
  'ggmphhh0g0ggggg0206222icggikoki0gggggg8000qllll000mphhh000ehhhe000uhhugg00fhhf1100moggg000fge1u0' +
  '88s8886000hhhjd000hhha4000hhlla000ha4ah000hhhf1e00v248v0688g8860ggggggggo44244o0008l2000';

const EXTRA_CHARS = '°π±µ²³×…Δσλφ·';
const EXTRA =
  'ciic000000vaaaa044v440v000hhhrlgo48s0000o484o00000ha4ah0000000l044aahhv000fihhe0g884ahh044elle44' +
  '000oo000';

/** Characters the font lacks draw as this hollow box. */
const UNKNOWN = 'vhhhhhv0';

/** Rows in a glyph box (7 above the baseline, 1 for descenders). */
export const GLYPH_HEIGHT = 8;
/** Height of capitals and digits (rows 0..6 of the box). */
export const CAP_HEIGHT = 7;
/** Distance between the tops of successive lines of text, at scale 1. */
export const LINE_HEIGHT = 10;
/** Horizontal advance of a space, at scale 1. */
export const SPACE_ADVANCE = 3;

export interface Glyph {
  /** Row bitmasks, top row first; bit (width - 1 - c) is column c of the trimmed glyph. */
  readonly rows: Uint8Array;
  /** Inked width in pixels (0 for blank glyphs such as space). */
  readonly width: number;
  /** Horizontal advance in pixels at scale 1 (inked width + 1 px gap). */
  readonly advance: number;
}

function unpack(code: string): Glyph {
  const raw = new Uint8Array(GLYPH_HEIGHT);
  let union = 0;
  for (let r = 0; r < GLYPH_HEIGHT; r++) {
    raw[r] = B32.indexOf(code[r]!);
    union |= raw[r]!;
  }
  if (union === 0) return { rows: raw, width: 0, advance: SPACE_ADVANCE };
  let left = 4;
  while (!(union & (1 << left))) left--;
  let right = 0;
  while (!(union & (1 << right))) right++;
  const width = left - right + 1;
  return { rows: raw.map((v) => v >> right), width, advance: width + 1 };
}

const GLYPHS = new Map<string, Glyph>();
for (let c = 32; c < 127; c++) {
  GLYPHS.set(String.fromCharCode(c), unpack(ASCII.slice((c - 32) * 8, (c - 31) * 8)));
}
[...EXTRA_CHARS].forEach((ch, i) => GLYPHS.set(ch, unpack(EXTRA.slice(i * 8, i * 8 + 8))));
for (const dash of ['\u2212', '\u2013', '\u2014', '\u2010']) GLYPHS.set(dash, GLYPHS.get('-')!);
GLYPHS.set('\u03bc', GLYPHS.get('\u00b5')!); // Greek mu looks like the micro sign
GLYPHS.set('\t', GLYPHS.get(' ')!);
const UNKNOWN_GLYPH = unpack(UNKNOWN);

/** The glyph for one character (a hollow box for characters the font lacks). */
export function glyph(ch: string): Glyph {
  return GLYPHS.get(ch) ?? UNKNOWN_GLYPH;
}

/** True when the font has a real glyph for ch. */
export function hasGlyph(ch: string): boolean {
  return GLYPHS.has(ch);
}

function lineWidth(line: string): number {
  let w = 0;
  for (const ch of line) w += glyph(ch).advance;
  return Math.max(0, w - 1);
}

/** Width in pixels of text drawn at scale (the widest line when text has newlines). */
export function textWidth(text: string, scale = 1): number {
  let w = 0;
  for (const line of text.split('\n')) w = Math.max(w, lineWidth(line));
  return w * scale;
}

/** Height in pixels of text drawn at scale: one glyph box plus LINE_HEIGHT per extra line. */
export function textHeight(text: string, scale = 1): number {
  const lines = text.split('\n').length;
  return ((lines - 1) * LINE_HEIGHT + GLYPH_HEIGHT) * scale;
}

/** The glyph for ch as ASCII art ('#' ink, '.' blank), one row per line; handy in tests and when editing the font. */
export function glyphArt(ch: string): string {
  const g = glyph(ch);
  const rows: string[] = [];
  for (let r = 0; r < GLYPH_HEIGHT; r++) {
    let line = '';
    for (let c = 0; c < g.width; c++) line += g.rows[r]! & (1 << (g.width - 1 - c)) ? '#' : '.';
    rows.push(line);
  }
  return rows.join('\n');
}
