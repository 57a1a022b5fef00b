/**
 * Serving a site folder on this machine only (Node): a small static file server bound to
 * 127.0.0.1 (GET and HEAD; files inside the folder only; `.wasm` as application/wasm so browsers
 * compile it while it downloads; no caching, so a rewritten site is picked up at once).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { InputError } from '../core/errors.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

export interface Served {
  /** http://127.0.0.1:PORT/ */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The file a request path names inside `root`, or null when it is outside, hidden or absent. */
export function fileFor(root: string, urlPath: string): string | null {
  let p: string;
  try {
    p = decodeURIComponent(urlPath.split('?')[0]!.split('#')[0]!);
  } catch {
    return null;
  }
  if (p.includes('\0')) return null;
  const rel = path.normalize(p).replace(/^([/\\])+/, '');
  if (rel.split(/[/\\]/).some((s) => s === '..' || (s.startsWith('.') && s !== '.'))) return null;
  let file = path.join(root, rel);
  if (!file.startsWith(path.resolve(root))) return null;
  try {
    if (fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    return fs.statSync(file).isFile() ? file : null;
  } catch {
    return null;
  }
}

/** Serve `dir` on 127.0.0.1:`port` (0: any free port). */
export async function serveDir(dir: string, opts: { port?: number } = {}): Promise<Served> {
  const root = path.resolve(dir);
  if (!fs.existsSync(path.join(root, 'index.html'))) throw new InputError(`${dir}: no index.html (write the site first: caldera web --out ${dir})`);
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`port must be an integer from 0 to 65535, got ${port}`);
  const server = http.createServer((req, res) => {
    const send = (code: number, text: string): void => {
      res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : `${text}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET and HEAD');
    const file = fileFor(root, req.url ?? '/');
    if (!file) return send(404, 'not found');
    res.writeHead(200, {
      'Content-Type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': fs.statSync(file).size,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.method === 'HEAD') return res.end();
    fs.createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE'
      ? new InputError(`port ${port} on 127.0.0.1 is in use; choose another with --port (0 = any free port)`)
      : e));
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${actual}/`,
    port: actual,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
