import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { PresenceTable } from '../../src/collab/presence.js';
import { encodeSync } from '../../src/collab/protocol/messages.js';
import { RawClient, rawClient, server, waitFor } from './helpers.js';

// Document lifecycle and hostile clients, over real WebSockets, real SQLite and (for the slow-load race) real Redis.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function open(url: string, wf: string, token: string): Promise<RawClient> {
  const c = new RawClient(url, wf, token);
  cleanups.push(() => c.close());
  await c.opened;
  return c;
}

describe('collaboration document lifecycle', () => {
  it('a document that fails to load is reported to its own clients (4503); the server and other documents live on', async () => {
    const srv = await server();
    cleanups.push(() => srv.close());
    const db = srv.manager.store.db;
    db.prepare('INSERT INTO collab_updates (workflow_id, data) VALUES (?, ?)').run('broken', Buffer.from([0, 5, 1, 2]));
    const first = await open(srv.url, 'broken', 'alice');
    await waitFor(() => !!first.closed, 'first refusal');
    // The second socket used to reach the load outside any try: an unhandled rejection that ended the process.
    const second = await open(srv.url, 'broken', 'bob');
    await waitFor(() => !!second.closed, 'second refusal');
    expect([first.closed?.code, second.closed?.code]).toEqual([4503, 4503]);
    expect(first.closed?.reason).toMatch(/could not be loaded/);
    expect(srv.manager.activeSession('broken')).toBeUndefined(); // no session left half-made
    const healthy = await rawClient(srv.url, 'fine', 'carol');
    cleanups.push(() => healthy.close());
    expect(healthy.synced).toBe(true);
    // Once the row is repaired the document loads: the failed load left nothing cached behind.
    db.prepare('DELETE FROM collab_updates WHERE workflow_id = ?').run('broken');
    const third = await rawClient(srv.url, 'broken', 'dave');
    cleanups.push(() => third.close());
    expect(third.synced && !third.closed).toBe(true);
  });

  it('rooms unload after the last disconnect with their writes flushed; ended sessions are collected', async () => {
    const srv = await server({ config: { limits: { retainEndedSessions: 5 } } });
    cleanups.push(() => srv.close());
    const m = srv.manager;
    const a = await rawClient(srv.url, 'wf', 'alice');
    const b = await rawClient(srv.url, 'wf', 'bob');
    await a.op({ operation: { type: 'set' }, path: ['tasks', 'fetch'], value: { name: 'Fetch' } });
    expect(m.loadedDocuments).toBe(1);
    a.close();
    b.close();
    await waitFor(() => m.loadedDocuments === 0, 'unload after the last disconnect');
    const c = await rawClient(srv.url, 'wf', 'carol');
    cleanups.push(() => c.close());
    expect(c.json().tasks).toEqual({ fetch: { name: 'Fetch' } }); // reloaded from SQLite
    c.close();
    await waitFor(() => m.loadedDocuments === 0, 'unload again');
    // 50 sessions started and ended through the API: neither sessions nor rooms pile up.
    for (let i = 0; i < 50; i++) {
      const s = await m.createSession(`api-${i}`, 'u');
      await m.endSession(s.id);
    }
    await waitFor(() => m.loadedDocuments === 0, 'API rooms unloaded');
    expect(m.sessions.size).toBeLessThanOrEqual(5 + 1);
    expect(m.active.size).toBe(1); // wf's session is still active (it ends by timeout)
  });

  it('persistence errors are caught and reported; the edits are written once the store recovers', async () => {
    const srv = await server();
    cleanups.push(() => srv.close());
    const m = srv.manager;
    const errors: string[] = [];
    m.on('store:error', (e) => errors.push(e.error.message));
    const a = await rawClient(srv.url, 'wf', 'alice');
    cleanups.push(() => a.close());
    const db = m.store.db;
    db.exec(`CREATE TRIGGER fail_writes BEFORE INSERT ON collab_updates BEGIN SELECT RAISE(ABORT, 'disk full'); END`);
    await a.op({ operation: { type: 'set' }, path: ['tasks', 'x'], value: { name: 'X' } });
    await waitFor(() => errors.length > 0, 'a reported store error');
    expect(errors[0]).toMatch(/disk full/);
    db.exec('DROP TRIGGER fail_writes');
    await a.op({ operation: { type: 'set' }, path: ['tasks', 'y'], value: { name: 'Y' } });
    await waitFor(() => m.store.pending === 0, 'the backlog written');
    const rows = db.prepare('SELECT COUNT(*) AS n FROM collab_updates WHERE workflow_id = ?').get('wf') as {
      n: number;
    };
    expect(rows.n).toBeGreaterThanOrEqual(2);
  });
});

