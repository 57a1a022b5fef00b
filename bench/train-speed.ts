/**
 * Training speed of the ONNX Runtime step (src/train/onnx-trainer.ts) on caldera's network, side by
 * side with the PyTorch peer and caldera's tfjs-wasm `trainStep` (not a test). Prints ONE JSON object.
 *
 *   node dist/bench/train-speed.js [--threads 1,2] [--rounds 3] [--steps 10] [--batch 16] [--size 224]
 *        [--channels 3] [--variant default] [--torch] [--wasm] [--profile]
 *        [--weight-grad swap|im2col] [--stem-matmul] [--dx1 convTranspose|conv] [--opt all|extended|basic|disabled]
 *
 * Rounds alternate the engines (ORT at each thread count, then torch, then wasm) so that load from
 * other processes on the shared machine hits all of them alike; compare ratios within a round.
 * `--torch` runs ../shared/peers/torch_peer.py (Debian's /usr/bin/python3 with python3-torch);
 * `--profile` writes an ORT profile of a few steps and prints the top ops by total time.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../src/engine/backend.js';
import { buildNetwork, trainStep, type NetworkVariant } from '../src/engine/network.js';
import { OnnxTrainer } from '../src/train/onnx-trainer.js';
import type { TrainGraphOptions } from '../src/train/onnx-step.js';

interface Opts {
  threads: number[]; rounds: number; steps: number; batch: number; size: number; channels: number; variant: NetworkVariant;
  torch: boolean; wasm: boolean; profile: boolean; graph: TrainGraphOptions; opt: 'all' | 'extended' | 'basic' | 'disabled';
  torchPeer: string;
}

function parseArgs(argv: string[]): Opts {
  const o: Opts = {
    threads: [1, 2], rounds: 3, steps: 10, batch: 16, size: 224, channels: 3, variant: 'default', torch: false, wasm: false,
    profile: false, graph: {}, opt: 'all', torchPeer: path.resolve(process.cwd(), '../shared/peers/torch_peer.py'),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => { const v = argv[++i]; if (v == null) throw new Error(`${a} needs a value`); return v; };
    if (a === '--threads') o.threads = next().split(',').map(Number);
    else if (a === '--rounds') o.rounds = Number(next());
    else if (a === '--steps') o.steps = Number(next());
    else if (a === '--batch') o.batch = Number(next());
    else if (a === '--size') o.size = Number(next());
    else if (a === '--channels') o.channels = Number(next());
    else if (a === '--variant') o.variant = next() as NetworkVariant;
    else if (a === '--torch') o.torch = true;
    else if (a === '--torch-peer') o.torchPeer = next();
    else if (a === '--wasm') o.wasm = true;
    else if (a === '--profile') o.profile = true;
    else if (a === '--weight-grad') o.graph.weightGrad = next() as 'swap' | 'im2col' | 'taps' | 'pitch';
    else if (a === '--relu-grad') o.graph.reluGrad = next() as 'cast' | 'where' | 'sign';
    else if (a === '--stem-matmul') o.graph.stemMatMul = true;
    else if (a === '--dx1') o.graph.inputGradStride1 = next() as 'convTranspose' | 'conv';
    else if (a === '--opt') o.opt = next() as Opts['opt'];
    else if (a === '--layout') o.graph.layout = next() as 'nchw' | 'cnhw';
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function batchData(B: number, size: number, C: number, seed: number): { x: Float32Array; cls: Int32Array; box: Float32Array } {
  let s = seed >>> 0;
  const rnd = (): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
  const x = Float32Array.from({ length: B * size * size * C }, () => rnd() * 2 - 1);
  const cls = Int32Array.from({ length: B }, (_, i) => i % 3);
  const box = new Float32Array(B * 5);
  for (let i = 0; i < B; i++) if (cls[i] !== 2) box.set([0.3 + 0.4 * rnd(), 0.3 + 0.4 * rnd(), 0.1, 0.1, 1], i * 5);
  return { x, cls, box };
}

async function ortRun(o: Opts, threads: number): Promise<{ imgPerS: number; bestImgPerS: number; stepMs: number; loss: number[] }> {
  const tf = await initBackend();
  const model = buildNetwork({ inputChannels: o.channels, width: o.size, height: o.size, variant: o.variant, seed: 1 });
  const trainer = await OnnxTrainer.create(model, { batch: o.batch, threads, lossWeights: { class: 1, box: 10 }, graph: o.graph, optimizationLevel: o.opt });
  const d = batchData(o.batch, o.size, o.channels, 1);
  const losses: number[] = [];
  for (let i = 0; i < 3; i++) losses.push((await trainer.step(d.x, d.cls, d.box)).loss);
  const ts: number[] = [];
  for (let i = 0; i < o.steps; i++) {
    const t0 = performance.now();
    const r = await trainer.step(d.x, d.cls, d.box);
    ts.push(performance.now() - t0);
    losses.push(r.loss);
  }
  await trainer.release();
  model.dispose();
  void tf;
  const med = median(ts);
  return { imgPerS: Math.round((o.batch / med) * 1000 * 10) / 10, bestImgPerS: Math.round((o.batch / Math.min(...ts)) * 1000 * 10) / 10, stepMs: Math.round(med * 10) / 10, loss: [losses[0]!, losses.at(-1)!] };
}

async function wasmRun(o: Opts): Promise<{ imgPerS: number }> {
  const tf = await initBackend();
  const model = buildNetwork({ inputChannels: o.channels, width: o.size, height: o.size, variant: o.variant, seed: 1 });
  const opt = tf.train.adam(1e-3);
  const d = batchData(o.batch, o.size, o.channels, 1);
  const x = tf.tensor4d(d.x, [o.batch, o.size, o.size, o.channels]);
  const yc = tf.oneHot(tf.tensor1d(d.cls, 'int32'), 3).toFloat();
  const yb = tf.tensor2d(d.box, [o.batch, 5]);
  for (let i = 0; i < 2; i++) trainStep(model, opt, x, yc, yb);
  const ts: number[] = [];
  for (let i = 0; i < Math.max(3, Math.floor(o.steps / 2)); i++) {
    const t0 = performance.now();
    trainStep(model, opt, x, yc, yb);
    ts.push(performance.now() - t0);
  }
  tf.dispose([x, yc, yb]);
  model.dispose();
  opt.dispose();
  return { imgPerS: Math.round((o.batch / median(ts)) * 1000 * 10) / 10 };
}

function torchRun(o: Opts, threads: number): { imgPerS: number; inferImgPerS: number } | { error: string } {
  try {
    const out = execFileSync('/usr/bin/python3', [o.torchPeer, String(threads), String(o.channels)], { encoding: 'utf8', timeout: 600_000 });
    const j = JSON.parse(out.trim().split('\n').at(-1)!) as { train_img_per_s: number; infer_img_per_s: number };
    return { imgPerS: j.train_img_per_s, inferImgPerS: j.infer_img_per_s };
  } catch (e) {
    return { error: String((e as Error).message).split('\n')[0]! };
  }
}

async function profileRun(o: Opts, threads: number): Promise<Record<string, unknown>> {
  await initBackend();
  const model = buildNetwork({ inputChannels: o.channels, width: o.size, height: o.size, variant: o.variant, seed: 1 });
  const prefix = path.join(fs.mkdtempSync('/tmp/ort-train-prof-'), 'profile');
  const trainer = await OnnxTrainer.create(model, { batch: o.batch, threads, graph: o.graph, optimizationLevel: o.opt, enableProfiling: true, profileFilePrefix: prefix });
  const d = batchData(o.batch, o.size, o.channels, 1);
  for (let i = 0; i < 8; i++) await trainer.step(d.x, d.cls, d.box);
  trainer.endProfiling();
  await trainer.release();
  model.dispose();
  const dir = path.dirname(prefix);
  const file = fs.readdirSync(dir).map((f) => path.join(dir, f)).find((f) => f.endsWith('.json'));
  if (!file) return { error: 'no profile written' };
  const events = JSON.parse(fs.readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  const nodes = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  const steps = Math.max(1, runs.length);
  const byOp = new Map<string, number>();
  for (const e of nodes) byOp.set(e.args?.op_name ?? '?', (byOp.get(e.args?.op_name ?? '?') ?? 0) + e.dur);
  const byNode = new Map<string, number>();
  for (const e of nodes) byNode.set(e.name.replace(/_kernel_time$/, ''), (byNode.get(e.name.replace(/_kernel_time$/, '')) ?? 0) + e.dur);
  const total = [...byOp.values()].reduce((a, b) => a + b, 0);
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, v]) => ({ name: k, msPerStep: Math.round((v / steps / 1000) * 100) / 100, share: Math.round((v / total) * 1000) / 10 }));
  return {
    file, steps, runMsMedian: Math.round(median(runs.map((r) => r.dur / 1000)) * 10) / 10,
    kernelMsPerStep: Math.round((total / steps / 1000) * 10) / 10, byOp: top(byOp, 25), topNodes: top(byNode, 25),
  };
}

const o = parseArgs(process.argv.slice(2));
const result: Record<string, unknown> = {
  config: { batch: o.batch, size: o.size, channels: o.channels, variant: o.variant, graph: o.graph, opt: o.opt, steps: o.steps },
  loadavgStart: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number),
};
if (o.profile) {
  const prof: Record<string, unknown> = {};
  for (const t of o.threads) prof[`threads${t}`] = await profileRun(o, t);   // one at a time
  result.profile = prof;
} else {
  const rounds: Record<string, unknown>[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const round: Record<string, unknown> = {};
    for (const t of o.threads) {
      round[`ort${t}`] = await ortRun(o, t);
      if (o.torch) round[`torch${t}`] = torchRun(o, t);
    }
    if (o.wasm) round.wasm1 = await wasmRun(o);
    rounds.push(round);
    process.stderr.write(`${JSON.stringify(round)}\n`);
  }
  result.rounds = rounds;
  const med = (key: string) => {
    const v = rounds.map((r) => (r[key] as { imgPerS?: number } | undefined)?.imgPerS).filter((x): x is number => typeof x === 'number');
    return v.length ? median(v) : null;
  };
  const keys = Object.keys(rounds[0] ?? {});
  result.medianImgPerS = Object.fromEntries(keys.map((k) => [k, med(k)]));
  const ratios: Record<string, number[]> = {};
  for (const t of o.threads) {
    if (!o.torch) continue;
    ratios[`ort${t}/torch${t}`] = rounds.map((r) => {
      const a = (r[`ort${t}`] as { imgPerS: number }).imgPerS, b = (r[`torch${t}`] as { imgPerS?: number }).imgPerS;
      return b ? Math.round((a / b) * 100) / 100 : NaN;
    });
  }
  if (o.torch) result.ratiosPerRound = ratios;
}
result.loadavgEnd = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
console.log(JSON.stringify(result, null, 1));
