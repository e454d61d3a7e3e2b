import { afterEach, describe, expect, it } from 'vitest';
import { CollaborationManager } from '../../src/collab/index.js';
import { isCodexError } from '../../src/errors.js';
import { rawClient, server, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});
function manager(...args: ConstructorParameters<typeof CollaborationManager>) {
  const m = new CollaborationManager(...args);
  cleanups.push(() => m.close());
  return m;
}

describe('CollaborationManager', () => {
  it("runs the seed's collaborative example as written", async () => {
    const collaborationManager = manager({
      enableRealtime: true,
      maxParticipants: 10,
      sessionTimeout: 3_600_000,
      conflictResolution: 'operational-transform',
    });
    const workflow = { id: 'data-analysis-pipeline' };
    const sessionA = await collaborationManager.createSession(workflow.id, 'user-a');
    await collaborationManager.joinSession(sessionA.id, 'user-b');
    const log: string[] = [];
    collaborationManager.on('cursor:moved', ({ participantId, position }) =>
      log.push(`${participantId} is at position ${position.x},${position.y}`),
    );
    collaborationManager.on('updates:broadcast', ({ updates }) => {
      for (const update of updates) log.push(`Update: ${update.operation.type} at ${update.path.join('.')}`);
    });
    collaborationManager.moveCursor(sessionA.id, 'user-b', { x: 3, y: 4 });
    await collaborationManager.applyUpdate(sessionA.id, 'user-a', {
      operation: { type: 'set' },
      path: ['tasks', 'fetch-data', 'name'],
      value: 'Fetch',
      baseVersion: 0,
    });
    await waitFor(() => log.length === 2, 'events');
    expect(log).toEqual(['user-b is at position 3,4', 'Update: set at tasks.fetch-data.name']);
    expect(sessionA.strategy).toBe('operational-transform');
  });

  it('enforces maxParticipants with a clear error', async () => {
    const m = manager({ maxParticipants: 2 });
    const s = await m.createSession('wf', 'a');
    await m.joinSession(s.id, 'b');
    const err = await m.joinSession(s.id, 'c').catch((e) => e);
    expect(isCodexError(err, 'CDX_ERR_COLLAB_FULL')).toBe(true);
    expect(err.message).toMatch(/full: maxParticipants is 2/);
  });

  it('honours task locks, releases them on leave, and expires them', async () => {
    const m = manager();
    const s = await m.createSession('wf', 'a');
    await m.joinSession(s.id, 'b');
    const events: string[] = [];
    m.on('lock:acquired', (l) => events.push(`acquired ${l.taskId} ${l.holder}`));
    m.on('lock:released', (l) => events.push(`released ${l.taskId} ${l.reason}`));
    m.on('lock:expired', (l) => events.push(`expired ${l.taskId}`));
    m.lockTask(s.id, 't1', 'a');
    expect(() => m.lockTask(s.id, 't1', 'b')).toThrow(/locked by a/);
    await expect(
      m.applyUpdate(s.id, 'b', { operation: { type: 'set' }, path: ['tasks', 't1', 'name'], value: 'x' }),
    ).rejects.toThrow(/locked by a/);
    await m.applyUpdate(s.id, 'a', { operation: { type: 'set' }, path: ['tasks', 't1', 'name'], value: 'mine' });
    await m.applyUpdate(s.id, 'b', {
      operation: { type: 'set' },
      path: ['tasks', 't2', 'name'],
      value: 'other task is free',
    });
    await m.leaveSession(s.id, 'a');
    m.lockTask(s.id, 't1', 'b', 40);
    await waitFor(() => m.getLocks('wf').length === 0, 'expiry');
    expect(events).toEqual(['acquired t1 a', 'released t1 disconnect', 'acquired t1 b', 'expired t1']);
    expect(m.queryAudit({ workflowId: 'wf', action: 'rejected' })).toHaveLength(1);
  });

  it('refuses Yjs updates touching a task locked by someone else, and releases locks on disconnect', async () => {
    const srv = await server();
    cleanups.push(() => srv.close());
    const a = await rawClient(srv.url, 'wf-l', 'alice');
    const b = await rawClient(srv.url, 'wf-l', 'bob');
    await a.op({ operation: { type: 'set' }, path: ['tasks', 't1'], value: { name: 'One' } });
    await waitFor(() => b.doc.getMap('tasks').size === 1, 'sync');
    const sid = srv.manager.activeSession('wf-l')?.id as string;
    srv.manager.lockTask(sid, 't1', 'alice');
    (b.doc.getMap('tasks').get('t1') as import('yjs').Map<unknown>).set('name', 'Bob was here');
    await waitFor(() => b.denied.length === 1, 'denied');
    expect(b.denied[0]).toMatch(/locked/);
    expect((await srv.manager.getDocument('wf-l')).tasks).toEqual({ t1: { name: 'One' } });
    a.close();
    await waitFor(() => srv.manager.getLocks('wf-l').length === 0, 'released on disconnect');
  });

  it('keeps a complete, append-only audit trail of a scripted session', async () => {
    const m = manager({}, { storePath: ':memory:' });
    const s = await m.createSession('wf', 'alice');
    await m.joinSession(s.id, 'bob');
    m.setRole('wf', 'carol', 'viewer', 'alice');
    await m.joinSession(s.id, 'carol');
    await m.applyUpdate(s.id, 'alice', {
      operation: { type: 'set' },
      path: ['tasks', 't1'],
      value: { name: 'One', dependencies: [] },
    });
    await m.applyUpdate(s.id, 'bob', { operation: { type: 'set' }, path: ['tasks', 't1', 'name'], value: 'Uno' });
    await m.applyUpdate(s.id, 'bob', {
      operation: { type: 'insert' },
      path: ['tasks', 't1', 'dependencies', 0],
      value: 't0',
    });
    await expect(
      m.applyUpdate(s.id, 'carol', { operation: { type: 'delete' }, path: ['tasks', 't1'] }),
    ).rejects.toThrow(/viewer/);
    expect(() => m.setRole('wf', 'bob', 'owner', 'bob')).toThrow(/Only an owner/);
    await m.applyUpdate(s.id, 'alice', { operation: { type: 'delete' }, path: ['tasks', 't1', 'dependencies', 0] });
    await m.endSession(s.id);
    const trail = m
      .queryAudit({ workflowId: 'wf' })
      .map((e) =>
        [e.userId, e.action, e.path ?? '', JSON.stringify(e.oldValue) ?? '', JSON.stringify(e.newValue) ?? '']
          .filter(Boolean)
          .join(' '),
      );
    expect(trail).toEqual([
      'alice session',
      'alice join',
      'bob join',
      'alice role carol "viewer"',
      'carol join',
      'alice set tasks.t1 {"name":"One","dependencies":[]}',
      'bob set tasks.t1.name "One" "Uno"',
      'bob insert tasks.t1.dependencies.0 "t0"',
      'carol rejected tasks.t1',
      'alice delete tasks.t1.dependencies.0 "t0"',
      'system session',
    ]);
    expect(() => m.store.db.prepare('DELETE FROM collab_audit').run()).toThrow(/append-only/);
    expect(m.queryAudit({ userId: 'bob', pathPrefix: 'tasks.t1' })).toHaveLength(2);
  });

  it('persists documents across managers sharing a SQLite file', async () => {
    const path = `/tmp/collab-${process.pid}-${Date.now()}.db`;
    const m1 = new CollaborationManager({}, { storePath: path });
    const s = await m1.createSession('wf', 'a');
    await m1.applyUpdate(s.id, 'a', { operation: { type: 'set' }, path: ['meta', 'name'], value: 'Persisted' });
    await m1.close();
    const m2 = manager({}, { storePath: path });
    expect((await m2.getDocument('wf')).meta).toEqual({ name: 'Persisted' });
    expect(m2.roleFor('wf', 'a')).toBe('owner');
  });

  it('creates the directory of a store path that does not exist yet, as the state store does', async () => {
    const path = `/tmp/collab-dir-${process.pid}-${Date.now()}/nested/collab.db`;
    const m = manager({}, { storePath: path });
    const s = await m.createSession('wf', 'a');
    await m.applyUpdate(s.id, 'a', { operation: { type: 'set' }, path: ['meta', 'name'], value: 'Here' });
    expect((await m.getDocument('wf')).meta).toEqual({ name: 'Here' });
  });
});

