/**
 * `npm run bench:model`: what `caldera train` and `caldera predict` achieve on the whole machine
 * with their default engine (ONNX Runtime, all cores), on caldera's default network (batch 16,
 * 224×224×3), side by side in alternating rounds with the tfjs wasm fallback and, when Debian's
 * python3-torch is installed, the PyTorch peer of the same network (../shared/peers/torch_peer.py);
 * and the machine's float32 matrix-multiply ceiling (ORT MatMul 1024², 1 thread and all), the
 * physical limit each engine is measured against. Not a test.
 *
 *   node dist/bench/model.js [--json] [--rounds 3] [--steps 10] [--batch 16] [--channels 3] [--no-torch]
 *
 * `--json` prints ONE JSON object: train_img_per_s, infer_img_per_s (default engine, whole machine),
 * gflop_per_img, train_gflop_per_img, the achieved GFLOP/s, matmul_gflop_per_s, the tfjs and
 * torch figures, and every round.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { initBackend } from '../src/engine/backend.js';
import { buildNetwork, forwardMacs, predict, trainStep } from '../src/engine/network.js';
import { layersModelToOnnx } from '../src/engine/onnx-export.js';
import { OnnxEngine } from '../src/engine/onnx-engine.js';
import { OnnxGraphBuilder } from '../src/engine/onnx-graph.js';
import { OnnxTrainer } from '../src/train/onnx-trainer.js';
import { median } from '../src/core/arrays.js';
import { Rng } from '../src/core/rng.js';

interface Opts { json: boolean; rounds: number; steps: number; batch: number; channels: number; torch: boolean; torchPeer: string }

function parseArgs(argv: string[]): Opts {
  const o: Opts = { json: false, rounds: 3, steps: 10, batch: 16, channels: 3, torch: true, torchPeer: path.resolve('../shared/peers/torch_peer.py') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => { const v = argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
    if (a === '--json') o.json = true;
    else if (a === '--no-torch') o.torch = false;
    else if (a === '--rounds') o.rounds = Number(next());
    else if (a === '--steps') o.steps = Number(next());
    else if (a === '--batch') o.batch = Number(next());
    else if (a === '--channels') o.channels = Number(next());
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const SIZE = 224;

function batchData(o: Opts): { x: Float32Array; cls: Int32Array; box: Float32Array } {
  const r = new Rng(1);
  const x = Float32Array.from({ length: o.batch * SIZE * SIZE * o.channels }, () => r.uniform(-1, 1));
  const cls = Int32Array.from({ length: o.batch }, (_, i) => i % 3);
  const box = new Float32Array(o.batch * 5);
  for (let i = 0; i < o.batch; i++) if (cls[i] !== 2) box.set([r.uniform(0.3, 0.7), r.uniform(0.3, 0.7), 0.1, 0.1, 1], i * 5);
  return { x, cls, box };
}

async function timed(n: number, f: () => Promise<unknown> | unknown): Promise<number[]> {
  await f();
  await f();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return ts;
}

const imgPerS = (batch: number, ms: number[]): number => Math.round((batch / median(ms)) * 1000 * 10) / 10;

/** ORT training and inference, `threads` intra-op threads. */
async function ortRound(o: Opts, threads: number): Promise<{ train: number; infer: number }> {
  const tf = await initBackend();
  const model = buildNetwork({ inputChannels: o.channels, width: SIZE, height: SIZE, variant: 'default', seed: 1 });
  const d = batchData(o);
  const trainer = await OnnxTrainer.create(model, { batch: o.batch, threads, lossWeights: { class: 1, box: 10 } });
  const train = imgPerS(o.batch, await timed(o.steps, () => trainer.step(d.x, d.cls, d.box)));
  await trainer.release();
  const engine = await OnnxEngine.fromBytes(layersModelToOnnx(model), { intraOpThreads: threads });
  const infer = imgPerS(o.batch, await timed(o.steps * 2, () => engine.run(d.x, o.batch, SIZE, SIZE, o.channels)));
  await engine.release();
  model.dispose();
  void tf;
  return { train, infer };
}

/** tfjs wasm (one instance, one core): the fallback engine. */
async function tfjsRound(o: Opts): Promise<{ train: number; infer: number }> {
  const tf = await initBackend();
  const model = buildNetwork({ inputChannels: o.channels, width: SIZE, height: SIZE, variant: 'default', seed: 1 });
  const d = batchData(o);
  const x = tf.tensor4d(d.x, [o.batch, SIZE, SIZE, o.channels]);
  const yc = tf.oneHot(tf.tensor1d(d.cls, 'int32'), 3).toFloat();
  const yb = tf.tensor2d(d.box, [o.batch, 5]);
  const opt = tf.train.adam(1e-3);
  const train = imgPerS(o.batch, await timed(Math.max(3, o.steps >> 1), () => trainStep(model, opt, x, yc, yb)));
  const infer = imgPerS(o.batch, await timed(o.steps, () => {
    const r = predict(model, x);
    r.classProbs.dataSync();
    tf.dispose([r.classProbs, r.box]);
  }));
  tf.dispose([x, yc, yb]);
  opt.dispose();
  model.dispose();
  return { train, infer };
}

