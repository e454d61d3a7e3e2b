import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, MultiAgentOrchestrator, type OrchestratorConfigInput, SqliteStore } from '../../src/index.js';
import { STATE_SCHEMA_VERSION } from '../../src/store/types.js';

// Execution ownership: one process drives a run. Two orchestrators on one store stand in for two processes.

const dir = mkdtempSync(join(tmpdir(), 'cdx-own-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const setups: [string, () => OrchestratorConfigInput][] = [
  ['sqlite', () => ({ store: { type: 'sqlite', path: join(dir, `${randomUUID()}.db`), leaseMs: 2000 } })],
];
if (process.env.REDIS_URL)
  setups.push([
    'redis',
    () => ({
      store: { type: 'redis', leaseMs: 2000 },
      redis: { url: process.env.REDIS_URL, keyPrefix: `cdx-own-${randomUUID()}` },
    }),
  ]);

const def = {
  id: 'own',
  name: 'own',
  tasks: [
    { id: 'a', agentId: 'work' },
    { id: 'b', agentId: 'gate', dependencies: ['a'] },
  ],
};

for (const [name, setup] of setups) {
  describe(`execution ownership (${name})`, () => {
    it('refuses to resume a live run, naming its owner; the run itself finishes untouched', async () => {
      const cfg = setup();
      const runs: string[] = [];
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      const make = (owner: string) => {
        const o = new MultiAgentOrchestrator(cfg, { owner });
        o.registerAgent({ id: 'work', handler: (ctx) => runs.push(`${owner}:${ctx.taskId}`) });
        o.registerAgent({
          id: 'gate',
          handler: async (ctx) => {
            runs.push(`${owner}:${ctx.taskId}`);
            await gate;
            return 'b';
          },
        });
        return o;
      };
      const a = make('host-a:1:aa');
      const b = make('host-b:2:bb');
      const running = a.executeWorkflow(def, { executionId: 'live' });
      while (!runs.includes('host-a:1:aa:b')) await sleep(5);
      // Over two lease lengths pass: the heartbeat keeps the lease, so the second process is still refused.
      await sleep(4500);
      const err = await b.resume('live').catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: ErrorCodes.EXECUTION_RUNNING,
        message: expect.stringContaining('being run by host-a:1:aa'),
      });
      expect((await b.listExecutions()).map((h) => [h.executionId, h.status])).toEqual([['live', 'running']]);
      open();
      const r = await running;
      expect(r.status).toBe('completed');
      expect(runs).toEqual(['host-a:1:aa:a', 'host-a:1:aa:b']);
      // Finished and released: now it may be resumed (nothing left to run).
      const again = await b.resume('live');
      expect(again.status).toBe('completed');
      expect(runs).toHaveLength(2);
      await Promise.all([a.close(), b.close()]);
    });

    it('a run whose owner stopped heartbeating reads as interrupted and another process resumes it', async () => {
      const cfg = setup();
      const b = new MultiAgentOrchestrator(cfg, { owner: 'other:2:live' });
      const ran: string[] = [];
      b.registerAgent({ id: 'work', handler: (ctx) => ran.push(ctx.taskId) });
      b.registerAgent({
        id: 'gate',
        handler: (ctx) => {
          ran.push(ctx.taskId);
          return 'b';
        },
      });
      // What a process killed mid-run leaves: a running header, task `a` done, a lease nobody renews.
      await b.store.createExecution(
        {
          executionId: 'hung',
          workflowId: 'own',
          status: 'running',
          definition: def,
          input: {},
          startedAt: Date.now(),
          schemaVersion: STATE_SCHEMA_VERSION,
        },
        { owner: 'elsewhere:1:dead', expiresAt: Date.now() + 1500 },
      );
      await b.store.appendTransitions([
        { executionId: 'hung', taskKey: 'a', status: 'completed', attempt: 1, at: 1, output: 'a' },
        { executionId: 'hung', taskKey: 'b', status: 'running', attempt: 1, at: 2 },
      ]);
      expect((await b.listExecutions()).map((h) => [h.executionId, h.status])).toEqual([['hung', 'running']]);
      await expect(b.resume('hung')).rejects.toMatchObject({ code: ErrorCodes.EXECUTION_RUNNING });
      while ((await b.getExecution('hung'))!.header.status === 'running') await sleep(50); // the lease runs out
      expect((await b.listExecutions()).map((h) => [h.executionId, h.status])).toEqual([['hung', 'interrupted']]);
      expect((await b.listExecutions({ status: 'interrupted' })).map((h) => h.executionId)).toEqual(['hung']);
      const r = await b.resume('hung');
      expect(r.status).toBe('completed');
      expect(r.tasks.a?.output).toBe('a'); // kept, not re-run
      expect(r.tasks.b?.output).toBe('b');
      expect(ran).toEqual(['b']);
      expect((await b.getExecution('hung'))!.header).toMatchObject({ status: 'completed' });
      await b.close();
    });
  });
}

