import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { chain, type TestServer, testServer } from '../../packages/server/test/helpers.js';
import { CASES } from './helpers.js';

// Hostile collaboration frames on the real Yjs socket (random bytes, truncated updates, unknown message types,
// oversized frames), from an editor and a viewer: the server survives, nothing garbled is applied, and a stock
// client still syncs the unchanged document afterwards.

let s: TestServer;
let port: number;
beforeAll(async () => {
  // Thousands of connections from two tokens: the per-token rate limit (600/min, which upgrades count against)
  // would refuse most of the soak run's sockets with 429 before a frame is sent.
  s = await testServer({ rateLimit: 1_000_000 });
  await s.app.listen({ port: 0, host: '127.0.0.1' });
  port = (s.app.server.address() as { port: number }).port;
  const r = await s.app.inject({
    method: 'POST',
    url: '/api/workflows',
    headers: s.auth(s.ada),
    payload: { definition: chain('doc', 3) },
  });
  expect(r.statusCode).toBe(201);
  await s.app.inject({ method: 'PUT', url: '/api/workflows/doc/roles/bob', headers: s.auth(s.ada), payload: { role: 'viewer' } });
});
afterAll(() => s.close());

const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n >>>= 7;
  }
  out.push(n);
  return out;
};
const frame = (...parts: Array<number[] | Uint8Array>) => Buffer.concat(parts.map((p) => Buffer.from(p)));

/** A real update (a task's prompt changed): frames cut short from it must never apply. */
function realUpdate(): Uint8Array {
  const d = new Y.Doc();
  const t = new Y.Map<unknown>();
  d.getMap('tasks').set('t0', t);
  t.set('agentId', 'hijacked');
  return Y.encodeStateAsUpdate(d);
}
const update = realUpdate();

const frames = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  // sync step 2 / update with a truncated real update (length prefix says full, body is cut)
  fc.nat(update.length - 1).map((cut) => frame([0, 2], varint(update.length), update.slice(0, cut))),
  fc.nat(update.length - 1).map((cut) => frame([0, 2], varint(cut), update.slice(0, cut))),
  // sync step 1 with a garbage state vector, awareness with garbage, unknown types and sub-types
  fc.uint8Array({ maxLength: 32 }).map((b) => frame([0, 0], varint(b.length), b)),
  fc.uint8Array({ maxLength: 32 }).map((b) => frame([1], varint(b.length), b)),
  fc.tuple(fc.integer({ min: 2, max: 2 ** 20 }), fc.uint8Array({ maxLength: 16 })).map(([t, b]) => frame(varint(t), b)),
  fc.tuple(fc.integer({ min: 3, max: 255 }), fc.uint8Array({ maxLength: 16 })).map(([t, b]) => frame([0], varint(t), b)),
  // a length prefix claiming 4 GB
  fc.constant(frame([0, 2], [0xff, 0xff, 0xff, 0xff, 0x0f], [1, 2, 3])),
  fc.constant(frame([1], [0xff, 0xff, 0xff, 0xff, 0x0f])),
  // text frames, an empty frame
  fc.string({ maxLength: 50 }),
  fc.constant(Buffer.alloc(0)),
);

function open(token: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/collab/doc?token=${token}`);
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

async function documentNow() {
  const r = await s.app.inject({ url: '/api/workflows/doc/document', headers: s.auth(s.ada) });
  expect(r.statusCode).toBe(200);
  return r.json();
}

describe('hostile collaboration frames', () => {
  it(`${CASES} frames from an editor and a viewer: the server survives and applies none of them`, async () => {
    const before = await documentNow();
    expect(Object.keys(before.tasks).sort()).toEqual(['t0', 't1', 't2']);
    const sockets: Record<string, WebSocket | undefined> = {};
    let sent = 0;
    let reconnects = 0;
    await fc.assert(
      fc.asyncProperty(frames, fc.constantFrom(s.ada, s.bob), async (f, token) => {
        let ws = sockets[token];
        if (!ws || ws.readyState !== WebSocket.OPEN) {
          ws = sockets[token] = await open(token);
          reconnects++;
        }
        await new Promise<void>((resolve) => ws.send(f, () => resolve()));
        sent++;
        // Every 50 frames, a round trip: the server still answers on this process.
        if (sent % 50 === 0) expect((await s.app.inject({ url: '/health' })).statusCode).toBe(200);
      }),
      { numRuns: CASES },
    );
    // One oversized frame (above the 16 MiB socket limit) closes that socket, not the server.
    const big = await open(s.ada);
    const closed = new Promise<number>((r) => big.on('close', (code) => r(code)));
    big.send(Buffer.alloc(17 * 1024 * 1024, 7));
    expect(await closed).toBe(1009);
    for (const ws of Object.values(sockets)) ws?.close();
    expect(sent).toBe(CASES);

    // Nothing garbled was applied; a stock client syncs the same document and can still edit it.
    expect(await documentNow()).toEqual(before);
    const doc = new Y.Doc();
    const p = new WebsocketProvider(`ws://127.0.0.1:${port}/collab`, 'doc', doc, {
      WebSocketPolyfill: WebSocket as never,
      disableBc: true,
      params: { token: s.ada },
    });
    try {
      const end = Date.now() + 20_000;
      while (!p.synced && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(p.synced).toBe(true);
      expect([...doc.getMap('tasks').keys()].sort()).toEqual(['t0', 't1', 't2']);
    } finally {
      p.destroy();
    }
    console.info(`collab frames: ${sent} sent, ${reconnects} connections`);
  });
});
