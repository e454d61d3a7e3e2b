import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildServer } from '../../packages/server/src/index.js';
import { chain, echoAgent, type TestServer, testServer } from '../../packages/server/test/helpers.js';

// Every entry point of the server, table-driven. The table is checked against the routes the Fastify instance
// actually registers: a new route without a row fails the first test.

type Need = 'open' | 'any' | 'admin' | 'self' | 'viewer' | 'editor' | 'owner';
interface Row {
  need: Need;
  url: string;
  body?: unknown;
  /** WebSocket route: checked over a real socket. */
  ws?: boolean;
  /** Streams (SSE) never end by themselves: no success read. */
  stream?: boolean;
  /** The owner's read depends on the run's state (debug views of a finished run): not checked for 200. */
  noRead?: boolean;
  /** Creates by id: workflow ids are one namespace, so a taken id is 409 for anyone (docs/security.md). */
  claimsId?: boolean;
}

const KEY = 'sk-live-PROVIDERSECRET-0123456789abcdef';
const BASE = 'http://10.203.40.5:7777/v1';
const W = 'w';
let s: TestServer;
let exec: string;
let adaTokenId: string;
let base: string;

// key: "METHOD pattern" exactly as Fastify registers it.
const table = (): Record<string, Row> => ({
  'GET /': { need: 'open', url: '/' },
  'GET /health': { need: 'open', url: '/health' },
  'GET /ready': { need: 'open', url: '/ready' },
  'GET /api/openapi.json': { need: 'open', url: '/api/openapi.json' },
  'GET /metrics': { need: 'admin', url: '/metrics' },
  'GET /api/me': { need: 'any', url: '/api/me' },
  'POST /api/tokens': { need: 'admin', url: '/api/tokens', body: { user: 'mallory', role: 'admin' } },
  'GET /api/tokens': { need: 'admin', url: '/api/tokens' },
  'DELETE /api/tokens/:id': { need: 'self', url: `/api/tokens/${adaTokenId}` },
  'GET /api/audit': { need: 'admin', url: '/api/audit' },
  'GET /api/workflows': { need: 'any', url: '/api/workflows' },
  'POST /api/workflows': { need: 'any', url: '/api/workflows', body: { definition: chain('new1', 1) } },
  'POST /api/workflows/import': {
    need: 'editor',
    claimsId: true,
    url: '/api/workflows/import',
    body: { content: JSON.stringify(chain(W, 2)), format: 'json' },
  },
  'POST /api/workflows/validate': { need: 'any', url: '/api/workflows/validate', body: { definition: chain('v', 1) } },
  'GET /api/workflows/:id': { need: 'viewer', url: `/api/workflows/${W}` },
  'PUT /api/workflows/:id': { need: 'editor', url: `/api/workflows/${W}`, body: { definition: chain(W, 2) } },
  'DELETE /api/workflows/:id': { need: 'owner', url: `/api/workflows/${W}` },
  'GET /api/workflows/:id/export': { need: 'viewer', url: `/api/workflows/${W}/export` },
  'GET /api/workflows/:id/versions': { need: 'viewer', url: `/api/workflows/${W}/versions` },
  'GET /api/workflows/:id/versions/:version': { need: 'viewer', url: `/api/workflows/${W}/versions/1` },
  'POST /api/workflows/:id/versions/:version/restore': {
    need: 'editor',
    url: `/api/workflows/${W}/versions/1/restore`,
    body: {},
  },
  'GET /api/workflows/:id/diff': { need: 'viewer', url: `/api/workflows/${W}/diff?from=1` },
  'GET /api/workflows/:id/document': { need: 'viewer', url: `/api/workflows/${W}/document` },
  'GET /api/workflows/:id/roles': { need: 'viewer', url: `/api/workflows/${W}/roles` },
  'PUT /api/workflows/:id/roles/:userId': {
    need: 'owner',
    url: `/api/workflows/${W}/roles/bob`,
    body: { role: 'owner' },
  },
  'DELETE /api/workflows/:id/roles/:userId': { need: 'owner', url: `/api/workflows/${W}/roles/bob` },
  'GET /api/workflows/:id/collab': { need: 'viewer', url: `/api/workflows/${W}/collab` },
  'POST /api/workflows/:id/collab/session': { need: 'viewer', url: `/api/workflows/${W}/collab/session` },
  'POST /api/workflows/:id/locks/:taskId': { need: 'editor', url: `/api/workflows/${W}/locks/t0`, body: {} },
  'DELETE /api/workflows/:id/locks/:taskId': { need: 'editor', url: `/api/workflows/${W}/locks/t0` },
  'GET /api/workflows/:id/audit': { need: 'viewer', url: `/api/workflows/${W}/audit` },
  'POST /api/workflows/:id/snapshot': { need: 'editor', url: `/api/workflows/${W}/snapshot`, body: {} },
  'POST /api/executions': { need: 'editor', url: '/api/executions', body: { workflowId: W } },
  'GET /api/executions': { need: 'any', url: '/api/executions' },
  'GET /api/executions/:id': { need: 'viewer', url: `/api/executions/${exec}` },
  'POST /api/executions/:id/cancel': { need: 'editor', url: `/api/executions/${exec}/cancel`, body: {} },
  'POST /api/executions/:id/resume': { need: 'editor', url: `/api/executions/${exec}/resume` },
  'GET /api/executions/:id/profile': { need: 'viewer', url: `/api/executions/${exec}/profile` },
  'GET /api/executions/:id/history': { need: 'viewer', url: `/api/executions/${exec}/history` },
  'GET /api/executions/:id/events': { need: 'viewer', url: `/api/executions/${exec}/events` },
  'GET /api/executions/:id/events/stream': {
    need: 'viewer',
    url: `/api/executions/${exec}/events/stream`,
    stream: true,
  },
  'GET /api/executions/:id/live': { need: 'viewer', url: `/api/executions/${exec}/live`, ws: true },
  'GET /api/events/stream': { need: 'any', url: '/api/events/stream', stream: true },
  'GET /api/live': { need: 'any', url: '/api/live', ws: true },
  'GET /collab/:workflowId': { need: 'viewer', url: `/collab/${W}`, ws: true },
  'POST /api/debug/runs': { need: 'editor', url: '/api/debug/runs', body: { workflowId: W, debug: {} } },
  'GET /api/executions/:id/debug': { need: 'viewer', url: `/api/executions/${exec}/debug`, noRead: true },
  'PUT /api/executions/:id/debug/breakpoints': {
    need: 'editor',
    url: `/api/executions/${exec}/debug/breakpoints`,
    body: { breakpoints: [] },
  },
  'DELETE /api/executions/:id/debug/breakpoints': { need: 'editor', url: `/api/executions/${exec}/debug/breakpoints` },
  'POST /api/executions/:id/debug/pause': { need: 'editor', url: `/api/executions/${exec}/debug/pause` },
  'POST /api/executions/:id/debug/step': { need: 'editor', url: `/api/executions/${exec}/debug/step` },
  'POST /api/executions/:id/debug/continue': { need: 'editor', url: `/api/executions/${exec}/debug/continue` },
  'POST /api/executions/:id/debug/abort': { need: 'editor', url: `/api/executions/${exec}/debug/abort` },
  'GET /api/executions/:id/debug/inspect': {
    need: 'viewer',
    url: `/api/executions/${exec}/debug/inspect?taskId=t0`,
    noRead: true,
  },
  'PATCH /api/executions/:id/debug/tasks/:taskId': {
    need: 'editor',
    url: `/api/executions/${exec}/debug/tasks/t0`,
    body: { prompt: 'x' },
  },
  'PUT /api/executions/:id/debug/tasks/:taskId/pin': {
    need: 'editor',
    url: `/api/executions/${exec}/debug/tasks/t0/pin`,
    body: { output: 1 },
  },
  'POST /api/executions/:id/rerun': { need: 'editor', url: `/api/executions/${exec}/rerun`, body: { fromTaskId: 't1' } },
  'POST /api/executions/:id/waitpoints/:name/approve': {
    need: 'editor',
    url: `/api/executions/${exec}/waitpoints/ok/approve`,
    body: {},
  },
  'POST /api/executions/:id/waitpoints/:name/reject': {
    need: 'editor',
    url: `/api/executions/${exec}/waitpoints/ok/reject`,
    body: {},
  },
  'POST /api/executions/:id/waitpoints/:name/signal': {
    need: 'editor',
    url: `/api/executions/${exec}/waitpoints/ok/signal`,
    body: {},
  },
  'GET /api/approvals': { need: 'any', url: '/api/approvals' },
  'GET /api/agents': { need: 'any', url: '/api/agents' },
  'GET /api/agents/:id': { need: 'any', url: '/api/agents/worker' },
  'GET /api/models': { need: 'any', url: '/api/models' },
  'GET /api/models/usage': { need: 'any', url: '/api/models/usage' },
  'GET /api/models/limits': { need: 'any', url: '/api/models/limits' },
  'GET /api/models/experiments': { need: 'any', url: '/api/models/experiments' },
  'GET /api/analytics/costs': { need: 'any', url: '/api/analytics/costs' },
  'GET /api/analytics/insights': { need: 'any', url: '/api/analytics/insights' },
  'GET /api/analytics/anomalies': { need: 'any', url: '/api/analytics/anomalies' },
  'GET /api/analytics/alerts': { need: 'any', url: '/api/analytics/alerts' },
});

