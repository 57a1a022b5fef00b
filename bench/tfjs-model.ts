/**
 * Benchmark of the network engine (not a test): training and inference throughput at 224×224 on
 * the wasm backend with caldera's kernels.
 *
 *   node dist/bench/tfjs-model.js [--json] [--batch 16] [--steps 6] [--channels 3]
 *        [--variant default|tiny] [--arch '<ArchSpec JSON>'] [--workers 2] [--profile]
 *
 * One wasm instance uses one core (tfjs disables wasm threads in Node), so `--workers N` (default 2)
 * also measures inference with N worker_threads, each with its own wasm instance and model, run
 * concurrently; 0 skips it. `--profile` prints per-kernel self times of one training step and one
 * inference batch. `--json` prints ONE JSON object.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { initBackend, backendInfo } from '../src/engine/backend.js';
import { startKernelProfile, stopKernelProfile } from '../src/engine/kernels/profile.js';
import { buildNetwork, forwardMacs, predict, trainStep, type ArchSpec, type NetworkVariant } from '../src/engine/network.js';

interface Opts {
  json: boolean; batch: number; steps: number; channels: number; size: number;
  variant: NetworkVariant; arch?: ArchSpec; workers: number; profile: boolean;
}

function parseArgs(argv: string[]): Opts {
  const o: Opts = { json: false, batch: 16, steps: 6, channels: 3, size: 224, variant: 'default', workers: 2, profile: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v == null) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--json') o.json = true;
    else if (a === '--profile') o.profile = true;
    else if (a === '--batch') o.batch = Number(next());
    else if (a === '--steps') o.steps = Number(next());
    else if (a === '--channels') o.channels = Number(next());
    else if (a === '--size') o.size = Number(next());
    else if (a === '--workers') o.workers = Number(next());
    else if (a === '--variant') o.variant = next() as NetworkVariant;
    else if (a === '--arch') o.arch = JSON.parse(next()) as ArchSpec;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Inference only, for one worker: returns per-batch times (ms). */
