import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '@codexos/multi-agent-orchestrator';
import { describe, expect, it } from 'vitest';
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

describe('SQLite group commit of pins and audit entries', () => {
  it('writes of one turn commit in one transaction, in order; a failing write rejects alone; reads see queued writes', async () => {
    const state = new SqliteStore(':memory:');
    const { db } = openServerDb(state, ':memory:');
    const store = sqliteServerStore(db);
    let commits = 0;
    // Counts transactions that commit.
    const realTransaction = db.transaction.bind(db);
    (db as unknown as { transaction: typeof db.transaction }).transaction = ((fn: () => void) => {
      const t = realTransaction(fn);
      return () => {
        t();
        commits++;
      };
    }) as typeof db.transaction;
    try {
      const base = { ip: '127.0.0.1', method: 'POST', path: '/api/x', status: 200, outcome: 'ok' as const };
      const pin = (executionId: string) =>
        store.runs.pin({ executionId, workflowId: 'w', version: 1, startedBy: 'ada', startedAt: 1 });
      await pin('dup');
      const before = commits;
      const outcomes = await Promise.allSettled([
        store.audit.append({ ...base, at: 1 }),
        pin('e1'),
        pin('dup'),
        store.audit.append({ ...base, at: 2 }),
        pin('e2'),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      // The batch tried once as a whole (rolled back by the duplicate), then wrote each on its own.
      expect(commits - before).toBe(0);
      expect([...(await store.runs.getMany(['e1', 'e2', 'dup'])).keys()].sort()).toEqual(['dup', 'e1', 'e2']);
      expect((await store.audit.list(10)).map((e) => e.at)).toEqual([2, 1]);

      const n = commits;
      await Promise.all([pin('e3'), pin('e4'), store.audit.append({ ...base, at: 3 })]);
      expect(commits - n).toBe(1);
      // A read right after a write that was not awaited still sees it.
      void store.audit.append({ ...base, at: 4 });
      expect((await store.audit.list(1))[0].at).toBe(4);
    } finally {
      await store.close();
      await state.close();
    }
  });
});

describe('SQLite rows kept between reads (workflows, roles)', () => {
  it('a change through another connection to the same file is seen on the next read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cdx-wf-cache-'));
    const a = openServerDb({ kind: 'none' } as never, join(dir, 'server.db')).db;
    const b = openServerDb({ kind: 'none' } as never, join(dir, 'server.db')).db;
    try {
      const here = sqliteServerStore(a).workflows;
      const there = sqliteServerStore(b).workflows;
      const def = (tasks: number) => ({
        id: 'w',
        name: 'w',
        tasks: Array.from({ length: tasks }, (_, i) => ({ id: `t${i}`, agentId: 'x' })),
      });
      await here.save(def(1), 'ada', 'one');
      expect([(await here.get('w'))?.version, (await here.version('w'))?.version]).toEqual([1, 1]);
      await there.save(def(2), 'bob', 'two');
      expect((await here.get('w'))?.taskCount).toBe(2);
      expect((await here.version('w'))?.definition?.tasks).toHaveLength(2);
      await here.save(def(3), 'ada', 'three');
      expect((await here.get('w'))?.version).toBe(3);
      expect(await there.remove('w')).toBe(true);
      expect(await here.get('w')).toBeUndefined();
      expect(await here.version('w')).toBeUndefined();
      // What a caller does to a returned row does not change what the next read answers.
      await here.save(def(1), 'ada', 'again');
      const got = (await here.get('w')) as { name: string };
      got.name = 'changed';
      expect((await here.get('w'))?.name).toBe('w');

      const roles = sqliteServerStore(a).roles;
      const otherRoles = sqliteServerStore(b).roles;
      expect(await roles.get('w', 'bob')).toBeUndefined();
      await otherRoles.set('w', 'bob', 'viewer');
      expect(await roles.get('w', 'bob')).toBe('viewer');
      await roles.set('w', 'bob', 'editor');
      expect(await roles.get('w', 'bob')).toBe('editor');
      expect(await otherRoles.get('w', 'bob')).toBe('editor');
      await otherRoles.removeAll('w');
      expect(await roles.get('w', 'bob')).toBeUndefined();
      await roles.set('w', 'bob', 'owner');
      expect(await roles.remove('w', 'bob')).toBe(true);
      expect(await roles.get('w', 'bob')).toBeUndefined();
    } finally {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
