import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededServer, type TestServer, until } from './helpers.js';

let s: TestServer;
const flow = {
  id: 'dbg',
  name: 'Debugged',
  tasks: [
    { id: 'a', agentId: 'worker', input: { prompt: 'first' } },
    { id: 'b', agentId: 'worker', dependencies: ['a'], input: { prompt: 'second' } },
    { id: 'c', agentId: 'worker', dependencies: ['b'], input: { prompt: 'third' } },
  ],
};
const gated = {
  id: 'gated',
  name: 'Gated',
  tasks: [
    { id: 'draft', agentId: 'worker' },
    {
      id: 'review',
      type: 'approval',
      dependencies: ['draft'],
      approval: { prompt: 'Ship?', roles: ['editor', 'owner'] },
    },
  ],
};

beforeAll(async () => {
  s = await seededServer([flow, gated], { bob: 'viewer' });
});
afterAll(() => s.close());

const req: TestServer['req'] = (...a) => s.req(...a);

describe('debug routes', () => {
  it('break, inspect, edit, pin, step and continue; viewers read but may not act; 409 when not paused', async () => {
    const start = await req('POST', '/api/debug/runs', s.ada, {
      workflowId: 'dbg',
      debug: { breakpoints: [{ taskId: 'b' }] },
    });
    expect(start.statusCode).toBe(202);
    const id = start.json().executionId;
    const st = await until(
      async () => (await req('GET', `/api/executions/${id}/debug`, s.bob)).json(),
      (v) => v.state === 'paused',
    );
    expect(st).toMatchObject({ state: 'paused', paused: { reason: 'breakpoint', taskId: 'b' }, next: ['b'] });
    // The run reads as paused in the executions list, and the status filter finds it.
    const paused = await until(
      async () => (await req('GET', '/api/executions?status=paused', s.bob)).json().items,
      (v) => v.some((e: { executionId: string }) => e.executionId === id),
    );
    expect(paused.find((e: { executionId: string }) => e.executionId === id)).toMatchObject({ status: 'paused' });
    const insp = (await req('GET', `/api/executions/${id}/debug/inspect`, s.bob)).json();
    expect(insp).toMatchObject({ taskId: 'b', prompt: 'second', upstream: { a: { done: 'a', prompt: 'first' } } });

    expect((await req('POST', `/api/executions/${id}/debug/continue`, s.bob)).statusCode).toBe(403);
    expect((await req('POST', `/api/executions/${id}/debug/continue`, s.eve)).statusCode).toBe(404);
    const bad = await req('PUT', `/api/executions/${id}/debug/breakpoints`, s.ada, { breakpoints: [{ taskId: 'zz' }] });
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, 'CDX_ERR_DEBUG_INVALID']);

    const ed = await req('PATCH', `/api/executions/${id}/debug/tasks/b`, s.ada, { prompt: 'edited' });
    expect(ed.statusCode).toBe(200);
    expect((await req('PUT', `/api/executions/${id}/debug/tasks/c/pin`, s.ada, { output: 'pinned' })).statusCode).toBe(
      200,
    );
    const stepped = await req('POST', `/api/executions/${id}/debug/step`, s.ada);
    expect(stepped.statusCode).toBe(200);
    await until(
      async () => (await req('GET', `/api/executions/${id}/debug`, s.ada)).json(),
      (v) => v.state === 'paused' && v.paused.reason === 'step',
    );
    expect((await req('POST', `/api/executions/${id}/debug/continue`, s.ada)).statusCode).toBe(200);
    const done = await until(
      async () => (await req('GET', `/api/executions/${id}`, s.ada)).json(),
      (v) => v.status === 'completed',
    );
    const byId = Object.fromEntries(done.tasks.map((t: { taskId: string; output: unknown }) => [t.taskId, t.output]));
    expect(byId).toEqual({ a: { done: 'a', prompt: 'first' }, b: { done: 'b', prompt: 'edited' }, c: 'pinned' });
    const again = await req('POST', `/api/executions/${id}/debug/step`, s.ada);
    expect([again.statusCode, again.json().error.code]).toEqual([409, 'CDX_ERR_NOT_PAUSED']);
    expect(again.json().error.issues[0].message).toBe('state: completed');
    const ended = (await req('GET', `/api/executions/${id}/debug`, s.bob)).json();
    expect(ended.state).toBe('completed');
    const edits = ended.edits;
    expect(edits.map((e: { kind: string; by: string }) => [e.kind, e.by])).toEqual([
      ['prompt', 'ada'],
      ['pin', 'ada'],
    ]);

    // Re-run from b: a is reused, b and c run again.
    const rr = await req('POST', `/api/executions/${id}/rerun`, s.ada, { fromTaskId: 'b', prompt: 'third time' });
    expect(rr.statusCode).toBe(202);
    const child = await until(
      async () => (await req('GET', `/api/executions/${rr.json().executionId}`, s.bob)).json(),
      (v) => v.status === 'completed',
    );
    expect(child.tasks.find((t: { taskId: string }) => t.taskId === 'b').output).toEqual({
      done: 'b',
      prompt: 'third time',
    });
    expect((await req('GET', `/api/executions/${rr.json().executionId}/debug`, s.bob)).json().parent).toEqual({
      executionId: id,
      fromTaskId: 'b',
    });
  });

  it('approvals inbox, approve with a comment (viewers may not), a second approval is idempotent', async () => {
    const start = await req('POST', '/api/executions', s.ada, { workflowId: 'gated' });
    const id = start.json().executionId;
    const inbox = await until(
      async () => (await req('GET', '/api/approvals', s.bob)).json().items,
      (v) => v.some((w: { executionId: string }) => w.executionId === id),
    );
    expect(inbox.find((w: { executionId: string }) => w.executionId === id)).toMatchObject({
      name: 'review',
      prompt: 'Ship?',
    });
    expect((await req('GET', '/api/approvals', s.eve)).json().items).toEqual([]);
    const waiting = await until(
      async () => (await req('GET', '/api/executions?status=waiting', s.bob)).json().items,
      (v) => v.some((e: { executionId: string }) => e.executionId === id),
    );
    expect(waiting.find((e: { executionId: string }) => e.executionId === id)).toMatchObject({ status: 'waiting' });
    expect((await req('POST', `/api/executions/${id}/waitpoints/review/approve`, s.bob, {})).statusCode).toBe(403);
    const missing = await req('POST', `/api/executions/${id}/waitpoints/nope/approve`, s.ada, {});
    expect([missing.statusCode, missing.json().error.code]).toEqual([404, 'CDX_ERR_WAITPOINT_NOT_FOUND']);
    const ok = await req('POST', `/api/executions/${id}/waitpoints/review/approve`, s.ada, { comment: 'ship it' });
    expect(ok.json()).toMatchObject({ recorded: true });
    const twice = await req('POST', `/api/executions/${id}/waitpoints/review/approve`, s.ada, {});
    expect(twice.json()).toMatchObject({ recorded: false });
    const done = await until(
      async () => (await req('GET', `/api/executions/${id}`, s.ada)).json(),
      (v) => v.status === 'completed',
    );
    expect(done.tasks.find((t: { taskId: string }) => t.taskId === 'review').output).toMatchObject({
      approved: true,
      by: 'ada',
      comment: 'ship it',
    });
  });
});
