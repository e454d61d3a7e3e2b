import { randomUUID } from 'node:crypto';
import { SqliteStore } from '@codexos/multi-agent-orchestrator';
import { openServerDb } from '../../src/db.js';
import { redisServerStore, sqliteServerStore } from '../../src/store/index.js';
import { serverStoreConformance } from './conformance.js';

// Both backends of the server's state, held to one contract. Redis runs when REDIS_URL is set (the global set-up
// starts a redis-server when one is installed); each test gets its own key prefix.

serverStoreConformance('sqlite', () => {
  const state = new SqliteStore(':memory:');
  const store = sqliteServerStore(openServerDb(state, ':memory:').db);
  return { ...store, close: async () => void (await state.close()) };
});

const url = process.env.REDIS_URL;
if (url) serverStoreConformance('redis', () => redisServerStore(url, `cdx-conf-${randomUUID()}`));
