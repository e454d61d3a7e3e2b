import type { OrchestratorConfig } from '../config.js';
import { CodexError, ErrorCodes } from '../errors.js';
import { MemoryStore } from './memory-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { StateStore } from './types.js';

/** Built-in stores by config; pass your own `StateStore` to the orchestrator to use anything else. */
export function createStore(cfg: OrchestratorConfig['store']): StateStore {
  switch (cfg.type) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite':
      return new SqliteStore(cfg.path);
    default:
      throw new CodexError(
        ErrorCodes.CONFIG_INVALID,
        `store type "${cfg.type}" needs a StateStore instance passed as options.store`,
      );
  }
}
