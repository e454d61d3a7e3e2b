import { connectRedis, type MultiAgentOrchestrator, RedisStore, redisTarget } from '@codexos/multi-agent-orchestrator';
import type { ServerDb } from '../db.js';
import { RedisAuditRepo, RedisMetaRepo, RedisRoleRepo, RedisUserTokenRepo } from './redis-access.js';
import { type RedisClient, serverKeys } from './redis-keys.js';
import { RedisRevocationFeed } from './redis-revocations.js';
import { RedisRunRepo } from './redis-runs.js';
import { RedisWorkflowRepo } from './redis-workflows.js';
import { SqliteAuditRepo, SqliteMetaRepo, SqliteRoleRepo, SqliteUserTokenRepo } from './sqlite-access.js';
import { SqliteWriteBatch } from './sqlite-batch.js';
import { SqliteRunRepo } from './sqlite-runs.js';
import { SqliteWorkflowRepo } from './sqlite-workflows.js';
import type { ServerStore } from './types.js';

export { RedisAuditRepo, RedisMetaRepo, RedisRoleRepo, RedisUserTokenRepo } from './redis-access.js';
export { type RedisClient, type ServerKeys, serverKeys } from './redis-keys.js';
export { RedisRevocationFeed } from './redis-revocations.js';
export { RedisRunRepo } from './redis-runs.js';
export { RedisWorkflowRepo } from './redis-workflows.js';
export { SqliteAuditRepo, SqliteMetaRepo, SqliteRoleRepo, SqliteUserTokenRepo } from './sqlite-access.js';
export { SqliteWriteBatch } from './sqlite-batch.js';
export { SqliteRunRepo } from './sqlite-runs.js';
export { SqliteWorkflowRepo } from './sqlite-workflows.js';
export type * from './types.js';

/** The server's state in its SQLite tables (the state store's file, or a file of its own). */
export function sqliteServerStore(db: ServerDb): ServerStore {
  // Pins and audit entries of one event-loop turn share a commit.
  const batch = new SqliteWriteBatch(db);
  return {
    kind: 'sqlite',
    workflows: new SqliteWorkflowRepo(db),
    users: new SqliteUserTokenRepo(db),
    roles: new SqliteRoleRepo(db),
    audit: new SqliteAuditRepo(db, batch),
    meta: new SqliteMetaRepo(db),
    runs: new SqliteRunRepo(db, batch),
    close: async () => batch.flush(),
  };
}

/**
 * The server's state in Redis under `<prefix>:srv:`. A client passed in is shared (left open on close); a
 * `redis://` URL gets a connection of its own.
 */
export function redisServerStore(redis: RedisClient | string, prefix = 'codexos'): ServerStore {
  const owned = typeof redis === 'string';
  const client = owned ? connectRedis(redisTarget(redis), 'codexos-server') : redis;
  const keys = serverKeys(prefix);
  const revocations = new RedisRevocationFeed(client, keys.revocations);
  return {
    kind: 'redis',
    workflows: new RedisWorkflowRepo(client, keys),
    users: new RedisUserTokenRepo(client, keys),
    roles: new RedisRoleRepo(client, keys),
    audit: new RedisAuditRepo(client, keys),
    meta: new RedisMetaRepo(client, keys),
    runs: new RedisRunRepo(client, keys),
    revocations,
    close: async () => {
      await revocations.close();
      if (owned) await client.quit().catch(() => client.disconnect());
    },
  };
}

/** Where a server keeps its state: beside the orchestrator's executions (Redis when they are in Redis). */
export function serverStoreFor(o: MultiAgentOrchestrator, db: ServerDb): ServerStore {
  // The store's own prefix, read back from its key layout (`<prefix>:store:meta`).
  if (o.store instanceof RedisStore)
    return redisServerStore(o.store.redis, o.store.keys.meta.slice(0, -':store:meta'.length));
  return sqliteServerStore(db);
}