function torchRound(o: Opts, threads: number): { train: number; infer: number } | null {
  if (!o.torch || !fs.existsSync(o.torchPeer)) return null;
  try {
    const out = execFileSync('/usr/bin/python3', [o.torchPeer, String(threads), String(o.channels)], { encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'ignore'] });
    const j = JSON.parse(out.trim().split('\n').at(-1)!) as { train_img_per_s: number; infer_img_per_s: number };
    return { train: j.train_img_per_s, infer: j.infer_img_per_s };
  } catch {
    return null;
  }
}

/** Float32 matrix-multiply GFLOP/s of ONNX Runtime on n×n matrices. */
async function matmulCeiling(threads: number, n = 1024): Promise<number> {
  const g = new OnnxGraphBuilder();
  g.addInput('a', 'float32', [n, n]);
  g.addInput('b', 'float32', [n, n]);
  g.addNode('MatMul', ['a', 'b'], {}, { outputs: ['c'] });
  g.addOutput('c', 'float32', [n, n]);
  const s = await ort.InferenceSession.create(g.encode(), { intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3 });
  const r = new Rng(2);
  const a = new ort.Tensor('float32', Float32Array.from({ length: n * n }, () => r.next()), [n, n]);
  const ts = await timed(8, () => s.run({ a, b: a }));
  await s.release();
  return Math.round(((2 * n ** 3) / (median(ts) / 1000) / 1e9) * 10) / 10;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const all = os.availableParallelism();
  const log = (s: string): void => { if (!o.json) console.log(s); };
  const tf = await initBackend();
  const probe = buildNetwork({ inputChannels: o.channels, width: SIZE, height: SIZE, variant: 'default', seed: 1 });
  const macs = forwardMacs(probe);
  const first = probe.layers.find((l) => l.getClassName() === 'Conv2D');
  const firstMacs = first ? forwardMacs(tf.model({ inputs: probe.inputs, outputs: first.output as import('@tensorflow/tfjs').SymbolicTensor })) : 0;
  probe.dispose();
  const gflopFwd = (2 * macs) / 1e9;
  const gflopTrain = (2 * (3 * macs - firstMacs)) / 1e9; // forward + input gradients (not the stem's) + weight gradients
  log(`default network, batch ${o.batch}, ${SIZE}×${SIZE}×${o.channels}: ${gflopFwd.toFixed(3)} GFLOP/img forward, ${gflopTrain.toFixed(3)} per training image; ${all} cores`);
  const rounds: Record<string, unknown>[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const round = {
      ort_all: await ortRound(o, all), ort_1: await ortRound(o, 1), tfjs: await tfjsRound(o),
      torch_all: torchRound(o, all), torch_1: torchRound(o, 1),
    };
    rounds.push(round);
    log(`round ${r + 1}: ${JSON.stringify(round)}`);
  }
  const med = (k: string, f: 'train' | 'infer'): number | null => {
    const v = rounds.map((x) => (x[k] as { train: number; infer: number } | null)?.[f]).filter((n): n is number => typeof n === 'number');
    return v.length ? median(v) : null;
  };
  const mm1 = await matmulCeiling(1), mmAll = await matmulCeiling(all);
  const train = med('ort_all', 'train')!, infer = med('ort_all', 'infer')!;
  const result = {
    engine: 'onnxruntime-node (train: one ONNX graph per step; infer: exported network)', threads: all, batch: o.batch, size: SIZE, channels: o.channels,
    train_img_per_s: train, infer_img_per_s: infer,
    gflop_per_img: +gflopFwd.toFixed(4), train_gflop_per_img: +gflopTrain.toFixed(4),
    train_gflop_per_s: +(train * gflopTrain).toFixed(1), infer_gflop_per_s: +(infer * gflopFwd).toFixed(1),
    matmul_gflop_per_s: mmAll, matmul_gflop_per_s_1_thread: mm1,
    train_share_of_matmul_ceiling: +((train * gflopTrain) / mmAll).toFixed(3), infer_share_of_matmul_ceiling: +((infer * gflopFwd) / mmAll).toFixed(3),
    onnx_1_thread: { train_img_per_s: med('ort_1', 'train'), infer_img_per_s: med('ort_1', 'infer') },
    tfjs_1_core: { train_img_per_s: med('tfjs', 'train'), infer_img_per_s: med('tfjs', 'infer') },
    torch: { train_img_per_s: med('torch_all', 'train'), infer_img_per_s: med('torch_all', 'infer'), train_img_per_s_1_thread: med('torch_1', 'train'), infer_img_per_s_1_thread: med('torch_1', 'infer') },
    load_average: os.loadavg().map((v) => +v.toFixed(2)),
    rounds,
  };
  if (o.json) console.log(JSON.stringify(result));
  else {
    log(`ONNX Runtime, ${all} threads: train ${train} img/s (${result.train_gflop_per_s} GFLOP/s), infer ${infer} img/s (${result.infer_gflop_per_s} GFLOP/s)`);
    log(`matmul ceiling: ${mmAll} GFLOP/s (${all} threads), ${mm1} (1 thread)`);
    log(`tfjs wasm (1 core): train ${result.tfjs_1_core.train_img_per_s}, infer ${result.tfjs_1_core.infer_img_per_s}; torch: ${JSON.stringify(result.torch)}`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
