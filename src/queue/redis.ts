/**
 * Where the queue lives: a Redis URL (`redis://[user:password@]host[:port][/db]`, `rediss://` for
 * TLS) as BullMQ connection options, and a first contact that fails fast: an unreachable server
 * is one InputError within a few seconds, not a client retrying forever.
 */
import type { RedisOptions } from 'bullmq';
import { InputError } from '../core/errors.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_QUEUE = 'caldera';

/** Connection options for a URL; InputError when it is not a Redis URL. */
export function redisOptions(url: string): RedisOptions & { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InputError(`not a Redis URL: '${url}' (expected redis://HOST:PORT, e.g. ${DEFAULT_REDIS_URL})`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new InputError(`not a Redis URL: '${url}' (expected redis:// or rediss://)`);
  const port = u.port ? Number(u.port) : 6379;
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new InputError(`Redis URL '${url}': the database after the / must be a number`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new InputError(`Redis URL '${url}' has no host`);
  return {
    host, port, db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // Workers block on Redis; BullMQ wants commands to wait for a reconnect rather than fail.
    maxRetriesPerRequest: null,
  };
}

/** `url` without its password, for messages and logs. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/**
 * Reach Redis once, with no retries and a short timeout; InputError naming the URL and the reason
 * (refused, timed out, authentication) when it cannot be reached.
 */
export async function checkRedis(url: string, timeoutMs = 4000): Promise<void> {
  const { Queue } = await import('bullmq');
  const probe = new Queue('caldera-probe', {
    connection: { ...redisOptions(url), retryStrategy: () => null, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true },
  });
  const errors: string[] = [];
  probe.on('error', (e: Error) => errors.push(e.message));
  let timer: NodeJS.Timeout | undefined;
  try {
    const client = await Promise.race([
      probe.client,
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs / 1000} s`)), timeoutMs + 500); }),
    ]);
    await client.info();
  } catch (e) {
    const why = errors.find((m) => m.length > 0) ?? (e as Error).message;
    throw new InputError(`cannot reach Redis at ${safeUrl(url)} (${why.split('\n')[0]}); is redis-server running there, and is --redis right?`, { cause: e });
  } finally {
    clearTimeout(timer);
    await probe.close().catch(() => undefined);
  }
}
