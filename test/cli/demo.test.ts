/** The README's first command, `caldera demo`, and a quick channel study, run as a user would. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodePng } from '../../src/io/png.js';
import { runCli, withDir } from '../helpers/files.js';

test('caldera demo: a labelled synthetic set, the bundled model scored on it, a contact sheet of truth and answers', async () => {
  await withDir('caldera-demo-', (dir) => {
    const out = path.join(dir, 'demo');
    const r = runCli('demo', '--out', out, '--count', '9');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /9 labelled interferograms/);
    const acc = Number(/accuracy (\d+(?:\.\d+)?)%/.exec(r.out)?.[1]);
    // The bundled model on its own kind of scenes: 9 procedural scenes, seed 1.
    assert.ok(acc >= 66, `accuracy ${acc} %`);
    const sheet = decodePng(fs.readFileSync(path.join(out, 'contact-sheet.png')));
    assert.ok(sheet.width > 600 && sheet.height > 400, `${sheet.width}×${sheet.height}`);
    assert.ok(fs.existsSync(path.join(out, 'synthetic', 'manifest.json')));
  });
});

test('caldera study channels --quick: three formats trained and scored, a report, resumable', async () => {
  await withDir('caldera-study-', (dir) => {
    const data = path.join(dir, 'data'), testSet = path.join(dir, 'test'), out = path.join(dir, 'out');
    assert.equal(runCli('synth', '--count', '24', '--out', data, '--seed', '2', '--quiet').code, 0);
    assert.equal(runCli('synth', '--count', '9', '--out', testSet, '--seed', '3', '--quiet').code, 0);
    const r = runCli('study', 'channels', '--quick', '--data', data, '--test', testSet, '--out', out);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /3 of 3 runs/);
    const report = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    for (const f of ['www', 'wwd', 'w']) assert.match(report, new RegExp(`\\| \`${f}\` \\|[^|]+\\| 1 \\| \\d+\\.\\d \\|`));
    assert.deepEqual(fs.readdirSync(path.join(out, 'results')).sort(), ['w-s1.json', 'wwd-s1.json', 'www-s1.json']);
    assert.ok(decodePng(fs.readFileSync(path.join(out, 'scores.png'))).width > 200);
    // A rerun finds every run done and only rewrites the report.
    const again = runCli('study', 'channels', '--quick', '--data', data, '--test', testSet, '--out', out);
    assert.equal(again.code, 0, again.err);
    assert.match(again.err, /3 of 3 runs already done; 0 to go/);
  });
});
