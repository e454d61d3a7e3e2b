import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentDefinition } from '../../src/agents/types.js';
import { parseConfig } from '../../src/config.js';
import { CodexError, ErrorCodes } from '../../src/errors.js';
import { BullMQQueue } from '../../src/queue/bullmq/bullmq-queue.js';
import { redisTarget } from '../../src/queue/bullmq/connection.js';
import { jobIdOf, queueName } from '../../src/queue/bullmq/keys.js';
import { TaskWorker } from '../../src/queue/bullmq/task-worker.js';
import type { DispatchContext } from '../../src/queue/types.js';
import { dispatchContext, waitFor } from './dist-helpers.js';

// Batch jobs on real Redis and BullMQ: the attempts of one agent made ready together travel in a few jobs, a worker
// runs no more of them at once than its slots, a cancel reaches an attempt a batch holds, and an attempt that a
// resumed run sends alone while a batch holds it runs once.

const url = process.env.REDIS_URL;
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => {});
});

/** Handler calls, by task id, and the most attempts that ran at once. */
function tracker() {
  const calls: string[] = [];
  let now = 0;
  let most = 0;
  const gates = new Map<string, () => void>();
  const agent: AgentDefinition = {
    id: 'b',
    handler: async (c) => {
      calls.push(c.taskId);
      most = Math.max(most, ++now);
      try {
        const { ms, hold } = c.params as { ms?: number; hold?: boolean };
        if (hold) {
          await new Promise<void>((res, rej) => {
            gates.set(c.taskId, res);
            c.signal.addEventListener('abort', () => rej(c.signal.reason));
          });
        } else if (ms) await new Promise((r) => setTimeout(r, ms));
        return `${c.taskId}@${c.attempt}`;
      } finally {
        now--;
      }
    },
  };
  return { agent, calls, gates, most: () => most };
}

const prefix = () => `cdx-batch-${randomUUID().slice(0, 8)}`;

/** An orchestrator's queue whose pool knows the workers serving the agents (so batches form). */
async function queueOn(target: ReturnType<typeof redisTarget> & { prefix: string }): Promise<BullMQQueue> {
  const cfg = parseConfig({ execution: { mode: 'distributed' } });
  const queue = new BullMQQueue(target, cfg.execution, { agents: cfg.agents, autoStart: false });
  await queue.ready();
  closers.push(() => queue.close());
  return queue;
}

async function workerOn(target: { prefix: string }, agent: AgentDefinition, concurrency: number): Promise<TaskWorker> {
  const w = await new TaskWorker({
    target: { ...redisTarget(url), ...target },
    agents: [agent],
    concurrency,
    heartbeatMs: 60_000,
  }).start();
  closers.push(() => w.close());
  return w;
}

/** How many jobs were added to the agent's queue (BullMQ's `added` events). */
async function jobsAdded(p: string, agentId: string): Promise<number> {
  const c = new Redis(url!);
  try {
    const entries = await c.xrange(`${p}:q:${queueName(agentId)}:events`, '-', '+');
    return entries.filter(([, f]) => f[0] === 'event' && f[1] === 'added').length;
  } finally {
    c.disconnect();
  }
}

/** A queue and one worker with `slots` slots, the queue's pool told of the worker: attempts ready together batch. */
async function batched(slots: number) {
  const target = { ...redisTarget(url), prefix: prefix() };
  const t = tracker();
  const queue = await queueOn(target);
  const worker = await workerOn(target, t.agent, slots);
  await queue.pool!.readOwnAgents();
  return { target, t, queue, worker };
}

const ctxOf = (taskId: string, params: Record<string, unknown>, executionId?: string) =>
  dispatchContext('b', taskId, params, executionId) as DispatchContext & { ctrl?: AbortController };

