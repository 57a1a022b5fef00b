/**
 * Writing the static site (Node): `index.html` and `style.css` (`html.ts`), `caldera.js` (the page,
 * `page.ts`, bundled by esbuild from the same compiled modules the CLI runs, with tfjs and the
 * `geotiff` package: nothing from a CDN), the tfjs wasm binaries in `wasm/`, the model's files in
 * `model/` (checked first: metadata, size and SHA-256 of the weights), and `config.json` (where
 * the model is and its name). The folder works from any static host, or `caldera web --serve`.
 *
 * The bundle is built for the browser with no Node built-ins: a module of the page's graph that
 * imports `node:*` fails the build, so the page cannot silently depend on the file system.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../core/errors.js';
import { ensureWritableDir, writeFileAtomicSync } from '../io/atomic.js';
import { wasmBinaryDir } from '../engine/backend.js';
import { readArtifacts, MODEL_JSON } from '../engine/io-handler.js';
import { calderaPackageVersion } from '../engine/onnx-export.js';
import { DEFAULT_MODEL_DIR, readTrainedModelMeta } from '../engine/trained-model.js';
import { indexHtml, STYLE_CSS } from './html.js';

/** A file in a site folder that marks it as caldera's (so rewriting it never clobbers another folder). */
export const SITE_MARKER = '.caldera-web';
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

export interface SiteOptions {
  /** Model directory (default: the bundled models/default). */
  readonly model?: string;
  /** Minify the bundle (default true). */
  readonly minify?: boolean;
}

export interface Site {
  readonly dir: string;
  /** Files written, relative to `dir`. */
  readonly files: string[];
  readonly bytes: number;
  /** The model's name in the page's records. */
  readonly modelName: string;
}

/** The page's entry module, beside this one (dist/src/web/page.js when running from dist). */
export function pageEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const entry = path.join(path.dirname(here), `page${path.extname(here)}`);
  if (!fs.existsSync(entry)) throw new InputError(`${entry}: the web page's module is missing (build caldera first: npm run build)`);
  return entry;
}

/** Refuse to write into a folder that has other things in it and is not a caldera site. */
function checkOutDir(dir: string): void {
  if (!fs.existsSync(dir)) return;
  if (!fs.statSync(dir).isDirectory()) throw new InputError(`${dir}: exists and is not a folder`);
  const entries = fs.readdirSync(dir);
  if (entries.length > 0 && !entries.includes(SITE_MARKER)) {
    throw new InputError(`${dir}: not empty and not a caldera site; give an empty or new folder`);
  }
}

/** Bundle the page into `outFile` with esbuild (browser, ESM, no Node built-ins). */
export async function bundlePage(outFile: string, opts: { minify?: boolean } = {}): Promise<void> {
  const esbuild = await import('esbuild');
  try {
    await esbuild.build({
      entryPoints: [pageEntry()],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: ['chrome100', 'firefox100', 'safari15'],
      minify: opts.minify ?? true,
      legalComments: 'linked',
      outfile: outFile,
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'silent',
    });
  } catch (e) {
    const errors = (e as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors ?? [];
    const first = errors[0];
    const where = first?.location ? ` (${first.location.file}:${first.location.line})` : '';
    throw new Error(`bundling the web page failed: ${first ? first.text + where : (e as Error).message}`, { cause: e });
  }
}

function copy(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

/** Write the site into `dir` (created; a previous site there is replaced). */
export async function writeSite(dir: string, opts: SiteOptions = {}): Promise<Site> {
  const modelDir = opts.model ?? DEFAULT_MODEL_DIR;
  checkOutDir(dir);
  // The model first: refuse a bad one before writing anything.
  await readTrainedModelMeta(modelDir);
  await readArtifacts(modelDir);
  const json = JSON.parse(fs.readFileSync(path.join(modelDir, MODEL_JSON), 'utf8')) as { weightsManifest: { paths: string[] }[] };
  const modelFiles = [MODEL_JSON, ...json.weightsManifest.flatMap((g) => g.paths)];
  if (fs.existsSync(path.join(modelDir, 'calibration.json'))) modelFiles.push('calibration.json');

  ensureWritableDir(dir);
  for (const sub of ['model', 'wasm']) fs.rmSync(path.join(dir, sub), { recursive: true, force: true });
  const files: string[] = [];
  const put = (rel: string, text: string): void => {
    writeFileAtomicSync(path.join(dir, rel), text);
    files.push(rel);
  };
  fs.writeFileSync(path.join(dir, SITE_MARKER), 'a site written by caldera web; caldera web may rewrite this folder\n');
  await bundlePage(path.join(dir, 'caldera.js'), opts);
  files.push('caldera.js');
  if (fs.existsSync(path.join(dir, 'caldera.js.LEGAL.txt'))) files.push('caldera.js.LEGAL.txt');
  const version = calderaPackageVersion();
  put('index.html', indexHtml(version));
  put('style.css', STYLE_CSS);
  const bundled = path.resolve(modelDir) === path.resolve(DEFAULT_MODEL_DIR);
  const modelName = bundled ? 'models/default' : modelDir.replace(/[\\/]+$/, '');
  const calibration = modelFiles.includes('calibration.json');
  put('config.json', `${JSON.stringify({ caldera: version, model: { path: 'model/', name: modelName, calibration } }, null, 2)}\n`);
  for (const f of modelFiles) {
    copy(path.join(modelDir, f), path.join(dir, 'model', f));
    files.push(`model/${f}`);
  }
  const wasm = wasmBinaryDir();
  for (const f of WASM_FILES) {
    if (!fs.existsSync(path.join(wasm, f))) continue;
    copy(path.join(wasm, f), path.join(dir, 'wasm', f));
    files.push(`wasm/${f}`);
  }
  const bytes = files.reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
  return { dir, files, bytes, modelName };
}