describe.skipIf(!process.env.REDIS_URL)('several server processes over Redis pub/sub', () => {
  it('clients on two servers edit one workflow and converge; presence crosses servers', async () => {
    const prefix = `t${Date.now()}${Math.floor(Math.random() * 1e6)}`;
    const s1 = await server({ managerOptions: { redis: process.env.REDIS_URL, redisKeyPrefix: prefix } });
    const s2 = await server({ managerOptions: { redis: process.env.REDIS_URL, redisKeyPrefix: prefix } });
    cleanups.push(
      () => s1.close(),
      () => s2.close(),
    );
    const a = await rawClient(s1.url, 'wf-r', 'alice');
    await a.op({ operation: { type: 'set' }, path: ['tasks', 'before'], value: { name: 'made before s2 opened it' } });
    const b = await rawClient(s2.url, 'wf-r', 'bob');
    await waitFor(() => b.doc.getMap('tasks').has('before'), 'state from the other process');
    await b.op({ operation: { type: 'set' }, path: ['tasks', 't2'], value: { name: 'B' } });
    a.doc.getMap('tasks').set('t3', 'from a');
    await waitFor(
      () => a.doc.getMap('tasks').size === 3 && b.doc.getMap('tasks').size === 3,
      'cross-process convergence',
    );
    a.setPresence({ cursor: { x: 1, y: 2 } });
    await waitFor(() => b.presence.has(a.doc.clientID), 'presence across processes');
  });
});
