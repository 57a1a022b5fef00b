/** The contact sheet a user looks at after `caldera synth` / `show`, against a pixel-statistics fixture. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { synthesise } from '../../src/data/generate.js';
import { readDataset } from '../../src/data/dataset.js';
import { sampleSheet } from '../../src/data/view.js';
import { assertImageFixture, imageStats } from '../helpers/images.js';
import { withDir } from '../helpers/files.js';

test('contact sheet of six procedural scenes: tiles, boxes, colour bar (fixture)', async () => {
  await withDir('caldera-view-', async (dir) => {
    await synthesise({ outDir: dir, count: 6, seed: 5, classes: ['dyke', 'sill', 'none'], terrain: { kind: 'procedural' }, workers: 1, shardSize: 6 });
    const samples = [...readDataset(dir)];
    assert.equal(samples.length, 6);
    const sheet = sampleSheet(samples, 'six scenes', 3);
    const stats = imageStats(sheet);
    // White background and margins, then the phase colours; masked (grey) pixels are present.
    assert.ok((stats.colours['#fcfcfc'] ?? 0) > 0.05, 'white page');
    assertImageFixture('contact-sheet', sheet);
  });
});