/** "METHOD url" for every route Fastify registered, from its route tree (HEAD and CORS OPTIONS left out). */
function registeredRoutes(tree: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:[│ ] {3})*)[├└]── (.*?)(?: \(([^)]*)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1].length / 4;
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + m[2];
    stack[depth] = path;
    for (const method of (m[3] ?? '').split(', ').filter(Boolean))
      if (method !== 'HEAD' && method !== 'OPTIONS') out.push(`${method} ${path}`);
  }
  // The API reference page and its assets are static and public.
  return out.filter((r) => !r.includes(' /api/docs'));
}

const inject = (method: string, url: string, token?: string, body?: unknown) =>
  s.app.inject({
    method: method as 'GET',
    url,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(body !== undefined ? { payload: body as object } : {}),
  });

/** Opens a socket: resolves to the HTTP status of a refused upgrade, or 101 when it opened. */
function socketStatus(url: string, token?: string): Promise<number> {
  const sep = url.includes('?') ? '&' : '?';
  const ws = new WebSocket(`${base}${url}${token ? `${sep}token=${token}` : ''}`);
  return new Promise((resolve, reject) => {
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', reject);
  });
}

beforeAll(async () => {
  s = await testServer({
    config: {
      store: { type: 'memory' },
      models: { providers: { openai: { apiKey: KEY, baseURL: BASE } } },
    },
  });
  expect((await inject('POST', '/api/workflows', s.ada, { definition: chain(W, 2) })).statusCode).toBe(201);
  expect((await inject('PUT', `/api/workflows/${W}/roles/bob`, s.ada, { role: 'viewer' })).statusCode).toBe(200);
  exec = (await inject('POST', '/api/executions?wait=true', s.ada, { workflowId: W })).json().executionId;
  expect(exec).toBeTruthy();
  adaTokenId = (await s.app.codexos.tokens.verify(s.ada))?.tokenId as string;
  await s.app.listen({ port: 0, host: '127.0.0.1' });
  base = `ws://127.0.0.1:${(s.app.server.address() as AddressInfo).port}`;
});
afterAll(() => s.close());