describe.skipIf(!url)('batch jobs (real Redis, BullMQ)', () => {
  it('a fan-out travels in a few jobs; every attempt gets its own result', async () => {
    const { target, t, queue } = await batched(8);
    const exec = `exec-${randomUUID()}`;
    const outs = await Promise.all(Array.from({ length: 24 }, (_, i) => queue.run(ctxOf(`t${i}`, {}, exec), t.agent)));
    expect(outs).toEqual(Array.from({ length: 24 }, (_, i) => `t${i}@1`));
    expect(t.calls.sort()).toEqual(Array.from({ length: 24 }, (_, i) => `t${i}`).sort());
    // One worker with 8 slots: batches of 8 (never more than its slots), so 3 jobs for 24 attempts.
    expect(await jobsAdded(target.prefix, 'b')).toBe(3);
  });

  it('without a known worker (no pool), each attempt is a job of its own', async () => {
    const target = { ...redisTarget(url), prefix: prefix() };
    const t = tracker();
    const cfg = parseConfig({ execution: { mode: 'distributed' } });
    const queue = new BullMQQueue(target, cfg.execution);
    await queue.ready();
    closers.push(() => queue.close());
    await workerOn(target, t.agent, 8);
    await Promise.all(Array.from({ length: 6 }, (_, i) => queue.run(ctxOf(`t${i}`, {}), t.agent)));
    expect(await jobsAdded(target.prefix, 'b')).toBe(6);
  });

  it('a worker with one slot gets no batches, however many instances the pool plans', async () => {
    const target = { ...redisTarget(url), prefix: prefix() };
    const t = tracker();
    const cfg = parseConfig({ execution: { mode: 'distributed' }, agents: { minAgents: 10, maxAgents: 10 } });
    const queue = new BullMQQueue(target, cfg.execution, { agents: cfg.agents, autoStart: false });
    await queue.ready();
    closers.push(() => queue.close());
    await workerOn(target, t.agent, 1);
    await workerOn(target, t.agent, 1);
    await queue.pool!.tick();
    // Ten instances over two workers is five each by the plan, but each worker runs one at a time.
    expect(queue.pool!.spread('b')).toEqual({ workers: 2, perWorker: 1 });
    await Promise.all(Array.from({ length: 8 }, (_, i) => queue.run(ctxOf(`t${i}`, {}), t.agent)));
    expect(await jobsAdded(target.prefix, 'b')).toBe(8);
  });

  it('a worker runs no more attempts at once than its slots, however many batches it could fetch', async () => {
    const { target, t, queue } = await batched(3);
    const exec = `exec-${randomUUID()}`;
    const outs = await Promise.all(
      Array.from({ length: 18 }, (_, i) => queue.run(ctxOf(`t${i}`, { ms: 30 }, exec), t.agent)),
    );
    expect(outs).toHaveLength(18);
    // Batches of 3 (its slots): BullMQ alone would fetch three of them at once (9 attempts).
    expect(await jobsAdded(target.prefix, 'b')).toBe(6);
    expect(t.most()).toBe(3);
  });

  it('a cancelled attempt a waiting batch holds is never started; a running one is aborted', async () => {
    const { t, queue, worker } = await batched(2);
    const exec = `exec-${randomUUID()}`;
    const ctxs = Array.from({ length: 4 }, (_, i) => {
      const ctrl = new AbortController();
      return { ...ctxOf(`t${i}`, { hold: true }, exec), signal: ctrl.signal, ctrl };
    });
    const runs = ctxs.map((c) => Promise.resolve(queue.run(c, t.agent)).catch((e: unknown) => e));
    // Batches [t0, t1] and [t2, t3]: the worker's two slots hold the first, the second waits in Redis.
    await waitFor('first batch running', () => t.gates.size === 2 || undefined);
    expect([...t.gates.keys()].sort()).toEqual(['t0', 't1']);
    // The pool counts attempts, not jobs: two running, two waiting in one batch job.
    await worker.sync();
    expect((await queue.pool!.tick()).agents[0]).toMatchObject({ agentId: 'b', active: 2, waiting: 2 });
    const stop = new CodexError(ErrorCodes.CANCELLED, 'stop');
    ctxs[0].ctrl.abort(stop);
    ctxs[2].ctrl.abort(stop);
    expect(await runs[0]).toMatchObject({ code: ErrorCodes.CANCELLED });
    expect(await runs[2]).toMatchObject({ code: ErrorCodes.CANCELLED });
    t.gates.get('t1')!();
    expect(await runs[1]).toBe('t1@1');
    await waitFor('t3 started', () => t.gates.has('t3') || undefined);
    t.gates.get('t3')!();
    expect(await runs[3]).toBe('t3@1');
    // t0 was aborted while running; t2 never ran.
    expect(t.calls.sort()).toEqual(['t0', 't1', 't3']);
  });

  it('an attempt a batch holds, sent alone by a resumed run, runs once: the alone job waits for the batch', async () => {
    const target = { ...redisTarget(url), prefix: prefix() };
    const t = tracker();
    closers.push(async () => {
      for (const open of t.gates.values()) open();
    });
    const before = await queueOn(target);
    await workerOn(target, t.agent, 4);
    await before.pool!.readOwnAgents();
    const exec = `exec-${randomUUID()}`;
    const ids = ['w', 'x', 'y', 'z'];
    const sent = ids.map((id) => Promise.resolve(before.run(ctxOf(id, { hold: true }, exec), t.agent)));
    await waitFor('batches running', () => t.gates.size === 4 || undefined);
    expect(await jobsAdded(target.prefix, 'b')).toBe(2);
    // Another orchestrator resumes the run and sends the attempt in flight again, alone, as a resumed one; a
    // second worker (the first has no slot free) takes that job and finds the attempt claimed by a batch.
    const after = await queueOn(target);
    await workerOn(target, t.agent, 4);
    const again = Promise.resolve(after.run({ ...ctxOf('x', { hold: true }, exec), resumed: true }, t.agent));
    await waitFor('alone job added', async () => (await jobsAdded(target.prefix, 'b')) === 3 || undefined);
    await new Promise((r) => setTimeout(r, 400));
    expect(t.calls.sort()).toEqual(ids);
    for (const id of ids) t.gates.get(id)!();
    expect(await again).toBe('x@1');
    expect(await Promise.all(sent)).toEqual(ids.map((id) => `${id}@1`));
    expect(t.calls.sort()).toEqual(ids);
  });

  it('an attempt a resumed run claimed first is not run by the batch that holds it', async () => {
    const target = { ...redisTarget(url), prefix: prefix() };
    const t = tracker();
    const before = await queueOn(target);
    const after = await queueOn(target);
    const exec = `exec-${randomUUID()}`;
    // No worker yet: the resumed run's job goes first, then the batch of the orchestrator before.
    const again = Promise.resolve(after.run({ ...ctxOf('x', {}, exec), resumed: true }, t.agent));
    await waitFor('alone job added', async () => (await jobsAdded(target.prefix, 'b')) === 1 || undefined);
    // The pool of `before` is told of a worker with 4 slots before one runs, so its two attempts form one batch.
    const c = new Redis(url!);
    closers.push(async () => c.disconnect());
    await c.hset(
      `${target.prefix}:dist:workers`,
      'w',
      JSON.stringify({ workerId: 'w', at: Date.now(), healthy: true, agents: { b: { concurrency: 4 } } }),
    );
    await before.pool!.readOwnAgents();
    await c.hdel(`${target.prefix}:dist:workers`, 'w');
    const ids = ['w', 'x', 'y', 'z'];
    const sent = ids.map((id) => Promise.resolve(before.run(ctxOf(id, {}, exec), t.agent)));
    // Two batches ([w, x], [y, z]) after the alone job.
    await waitFor('batches added', async () => (await jobsAdded(target.prefix, 'b')) === 3 || undefined);
    await workerOn(target, t.agent, 1);
    expect(await again).toBe('x@1');
    // `before` hears the others' replies; x's result (recorded by the alone job, same attempt) it reads from Redis.
    expect(await Promise.all(sent)).toEqual(ids.map((id) => `${id}@1`));
    expect(t.calls.sort()).toEqual(ids);
    expect(await c.hget(`${target.prefix}:dist:res:${exec}`, `claim:${jobIdOf(exec, 'x', undefined, 1)}`)).toBe(
      jobIdOf(exec, 'x', undefined, 1),
    );
  });

  it("a draining worker gives a batch's attempts back as retryable queue failures", async () => {
    const target = { ...redisTarget(url), prefix: prefix() };
    const t = tracker();
    const queue = await queueOn(target);
    const w = await workerOn(target, t.agent, 4);
    await queue.pool!.readOwnAgents();
    const exec = `exec-${randomUUID()}`;
    const runs = ['w', 'x', 'y', 'z'].map((id) =>
      Promise.resolve(queue.run(ctxOf(id, { hold: true }, exec), t.agent)).catch((e: unknown) => e),
    );
    await waitFor('batches running', () => t.gates.size === 4 || undefined);
    expect(await jobsAdded(target.prefix, 'b')).toBe(2);
    await w.drain('test');
    for (const r of runs) expect(await r).toMatchObject({ code: ErrorCodes.QUEUE, retryable: true });
  });
});