it('sqlite: a run taken over by another process stops instead of running twice', async () => {
  const path = join(dir, `${randomUUID()}.db`);
  const cfg: OrchestratorConfigInput = { store: { type: 'sqlite', path, leaseMs: 300 } };
  const o = new MultiAgentOrchestrator(cfg, { owner: 'me:1:x' });
  let started = 0;
  o.registerAgent({ id: 'work', handler: () => 'a' });
  o.registerAgent({
    id: 'gate',
    handler: (ctx) => {
      started++;
      return new Promise((_, rej) => ctx.signal.addEventListener('abort', () => rej(ctx.signal.reason)));
    },
  });
  const running = o.executeWorkflow(def, { executionId: 'stolen' });
  while (started === 0) await sleep(5);
  // Another process takes the lease (as after ours lapsed); our next heartbeat sees it and the run stops.
  const other = new SqliteStore(path);
  expect(
    other.acquireLease('stolen', { owner: 'thief:2:y', expiresAt: Date.now() + 60_000 }, 'me:1:x'),
  ).toBeUndefined();
  const r = await running;
  expect(r.status).toBe('cancelled');
  expect(r.error?.message).toContain('taken over by thief:2:y');
  expect(other.loadExecution('stolen')!.header.lease?.owner).toBe('thief:2:y');
  other.close();
  await o.close();
});

describe('resume races', () => {
  const failedRun = async (o: MultiAgentOrchestrator, id: string) => {
    let fail = true;
    const ran: string[] = [];
    o.registerAgent({
      id: 'work',
      handler: (ctx) => {
        ran.push(ctx.taskId);
        return ctx.taskId;
      },
    });
    o.registerAgent({
      id: 'gate',
      handler: (ctx) => {
        ran.push(ctx.taskId);
        if (fail) throw Object.assign(new Error('once'), { retryable: false });
        return 'b';
      },
    });
    expect((await o.executeWorkflow(def, { executionId: id })).status).toBe('failed');
    fail = false;
    ran.length = 0;
    return ran;
  };

  it('two resumes of one run in one process: one runs it, the other is refused', async () => {
    const o = new MultiAgentOrchestrator({ store: { type: 'sqlite', path: join(dir, `${randomUUID()}.db`) } });
    const ran = await failedRun(o, 'twice');
    const [a, b] = await Promise.allSettled([o.resume('twice'), o.resume('twice')]);
    const statuses = [a, b].map((r) =>
      r.status === 'fulfilled' ? r.value.status : (r.reason as { code: string }).code,
    );
    expect(statuses.sort()).toEqual(['CDX_ERR_EXECUTION_RUNNING', 'completed']);
    expect(ran).toEqual(['b']);
    await o.close();
  });

  it('resume works from the state as it stands once the lease is held, not as first read', async () => {
    const store = new SqliteStore(join(dir, `${randomUUID()}.db`));
    const o = new MultiAgentOrchestrator({}, { store });
    const ran = await failedRun(o, 'moved-on');
    // Between resume's first read and its lease, the previous owner records `b` as completed.
    const acquire = store.acquireLease.bind(store);
    store.acquireLease = (id, lease, replacing) => {
      store.appendTransitions([
        { executionId: id, taskKey: 'b', status: 'completed', attempt: 1, at: 1, output: 'by-them' },
      ]);
      store.acquireLease = acquire;
      return acquire(id, lease, replacing);
    };
    const r = await o.resume('moved-on');
    expect(r.status).toBe('completed');
    expect(r.tasks.b?.output).toBe('by-them');
    expect(ran).toEqual([]);
    await o.close();
  });
});
