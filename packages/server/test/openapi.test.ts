import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { chain, seededServer, type TestServer, until } from './helpers.js';

// Every operation in /api/openapi.json is called for real and its answer checked against the schema the document
// declares for that status and media type: a route without a declared success response, or a schema that says
// something the route does not answer, fails here.

let s: TestServer;
const gated = {
  id: 'gated',
  name: 'Gated',
  tasks: [
    { id: 'draft', agentId: 'worker' },
    { id: 'review', type: 'approval', dependencies: ['draft'], approval: { prompt: 'Ship?' } },
  ],
};
beforeAll(async () => {
  s = await seededServer([chain('oa', 3), chain('slowoa', 6, 'slow'), gated, chain('gone', 1)], { bob: 'viewer' });
  await s.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(() => s.close());

const ok = async (method: string, url: string, body?: unknown) => {
  const r = await s.req(method, url, s.admin, body);
  if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
  return r.json();
};
const finished = async () =>
  (await ok('POST', '/api/executions?wait=true', { workflowId: 'oa' })).executionId as string;
const paused = async () => {
  const { executionId } = await ok('POST', '/api/debug/runs', {
    workflowId: 'oa',
    debug: { breakpoints: [{ taskId: 't1' }] },
  });
  await until(
    async () => (await ok('GET', `/api/executions/${executionId}/debug`)).state,
    (st) => st === 'paused',
  );
  return executionId as string;
};
const waiting = async () => {
  const { executionId } = await ok('POST', '/api/executions', { workflowId: 'gated' });
  await until(
    async () => (await ok('GET', '/api/approvals')).items as Array<{ executionId: string }>,
    (items) => items.some((w) => w.executionId === executionId),
  );
  return executionId as string;
};

interface Call {
  url: string;
  body?: unknown;
}
/** How to call each operation of the document successfully (fresh resources where a call changes state). */
const calls: Record<string, () => Promise<Call>> = {
  'GET /health': async () => ({ url: '/health' }),
  'GET /ready': async () => ({ url: '/ready' }),
  'GET /metrics': async () => ({ url: '/metrics' }),
  'GET /api/me': async () => ({ url: '/api/me' }),
  'POST /api/tokens': async () => ({ url: '/api/tokens', body: { user: 'tim', name: 'ci' } }),
  'GET /api/tokens': async () => ({ url: '/api/tokens?limit=2' }),
  'GET /api/audit': async () => ({ url: '/api/audit?limit=3' }),
  'DELETE /api/tokens/{id}': async () => ({
    url: `/api/tokens/${(await ok('POST', '/api/tokens', { user: 'tmp' })).id}`,
  }),
  'GET /api/workflows': async () => ({ url: '/api/workflows?limit=2' }),
  'POST /api/workflows': async () => ({ url: '/api/workflows', body: { definition: chain('made', 2) } }),
  'POST /api/workflows/import': async () => ({
    url: '/api/workflows/import',
    body: { format: 'yaml', content: 'id: imported\nname: Imported\ntasks:\n  - id: a\n    agentId: worker\n' },
  }),
  'POST /api/workflows/validate': async () => ({ url: '/api/workflows/validate', body: { definition: chain('v', 1) } }),
  'GET /api/workflows/{id}': async () => ({ url: '/api/workflows/oa' }),
  'PUT /api/workflows/{id}': async () => ({ url: '/api/workflows/oa', body: { definition: chain('oa', 3) } }),
  'DELETE /api/workflows/{id}': async () => ({ url: '/api/workflows/gone' }),
  'GET /api/workflows/{id}/export': async () => ({ url: '/api/workflows/oa/export?format=yaml' }),
  'GET /api/workflows/{id}/versions': async () => ({ url: '/api/workflows/oa/versions?limit=1' }),
  'GET /api/workflows/{id}/versions/{version}': async () => ({ url: '/api/workflows/oa/versions/1' }),
  'GET /api/workflows/{id}/diff': async () => {
    await ok('PUT', '/api/workflows/oa', { definition: chain('oa', 4) });
    return { url: '/api/workflows/oa/diff?from=1' };
  },
  'POST /api/workflows/{id}/versions/{version}/restore': async () => ({
    url: '/api/workflows/oa/versions/1/restore',
    body: {},
  }),
  'GET /api/workflows/{id}/roles': async () => ({ url: '/api/workflows/oa/roles' }),
  'PUT /api/workflows/{id}/roles/{userId}': async () => ({
    url: '/api/workflows/oa/roles/eve',
    body: { role: 'viewer' },
  }),
  'DELETE /api/workflows/{id}/roles/{userId}': async () => {
    await ok('PUT', '/api/workflows/oa/roles/eve', { role: 'viewer' });
    return { url: '/api/workflows/oa/roles/eve' };
  },
  'POST /api/executions': async () => ({ url: '/api/executions?wait=true', body: { workflowId: 'oa' } }),
  'GET /api/executions': async () => ({ url: '/api/executions?limit=2' }),
  'GET /api/executions/{id}': async () => ({ url: `/api/executions/${await finished()}` }),
  'POST /api/executions/{id}/cancel': async () => {
    const { executionId } = await ok('POST', '/api/executions', { workflowId: 'slowoa' });
    return { url: `/api/executions/${executionId}/cancel`, body: {} };
  },
  'POST /api/executions/{id}/resume': async () => {
    const { executionId } = await ok('POST', '/api/executions', { workflowId: 'slowoa' });
    await ok('POST', `/api/executions/${executionId}/cancel`, {});
    await until(
      async () => (await ok('GET', `/api/executions/${executionId}`)).status,
      (st) => st === 'cancelled',
    );
    return { url: `/api/executions/${executionId}/resume` };
  },
  'GET /api/executions/{id}/profile': async () => {
    const id = await finished();
    await until(
      async () => (await s.req('GET', `/api/executions/${id}/profile`, s.admin)).statusCode,
      (c) => c === 200,
    );
    return { url: `/api/executions/${id}/profile` };
  },
  'GET /api/executions/{id}/history': async () => ({ url: `/api/executions/${await finished()}/history?limit=3` }),
  'GET /api/executions/{id}/events': async () => ({ url: `/api/executions/${await finished()}/events?limit=4` }),
  'GET /api/executions/{id}/events/stream': async () => ({ url: `/api/executions/${await finished()}/events/stream` }),
  'GET /api/events/stream': async () => ({ url: '/api/events/stream' }),
  'GET /api/agents': async () => ({ url: '/api/agents' }),
  'GET /api/agents/{id}': async () => ({ url: '/api/agents/worker' }),
  'GET /api/models': async () => ({ url: '/api/models?limit=3' }),
  'GET /api/models/usage': async () => ({ url: '/api/models/usage' }),
  'GET /api/models/limits': async () => ({ url: '/api/models/limits' }),
  'GET /api/models/experiments': async () => ({ url: '/api/models/experiments' }),
  'GET /api/analytics/costs': async () => ({ url: '/api/analytics/costs' }),
  'GET /api/analytics/insights': async () => ({ url: '/api/analytics/insights' }),
  'GET /api/analytics/anomalies': async () => ({ url: '/api/analytics/anomalies' }),
  'GET /api/analytics/alerts': async () => ({ url: '/api/analytics/alerts' }),
  'GET /api/workflows/{id}/collab': async () => ({ url: '/api/workflows/oa/collab' }),
  'POST /api/workflows/{id}/collab/session': async () => ({ url: '/api/workflows/oa/collab/session' }),
  'GET /api/workflows/{id}/document': async () => ({ url: '/api/workflows/oa/document' }),
  'POST /api/workflows/{id}/locks/{taskId}': async () => ({
    url: '/api/workflows/oa/locks/t0',
    body: { ttlMs: 60_000 },
  }),
  'DELETE /api/workflows/{id}/locks/{taskId}': async () => {
    await ok('POST', '/api/workflows/oa/locks/t2', {});
    return { url: '/api/workflows/oa/locks/t2' };
  },
  'GET /api/workflows/{id}/audit': async () => ({ url: '/api/workflows/oa/audit' }),
  'POST /api/workflows/{id}/snapshot': async () => ({ url: '/api/workflows/oa/snapshot', body: { message: 'snap' } }),
  'POST /api/debug/runs': async () => ({
    url: '/api/debug/runs',
    body: { workflowId: 'oa', debug: { breakpoints: [{ taskId: 't2' }] } },
  }),
  'GET /api/executions/{id}/debug': async () => ({ url: `/api/executions/${await paused()}/debug` }),
  'PUT /api/executions/{id}/debug/breakpoints': async () => ({
    url: `/api/executions/${await paused()}/debug/breakpoints`,
    body: { breakpoints: [{ taskId: 't2', when: 'after' }] },
  }),
  'DELETE /api/executions/{id}/debug/breakpoints': async () => ({
    url: `/api/executions/${await paused()}/debug/breakpoints`,
  }),
  'POST /api/executions/{id}/debug/pause': async () => {
    const { executionId } = await ok('POST', '/api/debug/runs', { workflowId: 'slowoa', debug: {} });
    return { url: `/api/executions/${executionId}/debug/pause` };
  },
  'POST /api/executions/{id}/debug/step': async () => ({ url: `/api/executions/${await paused()}/debug/step` }),
  'POST /api/executions/{id}/debug/continue': async () => ({ url: `/api/executions/${await paused()}/debug/continue` }),
  'POST /api/executions/{id}/debug/abort': async () => ({ url: `/api/executions/${await paused()}/debug/abort` }),
  'GET /api/executions/{id}/debug/inspect': async () => ({
    url: `/api/executions/${await paused()}/debug/inspect?taskId=t1`,
  }),
  'PATCH /api/executions/{id}/debug/tasks/{taskId}': async () => ({
    url: `/api/executions/${await paused()}/debug/tasks/t1`,
    body: { prompt: 'edited' },
  }),
  'PUT /api/executions/{id}/debug/tasks/{taskId}/pin': async () => ({
    url: `/api/executions/${await paused()}/debug/tasks/t1/pin`,
    body: { output: { pinned: true } },
  }),
  'POST /api/executions/{id}/rerun': async () => ({
    url: `/api/executions/${await finished()}/rerun`,
    body: { fromTaskId: 't1' },
  }),
  'POST /api/executions/{id}/waitpoints/{name}/approve': async () => ({
    url: `/api/executions/${await waiting()}/waitpoints/review/approve`,
    body: { comment: 'ship' },
  }),
  'POST /api/executions/{id}/waitpoints/{name}/reject': async () => ({
    url: `/api/executions/${await waiting()}/waitpoints/review/reject`,
    body: {},
  }),
  'POST /api/executions/{id}/waitpoints/{name}/signal': async () => ({
    url: `/api/executions/${await waiting()}/waitpoints/review/signal`,
    body: { payload: { approved: true } },
  }),
  'GET /api/approvals': async () => {
    await waiting();
    return { url: '/api/approvals' };
  },
};

type Operation = { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> };

/** Reads the head of a streaming response over real HTTP, then hangs up. */
async function streamHead(url: string) {
  const { port } = s.app.server.address() as { port: number };
  const ac = new AbortController();
  const r = await fetch(`http://127.0.0.1:${port}${url}`, { headers: s.auth(s.admin), signal: ac.signal });
  const reader = r.body?.getReader();
  const first = await reader?.read();
  ac.abort();
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: new TextDecoder().decode(first?.value) };
}

describe('the OpenAPI document against real responses', () => {
  it('declares a success response for every operation, and every real answer matches its declared schema', async () => {
    const doc = (await s.req('GET', '/api/openapi.json')).json() as {
      paths: Record<string, Record<string, Operation>>;
    };
    const ops = Object.entries(doc.paths).flatMap(([path, byMethod]) =>
      Object.entries(byMethod).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, method, op })),
    );
    // The table above and the document name the same operations.
    expect(ops.map((o) => o.key).sort()).toEqual(Object.keys(calls).sort());
    const failures: string[] = [];
    for (const { key, method, op } of ops) {
      const call = await calls[key]();
      const streaming = key.endsWith('/stream');
      const res = streaming
        ? await streamHead(call.url)
        : await s.req(method.toUpperCase(), call.url, s.admin, call.body).then((r) => ({
            status: r.statusCode,
            type: String(r.headers['content-type'] ?? ''),
            text: r.body,
          }));
      if (res.status >= 300) {
        failures.push(`${key}: answered ${res.status} ${res.text.slice(0, 200)}`);
        continue;
      }
      const declared = op.responses?.[String(res.status)];
      if (!declared) {
        failures.push(`${key}: answered ${res.status}, which the document does not declare`);
        continue;
      }
      if (res.status === 204) continue;
      const media = Object.keys(declared.content ?? {}).find((m) => res.type.startsWith(m));
      if (!media) {
        failures.push(`${key}: answered ${res.type}, declared ${Object.keys(declared.content ?? {}).join(', ')}`);
        continue;
      }
      const schema = declared.content?.[media]?.schema;
      if (!schema) {
        failures.push(`${key}: no schema for ${media}`);
        continue;
      }
      const value = media === 'application/json' ? JSON.parse(res.text) : res.text;
      const check = z.fromJSONSchema(schema as never).safeParse(value);
      if (!check.success)
        failures.push(`${key}: ${check.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('the debug state of a run that has ended matches its declared schema (its state is how the run ended)', async () => {
    const doc = (await s.req('GET', '/api/openapi.json')).json() as {
      paths: Record<string, Record<string, Operation>>;
    };
    const schema = doc.paths['/api/executions/{id}/debug'].get.responses?.['200'].content?.['application/json'].schema;
    const st = await ok('GET', `/api/executions/${await finished()}/debug`);
    expect(st.state).toBe('completed');
    expect(z.fromJSONSchema(schema as never).safeParse(st).success).toBe(true);
  });

  it('a schema that lies is caught: an undeclared field or a declared field of the wrong type fails the check', async () => {
    const doc = (await s.req('GET', '/api/openapi.json')).json() as {
      paths: Record<string, Record<string, Operation>>;
    };
    const schema = doc.paths['/api/me'].get.responses?.['200'].content?.['application/json'].schema as {
      properties: { user: { properties: Record<string, unknown> } };
    };
    const me = (await s.req('GET', '/api/me', s.admin)).json();
    expect(z.fromJSONSchema(schema as never).safeParse(me).success).toBe(true);
    // A field the route answers but the document does not declare is a lie too.
    expect(z.fromJSONSchema(schema as never).safeParse({ ...me, extra: 1 }).success).toBe(false);
    schema.properties.user.properties.id = { type: 'number' };
    expect(z.fromJSONSchema(schema as never).safeParse(me).success).toBe(false);
  });
});
