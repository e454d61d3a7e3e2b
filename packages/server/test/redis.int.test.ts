import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../src/index.js';
import { chain, echoAgent } from './helpers.js';

// `codexos serve --redis`: executions in Redis, the server's tables in <data>/server.db; both survive a restart.

const data = mkdtempSync(join(tmpdir(), 'cdx-serve-redis-'));
afterAll(() => rmSync(data, { recursive: true, force: true }));
const quiet = { write: () => true };

describe.skipIf(!process.env.REDIS_URL)('server on the Redis store', () => {
  it('stores runs in Redis and workflows, versions and tokens beside it, across a restart', async () => {
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
});
