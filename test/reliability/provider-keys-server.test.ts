import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Fakes, fakeConfig, KEYS, startFakes, TEST_CATALOG } from '../../packages/orchestrator/test/models/helpers.js';
import { type TestServer, testServer } from '../../packages/server/test/helpers.js';
import { FaultProxy } from './fixtures/fault-proxy.js';

// The server's side of the key rule under every provider fault kind: model-backed runs through the API while the
// providers answer 429/500/529 and 401s that echo the caller's key, hang, and cut answers and error bodies
// part-way. Afterwards no fragment of any key is in any API response (runs, events, history, usage, analytics,
// the access audit), in the audit table, or on the console.

const keyFragments = Object.values(KEYS).flatMap((k) => Array.from({ length: k.length - 9 }, (_, i) => k.slice(i, i + 10)));

let f: Fakes;
let proxies: FaultProxy[];
let s: TestServer;
const consoleLines: string[] = [];
beforeAll(async () => {
  f = await startFakes({
    leakCredentialsInErrors: true,
    faults: { rate: 0.2, kinds: ['429', '500', '529'], retryAfterSeconds: 0.005, seed: 11 },
  });
  proxies = await Promise.all(
    [f.openai, f.anthropic, f.google].map((u, i) =>
      new FaultProxy(u.url, { rate: 0.15, kinds: ['hang', 'cut-body', 'cut-stream', 'cut-error'], seed: 20 + i }).start(),
    ),
  );
  const target = { openai: { url: proxies[0].url }, anthropic: { url: proxies[1].url }, google: { url: proxies[2].url } } as Fakes;
  s = await testServer({
    config: {
      store: { type: 'memory' },
      models: {
        ...fakeConfig(target, { timeouts: { requestMs: 2000, idleMs: 2000 }, circuitBreaker: { cooldownMs: 200 } }),
        catalog: { replace: true, models: TEST_CATALOG },
      },
    },
    agents: [
      { id: 'oa', name: 'oa', model: { prefer: ['oa-small'], capabilities: ['chat'] } },
      { id: 'an', name: 'an', model: { prefer: ['an-haiku'], capabilities: ['chat'] } },
      { id: 'gm', name: 'gm', model: { prefer: ['gm-flash'], capabilities: ['chat'] } },
      { id: 'pinned', name: 'pinned', model: { model: 'oa-small' } },
    ],
  });
});
afterAll(async () => {
  await s?.close();
  await Promise.all(proxies.map((p) => p.close()));
  await f.close();
});

describe('provider keys under provider faults, through the server', () => {
  it('no key fragment in any API response, the audit or the console', async () => {
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation((...a: unknown[]) => void consoleLines.push(a.map(String).join(' '))),
    );
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
      consoleLines.push(String(chunk));
      return true;
    });
    const responses: string[] = [];
    let summary = '';
    const call = async (method: string, url: string, token: string, body?: unknown) => {
      const r = await s.app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(body ? { payload: body as Record<string, unknown> } : {}),
      });
      responses.push(r.body);
      return r;
    };
    try {
      const retry = { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 5 };
      const def = {
        id: 'keys',
        name: 'keys',
        tasks: [
          { id: 'a', agentId: 'oa', retry, input: { prompt: 'first' } },
          { id: 'b', agentId: 'an', retry, dependencies: ['a'], input: { prompt: 'second' } },
          { id: 'c', agentId: 'gm', retry, dependencies: ['a'], input: { prompt: 'third' } },
        ],
      };
      expect((await call('POST', '/api/workflows', s.ada, { definition: def })).statusCode).toBe(201);
      const failing = { id: 'keys-401', name: 'keys 401', tasks: [{ id: 'a', agentId: 'pinned', input: { prompt: 'no' } }] };
      expect((await call('POST', '/api/workflows', s.ada, { definition: failing })).statusCode).toBe(201);
      const ids: string[] = [];
      const statuses: string[] = [];
      for (let i = 0; i < 12; i++) {
        const r = await call('POST', '/api/executions?wait=true', s.ada, { workflowId: 'keys' });
        ids.push(r.json().executionId);
        statuses.push(r.json().status);
      }
      // A run that fails on a 401 whose body echoes the key (not retried; pinned to one model, so no fallback).
      f.openai.inject('401', '401', '401', '401', '401', '401');
      const bad = await call('POST', '/api/executions?wait=true', s.ada, { workflowId: 'keys-401' });
      expect(bad.json().status).toBe('failed');
      ids.push(bad.json().executionId);
      expect(statuses.filter((x) => x === 'completed').length).toBeGreaterThanOrEqual(11);
      for (const id of ids)
        for (const path of ['', '/events?limit=5000', '/history?limit=200', '/profile'])
          expect((await call('GET', `/api/executions/${id}${path}`, s.ada)).statusCode, path).toBe(200);
      for (const path of [
        '/api/executions?limit=100',
        '/api/models/usage',
        '/api/models',
        '/api/analytics/costs',
        '/api/analytics/anomalies',
        '/api/audit?limit=200',
      ])
        expect((await call('GET', path, s.admin)).statusCode, path).toBe(200);
      const faults = proxies.flatMap((p) => p.records).filter((r) => r.fault);
      expect(faults.length).toBeGreaterThan(0);
      const dump = JSON.stringify([responses, s.app.codexos.audit.list(10_000), consoleLines]);
      for (const frag of keyFragments) expect(dump).not.toContain(frag);
      // The failure is still explained (the provider's status), only without the key.
      expect(JSON.stringify(bad.json())).toMatch(/401|API key|auth/i);
      summary = `provider keys (server): ${ids.length} runs, ${faults.length} stand-in faults (${[...new Set(faults.map((r) => r.fault))].join(', ')}), ${responses.length} API responses, 0 key fragments`;
    } finally {
      for (const sp of spies) sp.mockRestore();
      stderr.mockRestore();
    }
    console.info(summary);
  }, 300_000);
});
