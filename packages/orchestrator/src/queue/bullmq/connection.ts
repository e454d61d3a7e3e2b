import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { OrchestratorConfig } from '../../config.js';
import { CodexError, ErrorCodes } from '../../errors.js';

/** Where the distributed queue connects: ioredis options, a password-free host:port label and the key prefix. */
export interface RedisTarget {
  options: RedisOptions;
  /** host:port, for error messages (never the password). */
  label: string;
  prefix: string;
}

/** The `redis` config section (or a redis:// URL) as ioredis options; no section means localhost:6379. */
export function redisTarget(cfg?: OrchestratorConfig['redis'] | string): RedisTarget {
  const c = typeof cfg === 'string' ? { url: cfg } : (cfg ?? {});
  let options: RedisOptions;
  if (c.url) {
    let u: URL;
    try {
      u = new URL(c.url);
    } catch {
      throw new CodexError(ErrorCodes.CONFIG_INVALID, 'redis url is not a valid URL (expected redis://host:port)');
    }
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
      throw new CodexError(ErrorCodes.CONFIG_INVALID, `redis url must start with redis:// or rediss://`);
    options = {
      host: u.hostname || 'localhost',
      port: u.port ? Number(u.port) : 6379,
      username: u.username ? decodeURIComponent(u.username) : undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined,
      tls: u.protocol === 'rediss:' ? {} : undefined,
    };
  } else {
    const o = c as Exclude<OrchestratorConfig['redis'], undefined>;
    options = { host: o.host ?? 'localhost', port: o.port ?? 6379, password: o.password, db: o.db };
  }
  const prefix = (typeof cfg === 'object' && cfg?.keyPrefix) || 'codexos';
  return { options, label: `${options.host}:${options.port}`, prefix };
}

/** Connects once, failing within `timeoutMs` with an error naming host:port (never a hang on retries). */
export async function probeRedis(t: RedisTarget, timeoutMs: number): Promise<void> {
  const client = new Redis({
    ...t.options,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, rej) => {
        timer = setTimeout(() => rej(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    throw new CodexError(
      ErrorCodes.REDIS_UNAVAILABLE,
      `Redis at ${t.label} is unreachable: ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/** A long-lived client: BullMQ needs `maxRetriesPerRequest: null`; reconnects back off up to 1 s. */
export function connect(t: RedisTarget, name: string): Redis {
  const c = new Redis({
    ...t.options,
    connectionName: name,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
  // Errors surface through the queue's own checks (epoch, timeouts); an unhandled 'error' must not kill us.
  c.on('error', () => {});
  return c;
}

const corked = new WeakSet<object>();

/**
 * Holds the client's writes until this event-loop turn ends, so every command of the turn (outputs, job adds,
 * the event batch) leaves in one write: on a loaded machine each write to Redis costs more than what it carries.
 * Order is kept (one socket), and nothing waits longer than the turn. With `until: 'microtasks'` the writes leave
 * as soon as the promise chains running now have settled (a command chained on a reply's promise joins it, nothing
 * waits for the rest of the turn).
 */
export function coalesceWrites(c: Redis, until: 'turn' | 'microtasks' = 'turn'): void {
  const s = c.stream;
  if (!s || corked.has(s) || c.status !== 'ready') return;
  corked.add(s);
  s.cork();
  const release = () => {
    corked.delete(s);
    s.uncork();
  };
  if (until === 'turn') setImmediate(release);
  else process.nextTick(release);
}

/** Options for a connection BullMQ opens itself (blocking readers: workers, queue events). */
export function bullConnection(t: RedisTarget): ConnectionOptions {
  return {
    ...t.options,
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(times * 100, 1000),
  } as ConnectionOptions;
}