describe('every entry point', () => {
  it('the table names every registered route, and every row is a registered route', () => {
    const registered = registeredRoutes(s.app.printRoutes({ commonPrefix: false })).sort();
    expect(registered.length).toBeGreaterThan(40);
    expect(Object.keys(table()).sort()).toEqual(registered);
  });

  it('without a token, with a malformed one, or a revoked one: 401 on every protected route and socket', async () => {
    const revoked = await s.app.codexos.tokens.create('ada', 'member');
    await s.app.codexos.tokens.revoke(revoked.info.id);
    const forged = `${revoked.token.slice(0, -4)}AAAA`;
    let checked = 0;
    for (const [key, row] of Object.entries(table())) {
      if (row.need === 'open') continue;
      const method = key.split(' ')[0];
      for (const token of [undefined, 'nope', revoked.token, forged]) {
        const status = row.ws ? await socketStatus(row.url, token) : (await inject(method, row.url, token, row.body)).statusCode;
        expect(status, `${key} with ${token ? 'bad token' : 'no token'}`).toBe(401);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(150);
  });

  it('a user with no role on the workflow gets 404 (existence not revealed); an owner reads it', async () => {
    for (const [key, row] of Object.entries(table())) {
      if (!['viewer', 'editor', 'owner'].includes(row.need)) continue;
      const method = key.split(' ')[0];
      if (row.ws) {
        expect(await socketStatus(row.url, s.eve), key).toBe(404);
        continue;
      }
      const res = await inject(method, row.url, s.eve, row.body);
      expect(res.statusCode, key).toBe(row.claimsId ? 409 : 404);
      expect(res.json().error.code, key).toBe(row.claimsId ? 'CDX_ERR_CONFLICT' : 'CDX_ERR_NOT_FOUND');
      if (method === 'GET' && !row.stream && !row.noRead) expect((await inject(method, row.url, s.ada)).statusCode, key).toBe(200);
    }
  });

  it('a viewer writing gets 403 on every editor and owner route; the workflow is unchanged', async () => {
    const before = (await inject('GET', `/api/workflows/${W}`, s.ada)).json();
    for (const [key, row] of Object.entries(table())) {
      if (row.need !== 'editor' && row.need !== 'owner') continue;
      const res = await inject(key.split(' ')[0], row.url, s.bob, row.body);
      expect(res.statusCode, key).toBe(403);
      expect(res.json().error.code, key).toBe('CDX_ERR_FORBIDDEN');
    }
    const after = (await inject('GET', `/api/workflows/${W}`, s.ada)).json();
    expect(after.version).toBe(before.version);
    expect((await inject('GET', `/api/workflows/${W}/roles`, s.ada)).json().items).toEqual([
      { userId: 'ada', role: 'owner' },
      { userId: 'bob', role: 'viewer' },
    ]);
  });

  it('members get 403 on admin routes; another user\'s token is 404 and stays valid', async () => {
    for (const [key, row] of Object.entries(table())) {
      if (row.need !== 'admin') continue;
      expect((await inject(key.split(' ')[0], row.url, s.bob, row.body)).statusCode, key).toBe(403);
    }
    expect((await inject('DELETE', `/api/tokens/${adaTokenId}`, s.eve)).statusCode).toBe(404);
    expect((await inject('GET', '/api/me', s.ada)).statusCode).toBe(200);
  });

  it('tokens are stored as SHA-256 hashes, never in clear', () => {
    const rows = s.app.codexos.db.prepare('SELECT * FROM srv_tokens').all() as Array<Record<string, unknown>>;
    expect(rows.length).toBeGreaterThanOrEqual(4);
    const dump = JSON.stringify(rows.map((r) => Object.values(r).map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v))));
    for (const t of [s.admin, s.ada, s.bob, s.eve]) {
      expect(dump).not.toContain(t);
      expect(dump).not.toContain(t.slice(21));
    }
    for (const r of rows) expect((r.hash as Buffer).length).toBe(32);
  });

  it('provider keys and base URLs appear in no response, for an admin or a member', async () => {
    for (const [key, row] of Object.entries(table())) {
      const method = key.split(' ')[0];
      if (method !== 'GET' || row.ws || row.stream) continue;
      for (const token of [s.admin, s.ada]) {
        const body = (await inject(method, row.url, token)).body;
        expect(body, key).not.toContain(KEY);
        expect(body, key).not.toContain('10.203.40.5');
      }
    }
    // No route accepts provider settings: a workflow carrying them is refused, and nothing changes.
    const hostile = { ...chain('prov', 1), models: { providers: { openai: { baseURL: 'http://169.254.169.254/' } } } };
    const res = await inject('POST', '/api/workflows', s.ada, { definition: hostile });
    expect(res.statusCode).toBe(400);
    expect(JSON.stringify(s.app.codexos.o.config.models.providers)).not.toContain('169.254');
  });

  it('the access audit records writes and denied attempts, with no token in it', async () => {
    const before = (await s.app.codexos.audit.list(10_000)).length;
    await inject('POST', '/api/workflows/validate', s.ada, { definition: chain('v', 1) });
    await inject('PUT', `/api/workflows/${W}/roles/bob`, s.bob, { role: 'owner' });
    await inject('GET', `/api/workflows/${W}`, s.eve);
    await inject('GET', '/api/me');
    await inject('GET', `/api/me?token=${s.ada.slice(0, -2)}xx`);
    const page = (await inject('GET', '/api/audit?limit=5', s.admin)).json();
    const [me, eve, bob, ada] = page.items.slice(1) as Array<Record<string, unknown>>;
    expect(ada).toMatchObject({ userId: 'ada', method: 'POST', route: '/api/workflows/validate', outcome: 'ok', status: 200 });
    expect(bob).toMatchObject({ userId: 'bob', method: 'PUT', path: `/api/workflows/${W}/roles/bob`, status: 403, outcome: 'denied' });
    expect(eve).toMatchObject({ userId: 'eve', method: 'GET', status: 404, outcome: 'denied' });
    expect(me).toMatchObject({ method: 'GET', path: '/api/me', status: 401, outcome: 'denied' });
    expect(page.items[0]).toMatchObject({ status: 401, path: '/api/me' });
    expect(page.items[0].userId).toBeUndefined();
    const all = await s.app.codexos.audit.list(100_000);
    expect(all.length - before).toBe(5);
    // Every write and every denied attempt of the tests above is there; no token ever is.
    expect(all.filter((e) => e.outcome === 'denied').length).toBeGreaterThan(200);
    const dump = JSON.stringify(all);
    for (const t of [s.admin, s.ada, s.bob, s.eve]) expect(dump).not.toContain(t.slice(21));
    expect(() => s.app.codexos.db.prepare('DELETE FROM srv_audit').run()).toThrow(/append-only/);
  });
});

