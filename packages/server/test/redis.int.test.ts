import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisStore } from '@codexos/multi-agent-orchestrator';
import { afterAll, describe, expect, it } from 'vitest';
import { type CodexServer, startServer } from '../src/index.js';
import { chain, echoAgent, redisServerPair } from './helpers.js';

// `codexos serve --redis`: executions, workflows, versions, users, tokens, roles and the audit in Redis; they
// survive a restart, and two servers on one Redis share them.

const data = mkdtempSync(join(tmpdir(), 'cdx-serve-redis-'));
afterAll(() => rmSync(data, { recursive: true, force: true }));
const quiet = { write: () => true };

describe.skipIf(!process.env.REDIS_URL)('server on the Redis store', () => {
  it('stores runs, workflows, versions and tokens in Redis, across a restart', async () => {
    const opts = {
      port: 0,
      data,
      redis: process.env.REDIS_URL,
      redisKeyPrefix: `cdx-srv-${randomUUID()}`,
      examples: false as const,
      agents: [echoAgent],
      handleSignals: false,
      out: quiet,
    };
    const first = await startServer(opts);
    const token = first.adminToken as string;
    expect(first.app.codexos.o.store.kind).toBe('redis');
    const call = async (url: string, path: string, method = 'GET', body?: unknown) => {
      const r = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return (await r.json()) as Record<string, any>;
    };
    await call(first.url, '/api/workflows', 'POST', { definition: chain('rd', 3) });
    const run = await call(first.url, '/api/executions?wait=true', 'POST', { workflowId: 'rd' });
    expect(run.status).toBe('completed');
    await first.stop();

    const second = await startServer(opts);
    expect(second.adminToken).toBeUndefined();
    const list = await call(second.url, '/api/executions?workflowId=rd');
    expect(list.items.map((e: { executionId: string; version: number }) => [e.executionId, e.version])).toEqual([
      [run.executionId, 1],
    ]);
    const detail = await call(second.url, `/api/executions/${run.executionId}`);
    expect(detail.tasks.map((t: { status: string }) => t.status)).toEqual(['completed', 'completed', 'completed']);
    expect((await call(second.url, '/api/workflows/rd')).version).toBe(1);
    await second.stop();
  });

  it("two servers on one Redis see each other's workflows, versions, tokens, roles and audit; tokens stay hashed", async () => {
    const { a, b, prefix } = await redisServerPair('two');
    const req = (app: CodexServer, method: string, url: string, token: string, payload?: unknown) =>
      app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${token}` },
        payload: payload as object,
      });
    try {
      expect(a.codexos.store.kind).toBe('redis');
      const root = (await a.codexos.tokens.create('root', 'admin')).token;
      // A token made through one server's API works on the other.
      const made = await req(b, 'POST', '/api/tokens', root, { user: 'ada', role: 'member' });
      expect(made.statusCode).toBe(201);
      const ada = made.json().token as string;
      expect((await req(a, 'GET', '/api/me', ada)).json()).toEqual({ user: { id: 'ada', role: 'member' } });
      expect((await req(a, 'POST', '/api/workflows', ada, { definition: chain('two', 2) })).statusCode).toBe(201);
      const onB = await req(b, 'GET', '/api/workflows/two', ada);
      expect(onB.statusCode).toBe(200);
      expect(onB.json()).toMatchObject({ id: 'two', version: 1, role: 'owner', taskCount: 2 });
      // Saves on both servers at once: distinct version numbers, no gaps.
      const saves = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          req(i % 2 ? a : b, 'PUT', '/api/workflows/two', ada, { definition: chain('two', 3), message: `save ${i}` }),
        ),
      );
      expect(saves.map((r) => r.statusCode)).toEqual(Array(10).fill(200));
      const numbers = saves.map((r) => r.json().version.version as number).sort((x, y) => x - y);
      expect(numbers).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      const versions = (await req(a, 'GET', '/api/workflows/two/versions?limit=50', ada)).json().items;
      expect(versions.map((v: { version: number }) => v.version)).toEqual([11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
      // A role granted on one server holds on the other; a revoke on one is refused on the other.
      const bob = (await req(a, 'POST', '/api/tokens', root, { user: 'bob' })).json();
      expect((await req(b, 'GET', '/api/workflows/two', bob.token)).statusCode).toBe(404);
      expect((await req(a, 'PUT', '/api/workflows/two/roles/bob', ada, { role: 'viewer' })).statusCode).toBe(200);
      expect((await req(b, 'GET', '/api/workflows/two', bob.token)).json().role).toBe('viewer');
      expect((await req(b, 'PUT', '/api/workflows/two', bob.token, { definition: chain('two', 1) })).statusCode).toBe(
        403,
      );
      expect((await req(a, 'DELETE', `/api/tokens/${bob.id}`, root)).statusCode).toBe(204);
      expect((await req(a, 'GET', '/api/me', bob.token)).statusCode).toBe(401);
      // The audit is shared: the 403 on b and the revoke on a are in it, whichever server is asked.
      const audit = (await req(a, 'GET', '/api/audit?limit=100', root)).json().items as Array<Record<string, unknown>>;
      expect(audit.some((e) => e.userId === 'bob' && e.status === 403)).toBe(true);
      expect(audit.some((e) => e.method === 'DELETE' && e.path === `/api/tokens/${bob.id}`)).toBe(true);
      // No secret is stored anywhere under the prefix.
      const redis = (a.codexos.o.store as RedisStore).redis;
      const keys = await redis.keys(`${prefix}:srv:*`);
      expect(keys.length).toBeGreaterThan(5);
      let dump = '';
      for (const k of keys) {
        const type = await redis.type(k);
        if (type === 'hash') dump += JSON.stringify(await redis.hgetall(k));
        else if (type === 'zset') dump += JSON.stringify(await redis.zrangebyscore(k, '-inf', '+inf'));
        else if (type === 'set') dump += JSON.stringify(await redis.smembers(k));
        else if (type === 'string') dump += await redis.get(k);
      }
      expect(dump).toContain('"two"');
      for (const t of [root, ada, bob.token as string]) expect(dump).not.toContain(t.slice(21));
    } finally {
      await a.close();
      await b.close();
    }
  });
});
