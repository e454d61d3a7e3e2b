import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { chain, type TestServer, testServer } from './helpers.js';

let s: TestServer;
let base: string;
beforeAll(async () => {
  s = await testServer();
  await s.app.listen({ port: 0, host: '127.0.0.1' });
  base = `127.0.0.1:${(s.app.server.address() as { port: number }).port}`;
  await post('/api/workflows', s.ada, { definition: chain('live', 12, 'slow') });
  await post('/api/workflows/live/roles/bob', s.ada, { role: 'viewer' }, 'PUT');
});
afterAll(() => s.close());

async function post(path: string, token: string, body: unknown, method = 'POST') {
  const r = await fetch(`http://${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

interface Frame {
  type: string;
  events?: Array<{ seq: number; type: string }>;
  status?: string;
  lastSeq?: number;
}

/** Opens a watcher socket and collects frames; resolves `opened` or rejects with the HTTP status. */
function watch(path: string) {
  const ws = new WebSocket(`ws://${base}${path}`);
  const frames: Frame[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const opened = new Promise<void>((resolve, reject) => {
    ws.on('open', () => resolve());
    ws.on('unexpected-response', (_req, res) => reject(new Error(String(res.statusCode))));
    ws.on('error', reject);
  });
  // Frames the server sent as binary (every frame must be a text frame, the shared batch bytes included).
  let binary = 0;
  ws.on('message', (d, isBinary) => {
    if (isBinary) binary++;
    frames.push(JSON.parse(String(d)));
  });
  const seqs = () => frames.flatMap((f) => f.events?.map((e) => e.seq) ?? []);
  return { ws, frames, closed, opened, seqs, binaryFrames: () => binary };
}

const waitFor = async (cond: () => boolean, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('live events over real sockets', () => {
  it('refuses sockets without a token (401) or without a role (404)', async () => {
    const start = await post('/api/executions?wait=true', s.ada, { workflowId: 'live' });
    const id = start.body.executionId as string;
    await expect(watch(`/api/executions/${id}/live`).opened).rejects.toThrow('401');
    await expect(watch(`/api/executions/${id}/live?token=${s.eve}`).opened).rejects.toThrow('404');
    // A finished run: the backlog, then an end frame and close 1000.
    const w = watch(`/api/executions/${id}/live?token=${s.bob}`);
    const closed = await w.closed;
    expect(closed.code).toBe(1000);
    expect(w.frames.at(-1)).toMatchObject({ type: 'end', status: 'completed' });
    const seqs = w.seqs();
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(seqs.length).toBe(w.frames.at(-1)?.lastSeq);
  });

  it('reconnect with after=seq: every event exactly once, in order', async () => {
    const { body } = await post('/api/executions', s.ada, { workflowId: 'live' });
    const id = body.executionId as string;
    const first = watch(`/api/executions/${id}/live?token=${s.bob}`);
    await first.opened;
    await waitFor(() => first.seqs().length >= 10);
    first.ws.terminate();
    const got = first.seqs();
    const last = got[got.length - 1];
    // Events keep flowing while the client is away.
    await new Promise((r) => setTimeout(r, 80));
    const second = watch(`/api/executions/${id}/live?token=${s.bob}&after=${last}`);
    await second.opened;
    const closed = await second.closed;
    expect(closed.code).toBe(1000);
    const all = [...got, ...second.seqs()];
    const end = second.frames.at(-1) as Frame;
    expect(end.type).toBe('end');
    expect(all).toEqual(Array.from({ length: end.lastSeq as number }, (_, i) => i + 1));
    const types = [...first.frames, ...second.frames].flatMap((f) => f.events?.map((e) => e.type) ?? []);
    expect(types.filter((t) => t === 'task:completed')).toHaveLength(12);
    expect(types.at(-1)).toBe('workflow:completed');
  });

  it('many watchers share batches; SSE for curl users with Last-Event-ID', async () => {
    const { body } = await post('/api/executions', s.ada, { workflowId: 'live' });
    const id = body.executionId as string;
    const watchers = Array.from({ length: 5 }, () => watch(`/api/executions/${id}/live?token=${s.bob}`));
    const sse = await fetch(`http://${base}/api/executions/${id}/events/stream`, {
      headers: { authorization: `Bearer ${s.bob}` },
    });
    expect(sse.headers.get('content-type')).toContain('text/event-stream');
    const text = await sse.text();
    await Promise.all(watchers.map((w) => w.closed));
    const n = (watchers[0].frames.at(-1) as Frame).lastSeq as number;
    for (const w of watchers) expect(w.seqs()).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    for (const w of watchers) expect(w.binaryFrames()).toBe(0);
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(text).toContain('event: end');
    const resumed = await fetch(`http://${base}/api/executions/${id}/events/stream?token=${s.bob}`, {
      headers: { 'last-event-id': String(n - 2) },
    });
    const tail = [...(await resumed.text()).matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(tail).toEqual([n - 1, n]);
  });

  it('compact frames carry the same events in fewer bytes, every one in order, resumable', async () => {
    const { body } = await post('/api/executions', s.ada, { workflowId: 'live' });
    const id = body.executionId as string;
    const full = watch(`/api/executions/${id}/live?token=${s.bob}`);
    const compact = watch(`/api/executions/${id}/live?token=${s.bob}&compact=1`);
    const bytes = { full: 0, compact: 0 };
    full.ws.on('message', (d) => {
      bytes.full += (d as Buffer).length;
    });
    compact.ws.on('message', (d) => {
      bytes.compact += (d as Buffer).length;
    });
    await Promise.all([full.opened, compact.opened]);
    // Half-way, a compact watcher drops and resumes after its last seq.
    await waitFor(() => compact.seqs().length >= 10);
    compact.ws.close();
    await compact.closed;
    const again = watch(`/api/executions/${id}/live?token=${s.bob}&compact=1&after=${compact.seqs().at(-1)}`);
    await Promise.all([full.closed, again.closed]);
    const fullEvents = full.frames.flatMap((f) => f.events ?? []) as Array<Record<string, any>>;
    const compactFrames = [...compact.frames, ...again.frames] as Array<Record<string, any>>;
    const expanded = compactFrames.flatMap((f) =>
      (f.events ?? []).map((e: Record<string, any>) => {
        expect(Object.keys(e).sort()).toEqual(['at', 'payload', 'seq', 'type']);
        expect([f.compact, f.executionId, f.workflowId]).toEqual([true, id, 'live']);
        const payload = { executionId: id, workflowId: 'live', ...e.payload };
        if (e.payload.timestamp === undefined) payload.timestamp = e.at;
        return { ...e, executionId: id, workflowId: 'live', payload };
      }),
    );
    expect(fullEvents.length).toBeGreaterThan(12 * 3);
    expect(expanded.map((e) => e.seq)).toEqual(fullEvents.map((_, i) => i + 1));
    expect(expanded).toEqual(fullEvents);
    expect(again.frames.at(-1)).toMatchObject({ type: 'end', status: 'completed', lastSeq: fullEvents.length });
    expect(bytes.compact).toBeLessThan(bytes.full * 0.8);
  });

  it('run-level stream: starts and ends of visible workflows only, resumable', async () => {
    await post('/api/workflows', s.eve, { definition: chain('eves', 1) });
    const bobRuns = watch(`/api/live?token=${s.bob}`);
    await bobRuns.opened;
    await post('/api/executions?wait=true', s.eve, { workflowId: 'eves' });
    const { body } = await post('/api/executions?wait=true', s.ada, { workflowId: 'live' });
    await waitFor(() => bobRuns.frames.flatMap((f) => f.events ?? []).some((e) => e.type === 'workflow:completed'));
    const events = bobRuns.frames.flatMap((f) => f.events ?? []) as unknown as Array<{
      type: string;
      workflowId: string;
      executionId: string;
      payload: { status?: string };
    }>;
    expect(new Set(events.map((e) => e.workflowId))).toEqual(new Set(['live']));
    expect(events.map((e) => e.type)).toEqual(['workflow:started', 'workflow:completed']);
    expect(events[1]).toMatchObject({ executionId: body.executionId, payload: { status: 'completed' } });
    bobRuns.ws.close();
    const ping = watch(`/api/live?token=${s.bob}`);
    await ping.opened;
    ping.ws.send(JSON.stringify({ type: 'ping' }));
    await waitFor(() => ping.frames.some((f) => f.type === 'pong'));
    ping.ws.close();
  });

  it('closing the server closes watchers with 1001 and a reason', async () => {
    const t = await testServer();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as { port: number }).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/live?token=${t.ada}`);
    await new Promise((r) => ws.on('open', r));
    const closed = new Promise<[number, string]>((r) => ws.on('close', (c, reason) => r([c, String(reason)])));
    await t.close();
    expect(await closed).toEqual([1001, 'server shutting down']);
  });
});
