/**
 * Measurement (not a test): inference throughput of the default network with ONNX Runtime
 * (1 and 2 intra-op threads; 2 also without spinning) against tfjs wasm (one instance = one
 * core), same weights.
 *
 *   node dist/bench/onnx-infer.js [--batch 16] [--size 224] [--channels 3] [--seconds 4] [--variant default]
 *
 * Each engine: 2 warm-up batches, then batches until `--seconds` have passed. Prints ONE JSON
 * object: img/s overall and from the median batch time, plus the load average before and after
 * (the machine is shared: other processes on the cores lower the figures).
 */
import * as os from 'node:os';
import { initBackend } from '../src/model/backend.js';
import { buildNetwork, predict, type NetworkVariant } from '../src/model/network.js';
import { layersModelToOnnx } from '../src/engine/onnx-export.js';
import { OnnxEngine } from '../src/engine/onnx-engine.js';

interface Opts { batch: number; size: number; channels: number; seconds: number; variant: NetworkVariant }

function parseArgs(argv: readonly string[]): Opts {
  const o: Opts = { batch: 16, size: 224, channels: 3, seconds: 4, variant: 'default' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[++i];
    if (v == null) throw new Error(`${a} needs a value`);
    if (a === '--batch') o.batch = Number(v);
    else if (a === '--size') o.size = Number(v);
    else if (a === '--channels') o.channels = Number(v);
    else if (a === '--seconds') o.seconds = Number(v);
    else if (a === '--variant') o.variant = v as NetworkVariant;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

interface Timing { imgPerS: number; imgPerSMedianBatch: number; medianBatchMs: number; batches: number }

/** Warm up, then run `once` until `seconds` have passed. */
async function timeLoop(once: () => Promise<void> | void, batch: number, seconds: number): Promise<Timing> {
  for (let i = 0; i < 2; i++) await once();
  const times: number[] = [];
  const start = performance.now();
  while (performance.now() - start < seconds * 1000 || times.length < 3) {
    const t0 = performance.now();
    await once();
    times.push(performance.now() - t0);
  }
  const total = times.reduce((a, b) => a + b, 0);
  const sorted = [...times].sort((a, b) => a - b);
  const med = sorted[sorted.length >> 1]!;
  const r = (v: number) => Math.round(v * 10) / 10;
  return { imgPerS: r((times.length * batch) / (total / 1000)), imgPerSMedianBatch: r(batch / (med / 1000)), medianBatchMs: r(med), batches: times.length };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const loadBefore = os.loadavg().map((v) => Math.round(v * 100) / 100);
  const tf = await initBackend();
  const model = buildNetwork({ inputChannels: o.channels, width: o.size, height: o.size, variant: o.variant, seed: 1 });
  const bytes = layersModelToOnnx(model, { calderaVersion: 'bench' });
  let s = 12345;
  const x = Float32Array.from({ length: o.batch * o.size * o.size * o.channels }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296) * 2 - 1;
  });

  const ort: Record<string, Timing> = {};
  let maxAbsDiff = 0;
  const configs: [string, number, boolean][] = [['threads1', 1, true], ['threads2', 2, true], ['threads2NoSpin', 2, false]];
  for (const [key, threads, allowSpinning] of configs) {
    const eng = await OnnxEngine.fromBytes(bytes, { intraOpThreads: threads, allowSpinning });
    ort[key] = await timeLoop(async () => { await eng.run(x, o.batch, o.size, o.size, o.channels); }, o.batch, o.seconds);
    if (threads === 1) {
      const a = await eng.run(x, o.batch, o.size, o.size, o.channels);
      const xt = tf.tensor4d(x, [o.batch, o.size, o.size, o.channels]);
      const ref = predict(model, xt);
      const c = ref.classProbs.dataSync(), b = ref.box.dataSync();
      for (let i = 0; i < c.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(c[i]! - a.classProbs[i]!));
      for (let i = 0; i < b.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(b[i]! - a.box[i]!));
      tf.dispose([xt, ref.classProbs, ref.box]);
    }
    await eng.release();
  }

  const xt = tf.tensor4d(x, [o.batch, o.size, o.size, o.channels]);
  const tfjsWasm = await timeLoop(() => {
    const r = predict(model, xt);
    r.classProbs.dataSync();
    r.box.dataSync();
    tf.dispose([r.classProbs, r.box]);
  }, o.batch, o.seconds);
  xt.dispose();
  model.dispose();

  process.stdout.write(JSON.stringify({
    bench: 'onnx-infer', variant: o.variant, batch: o.batch, input: [o.size, o.size, o.channels],
    cores: os.availableParallelism(), loadavgBefore: loadBefore, loadavgAfter: os.loadavg().map((v) => Math.round(v * 100) / 100),
    onnxBytes: bytes.length, ort, tfjsWasm, maxAbsDiffOrtVsTfjs: maxAbsDiff,
  }) + '\n');
}

await main();
