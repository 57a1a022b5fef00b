/** The command table. Each command lives in its own file and only parses and calls. */
import type { Command } from './command.js';
import { deformCommand } from './deform.js';
import { demoCommand } from './demo.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { labelCommand } from './label.js';
import { monitorCommand, synthSeriesCommand } from './monitor.js';
import { predictCommand } from './predict.js';
import { scanCommand } from './scan.js';
import { studyCommand } from './study.js';
import { showCommand } from './show.js';
import { synthCommand } from './synth.js';
import { trainCommand } from './train.js';
import { enqueueCommand } from './enqueue.js';
import { workerCommand } from './worker.js';
import { queueCommand } from './queue.js';
import { mergeCommand } from './merge.js';
import { webCommand } from './web.js';

export const COMMANDS: Readonly<Record<string, Command>> = {
  demo: demoCommand,
  deform: deformCommand,
  synth: synthCommand,
  show: showCommand,
  train: trainCommand,
  eval: evalCommand,
  predict: predictCommand,
  export: exportCommand,
  scan: scanCommand,
  label: labelCommand,
  study: studyCommand,
  monitor: monitorCommand, 'synth-series': synthSeriesCommand,
  merge: mergeCommand, enqueue: enqueueCommand, worker: workerCommand, queue: queueCommand,
  web: webCommand,
};
