import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chain, type TestServer, testServer } from './helpers.js';

// Routes not covered elsewhere: token revocation rules, role removal, history and audit pagination,
// collaboration sessions over REST, public metrics.

let s: TestServer;
beforeAll(async () => {
  s = await testServer({ publicMetrics: true });
  await req('POST', '/api/workflows', s.ada, { definition: chain('r', 3) });
  await req('PUT', '/api/workflows/r/roles/bob', s.ada, { role: 'editor' });
});
afterAll(() => s.close());

const req: TestServer['req'] = (...a) => s.req(...a);

describe('more routes', () => {
  it('a member revokes only their own tokens; an admin any', async () => {
    const other = await s.app.codexos.tokens.create('ada', 'member');
    const mine = await s.app.codexos.tokens.create('eve', 'member');
    expect((await req('DELETE', `/api/tokens/${other.info.id}`, s.eve)).statusCode).toBe(404);
    expect((await req('DELETE', `/api/tokens/${mine.info.id}`, s.eve)).statusCode).toBe(204);
    expect((await req('GET', '/api/me', mine.token)).statusCode).toBe(401);
    expect((await req('DELETE', `/api/tokens/${other.info.id}`, s.admin)).statusCode).toBe(204);
    expect((await req('GET', '/api/me', other.token)).statusCode).toBe(401);
    expect((await req('GET', '/api/tokens', s.ada)).statusCode).toBe(403);
  });

  it('owners remove roles; the user then gets 404', async () => {
    expect((await req('GET', '/api/workflows/r', s.bob)).statusCode).toBe(200);
    expect((await req('DELETE', '/api/workflows/r/roles/bob', s.bob)).statusCode).toBe(403);
    expect((await req('PUT', '/api/workflows/r/roles/nobody', s.ada, { role: 'viewer' })).statusCode).toBe(404);
    expect((await req('PUT', '/api/workflows/r/roles/bob', s.ada, { role: 'boss' })).json().error.path).toBe(
      'body.role',
    );
    expect((await req('DELETE', '/api/workflows/r/roles/bob', s.ada)).statusCode).toBe(204);
    expect((await req('GET', '/api/workflows/r', s.bob)).statusCode).toBe(404);
    expect((await req('DELETE', '/api/workflows/r/roles/bob', s.ada)).statusCode).toBe(404);
  });

  it('history and audit pages follow their cursors to the end', async () => {
    const run = (await req('POST', '/api/executions?wait=true', s.ada, { workflowId: 'r' })).json();
    const keys: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Array<{ taskKey: string; status: string }>; nextCursor: string | null } = (
        await req(
          'GET',
          `/api/executions/${run.executionId}/history?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          s.ada,
        )
      ).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      keys.push(...page.items.map((h: { taskKey: string; status: string }) => `${h.taskKey}:${h.status}`));
      cursor = page.nextCursor;
    } while (cursor);
    expect(keys.filter((k) => k.endsWith(':completed'))).toEqual(['t0:completed', 't1:completed', 't2:completed']);
    const session = await req('POST', '/api/workflows/r/collab/session', s.ada);
    expect(session.json().participants.map((p: { userId: string }) => p.userId)).toEqual(['ada']);
    await req('POST', '/api/workflows/r/locks/t0', s.ada, {});
    await req('DELETE', '/api/workflows/r/locks/t0', s.ada);
    const audit: string[] = [];
    cursor = null;
    do {
      const page: { items: Array<{ action: string }>; nextCursor: string | null } = (
        await req('GET', `/api/workflows/r/audit?limit=1${cursor ? `&cursor=${cursor}` : ''}`, s.ada)
      ).json();
      audit.push(...page.items.map((e: { action: string }) => e.action));
      cursor = page.nextCursor;
    } while (cursor);
    expect(audit.slice(0, 2)).toEqual(['unlock', 'lock']);
    expect(audit).toContain('join');
    expect((await req('GET', '/api/workflows/r/audit', s.eve)).statusCode).toBe(404);
  });

  it('public metrics need no token when enabled; the API still does', async () => {
    expect((await req('GET', '/metrics')).statusCode).toBe(200);
    expect((await req('GET', '/api/agents')).statusCode).toBe(401);
    expect((await req('GET', '/api/agents/nope', s.ada)).statusCode).toBe(404);
  });
});
