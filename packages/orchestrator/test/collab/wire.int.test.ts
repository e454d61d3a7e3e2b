import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { rawClient, server, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

function provider(url: string, wf: string, token: string, doc = new Y.Doc()) {
  const p = new WebsocketProvider(url, wf, doc, {
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
    params: { token },
  });
  cleanups.push(() => p.destroy());
  return p;
}

describe('collaboration over real WebSockets', () => {
  it('a stock y-websocket provider and a raw client edit one workflow and converge', async () => {
    const srv = await server();
    cleanups.push(() => srv.close());
    const a = provider(srv.url, 'wf-1', 'alice');
    await waitFor(() => a.synced, 'provider sync');
    const b = await rawClient(srv.url, 'wf-1', 'bob');
    cleanups.push(() => b.close());
    a.doc.getMap('tasks').set('fetch', new Y.Map([['name', 'Fetch']]) as never);
    await b.op({
      operation: { type: 'set' },
      path: ['tasks', 'clean'],
      value: { name: 'Clean', dependencies: ['fetch'] },
    });
    await waitFor(
      () =>
        JSON.stringify(a.doc.getMap('tasks').toJSON()) === JSON.stringify(b.json().tasks) &&
        b.doc.getMap('tasks').size === 2,
      'convergence',
    );
    const server_ = (await srv.manager.getDocument('wf-1')).tasks;
    expect(server_).toEqual(b.json().tasks);
    expect(Object.keys(server_).sort()).toEqual(['clean', 'fetch']);
  });

  it('presence appears at once for a joiner and leaves on disconnect', async () => {
    const srv = await server();
    cleanups.push(() => srv.close());
    const joined: string[] = [];
    const left: string[] = [];
    const cursors: string[] = [];
    srv.manager.on('participant:joined', (e) => joined.push(e.participant.userId));
    srv.manager.on('participant:left', (e) => left.push(e.participantId));
    srv.manager.on('cursor:moved', (e) => cursors.push(`${e.participantId}@${e.position.x},${e.position.y}`));
    const a = await rawClient(srv.url, 'wf-p', 'alice');
    a.setPresence({ user: { name: 'Alice' }, cursor: { x: 10, y: 20 }, activity: { kind: 'editing', taskId: 't1' } });
    await waitFor(() => cursors.length === 1, 'cursor event');
    const b = await rawClient(srv.url, 'wf-p', 'bob');
    // bob sees alice's presence from the connect handshake, without any renewal
    await waitFor(() => b.presence.has(a.doc.clientID), 'presence at join');
    expect(JSON.parse(b.presence.get(a.doc.clientID)?.state ?? '{}').user.name).toBe('Alice');
    const sid = srv.manager.activeSession('wf-p')?.id as string;
    expect(
      srv.manager
        .getParticipants(sid)
        .map((p) => p.userId)
        .sort(),
    ).toEqual(['alice', 'bob']);
    expect(srv.manager.getParticipants(sid).find((p) => p.userId === 'alice')?.activity).toEqual({
      kind: 'editing',
      taskId: 't1',
    });
    a.close();
    await waitFor(() => !b.presence.has(a.doc.clientID), 'presence removed');
    await waitFor(() => left.includes('alice'), 'participant:left');
    expect(joined).toEqual(['alice', 'bob']);
    expect(cursors).toEqual(['alice@10,20']);
    b.close();
  });

  it('echoed and spoofed awareness entries are dropped', async () => {
    const srv = await server();
    cleanups.push(() => srv.close());
    const a = await rawClient(srv.url, 'wf-e', 'alice');
    const b = await rawClient(srv.url, 'wf-e', 'bob');
    a.setPresence({ cursor: { x: 1, y: 1 } });
    await waitFor(() => b.presence.has(a.doc.clientID), 'presence');
    // bob echoes alice's state with the same clock, then tries to overwrite it with a newer clock
    const cur = b.presence.get(a.doc.clientID);
    b.sendAwareness([{ clientId: a.doc.clientID, clock: cur?.clock ?? 0, state: cur?.state ?? '' }]);
    b.sendAwareness([{ clientId: a.doc.clientID, clock: 99, state: JSON.stringify({ cursor: { x: 666, y: 666 } }) }]);
    a.setPresence({ cursor: { x: 2, y: 2 } });
    await waitFor(() => JSON.parse(b.presence.get(a.doc.clientID)?.state ?? '{}').cursor?.x === 2, 'real update');
    const room = (
      srv.manager as unknown as { rooms: Map<string, { presence: { states: Map<number, { state: string }> } }> }
    ).rooms.get('wf-e');
    expect(JSON.parse(room?.presence.states.get(a.doc.clientID)?.state ?? '{}').cursor.x).toBe(2);
  });

  it("rejects a viewer's writes, audits them, and keeps the document unchanged", async () => {
    const srv = await server();
    cleanups.push(() => srv.close());
    const owner = await rawClient(srv.url, 'wf-v', 'olga');
    await owner.op({ operation: { type: 'set' }, path: ['tasks', 't1'], value: { name: 'One' } });
    const viewer = await rawClient(srv.url, 'wf-v', 'vic:viewer');
    await waitFor(() => viewer.doc.getMap('tasks').size === 1, 'viewer sync');
    viewer.doc.getMap('tasks').set('t2', 'sneaky');
    const r = await viewer.op({ operation: { type: 'set' }, path: ['tasks', 't1', 'name'], value: 'Hacked' });
    expect(r.ok).toBe(false);
    expect((r.error as { code: string }).code).toBe('CDX_ERR_COLLAB_FORBIDDEN');
    await waitFor(() => viewer.denied.length === 1, 'permission denied message');
    expect((await srv.manager.getDocument('wf-v')).tasks).toEqual({ t1: { name: 'One' } });
    const rejected = srv.manager.queryAudit({ workflowId: 'wf-v', action: 'rejected' });
    expect(rejected.map((e) => e.userId)).toEqual(['vic', 'vic']);
    expect(viewer.closed).toBeUndefined();
  });

  it('malformed frames close only the sender; the server and the document survive', async () => {
    const srv = await server({ maxMessageBytes: 64 * 1024 });
    cleanups.push(() => srv.close());
    const good = await rawClient(srv.url, 'wf-m', 'alice');
    await good.op({ operation: { type: 'set' }, path: ['tasks', 't1'], value: { name: 'One' } });
    const update = Y.encodeStateAsUpdate(good.doc);
    const truncated = new Uint8Array([
      0,
      2,
      ...(() => {
        const body = update.subarray(0, Math.max(1, update.length - 3));
        return [update.length, ...body];
      })(),
    ]);
    const bad: Array<[string, Uint8Array, number]> = [
      ['random bytes', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02]), 4400],
      ['truncated update', truncated, 4400],
      ['unknown message type', new Uint8Array([42, 1, 2, 3]), 4400],
      ['bad awareness', new Uint8Array([1, 5, 3, 1, 1, 200, 7]), 4400],
      ['oversized', new Uint8Array(128 * 1024), 1009],
    ];
    for (let seed = 0; seed < 20; seed++) {
      const r = new Uint8Array(16 + seed * 7).map((_, i) => (i * 131 + seed * 17 + 7) % 256);
      r[0] = seed % 2 === 0 ? 0 : 1;
      bad.push([`random #${seed}`, r, 4400]);
    }
    for (const [name, frame, code] of bad) {
      const c = await rawClient(srv.url, 'wf-m', `mallory-${name}`);
      c.ws.send(frame);
      await waitFor(() => !!c.closed, `close after ${name}`);
      expect([code, 4400, 1009], name).toContain(c.closed?.code);
      if (code !== 4400 || !name.startsWith('random #')) expect(c.closed?.code, name).toBe(code);
    }
    expect(good.closed).toBeUndefined();
    await good.op({ operation: { type: 'set' }, path: ['tasks', 't2'], value: { name: 'Two' } });
    const later = await rawClient(srv.url, 'wf-m', 'bob');
    await waitFor(() => later.doc.getMap('tasks').size === 2, 'document intact');
    expect(later.json().tasks).toEqual({ t1: { name: 'One' }, t2: { name: 'Two' } });
  });

  it('refuses a bad token with 401 and enforces maxParticipants with 4509', async () => {
    const srv = await server({ config: { maxParticipants: 2 } });
    cleanups.push(() => srv.close());
    await expect(rawClient(srv.url, 'wf-f', '')).rejects.toThrow(/401/);
    const a = await rawClient(srv.url, 'wf-f', 'a');
    const b = await rawClient(srv.url, 'wf-f', 'b');
    const a2 = await rawClient(srv.url, 'wf-f', 'a'); // same user, second tab: still two participants
    const c = await rawClient(srv.url, 'wf-f', 'c').catch((e) => e);
    const closed = c instanceof Error ? undefined : c.closed;
    await waitFor(() => !!(c instanceof Error ? true : c.closed), 'refusal');
    expect((c as { closed?: { code: number; reason: string } }).closed?.code ?? closed?.code).toBe(4509);
    expect((c as { closed: { reason: string } }).closed.reason).toMatch(/maxParticipants is 2/);
    expect(a.closed ?? b.closed ?? a2.closed).toBeUndefined();
  });

  it('ends a session after sessionTimeout of inactivity and closes its sockets with 4508', async () => {
    const srv = await server({ config: { sessionTimeout: 300 } });
    cleanups.push(() => srv.close());
    const ended: string[] = [];
    srv.manager.on('session:ended', (e) => ended.push(e.reason));
    const a = await rawClient(srv.url, 'wf-t', 'a');
    await waitFor(() => !!a.closed, 'session end', 10_000);
    expect(a.closed?.code).toBe(4508);
    expect(ended).toEqual(['timeout']);
    expect(srv.manager.activeSession('wf-t')).toBeUndefined();
  });
});
