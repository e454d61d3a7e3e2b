import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes, MultiAgentOrchestrator } from '../../src/index.js';
import { RedisStore } from '../../src/store/redis/index.js';
import { STATE_SCHEMA_VERSION } from '../../src/store/types.js';
import { freePort } from '../support/net.js';
import { storeConformance } from './conformance.js';

const url = process.env.REDIS_URL;
const ns = () => `cdx-test-${randomUUID()}`;

const header = (id: string, workflowId = 'wf', status: 'running' | 'completed' = 'running') => ({
  executionId: id,
  workflowId,
  status,
  definition: { id: workflowId },
  input: { q: 1 },
  startedAt: Date.now(),
  schemaVersion: STATE_SCHEMA_VERSION,
});

/** A private redis-server this test may kill. */
async function ownRedis(): Promise<{ url: string; proc: ChildProcess; stop: () => Promise<void> }> {
  const port = await freePort();
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'],
    {
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 100; i++) {
    if (
      spawnSync('redis-cli', ['-p', String(port), 'ping'])
        .stdout?.toString()
        .trim() === 'PONG'
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    url: `redis://127.0.0.1:${port}`,
    proc,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

function fanOut(workers: number) {
  return {
    id: 'fan',
    name: 'fan',
    tasks: [
      { id: 'start', agentId: 'echo' },
      ...Array.from({ length: workers }, (_, i) => ({ id: `w${i}`, agentId: 'echo', dependencies: ['start'] })),
      { id: 'join', agentId: 'echo', dependencies: Array.from({ length: workers }, (_, i) => `w${i}`) },
    ],
  };
}

if (!url) {
  it.skip('Redis store: REDIS_URL is not set (test/global-setup.ts sets it when redis-server is on PATH)', () => {});
} else {
  const admin = new Redis(url);
  afterAll(async () => {
    await admin.quit();
  });

  storeConformance('redis', () => new RedisStore({ redis: url, keyPrefix: ns() }));

  describe('RedisStore', () => {
    it('lays keys out as documented and shares state between two connections', async () => {
      const prefix = ns();
      const a = new RedisStore({ redis: url, keyPrefix: prefix });
      // Ioredis options instead of a URL, like the config's host/port.
      const b = new RedisStore({ redis: { host: '127.0.0.1', port: Number(new URL(url).port) }, keyPrefix: prefix });
      await a.saveExecution(header('e:1', 'w:a'));
      await a.appendTransitions([
        { executionId: 'e:1', taskKey: 't', status: 'running', attempt: 1, at: 1 },
        { executionId: 'e:1', taskKey: 't', status: 'completed', attempt: 1, at: 2, output: { ok: true } },
      ]);
      expect(await admin.type(`${prefix}:store:exec:{e:1}`)).toBe('hash');
      expect(await admin.type(`${prefix}:store:log:{e:1}`)).toBe('list');
      expect(await admin.llen(`${prefix}:store:log:{e:1}`)).toBe(2);
      expect(await admin.zrange(`${prefix}:store:executions`, '0', '-1')).toEqual(['e:1']);
      expect(await admin.zrange(`${prefix}:store:wf:{w:a}`, '0', '-1')).toEqual(['e:1']);
      expect(await admin.hget(`${prefix}:store:meta`, 'schemaVersion')).toBe(String(STATE_SCHEMA_VERSION));
      expect(await admin.hget(`${prefix}:store:exec:{e:1}`, 'status')).toBe('running');
      // The second connection (another process, in production) sees the same execution and task state.
      expect((await b.loadExecution('e:1'))?.tasks.get('t')).toMatchObject({
        status: 'completed',
        output: { ok: true },
      });
      expect((await b.listExecutions({ workflowId: 'w:a' })).map((h) => h.executionId)).toEqual(['e:1']);
      // Another namespace sees nothing.
      const other = new RedisStore({ redis: url, keyPrefix: ns() });
      expect(await other.loadExecution('e:1')).toBeUndefined();
      expect(await other.listExecutions()).toEqual([]);
      await Promise.all([a.close(), b.close(), other.close()]);
      await expect(a.redis.ping()).rejects.toThrow(); // its own connection was quit
    });

    it('a lease past its expiresAt is free while its key still lives (PX counts from when Redis ran the SET)', async () => {
      const prefix = ns();
      const s = new RedisStore({ redis: url, keyPrefix: prefix });
      await s.createExecution(header('late'), { owner: 'dead:1:x', expiresAt: Date.now() + 60_000 });
      // The key outlives the lease it holds, as it does when the writer's SET reached Redis late.
      const key = `${prefix}:store:lease:{late}`;
      await admin.set(key, JSON.stringify({ owner: 'dead:1:x', expiresAt: Date.now() - 1 }), 'PX', 60_000);
      expect(await s.acquireLease('late', { owner: 'live:2:y', expiresAt: Date.now() + 5000 })).toBeUndefined();
      expect(JSON.parse((await admin.get(key))!).owner).toBe('live:2:y');
      // A lease still within its time is refused as before.
      expect(await s.acquireLease('late', { owner: 'third:3:z', expiresAt: Date.now() + 5000 })).toMatchObject({
        owner: 'live:2:y',
      });
      await s.close();
    });

    it('leaves a client it was given open on close', async () => {
      const client = new Redis(url);
      const s = new RedisStore({ redis: client, keyPrefix: ns() });
      await s.saveExecution(header('e'));
      await s.close();
      expect(await client.ping()).toBe('PONG');
      await expect(s.loadExecution('e')).rejects.toMatchObject({ code: ErrorCodes.STORE });
      await client.quit();
    });

    it('clears a finished execution header field that was removed, and lists past a page', async () => {
      const s = new RedisStore({ redis: url, keyPrefix: ns() });
      await s.saveExecution({ ...header('e'), status: 'failed', finishedAt: 5, error: { code: 'E', message: 'x' } });
      await s.saveExecution(header('e'));
      const h = (await s.loadExecution('e'))!.header;
      expect(h.error).toBeUndefined();
      expect(h.finishedAt).toBeUndefined();
      for (let i = 0; i < 450; i++)
        await s.saveExecution({ ...header(`p${i}`), startedAt: i, status: i % 3 ? 'running' : 'completed' });
      expect(await s.listExecutions()).toHaveLength(451);
      const done = await s.listExecutions({ status: 'completed', limit: 120 });
      expect(done).toHaveLength(120);
      expect(done[0].executionId).toBe('p447');
      await s.close();
    });

    it('expires finished executions when finishedTtlSeconds is set and drops them from the index', async () => {
      const prefix = ns();
      const s = new RedisStore({ redis: url, keyPrefix: prefix, finishedTtlSeconds: 60 });
      await s.saveExecution(header('keep'));
      await s.saveExecution({ ...header('old'), status: 'completed' });
      await s.appendTransitions([{ executionId: 'old', taskKey: 't', status: 'completed', attempt: 1, at: 1 }]);
      expect(await admin.ttl(`${prefix}:store:exec:{old}`)).toBeGreaterThan(0);
      expect(await admin.ttl(`${prefix}:store:exec:{keep}`)).toBe(-1);
      await admin.del(`${prefix}:store:exec:{old}`); // as if the TTL had passed
      expect((await s.listExecutions()).map((h) => h.executionId)).toEqual(['keep']);
      expect(await admin.zrange(`${prefix}:store:executions`, '0', '-1')).toEqual(['keep']);
      await s.close();
    });

    it('a resumed run loses the expiry its first finish set: nothing vanishes mid-run (finishedTtlSeconds)', async () => {
      const keyPrefix = ns();
      let fail = true;
      const make = () => {
        const o = new MultiAgentOrchestrator(
          {},
          { store: new RedisStore({ redis: url, keyPrefix, finishedTtlSeconds: 30 }) },
        );
        o.registerAgent({ id: 'w', handler: (ctx) => ctx.taskId });
        o.registerAgent({
          id: 'flaky',
          handler: async () => {
            if (fail) throw Object.assign(new Error('first time'), { retryable: false });
            // Mid-run of the resume: the keys must carry no expiry now.
            ttlsDuringResume.push(await admin.ttl(`${keyPrefix}:store:exec:{ttl-1}`));
            ttlsDuringResume.push(await admin.ttl(`${keyPrefix}:store:log:{ttl-1}`));
            return 'ok';
          },
        });
        return o;
      };
      const ttlsDuringResume: number[] = [];
      const def = {
        id: 'ttl',
        name: 'ttl',
        tasks: [
          { id: 'a', agentId: 'w' },
          { id: 'b', agentId: 'flaky', dependencies: ['a'] },
        ],
      };
      const first = make();
      expect((await first.executeWorkflow(def, { executionId: 'ttl-1' })).status).toBe('failed');
      await first.close();
      expect(await admin.ttl(`${keyPrefix}:store:exec:{ttl-1}`)).toBeGreaterThan(0);
      fail = false;
      const second = make();
      expect((await second.resume('ttl-1')).status).toBe('completed');
      await second.close();
      expect(ttlsDuringResume).toEqual([-1, -1]);
      // Finished again: the expiry is back, over the whole run.
      expect(await admin.ttl(`${keyPrefix}:store:exec:{ttl-1}`)).toBeGreaterThan(0);
      expect(await admin.ttl(`${keyPrefix}:store:log:{ttl-1}`)).toBeGreaterThan(0);
      const s = new RedisStore({ redis: url, keyPrefix });
      const got = (await s.loadExecution('ttl-1'))!;
      expect(got.header.status).toBe('completed');
      expect([...got.tasks.keys()].sort()).toEqual(['a', 'b']);
      await s.close();
    });

    it('refuses data written with a newer schema version', async () => {
      const prefix = ns();
      const s = new RedisStore({ redis: url, keyPrefix: prefix });
      await s.saveExecution(header('e'));
      await admin.hset(`${prefix}:store:exec:{e}`, 'schemaVersion', '99');
      await expect(s.loadExecution('e')).rejects.toMatchObject({
        code: ErrorCodes.STORE,
        message: expect.stringContaining('schema version 99'),
      });
      await admin.hset(`${prefix}:store:meta`, 'schemaVersion', '99');
      const fresh = new RedisStore({ redis: url, keyPrefix: prefix });
      await expect(fresh.listExecutions()).rejects.toMatchObject({
        code: ErrorCodes.STORE,
        message: expect.stringContaining('schema version 99'),
      });
      await Promise.all([s.close(), fresh.close()]);
    });

    it('turns an unreachable Redis into CodexError STORE naming the operation', async () => {
      const s = new RedisStore({ redis: `redis://127.0.0.1:${await freePort()}`, keyPrefix: ns() });
      const err = await Promise.resolve(s.saveExecution(header('e'))).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: ErrorCodes.STORE, message: expect.stringContaining('saveExecution failed') });
      await s.close();
    });

    it('fails a run with a STORE error when Redis goes down mid-run; the orchestrator closes cleanly', async () => {
      const server = await ownRedis();
      const o = new MultiAgentOrchestrator({
        store: { type: 'redis' },
        redis: { url: server.url, keyPrefix: ns() },
      });
      o.registerAgent({ id: 'echo', handler: (ctx) => ctx.taskId });
      o.registerAgent({
        id: 'kill',
        handler: async () => {
          await server.stop();
          return 'killed';
        },
      });
      const result = await o.executeWorkflow({
        id: 'down',
        name: 'down',
        tasks: [
          { id: 'a', agentId: 'echo' },
          { id: 'k', agentId: 'kill', dependencies: ['a'] },
          { id: 'after', agentId: 'echo', dependencies: ['k'] },
        ],
      });
      expect(result.status).toBe('failed');
      // The journal's write fails first; the engine's final header write then fails too and names itself.
      expect(result.error).toMatchObject({
        code: ErrorCodes.STORE,
        message: expect.stringMatching(/Redis state store: (appendTransitions|saveExecution) failed/),
      });
      expect(result.tasks.after?.status).not.toBe('completed');
      await o.close();
      // The process carries on: a store on the live Redis still works.
      const s = new RedisStore({ redis: url, keyPrefix: ns() });
      await s.saveExecution(header('alive'));
      await s.close();
    });

    it('runs a 1000-task fan-out through the orchestrator with every transition stored', async () => {
      const keyPrefix = ns();
      const o = new MultiAgentOrchestrator({
        store: { type: 'redis' },
        redis: { url, keyPrefix },
        workflow: { maxTasks: 5000, maxConcurrency: 5000 },
      });
      expect(o.store.kind).toBe('redis');
      o.registerAgent({ id: 'echo', handler: (ctx) => `out:${ctx.taskId}` });
      const result = await o.executeWorkflow(fanOut(998), { executionId: 'fan-1' });
      expect(result.status).toBe('completed');
      expect(Object.keys(result.tasks)).toHaveLength(1000);
      await o.close();

      // Read back through a separate store, as another process would.
      const s = new RedisStore({ redis: url, keyPrefix });
      const stored = (await s.loadExecution('fan-1'))!;
      expect(stored.header.status).toBe('completed');
      expect(stored.tasks.size).toBe(1000);
      for (const [key, t] of stored.tasks) {
        expect(t.status).toBe('completed');
        expect(t.output).toBe(`out:${key}`);
      }
      const hist = await s.history('fan-1');
      const byTask = new Map<string, string[]>();
      for (const t of hist) byTask.set(t.taskKey, [...(byTask.get(t.taskKey) ?? []), t.status]);
      expect(byTask.size).toBe(1000);
      for (const statuses of byTask.values()) {
        expect(statuses.filter((x) => x === 'completed')).toHaveLength(1);
        expect(statuses.at(-1)).toBe('completed');
        expect(statuses.indexOf('running')).toBeLessThan(statuses.indexOf('completed'));
      }
      expect(await admin.llen(`${keyPrefix}:store:log:{fan-1}`)).toBe(hist.length);
      // The same run on SQLite records the same transitions per task: nothing was lost on the way to Redis.
      const ref = new MultiAgentOrchestrator({
        store: { type: 'sqlite', path: ':memory:' },
        workflow: { maxTasks: 5000, maxConcurrency: 5000 },
      });
      ref.registerAgent({ id: 'echo', handler: (ctx) => `out:${ctx.taskId}` });
      await ref.executeWorkflow(fanOut(998), { executionId: 'fan-1' });
      const refHist = await ref.store.history('fan-1');
      await ref.close();
      expect(hist.length).toBe(refHist.length);
      const refByTask = new Map<string, string[]>();
      for (const t of refHist) refByTask.set(t.taskKey, [...(refByTask.get(t.taskKey) ?? []), t.status]);
      expect(byTask).toEqual(refByTask);
      expect((await s.listExecutions({ workflowId: 'fan' })).map((h) => h.executionId)).toEqual(['fan-1']);
      await s.close();
    });

    it('resumes after a failed run in a new orchestrator: completed tasks are not re-run, outputs intact', async () => {
      const keyPrefix = ns();
      const runs = new Map<string, number>();
      let boomArmed = true;
      const make = () => {
        const o = new MultiAgentOrchestrator({ store: { type: 'redis' }, redis: { url, keyPrefix } });
        o.registerAgent({
          id: 'work',
          handler: (ctx) => {
            runs.set(ctx.taskId, (runs.get(ctx.taskId) ?? 0) + 1);
            if (ctx.taskId === 'boom' && boomArmed) {
              boomArmed = false;
              throw Object.assign(new Error('simulated crash'), { retryable: false });
            }
            const deps = Object.values(ctx.deps) as number[];
            return deps.reduce((a, b) => a + b, 1);
          },
        });
        return o;
      };
      const definition = {
        id: 'resume-wf',
        name: 'resume',
        tasks: [
          { id: 'a', agentId: 'work' },
          { id: 'b', agentId: 'work', dependencies: ['a'] },
          { id: 'c', agentId: 'work', dependencies: ['a'] },
          { id: 'boom', agentId: 'work', dependencies: ['b'] },
          { id: 'after', agentId: 'work', dependencies: ['boom', 'c'] },
        ],
      };
      const first = make();
      const r1 = await first.executeWorkflow(definition, { executionId: 'res-1' });
      expect(r1.status).toBe('failed');
      expect(r1.tasks.boom?.status).toBe('failed');
      const firstOutputs = { a: r1.tasks.a?.output, b: r1.tasks.b?.output, c: r1.tasks.c?.output };
      expect(firstOutputs).toEqual({ a: 1, b: 2, c: 2 });
      expect(runs.get('after')).toBeUndefined();
      await first.close();

      const second = make();
      const r2 = await second.resume('res-1');
      expect(r2.status).toBe('completed');
      expect(r2.resumed).toBe(true);
      expect({ a: r2.tasks.a?.output, b: r2.tasks.b?.output, c: r2.tasks.c?.output }).toEqual(firstOutputs);
      expect(r2.tasks.boom?.output).toBe(3);
      expect(r2.tasks.after?.output).toBe(6);
      expect(Object.fromEntries(runs)).toEqual({ a: 1, b: 1, c: 1, boom: 2, after: 1 });
      const stored = (await second.store.loadExecution('res-1'))!;
      expect(stored.header.status).toBe('completed');
      await second.close();
    });

    it('docs/operations.md: the Redis example runs as written', () => {
      const here = dirname(fileURLToPath(import.meta.url));
      const text = readFileSync(join(here, '..', '..', '..', '..', 'docs', 'operations.md'), 'utf8');
      const block = /```ts\n([\s\S]*?)```/.exec(text)?.[1];
      expect(block).toBeDefined();
      // Inside the repo so the package name resolves through the workspace link.
      const dir = mkdtempSync(join(here, '.doc-'));
      const file = join(dir, 'example.mts');
      writeFileSync(file, block!);
      try {
        const r = spawnSync(process.execPath, ['--import', 'tsx', file], {
          encoding: 'utf8',
          timeout: 60_000,
          env: { ...process.env, REDIS_URL: url, CODEXOS_PREFIX: ns() },
        });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/^first run: failed .*publisher offline/m);
        expect(r.stdout).toMatch(/^resumed: completed published 3 rows$/m);
        expect(r.stdout).toMatch(/^transitions: \d+$/m);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