describe('limits', () => {
  it('a body over the limit is 413 with the error shape; the rate limit answers 429 with retry-after', async () => {
    const small = await buildServer({
      config: { store: { type: 'memory' } },
      orchestratorOptions: { collaboration: { storePath: ':memory:' } },
      agents: [echoAgent],
      bodyLimit: 4096,
      rateLimit: 20,
    });
    try {
      const t = (await small.codexos.tokens.create('ada', 'member')).token;
      const big = { definition: { ...chain('big', 1), description: 'x'.repeat(8192) } };
      const r = await small.inject({ method: 'POST', url: '/api/workflows', headers: { authorization: `Bearer ${t}` }, payload: big });
      expect(r.statusCode).toBe(413);
      expect(r.json().error.code).toBe('CDX_ERR_PAYLOAD_TOO_LARGE');
      const statuses: number[] = [];
      for (let i = 0; i < 25; i++)
        statuses.push((await small.inject({ url: '/api/me', headers: { authorization: `Bearer ${t}` } })).statusCode);
      expect(statuses.filter((x) => x === 429).length).toBe(25 - 19);
      const limited = await small.inject({ url: '/api/me', headers: { authorization: `Bearer ${t}` } });
      expect(limited.json().error.code).toBe('CDX_ERR_RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // Without a token the limit is per IP, and one token's limit does not starve another's.
      const other = (await small.codexos.tokens.create('bob', 'member')).token;
      expect((await small.inject({ url: '/api/me', headers: { authorization: `Bearer ${other}` } })).statusCode).toBe(200);
    } finally {
      await small.close();
    }
  });
});