async function inferenceTimes(o: Opts, seed: number): Promise<number[]> {
  const tf = await initBackend();
  const model = buildNetwork({ inputChannels: o.channels, width: o.size, height: o.size, variant: o.variant, arch: o.arch, seed });
  const x = tf.randomNormal([o.batch, o.size, o.size, o.channels]);
  const run = () => {
    const r = predict(model, x);
    const outs = [r.classProbs, r.box];
    outs[0].dataSync();
    tf.dispose(outs);
  };
  run();
  run();
  const times: number[] = [];
  for (let i = 0; i < o.steps; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  tf.dispose(x);
  model.dispose();
  return times;
}

async function workerMain(): Promise<void> {
  const { opts, seed } = workerData as { opts: Opts; seed: number };
  // Start together: wait for the go signal after initialisation.
  const tf = await initBackend();
  void tf;
  parentPort!.postMessage({ ready: true });
  await new Promise<void>((resolve) => parentPort!.once('message', () => resolve()));
  const t0 = performance.now();
  const times = await inferenceTimes(opts, seed);
  parentPort!.postMessage({ times, wall: performance.now() - t0 });
}

async function multiWorkerInference(o: Opts): Promise<{ img_per_s: number; per_worker: number[] }> {
  const workers = Array.from({ length: o.workers }, (_, i) => new Worker(new URL(import.meta.url), { workerData: { opts: o, seed: i + 1 } }));
  await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
  })));
  const results = await Promise.all(workers.map((w) => new Promise<{ times: number[] }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.postMessage('go');
  })));
  await Promise.all(workers.map((w) => w.terminate()));
  const perWorker = results.map((r) => (o.batch * 1000) / median(r.times));
  return { img_per_s: perWorker.reduce((a, b) => a + b, 0), per_worker: perWorker };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const tf = await initBackend();
  const info = await backendInfo();
  const model = buildNetwork({ inputChannels: o.channels, width: o.size, height: o.size, variant: o.variant, arch: o.arch, seed: 1 });
  const macs = forwardMacs(model);
  const params = model.countParams();
  const first = model.layers.find((l) => l.getClassName() === 'Conv2D');
  const firstMacs = first ? forwardMacs(tf.model({ inputs: model.inputs, outputs: first.output as import('@tensorflow/tfjs').SymbolicTensor })) : 0;
  const gflopFwd = (2 * macs) / 1e9;
  // Training ≈ forward + input gradients (all but the first conv) + weight gradients.
  const gflopTrain = (2 * (3 * macs - firstMacs)) / 1e9;
  const opt = tf.train.adam(1e-3);
  const x = tf.randomNormal([o.batch, o.size, o.size, o.channels]);
  const yc = tf.oneHot(tf.randomUniform([o.batch], 0, 3, 'int32'), 3).toFloat();
  const yb = tf.concat([tf.randomUniform([o.batch, 4]), tf.ones([o.batch, 1])], 1);
  const log = (s: string) => { if (!o.json) console.log(s); };
  log(`backend ${info.backend} simd=${info.simd} threads=${info.threads}; params ${params}; ` +
    `forward ${gflopFwd.toFixed(3)} GFLOP/img, training ≈ ${gflopTrain.toFixed(3)} GFLOP/img; batch ${o.batch}`);

  trainStep(model, opt, x, yc, yb);
  trainStep(model, opt, x, yc, yb);
  const trainTimes: number[] = [];
  for (let i = 0; i < o.steps; i++) {
    const t0 = performance.now();
    trainStep(model, opt, x, yc, yb);
    trainTimes.push(performance.now() - t0);
  }
  const trainImgS = (o.batch * 1000) / median(trainTimes);
  log(`train: ${trainImgS.toFixed(1)} img/s (median of ${o.steps} steps; best ${((o.batch * 1000) / Math.min(...trainTimes)).toFixed(1)}), ` +
    `${(trainImgS * gflopTrain).toFixed(1)} GFLOP/s`);

  const inferTimes: number[] = [];
  const runInfer = () => {
    const r = predict(model, x);
    const outs = [r.classProbs, r.box];
    outs[0].dataSync();
    tf.dispose(outs);
  };
  runInfer();
  for (let i = 0; i < o.steps; i++) {
    const t0 = performance.now();
    runInfer();
    inferTimes.push(performance.now() - t0);
  }
  const inferImgS = (o.batch * 1000) / median(inferTimes);
  log(`infer: ${inferImgS.toFixed(1)} img/s (best ${((o.batch * 1000) / Math.min(...inferTimes)).toFixed(1)}), ` +
    `${(inferImgS * gflopFwd).toFixed(1)} GFLOP/s`);

  let profile: { train: unknown; infer: unknown } | undefined;
  if (o.profile) {
    startKernelProfile('wasm');
    trainStep(model, opt, x, yc, yb);
    const pt = stopKernelProfile('wasm');
    startKernelProfile('wasm');
    runInfer();
    const pi = stopKernelProfile('wasm');
    const fmt = (st: { name: string; ms: number; calls: number }[]) => st.slice(0, 15).map((s) => ({ kernel: s.name, ms: +s.ms.toFixed(1), calls: s.calls }));
    profile = { train: fmt(pt), infer: fmt(pi) };
    if (!o.json) {
      for (const [k, st] of Object.entries({ train: pt, infer: pi })) {
        const tot = st.reduce((a, s) => a + s.ms, 0);
        console.log(`profile (${k}, one batch): ${tot.toFixed(0)} ms in kernels`);
        for (const s of st.slice(0, 15)) console.log(`  ${s.name.padEnd(26)} ${s.ms.toFixed(1).padStart(8)} ms ${String(s.calls).padStart(5)} calls`);
      }
    }
  }
  tf.dispose([x, yc, yb]);
  model.dispose();

  let multi: { img_per_s: number; per_worker: number[] } | undefined;
  if (o.workers > 0) {
    multi = await multiWorkerInference(o);
    log(`infer with ${o.workers} worker_threads (one wasm instance each): ${multi.img_per_s.toFixed(1)} img/s ` +
      `(${multi.per_worker.map((v) => v.toFixed(1)).join(' + ')})`);
  }
  if (o.json) {
    console.log(JSON.stringify({
      backend: info.backend, simd: info.simd, batch: o.batch, size: o.size, channels: o.channels,
      variant: o.arch ? 'custom' : o.variant, params,
      train_img_per_s: +trainImgS.toFixed(2),
      infer_img_per_s: +inferImgS.toFixed(2),
      train_img_per_s_best: +((o.batch * 1000) / Math.min(...trainTimes)).toFixed(2),
      infer_img_per_s_best: +((o.batch * 1000) / Math.min(...inferTimes)).toFixed(2),
      gflop_per_img: +gflopFwd.toFixed(4),
      train_gflop_per_img: +gflopTrain.toFixed(4),
      train_gflop_per_s: +(trainImgS * gflopTrain).toFixed(2),
      infer_gflop_per_s: +(inferImgS * gflopFwd).toFixed(2),
      infer_workers: o.workers > 0 ? o.workers : undefined,
      infer_img_per_s_workers: multi ? +multi.img_per_s.toFixed(2) : undefined,
      train_ms_per_step: trainTimes.map((t) => +t.toFixed(1)),
      infer_ms_per_batch: inferTimes.map((t) => +t.toFixed(1)),
      profile,
    }));
  }
}

if (isMainThread) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
  });
} else {
  workerMain().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
