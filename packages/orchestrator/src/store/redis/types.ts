import type { Redis, RedisOptions } from 'ioredis';

/** Where the Redis store connects: an existing client (never closed by the store), a URL, or ioredis options. */
export type RedisConnection = Redis | string | RedisOptions;

/** Options of the Redis-backed state store: connection, key prefix and retention of finished executions. */
export interface RedisStoreOptions {
  /** An ioredis client (shared; the caller closes it), a `redis://` URL or ioredis options (the store's own client). */
  redis?: RedisConnection;
  /** Namespace of every key (`<keyPrefix>:store:...`); one Redis can hold many isolated CodexOS deployments. */
  keyPrefix?: string;
  /**
   * Seconds a finished (completed/failed/cancelled) execution is kept; unset keeps it until deleted. Expired
   * executions drop out of `listExecutions` lazily.
   */
  finishedTtlSeconds?: number;
}
