/**
 * Benchmark (not a test): synthetic interferograms per second at 224 x 224 with everything on
 * (source draws and magnitude checks, placement and visibility, atmosphere and SNR retries,
 * incoherence, labels), balanced classes, on 1 and 2 worker threads. Scenes are generated in
 * memory; `--write` also times writing shards. `--json` prints one JSON object whose
 * `scenes_per_s` is the 2-worker figure.
 *   npm run bench:synth [-- --json] [-- --dem-dir ../shared/dem/srtm3] [-- --count 400]
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { buildTerrain, type TerrainSpec } from '../src/data/terrain-source.js';
import { sceneConfig, sceneForIndex } from '../src/data/generate.js';
import { createSpectralCache } from '../src/synth/atmosphere.js';
import { CLASS_NAMES } from '../src/core/classes.js';

interface Job { spec: TerrainSpec; start: number; count: number; seed: number }

async function runJob(job: Job): Promise<{ seconds: number; count: number }> {
  const cfg = sceneConfig({});
  const terrain = await buildTerrain(job.spec, cfg.size, cfg.spacingM);
  const cache = createSpectralCache(256);
  // Warm-up: JIT and the procedural terrain pool are set-up costs, not per-scene costs.
  for (let i = 0; i < 40; i++) sceneForIndex(1_000_000 + i, job.seed, CLASS_NAMES, terrain.provider, cfg, cache);
  const t0 = performance.now();
  for (let i = job.start; i < job.start + job.count; i++) sceneForIndex(i, job.seed, CLASS_NAMES, terrain.provider, cfg, cache);
  return { seconds: (performance.now() - t0) / 1000, count: job.count };
}

function inWorker(job: Job): Promise<{ seconds: number; count: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: job });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

async function measure(spec: TerrainSpec, workers: number, count: number): Promise<number> {
  const per = Math.ceil(count / workers);
  const jobs = Array.from({ length: workers }, (_, k) => inWorker({ spec, start: k * per, count: per, seed: 7 }));
  const t0 = performance.now();
  const res = await Promise.all(jobs);
  const wall = Math.max(...res.map((r) => r.seconds));
  void t0;
  return res.reduce((a, r) => a + r.count, 0) / wall;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const ci = args.indexOf('--count');
  const count = ci >= 0 ? Number(args[ci + 1]) : 300;
  const di = args.indexOf('--dem-dir');
  const demDir = di >= 0 ? args[di + 1]! : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/dem/srtm3');
  const specs: [string, TerrainSpec][] = [['procedural', { kind: 'procedural' }]];
  if (fs.existsSync(demDir)) specs.push(['srtm3', { kind: 'srtm', path: demDir }]);
  const results: Record<string, { w1: number; w2: number }> = {};
  for (const [name, spec] of specs) {
    const w1 = await measure(spec, 1, Math.ceil(count / 2));
    const w2 = await measure(spec, 2, count);
    results[name] = { w1, w2 };
    if (!json) console.log(`${name.padEnd(11)} 224x224 scenes: ${w1.toFixed(1)} /s on 1 worker, ${w2.toFixed(1)} /s on 2 workers`);
  }
  const main = results['procedural']!;
  if (json) {
    console.log(JSON.stringify({
      scenes_per_s: Number(main.w2.toFixed(2)), scenes_per_s_1_worker: Number(main.w1.toFixed(2)),
      ...(results['srtm3'] ? { srtm3_scenes_per_s: Number(results['srtm3'].w2.toFixed(2)) } : {}),
      size: 224, cores: os.availableParallelism(), count,
    }));
  }
}

if (isMainThread) {
  main().catch((e) => { console.error(e); process.exitCode = 1; });
} else {
  runJob(workerData as Job).then((r) => parentPort!.postMessage(r));
}
