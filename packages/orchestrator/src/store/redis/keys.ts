// The key layout of the Redis store. Ids go inside `{...}` so an execution's header and log share a cluster hash
// slot, and distinct roots (`exec`, `log`) keep an id containing ':' from colliding with another key.

/** Names of the Redis keys the Redis state store reads and writes under one key prefix. */
export interface RedisKeys {
  /** Hash: `schemaVersion` of the data under this prefix. */
  meta: string;
  /** Sorted set of every execution id, scored by startedAt. */
  all: string;
  /** Hash: one execution's header (JSON values per field). */
  exec(executionId: string): string;
  /** List: one execution's transitions in order (JSON, one entry each). */
  log(executionId: string): string;
  /** String with a PX expiry: `{ owner, expiresAt }` of the process driving the execution. */
  lease(executionId: string): string;
  /** Sorted set of one workflow's execution ids, scored by startedAt. */
  workflow(workflowId: string): string;
  /** Pub/sub channel: the id of an execution another process recorded a signal for. */
  signals: string;
}

/** The Redis key names the Redis store uses under a prefix. */
export function redisKeys(prefix: string): RedisKeys {
  const p = `${prefix}:store`;
  return {
    meta: `${p}:meta`,
    all: `${p}:executions`,
    exec: (id) => `${p}:exec:{${id}}`,
    log: (id) => `${p}:log:{${id}}`,
    lease: (id) => `${p}:lease:{${id}}`,
    workflow: (id) => `${p}:wf:{${id}}`,
    signals: `${p}:signals`,
  };
}
