import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chain, type TestServer, testServer } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await testServer();
});
afterAll(() => s.close());

const req: TestServer['req'] = (...a) => s.req(...a);

describe('auth and roles', () => {
  it('401 without a token or with a bad/revoked one, in the shared error shape', async () => {
    for (const token of [undefined, 'nope', `cdx_${'0'.repeat(16)}_${'a'.repeat(43)}`]) {
      const r = await req('GET', '/api/workflows', token);
      expect(r.statusCode).toBe(401);
      const body = r.json();
      expect(body.error.code).toBe('CDX_ERR_UNAUTHORIZED');
      expect(body.error.requestId).toMatch(/^req-/);
    }
    const { token, info } = await s.app.codexos.tokens.create('temp', 'member');
    expect((await req('GET', '/api/me', token)).json()).toEqual({ user: { id: 'temp', role: 'member' } });
    expect((await req('DELETE', `/api/tokens/${info.id}`, token)).statusCode).toBe(204);
    expect((await req('GET', '/api/me', token)).statusCode).toBe(401);
  });

  it('tokens are stored hashed and shown once; only admins create them', async () => {
    const r = await req('POST', '/api/tokens', s.admin, { user: 'zoe', role: 'member' });
    expect(r.statusCode).toBe(201);
    const { token, id } = r.json();
    expect(token).toMatch(/^cdx_[a-f0-9]{16}_/);
    const row = s.app.codexos.db.prepare('SELECT * FROM srv_tokens WHERE id = ?').get(id) as { hash: Buffer };
    expect(row.hash.length).toBe(32);
    expect(JSON.stringify(row)).not.toContain(token.slice('cdx_'.length + 17));
    const list = await req('GET', '/api/tokens?limit=2', s.admin);
    expect(list.json().items).toHaveLength(2);
    expect(JSON.stringify(list.json())).not.toContain(token);
    expect(list.json().nextCursor).toBeTruthy();
    expect((await req('POST', '/api/tokens', s.ada, { user: 'x' })).statusCode).toBe(403);
    const bad = await req('POST', '/api/tokens', s.admin, { user: 'bad user!' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.path).toBe('body.user');
  });

  it('owner / editor / viewer / none: 200, 403 on writes, 404 without a role', async () => {
    expect((await req('POST', '/api/workflows', s.ada, { definition: chain('roles-wf', 2) })).statusCode).toBe(201);
    expect((await req('PUT', '/api/workflows/roles-wf/roles/bob', s.ada, { role: 'viewer' })).statusCode).toBe(200);
    expect((await req('PUT', '/api/workflows/roles-wf/roles/bob', s.bob, { role: 'owner' })).statusCode).toBe(403);
    expect((await req('GET', '/api/workflows/roles-wf', s.bob)).statusCode).toBe(200);
    const write = await req('PUT', '/api/workflows/roles-wf', s.bob, { definition: chain('roles-wf', 3) });
    expect(write.statusCode).toBe(403);
    expect(write.json().error.code).toBe('CDX_ERR_FORBIDDEN');
    expect((await req('POST', '/api/executions', s.bob, { workflowId: 'roles-wf' })).statusCode).toBe(403);
    for (const url of ['/api/workflows/roles-wf', '/api/workflows/roles-wf/versions', '/api/workflows/roles-wf/export'])
      expect((await req('GET', url, s.eve)).statusCode).toBe(404);
    expect((await req('POST', '/api/executions', s.eve, { workflowId: 'roles-wf' })).statusCode).toBe(404);
    expect((await req('GET', '/api/workflows', s.eve)).json().items.map((w: { id: string }) => w.id)).not.toContain(
      'roles-wf',
    );
    // An editor writes but cannot delete or grant.
    await req('PUT', '/api/workflows/roles-wf/roles/eve', s.ada, { role: 'editor' });
    expect((await req('PUT', '/api/workflows/roles-wf', s.eve, { definition: chain('roles-wf', 3) })).statusCode).toBe(
      200,
    );
    expect((await req('DELETE', '/api/workflows/roles-wf', s.eve)).statusCode).toBe(403);
    expect((await req('GET', '/api/workflows/roles-wf/roles', s.bob)).json().items).toHaveLength(3);
    // Admin acts as owner everywhere.
    expect((await req('GET', '/api/workflows/roles-wf', s.admin)).json().role).toBe('owner');
  });
});

describe('workflows and versions', () => {
  it('create, read, list with cursor pagination', async () => {
    for (let i = 0; i < 5; i++) await req('POST', '/api/workflows', s.eve, { definition: chain(`page-${i}`, 1) });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await req('GET', `/api/workflows?limit=2&q=page-${cursor ? `&cursor=${cursor}` : ''}`, s.eve);
      const body = r.json();
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((w: { id: string }) => w.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    expect((await req('POST', '/api/workflows', s.eve, { definition: chain('page-0', 1) })).statusCode).toBe(409);
  });

  it('bad bodies name the field; a malformed workflow saves nothing', async () => {
    const missing = await req('POST', '/api/workflows', s.ada, {});
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.path).toBe('body.definition');
    const cycle = await req('POST', '/api/workflows', s.ada, {
      definition: {
        id: 'cyc',
        name: 'c',
        tasks: [
          { id: 'a', agentId: 'w', dependencies: ['b'] },
          { id: 'b', agentId: 'w', dependencies: ['a'] },
        ],
      },
    });
    expect(cycle.statusCode).toBe(400);
    expect(cycle.json().error.code).toBe('CDX_ERR_WORKFLOW_INVALID');
    const shape = await req('POST', '/api/workflows', s.ada, {
      definition: { id: 'shape', name: 'x', tasks: [{ id: 'a' }] },
    });
    expect(shape.statusCode).toBe(400);
    expect(shape.json().error.path).toMatch(/^body\.definition\.tasks/);
    expect((await req('GET', '/api/workflows/cyc', s.admin)).statusCode).toBe(404);
    expect((await req('GET', '/api/workflows/shape', s.admin)).statusCode).toBe(404);
    const badQuery = await req('GET', '/api/workflows?limit=0', s.ada);
    expect(badQuery.json().error.path).toBe('query.limit');
    const badJson = await s.app.inject({
      method: 'POST',
      url: '/api/workflows',
      headers: { ...s.auth(s.ada), 'content-type': 'application/json' },
      payload: '{"definition": ',
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().error.code).toBe('CDX_ERR_VALIDATION');
  });

  it('versions: immutable history, read, diff by task and field, restore, optimistic base version', async () => {
    const v1 = chain('ver', 2);
    await req('POST', '/api/workflows', s.ada, { definition: v1, message: 'first' });
    const v2 = {
      ...v1,
      tasks: [{ ...v1.tasks[0], input: { prompt: 'changed' } }, v1.tasks[1], { id: 'extra', agentId: 'worker' }],
    };
    const put = await req('PUT', '/api/workflows/ver', s.ada, { definition: v2, message: 'second', baseVersion: 1 });
    expect(put.json().version).toMatchObject({ version: 2, author: 'ada', message: 'second' });
    const stale = await req('PUT', '/api/workflows/ver', s.ada, { definition: v2, baseVersion: 1 });
    expect(stale.statusCode).toBe(409);
    const wrongId = await req('PUT', '/api/workflows/ver', s.ada, { definition: chain('other', 1) });
    expect(wrongId.json().error.path).toBe('body.definition.id');
    const diff = (await req('GET', '/api/workflows/ver/diff?from=1&to=2', s.ada)).json();
    expect(diff.added).toEqual(['extra']);
    expect(diff.removed).toEqual([]);
    expect(diff.changed).toEqual([
      { taskId: 't0', fields: [{ field: 'input', from: { prompt: 'step 0' }, to: { prompt: 'changed' } }] },
    ]);
    const restored = await req('POST', '/api/workflows/ver/versions/1/restore', s.ada, {});
    expect(restored.json().version.version).toBe(3);
    expect((await req('GET', '/api/workflows/ver/versions/3', s.ada)).json().definition).toEqual(v1);
    const list = (await req('GET', '/api/workflows/ver/versions?limit=2', s.ada)).json();
    expect(list.items.map((v: { version: number }) => v.version)).toEqual([3, 2]);
    const rest = (await req('GET', `/api/workflows/ver/versions?limit=2&cursor=${list.nextCursor}`, s.ada)).json();
    expect(rest.items.map((v: { version: number }) => v.version)).toEqual([1]);
    expect(rest.nextCursor).toBeNull();
    expect((await req('GET', '/api/workflows/ver?version=2', s.ada)).json().definition.tasks).toHaveLength(3);
    expect((await req('GET', '/api/workflows/ver/versions/9', s.ada)).statusCode).toBe(404);
  });

  it('YAML and JSON import/export round-trip; validate', async () => {
    const yaml =
      'id: yml\nname: From YAML\ntasks:\n  - id: a\n    agentId: worker\n  - id: b\n    agentId: worker\n    dependencies: [a]\n';
    const imp = await req('POST', '/api/workflows/import', s.ada, { content: yaml });
    expect(imp.statusCode).toBe(201);
    const exp = await req('GET', '/api/workflows/yml/export?format=yaml', s.ada);
    expect(exp.headers['content-type']).toContain('yaml');
    expect(exp.body).toContain('dependencies:');
    const json = await req('GET', '/api/workflows/yml/export?format=json', s.ada);
    expect(JSON.parse(json.body).tasks[1].dependencies).toEqual(['a']);
    const again = await req('POST', '/api/workflows/import', s.ada, { content: json.body, format: 'json' });
    expect(again.statusCode).toBe(200);
    expect(again.json().version.version).toBe(2);
    const badYaml = await req('POST', '/api/workflows/import', s.ada, { content: 'id: [unclosed' });
    expect(badYaml.statusCode).toBe(400);
    expect(badYaml.json().error.code).toBe('CDX_ERR_WORKFLOW_PARSE');
    const ok = await req('POST', '/api/workflows/validate', s.eve, { definition: chain('v', 2) });
    expect(ok.json()).toEqual({ valid: true, workflowId: 'v', taskCount: 2 });
    const bad = await req('POST', '/api/workflows/validate', s.eve, { content: 'id: v\nname: v\ntasks: []\n' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.path).toMatch(/^body\.content/);
  });

  it('delete is owner-only and removes versions and roles', async () => {
    await req('POST', '/api/workflows', s.ada, { definition: chain('gone', 1) });
    expect((await req('DELETE', '/api/workflows/gone', s.ada)).statusCode).toBe(204);
    expect((await req('GET', '/api/workflows/gone', s.ada)).statusCode).toBe(404);
    expect((await req('GET', '/api/workflows/gone/versions', s.admin)).statusCode).toBe(404);
  });
});

describe('HTTP edges', () => {
  it('404 unknown route, 405 wrong method, 413 oversized body, OpenAPI 3.1 from the zod schemas', async () => {
    const nf = await req('GET', '/api/nothing-here', s.ada);
    expect(nf.statusCode).toBe(404);
    expect(nf.json().error.code).toBe('CDX_ERR_NOT_FOUND');
    const m = await req('PATCH', '/api/workflows', s.ada, {});
    expect(m.statusCode).toBe(405);
    expect(m.headers.allow).toContain('GET');
    const big = await req('POST', '/api/workflows', s.ada, { definition: { blob: 'x'.repeat(1_100_000) } });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('CDX_ERR_PAYLOAD_TOO_LARGE');
    const doc = (await req('GET', '/api/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    const post = doc.paths['/api/workflows'].post;
    expect(post.requestBody.content['application/json'].schema.required).toContain('definition');
    expect(post.responses['201'].content['application/json'].schema.properties.version.properties.author.type).toBe(
      'string',
    );
    expect(post.responses['4XX'].content['application/json'].schema.properties.error.required).toContain('requestId');
    const run = doc.paths['/api/executions/{id}'].get.responses['200'].content['application/json'].schema;
    expect(run.properties.tasks.items.properties.attempts.type).toBe('integer');
    expect((await req('GET', '/api/docs/')).statusCode).toBe(200);
    const h = await req('GET', '/health');
    expect(h.headers['x-content-type-options']).toBe('nosniff');
    expect(h.headers['content-security-policy']).toContain("script-src 'self'");
    expect(h.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(h.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('a handler that throws is a 500 with a request id and the server keeps serving', async () => {
    s.app.codexos.repo.list = () => {
      throw new Error('disk on fire: secret=abc');
    };
    const r = await req('GET', '/api/workflows', s.ada);
    expect(r.statusCode).toBe(500);
    expect(r.json().error.code).toBe('CDX_ERR_INTERNAL');
    expect(r.body).not.toContain('secret');
    expect(r.body).toContain(r.json().error.requestId);
    delete (s.app.codexos.repo as { list?: unknown }).list;
    expect((await req('GET', '/api/workflows', s.ada)).statusCode).toBe(200);
  });
});

describe('rate limits and CORS', () => {
  it('429 with retry-after per token; CORS only for allowed origins', async () => {
    const t = await testServer({ rateLimit: 3, corsOrigins: ['https://ok.example'] });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++)
        codes.push((await t.app.inject({ url: '/api/me', headers: t.auth(t.ada) })).statusCode);
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      const limited = await t.app.inject({ url: '/api/me', headers: t.auth(t.ada) });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.json().error.code).toBe('CDX_ERR_RATE_LIMITED');
      // Another token has its own budget.
      expect((await t.app.inject({ url: '/api/me', headers: t.auth(t.bob) })).statusCode).toBe(200);
      const ok = await t.app.inject({ url: '/health', headers: { origin: 'https://ok.example' } });
      expect(ok.headers['access-control-allow-origin']).toBe('https://ok.example');
      const no = await t.app.inject({ url: '/health', headers: { origin: 'https://evil.example' } });
      expect(no.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
