import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Definition, ServerStore } from '../../src/store/types.js';

// The ServerStore contract (workflows, users and tokens, roles, audit, settings), run against every backend.

const def = (id: string, name = `Workflow ${id}`, tasks = 1): Definition => ({
  id,
  name,
  tasks: Array.from({ length: tasks }, (_, i) => ({ id: `t${i}`, agentId: 'worker' })),
});
const hash = (s: string) => createHash('sha256').update(s).digest();

/** Runs the contract against a fresh, empty store from `make` per test. */
export function serverStoreConformance(name: string, make: () => Promise<ServerStore> | ServerStore): void {
  describe(`ServerStore conformance: ${name}`, () => {
    const withStore = (fn: (s: ServerStore) => Promise<void>) => async () => {
      const s = await make();
      try {
        await fn(s);
      } finally {
        await s.close();
      }
    };

    it(
      'saves numbered immutable versions; reads the current or any one; lists versions newest first',
      withStore(async (s) => {
        const w = s.workflows;
        expect(await w.get('a')).toBeUndefined();
        expect(await w.version('a')).toBeUndefined();
        const first = await w.save({ ...def('a', 'First', 2), description: 'about a' }, 'ada', 'created');
        expect(first.version).toMatchObject({ workflowId: 'a', version: 1, author: 'ada', message: 'created' });
        expect(first.workflow).toMatchObject({ id: 'a', name: 'First', version: 1, taskCount: 2, createdBy: 'ada' });
        expect(first.workflow.description).toBe('about a');
        const second = await w.save(def('a', 'Second', 3), 'bob', 'renamed');
        expect(second.workflow).toMatchObject({ version: 2, name: 'Second', taskCount: 3, createdBy: 'ada' });
        expect(second.workflow.description).toBeUndefined();
        expect(second.workflow.createdAt).toBe(first.workflow.createdAt);
        expect((await w.version('a'))?.definition).toMatchObject({ name: 'Second' });
        expect((await w.version('a', 1))?.definition).toEqual({ ...def('a', 'First', 2), description: 'about a' });
        expect(await w.version('a', 3)).toBeUndefined();
        await w.save(def('a', 'Third'), 'ada', 'third');
        const all = await w.versions('a', 10);
        expect(all.map((v) => [v.version, v.author, v.message])).toEqual([
          [3, 'ada', 'third'],
          [2, 'bob', 'renamed'],
          [1, 'ada', 'created'],
        ]);
        expect(all.every((v) => v.definition === undefined)).toBe(true);
        expect((await w.versions('a', 1, 3)).map((v) => v.version)).toEqual([2]);
        expect(await w.versions('a', 5, 1)).toEqual([]);
        expect(await w.versions('missing', 5)).toEqual([]);
      }),
    );

    it(
      'lists by id with a cursor, a text filter and a visibility set; counts; removes with every version',
      withStore(async (s) => {
        const w = s.workflows;
        for (const id of ['delta', 'alpha', 'charlie', 'bravo'])
          await w.save(def(id, `Name ${id.toUpperCase()}`), 'ada', 'c');
        expect(await w.count()).toBe(4);
        expect((await w.list({ limit: 2 })).map((x) => x.id)).toEqual(['alpha', 'bravo']);
        expect((await w.list({ limit: 10, after: 'bravo' })).map((x) => x.id)).toEqual(['charlie', 'delta']);
        expect((await w.list({ limit: 10, q: 'LIE' })).map((x) => x.id)).toEqual(['charlie']);
        expect((await w.list({ limit: 10, q: 'name d' })).map((x) => x.id)).toEqual(['delta']);
        const ids = new Set(['delta', 'bravo', 'ghost']);
        expect((await w.list({ limit: 10, ids })).map((x) => x.id)).toEqual(['bravo', 'delta']);
        expect((await w.list({ limit: 1, ids, after: 'bravo' })).map((x) => x.id)).toEqual(['delta']);
        expect(await w.list({ limit: 10, ids: new Set() })).toEqual([]);
        expect(await w.remove('bravo')).toBe(true);
        expect(await w.remove('bravo')).toBe(false);
        expect(await w.get('bravo')).toBeUndefined();
        expect(await w.version('bravo', 1)).toBeUndefined();
        expect(await w.count()).toBe(3);
        // A workflow saved again after removal starts over at version 1.
        expect((await w.save(def('bravo'), 'ada', 'again')).version.version).toBe(1);
      }),
    );

    it(
      'concurrent saves of one workflow get distinct version numbers with no gaps',
      withStore(async (s) => {
        const n = 25;
        const saved = await Promise.all(
          Array.from({ length: n }, (_, i) => s.workflows.save(def('race', `v${i}`), `u${i}`, `m${i}`)),
        );
        const numbers = saved.map((x) => x.version.version).sort((a, b) => a - b);
        expect(numbers).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        expect((await s.workflows.get('race'))?.version).toBe(n);
        const listed = await s.workflows.versions('race', 100);
        expect(listed).toHaveLength(n);
        // Each number holds the save that got it.
        for (const x of saved)
          expect((await s.workflows.version('race', x.version.version))?.author).toBe(x.version.author);
      }),
    );

    it(
      'users and tokens: role upserts, hashes only, revoke once, newest first with a cursor',
      withStore(async (s) => {
        const u = s.users;
        await u.upsertUser('ada', 'member', 1);
        expect(await u.getUser('ada')).toEqual({ id: 'ada', role: 'member' });
        await u.upsertUser('ada', 'admin', 2);
        expect(await u.getUser('ada')).toEqual({ id: 'ada', role: 'admin' });
        expect(await u.getUser('nobody')).toBeUndefined();
        await u.upsertUser('bob', 'member', 3);
        await u.insertToken({ id: 't1', userId: 'ada', hash: hash('s1'), name: 'laptop', createdAt: 100 });
        await u.insertToken({ id: 't3', userId: 'bob', hash: hash('s3'), createdAt: 200 });
        await u.insertToken({ id: 't2', userId: 'bob', hash: hash('s2'), createdAt: 200 });
        const t1 = await u.token('t1');
        expect(t1).toMatchObject({ id: 't1', userId: 'ada', role: 'admin', name: 'laptop', createdAt: 100 });
        expect(t1?.hash.equals(hash('s1'))).toBe(true);
        expect(t1?.revokedAt).toBeUndefined();
        expect(await u.token('nope')).toBeUndefined();
        expect(await u.countTokens()).toBe(3);
        expect((await u.listTokens(10)).map((t) => t.id)).toEqual(['t3', 't2', 't1']);
        expect((await u.listTokens(1, [200, 't3'])).map((t) => t.id)).toEqual(['t2']);
        expect((await u.listTokens(10, [200, 't2'])).map((t) => t.id)).toEqual(['t1']);
        await u.touchToken('t1', 150);
        expect((await u.token('t1'))?.lastUsedAt).toBe(150);
        await u.touchToken('ghost', 150);
        expect(await u.token('ghost')).toBeUndefined();
        expect(await u.revokeToken('t1', 160)).toBe(true);
        expect(await u.revokeToken('t1', 170)).toBe(false);
        expect(await u.revokeToken('ghost', 170)).toBe(false);
        expect((await u.token('t1'))?.revokedAt).toBe(160);
        expect(await u.countTokens()).toBe(3);
      }),
    );

    it(
      'roles: set, change, list by workflow, workflows of a user, remove one or all',
      withStore(async (s) => {
        const r = s.roles;
        await r.set('w1', 'bob', 'viewer');
        await r.set('w1', 'ada', 'owner');
        await r.set('w2', 'bob', 'editor');
        await r.set('w1', 'bob', 'editor');
        expect(await r.get('w1', 'bob')).toBe('editor');
        expect(await r.get('w1', 'eve')).toBeUndefined();
        expect(await r.list('w1')).toEqual([
          { userId: 'ada', role: 'owner' },
          { userId: 'bob', role: 'editor' },
        ]);
        expect((await r.workflowsOf('bob')).sort()).toEqual(['w1', 'w2']);
        expect(await r.remove('w2', 'bob')).toBe(true);
        expect(await r.remove('w2', 'bob')).toBe(false);
        expect(await r.workflowsOf('bob')).toEqual(['w1']);
        await r.removeAll('w1');
        expect(await r.list('w1')).toEqual([]);
        expect(await r.workflowsOf('bob')).toEqual([]);
        expect(await r.workflowsOf('ada')).toEqual([]);
      }),
    );

    it(
      'the audit appends with growing sequence numbers and answers newest first, filtered and paged',
      withStore(async (s) => {
        const a = s.audit;
        const base = { ip: '127.0.0.1', method: 'POST', path: '/api/x', status: 200, outcome: 'ok' as const };
        await a.append({ ...base, at: 1, userId: 'ada', tokenId: 'k1', route: '/api/x' });
        await a.append({ ...base, at: 2, status: 401, outcome: 'denied' });
        await a.append({ ...base, at: 3, userId: 'bob', status: 403, outcome: 'denied' });
        await a.append({ ...base, at: 4, userId: 'ada' });
        const all = await a.list(10);
        expect(all.map((e) => e.at)).toEqual([4, 3, 2, 1]);
        const seqs = all.map((e) => e.seq);
        expect(seqs).toEqual([...seqs].sort((x, y) => y - x));
        expect(new Set(seqs).size).toBe(4);
        expect(all[3]).toEqual({ ...base, seq: seqs[3], at: 1, userId: 'ada', tokenId: 'k1', route: '/api/x' });
        expect(all[2]).toEqual({ ...base, seq: seqs[2], at: 2, status: 401, outcome: 'denied' });
        expect((await a.list(10, { userId: 'ada' })).map((e) => e.at)).toEqual([4, 1]);
        expect((await a.list(10, { outcome: 'denied' })).map((e) => e.at)).toEqual([3, 2]);
        expect((await a.list(2, { beforeSeq: seqs[1] })).map((e) => e.at)).toEqual([2, 1]);
        expect((await a.list(1, { beforeSeq: seqs[0], userId: 'ada' })).map((e) => e.at)).toEqual([1]);
      }),
    );

    it(
      'run pins: recorded, read one or many, flagged interrupted and cleared, models kept; unknown runs ignored',
      withStore(async (s) => {
        const r = s.runs;
        expect(await r.get('e1')).toBeUndefined();
        await r.pin({ executionId: 'e1', workflowId: 'w', version: 2, startedBy: 'ada', startedAt: 10 });
        await r.pin({ executionId: 'e2', workflowId: 'w', version: 1, startedBy: 'bob', startedAt: 11 });
        expect(await r.get('e1')).toEqual({
          executionId: 'e1',
          workflowId: 'w',
          version: 2,
          startedBy: 'ada',
          startedAt: 10,
          interrupted: false,
        });
        const many = await r.getMany(['e2', 'missing', 'e1']);
        expect([...many.keys()].sort()).toEqual(['e1', 'e2']);
        expect(many.get('e2')).toMatchObject({ version: 1, startedBy: 'bob' });
        expect((await r.getMany([])).size).toBe(0);
        await r.setInterrupted(['e1', 'e2', 'missing'], true);
        expect((await r.interrupted()).sort()).toEqual(['e1', 'e2']);
        expect(await r.get('missing')).toBeUndefined();
        await r.setInterrupted(['e2'], false);
        expect(await r.interrupted()).toEqual(['e1']);
        expect((await r.get('e1'))?.interrupted).toBe(true);
        expect((await r.get('e2'))?.interrupted).toBe(false);
        await r.setModels('e1', { a: 'local', 'b#1': 'gpt' });
        await r.setModels('missing', { a: 'x' });
        expect((await r.get('e1'))?.models).toEqual({ a: 'local', 'b#1': 'gpt' });
        expect(await r.get('missing')).toBeUndefined();
      }),
    );

    it(
      'settings: unset, set, overwritten',
      withStore(async (s) => {
        expect(await s.meta.get('initialized')).toBeUndefined();
        await s.meta.set('initialized', '1');
        await s.meta.set('initialized', '2');
        expect(await s.meta.get('initialized')).toBe('2');
      }),
    );
  });
}
