import type { OrchestratorConfig } from '../config.js';
import { CodexError, ErrorCodes } from '../errors.js';
import { MemoryStore } from './memory-store.js';
import { RedisStore } from './redis/redis-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { StateStore } from './types.js';

/** Built-in stores by config; pass your own `StateStore` to the orchestrator to use anything else. */
export function createStore(cfg: OrchestratorConfig['store'], redis?: OrchestratorConfig['redis']): StateStore {
  switch (cfg.type) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite':
      return new SqliteStore(cfg.path);
    case 'redis':
      // Without a `redis` section: localhost:6379 under the `codexos` prefix (the section's defaults).
      return new RedisStore({
        redis: redis?.url ?? {
          host: redis?.host ?? 'localhost',
          port: redis?.port ?? 6379,
          password: redis?.password,
          db: redis?.db,
        },
        keyPrefix: redis?.keyPrefix ?? 'codexos',
      });
    default:
      throw new CodexError(
        ErrorCodes.CONFIG_INVALID,
        `store type "${cfg.type}" needs a StateStore instance passed as options.store`,
      );
  }
}