/** A TCP proxy to Redis whose client→Redis direction can be held, to stretch a SUBSCRIBE at will. */
async function redisGate(target: URL): Promise<{ url: string; hold(): void; release(): void; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  let held = false;
  const srv: Server = createServer((c) => {
    const up = createConnection(Number(target.port), target.hostname);
    sockets.push(c, up);
    if (held) c.pause();
    c.pipe(up);
    up.pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    hold: () => {
      held = true;
      for (const s of sockets) if (s.remotePort !== Number(target.port)) s.pause();
    },
    release: () => {
      held = false;
      for (const s of sockets) s.resume();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

describe.skipIf(!process.env.REDIS_URL)('loads that take a while (Redis SUBSCRIBE held)', () => {
  it('sockets arriving during one load share it: one store read, one session', async () => {
    const gate = await redisGate(new URL(process.env.REDIS_URL as string));
    cleanups.push(() => gate.close());
    const srv = await server({
      managerOptions: { redis: gate.url, redisKeyPrefix: `dedupe-${process.pid}-${Date.now()}` },
    });
    cleanups.push(() => srv.close());
    const store = srv.manager.store;
    let reads = 0;
    const loadDoc = store.loadDoc.bind(store);
    store.loadDoc = (id: string) => {
      reads++;
      return loadDoc(id);
    };
    const created: string[] = [];
    srv.manager.on('session:created', (s) => created.push(s.id));
    await new Promise((r) => setTimeout(r, 100));
    gate.hold();
    const clients = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((u) => open(srv.url, 'wf', u)));
    gate.release();
    await waitFor(() => clients.every((c) => c.synced), 'all five synced');
    expect(reads).toBe(1);
    expect(created).toHaveLength(1);
    expect(srv.manager.activeSession('wf')?.participants).toHaveLength(5);
  });

  it('a socket that closes meanwhile is not attached: no ghost participant, the next user gets the seat', async () => {
    const gate = await redisGate(new URL(process.env.REDIS_URL as string));
    cleanups.push(() => gate.close());
    const srv = await server({
      config: { maxParticipants: 1 },
      managerOptions: { redis: gate.url, redisKeyPrefix: `ghost-${process.pid}-${Date.now()}` },
    });
    cleanups.push(() => srv.close());
    await new Promise((r) => setTimeout(r, 100)); // let both Redis connections finish their handshakes
    const joined: string[] = [];
    srv.manager.on('participant:joined', (e) => joined.push(e.participant.userId));
    gate.hold(); // the room's SUBSCRIBE now waits
    const early = new RawClient(srv.url, 'wf', 'alice');
    await early.opened;
    early.close();
    await waitFor(() => !!early.closed, 'alice gone');
    gate.release();
    // Alice joins once the load completes; let her connect() finish, then she must be gone again.
    await waitFor(() => joined.includes('alice'), 'the load to complete');
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    expect(srv.manager.activeSession('wf')?.participants).toEqual([]);
    const bob = await rawClient(srv.url, 'wf', 'bob');
    cleanups.push(() => bob.close());
    expect(bob.closed).toBeUndefined();
    expect(bob.synced).toBe(true);
    const s = srv.manager.activeSession('wf');
    expect(s?.participants.map((p) => p.userId)).toEqual(['bob']);
    expect(joined).toEqual(['alice', 'bob']);
  });
});

describe('close codes', () => {
  it('a stock client refused because the session is full reconnects by itself and gets in once a seat frees', async () => {
    const srv = await server({ config: { maxParticipants: 1 } });
    cleanups.push(() => srv.close());
    const first = await rawClient(srv.url, 'wf', 'alice');
    const codes: number[] = [];
    const p = new WebsocketProvider(srv.url, 'wf', new Y.Doc(), {
      WebSocketPolyfill: WebSocket as never,
      disableBc: true,
      params: { token: 'bob' },
    });
    cleanups.push(() => p.destroy());
    p.on('connection-close', (e: { code: number } | null) => {
      if (e) codes.push(e.code);
    });
    await waitFor(() => codes.length > 0, 'the refusal');
    expect(codes[0]).toBe(4509);
    first.close();
    await waitFor(() => p.synced, 'the stock client to reconnect and sync');
    expect(srv.manager.activeSession('wf')?.participants.map((x) => x.userId)).toEqual(['bob']);
  });
});

describe('presence and sockets under hostile clients', () => {
  it('a viewer announcing 12 000 fake client ids reaches editors with at most its cap; stock editors stay connected', async () => {
    const srv = await server({ config: { limits: { maxClientIdsPerConnection: 4 } } });
    cleanups.push(() => srv.close());
    const owner = await rawClient(srv.url, 'wf', 'owner');
    cleanups.push(() => owner.close());
    srv.manager.setRole('wf', 'viewer-1', 'viewer');
    const editorDoc = new Y.Doc();
    const editor = new WebsocketProvider(srv.url, 'wf', editorDoc, {
      WebSocketPolyfill: WebSocket as never,
      disableBc: true,
      params: { token: 'editor' },
    });
    cleanups.push(() => editor.destroy());
    let editorClosed: number | undefined;
    editor.on('connection-close', (e: { code: number } | null) => (editorClosed = e?.code));
    await waitFor(() => editor.synced, 'stock editor sync');
    editor.awareness.setLocalState({ name: 'editor' });
    const viewer = await rawClient(srv.url, 'wf', 'viewer-1');
    cleanups.push(() => viewer.close());
    for (let batch = 0; batch < 3; batch++)
      viewer.sendAwareness(
        Array.from({ length: 4000 }, (_, i) => ({ clientId: 1 + batch * 4000 + i, clock: 1, state: '{"fake":true}' })),
      );
    viewer.setPresence({ cursor: { x: 1, y: 2 } }); // its own client id: over the cap as well, so ignored too
    await waitFor(() => owner.presence.size >= 5, 'viewer presence at the owner');
    await new Promise((r) => setTimeout(r, 200)); // a stock client's echo, if any, has come back by now
    const fakesAtOwner = [...owner.presence.keys()].filter((id) => id <= 12_000).length;
    expect(fakesAtOwner).toBe(4);
    const fakesAtEditor = [...editor.awareness.getStates().keys()].filter((id) => id <= 12_000).length;
    expect(fakesAtEditor).toBe(4);
    expect(editorClosed).toBeUndefined();
    expect(editor.wsconnected).toBe(true);
    expect(viewer.closed).toBeUndefined();
  });

  it('a client that requests state 5000 times and never reads is closed with 4510 instead of buffering it all', async () => {
    const srv = await server({ config: { limits: { maxBufferedBytes: 256 * 1024 } } });
    cleanups.push(() => srv.close());
    await srv.manager.seedDocument('wf', {
      tasks: Array.from({ length: 200 }, (_, i) => ({ id: `t${i}`, name: `task ${i} `.repeat(20) })),
    });
    const ws = new WebSocket(`${srv.url}/wf?token=greedy`);
    cleanups.push(() => ws.terminate());
    await new Promise((r) => ws.once('open', r));
    let received = 0;
    let closed: number | undefined;
    ws.on('message', () => received++);
    ws.on('close', (code) => (closed = code));
    const raw = (ws as unknown as { _socket: Socket })._socket;
    raw.pause(); // stop reading: the server's replies pile up
    const request = encodeSync(0, new Uint8Array([0])); // sync step 1 with an empty state vector
    for (let i = 0; i < 5000; i++) ws.send(request);
    const room = () =>
      (
        srv.manager as unknown as { rooms: { get(id: string): { conns: Set<{ dropped?: boolean }> } | undefined } }
      ).rooms.get('wf');
    await waitFor(() => [...(room()?.conns ?? [])].some((c) => c.dropped), 'the server to drop the slow reader');
    raw.resume();
    await waitFor(() => closed !== undefined, 'the close frame');
    expect(closed).toBe(4510);
    expect(received).toBeLessThan(1000); // 5000 full-state replies were never queued
  });
});

describe('PresenceTable bounds', () => {
  const limits = {
    maxClientIdsPerConnection: 2,
    maxPresenceEntries: 3,
    maxPresenceStateChars: 20,
    presenceTimeoutMs: 1000,
  };
  const e = (clientId: number, clock = 1, state = '{"a":1}') => ({ clientId, clock, state });

  it('caps ids per connection and entries per document, ignores oversized states', () => {
    const t = new PresenceTable(limits);
    expect(t.apply('a', [e(1), e(2), e(3)], 0).map((x) => x.clientId)).toEqual([1, 2]);
    expect(t.apply('b', [e(4), e(5)], 0).map((x) => x.clientId)).toEqual([4]); // the document is full at 3
    expect(t.apply('c', [e(6, 1, `{"a":"${'x'.repeat(50)}"}`)], 0)).toEqual([]);
    t.removeOwner('a');
    expect(t.apply('c', [e(6)], 0).map((x) => x.clientId)).toEqual([6]); // room again after a leaves
  });

  it('expires entries not renewed in time', () => {
    const t = new PresenceTable(limits);
    t.apply('a', [e(1)], 0);
    t.apply('b', [e(2)], 0);
    t.apply('b', [e(2, 2)], 900); // renewed
    expect(t.expire(1500).map((x) => x.clientId)).toEqual([1]);
    expect(t.all().map((x) => x.clientId)).toEqual([2]);
    expect(t.apply('a', [e(7), e(8)], 1500)).toHaveLength(2); // a's count went back to 0 with the expiry
  });
});
