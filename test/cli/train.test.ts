/** `caldera train --resume` from the run folder alone, and Ctrl-C saying how to resume. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { configFromFlags, configToArgv, resumeConfig, trainFlags } from '../../src/cli/train.js';
import { parseArgs } from '../../src/cli/args.js';
import { configDifferences, readRunConfig } from '../../src/train/train.js';
import { runCli, withDir } from '../helpers/files.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const parse = (...argv: string[]) => parseArgs(argv, trainFlags);
const SMALL = ['--steps-per-epoch', '2', '--batch', '4', '--val-count', '4', '--arch', 'tiny', '--engine', 'tfjs', '--workers', '0', '--quiet'];

test('a run configuration and its command-line options round-trip (what --resume compares against)', () => {
  const cases = [
    ['--data', '/d/train', '--val-fraction', '0.2', '--batch', '8', '--lr', '2e-4', '--channels', 'www'],
    ['--synthetic-on-the-fly'],
    ['--synthetic-on-the-fly', '--dem-dir', '/dem', '--volcanoes', 'Vesuvius,Campi Flegrei', '--procedural-share', '0.3', '--classes', 'dyke,sill',
      '--artefacts', '--ramps', '0.03', '--init', '/models/default', '--box-weight', '100', '--warmup', '50', '--seed', '5', '--pool', '64'],
    ['--synthetic-on-the-fly', '--dem-dir', '/dem', '--procedural-share', '0', '--decorrelation', 'products', '--domain', 'randomised', '--real', 'r', '--real-fraction', '0.2'],
  ];
  for (const argv of cases) {
    const c = configFromFlags(parse(...argv));
    const back = configToArgv(c);
    assert.ok(back, argv.join(' '));
    const again = configFromFlags(parse(...back!));
    assert.deepEqual(configDifferences(c, again), [], argv.join(' '));
    assert.equal(again.epochs, c.epochs);
  }
});

test('caldera train --out RUN --resume needs no other option; other options must match the run (but --epochs)', async () => {
  await withDir('caldera-train-resume-', async (dir) => {
    const run = path.join(dir, 'run');
    const first = runCli('train', '--synthetic-on-the-fly', '--out', run, '--epochs', '1', ...SMALL);
    assert.equal(first.code, 0, first.err);
    const stored = readRunConfig(run)!;
    assert.equal(stored.batch, 4);
    // Nothing but --out and --resume (and --epochs): the run's own configuration.
    const c = resumeConfig(parse('--out', run, '--resume'), run);
    assert.deepEqual(configDifferences(c, stored), []);
    assert.equal(c.epochs, 1);
    assert.equal(resumeConfig(parse('--out', run, '--resume', '--epochs', '5'), run).epochs, 5);
    // The same options again are fine; another value is refused, naming it.
    assert.deepEqual(configDifferences(resumeConfig(parse('--out', run, '--resume', '--synthetic-on-the-fly', '--batch', '4', '--arch', 'tiny', '--steps-per-epoch', '2'), run), stored), []);
    assert.throws(() => resumeConfig(parse('--out', run, '--resume', '--batch', '8'), run), /--resume with options that differ from the run's \(batch: checkpoint 4, now 8\)/);
    assert.throws(() => resumeConfig(parse('--out', run, '--resume', '--data', dir), run), /differ from the run's \(source\.kind/);
    assert.throws(() => resumeConfig(parse('--out', path.join(dir, 'none'), '--resume'), path.join(dir, 'none')), /no checkpoint to resume/);
    // From the command line, in another working directory.
    const more = runCli('train', '--out', run, '--resume', '--epochs', '2', '--engine', 'tfjs', '--workers', '0', '--quiet');
    assert.equal(more.code, 0, more.err);
    assert.match(more.err, /resuming after epoch 1/);
    assert.match(more.out, /2 epochs, 16 images/);
    const bad = runCli('train', '--out', run, '--resume', '--lr', '0.1');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /^caldera train: .*--resume with options that differ from the run's \(lr: checkpoint 0\.001, now 0\.1\)/);
    assert.equal(bad.err.trim().split('\n').length, 1);
  });
});

test('Ctrl-C: training stops at its last checkpoint and says how to resume', async () => {
  await withDir('caldera-train-sigint-', async (dir) => {
    const run = path.join(dir, 'run');
    const child = spawn(process.execPath, [MAIN, 'train', '--synthetic-on-the-fly', '--out', run, '--epochs', '1000', ...SMALL], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let sent = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      err += s;
      if (!sent && /epoch 1\/1000:/.test(err)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.ok(sent, err);
    assert.equal(code, 130, err);
    const m = /caldera train: interrupted: stopped after epoch (\d+), its last checkpoint; continue with: caldera train --out (\S+) --resume\n$/.exec(err);
    assert.ok(m, err);
    assert.equal(m![2], run);
    // The checkpoint is the epoch it names; the folder is unlocked.
    assert.equal(readRunConfig(run)!.epochs, 1000);
    const state = JSON.parse(fs.readFileSync(path.join(run, 'checkpoint', 'state.json'), 'utf8')).state;
    assert.equal(state.epoch, Number(m![1]));
    assert.ok(!fs.existsSync(path.join(run, '.caldera.lock')));
    const again = runCli('train', '--out', run, '--resume', '--epochs', String(state.epoch + 1), '--engine', 'tfjs', '--workers', '0', '--quiet');
    assert.equal(again.code, 0, again.err);
    assert.match(again.err, new RegExp(`resuming after epoch ${state.epoch}`));
  });
});
