/**
 * A real Redis for the queue tests: `redis-server` (Debian's package) started on a free port of
 * 127.0.0.1, with no persistence, in a temporary folder; stopped (and the folder removed) by
 * `stop()`. `startRedis()` resolves to null when `redis-server` is not installed, so the tests can
 * skip with a message (`.ci/run` installs it).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export const NO_REDIS_MESSAGE = 'redis-server is not installed (apt-get install redis-server; .ci/run does it): the queue tests against a real Redis are skipped';

/** The path of redis-server, or null. */
export function redisServerPath(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : null;
}

/** A TCP port of 127.0.0.1 that nothing listens on (at the time of asking). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const done = (ok: boolean): void => { c.destroy(); resolve(ok); };
    c.setTimeout(500, () => done(false));
    c.on('error', () => done(false));
    c.on('connect', () => c.write('PING\r\n'));
    c.on('data', (d) => { got += d.toString(); if (got.includes('\r\n')) done(got.startsWith('+PONG')); });
  });
}

/** Start redis-server on a free 127.0.0.1 port (null when it is not installed). */
export async function startRedis(): Promise<TestRedis | null> {
  const bin = redisServerPath();
  if (!bin) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-redis-'));
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes'], { stdio: 'ignore' });
    let exited = false;
    child.on('exit', () => { exited = true; });
    for (let i = 0; i < 100 && !exited; i++) {
      if (await ping(port)) {
        return {
          url: `redis://127.0.0.1:${port}`, port,
          stop: () => new Promise<void>((resolve) => {
            const finish = (): void => { fs.rmSync(dir, { recursive: true, force: true }); resolve(); };
            if (exited) return finish();
            child.once('exit', finish);
            child.kill('SIGTERM');
          }),
        };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!exited) child.kill('SIGKILL');
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw new Error('redis-server did not start (3 attempts on free ports of 127.0.0.1)');
}
