import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { wsBinaryFrame } from '../../src/collab/protocol/frames.js';
import { canonical, RawClient, rawClient, server, waitFor } from './helpers.js';

// Broadcasts are framed once and written to every socket; joiners of an empty document get a cached full state.
// These check that nothing is lost or stale on those paths.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

function parseFrame(buf: Buffer): { fin: boolean; opcode: number; masked: boolean; payload: Buffer } {
  const len7 = buf[1] & 0x7f;
  let len = len7;
  let at = 2;
  if (len7 === 126) {
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len7 === 127) {
    len = buf.readUInt32BE(2) * 2 ** 32 + buf.readUInt32BE(6);
    at = 10;
  }
  return {
    fin: (buf[0] & 0x80) !== 0,
    opcode: buf[0] & 0x0f,
    masked: (buf[1] & 0x80) !== 0,
    payload: buf.subarray(at, at + len),
  };
}

describe('broadcast framing and cached join state', () => {
  it('frames every payload length class as one final, unmasked binary frame', () => {
    for (const n of [0, 1, 125, 126, 127, 65_535, 65_536, 200_000]) {
      const payload = Buffer.alloc(n, n % 251);
      const frame = wsBinaryFrame(payload);
      const f = parseFrame(frame);
      expect(f).toMatchObject({ fin: true, opcode: 2, masked: false });
      expect(f.payload.length).toBe(n);
      expect(f.payload.equals(payload)).toBe(true);
      expect(frame.length).toBe(n + (n < 126 ? 2 : n < 65_536 ? 4 : 10));
    }
  });

  it('small, medium and large updates reach every other client intact', async () => {
    const srv = await server();
    cleanups.push(() => srv.close());
    const writer = await rawClient(srv.url, 'wf-big', 'w');
    const readers = await Promise.all([1, 2, 3].map((i) => rawClient(srv.url, 'wf-big', `r${i}`)));
    cleanups.push(() => {
      for (const c of [writer, ...readers]) c.close();
    });
    const tasks = writer.doc.getMap('tasks');
    tasks.set('small', 'x');
    tasks.set('medium', 'm'.repeat(300));
    tasks.set('large', 'L'.repeat(70_000));
    const want = canonical(writer.json());
    await waitFor(() => readers.every((r) => canonical(r.json()) === want), 'all readers converge');
    for (const r of readers) expect((r.doc.getMap('tasks').get('large') as string).length).toBe(70_000);
    expect(canonical(await srv.manager.getDocument('wf-big'))).toBe(want);
  });

  it('a joiner after each edit sees that edit (the cached full state is dropped on update)', async () => {
    const srv = await server();
    cleanups.push(() => srv.close());
    const writer = await rawClient(srv.url, 'wf-join', 'w');
    cleanups.push(() => writer.close());
    const tasks = writer.doc.getMap('tasks');
    for (let i = 0; i < 5; i++) {
      tasks.set(`t${i}`, `v${i}`);
      await waitFor(
        () =>
          (srv.manager as unknown as { rooms: { get(w: string): { doc: Y.Doc } | undefined } }).rooms
            .get('wf-join')
            ?.doc.getMap('tasks')
            .get(`t${i}`) === `v${i}`,
        `server has t${i}`,
      );
      // two joiners in a row: the second one is served from the cache
      for (const who of ['a', 'b']) {
        const j = await rawClient(srv.url, 'wf-join', `j${i}${who}`);
        expect(j.doc.getMap('tasks').toJSON()).toEqual(tasks.toJSON());
        j.close();
      }
    }
  });

  it('a joiner that already holds part of the document gets what it lacks, and converges', async () => {
    const srv = await server();
    cleanups.push(() => srv.close());
    const writer = await rawClient(srv.url, 'wf-part', 'w');
    const reader = await rawClient(srv.url, 'wf-part', 'r');
    cleanups.push(() => {
      for (const c of [writer, reader]) c.close();
    });
    writer.doc.getMap('tasks').set('a', 1);
    await waitFor(() => reader.doc.getMap('tasks').get('a') === 1, 'a delivered');
    const partial = Y.encodeStateAsUpdate(writer.doc);
    writer.doc.getMap('tasks').set('b', 2);
    await waitFor(() => reader.doc.getMap('tasks').get('b') === 2, 'b delivered');
    const late = new RawClient(srv.url, 'wf-part', 'late');
    cleanups.push(() => late.close());
    Y.applyUpdate(late.doc, partial); // before the socket opens: its first state vector is not empty
    await late.opened;
    await waitFor(() => late.synced, 'late sync');
    await waitFor(() => late.doc.getMap('tasks').get('b') === 2, 'late joiner converges');
    expect(canonical(late.json())).toBe(canonical(writer.json()));
  });
});
