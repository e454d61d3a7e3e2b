import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentDefinition } from '../../src/agents/types.js';
import { parseConfig } from '../../src/config.js';
import { EventBus, type OrchestratorEvents } from '../../src/events.js';
import { MultiAgentOrchestrator } from '../../src/orchestrator.js';
import { BullMQQueue } from '../../src/queue/bullmq/bullmq-queue.js';
import { redisTarget } from '../../src/queue/bullmq/connection.js';
import { distKeys } from '../../src/queue/bullmq/keys.js';
import { TaskWorker } from '../../src/queue/bullmq/task-worker.js';
import { dispatchContext, waitFor } from './dist-helpers.js';

const url = process.env.REDIS_URL;
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => {});
});

/** A gate the test opens; handlers wait on it (or on their abort). */
function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

async function setup(agents: { minAgents: number; maxAgents: number }) {
  const target = { ...redisTarget(url), prefix: `cdx-pool-${randomUUID().slice(0, 8)}` };
  const bus = new EventBus();
  const seen: Array<{ type: string; payload: unknown }> = [];
  for (const type of ['agent:scaled', 'agent:unhealthy', 'agent:recovered'] as const)
    bus.on(type, (payload: OrchestratorEvents[typeof type]) => seen.push({ type, payload }));
  const cfg = parseConfig({
    agents: { ...agents, scaleUpThreshold: 80, scaleDownThreshold: 20, healthCheckInterval: 1000 },
    execution: { mode: 'distributed' },
  });
  const queue = new BullMQQueue(target, cfg.execution, { agents: cfg.agents, bus, autoStart: false });
  await queue.ready();
  closers.push(() => queue.close());
  const hold = gate();
  const health: Record<string, boolean> = { A: true, B: true };
  const agentFor = (name: 'A' | 'B'): AgentDefinition => ({
    id: 'busy',
    handler: async (c) => {
      await Promise.race([
        hold.p,
        new Promise((_, rej) => c.signal.addEventListener('abort', () => rej(c.signal.reason))),
      ]);
      return name;
    },
    healthCheck: () => health[name],
  });
  // Heartbeats are driven by the test (sync), tick by tick: no wall-clock thresholds.
  const mk = (name: 'A' | 'B') =>
    new TaskWorker({ target, agents: [agentFor(name)], concurrency: 4, heartbeatMs: 600_000, workerId: name }).start();
  const [a, b] = await Promise.all([mk('A'), mk('B')]);
  closers.push(
    () => a.close(),
    () => b.close(),
    async () => hold.open(),
  );
  const sync = () => Promise.all([a.sync(), b.sync()]);
  return { queue, bus, seen, hold, health, a, b, sync, pool: queue.pool! };
}

describe.skipIf(!url)('agent pool across worker processes (real Redis, BullMQ)', () => {
  it('scales instances up under load and down when idle, with hysteresis, within min/max', async () => {
    const { queue, seen, hold, a, b, sync, pool } = await setup({ minAgents: 1, maxAgents: 6 });
    await sync();
    expect((await pool.tick()).agents[0]).toMatchObject({ agentId: 'busy', instances: 1 });
    await sync();
    expect(a.state().agents.busy.concurrency + b.state().agents.busy.concurrency).toBe(2);

    const agent: AgentDefinition = { id: 'busy', handler: () => 'unused here' };
    const exec = randomUUID();
    const runs = Array.from({ length: 12 }, (_, i) =>
      Promise.resolve(queue.run(dispatchContext('busy', `t${i}`, {}, exec), agent)),
    );
    const busy = () => a.state().agents.busy.active + b.state().agents.busy.active;
    await waitFor('both workers busy', () => busy() === 2 || undefined);

    const instances: number[] = [];
    for (let tick = 0; tick < 4; tick++) {
      await sync();
      instances.push((await pool.tick()).agents[0].instances);
      await sync();
    }
    // One busy tick is not enough (hysteresis); the second scales toward the load, capped at maxAgents.
    expect(instances).toEqual([1, 6, 6, 6]);
    // The instances became worker concurrency: three slots on each worker.
    expect([a.state().agents.busy.concurrency, b.state().agents.busy.concurrency]).toEqual([3, 3]);
    const state = pool.state();
    expect(state.agents[0]).toMatchObject({ capacity: 6, workers: 2 });
    expect(state.agents[0].active + state.agents[0].waiting).toBe(12);
    expect(state.workers.map((w) => w.workerId).sort()).toEqual(['A', 'B']);

    hold.open();
    expect(new Set(await Promise.all(runs))).toEqual(new Set(['A', 'B']));
    const down: number[] = [];
    for (let tick = 0; tick < 12; tick++) {
      await sync();
      down.push((await pool.tick()).agents[0].instances);
    }
    // Idle: one instance fewer every second tick, never below minAgents.
    expect(down).toEqual([6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 1]);
    const scaled = seen.filter((e) => e.type === 'agent:scaled').map((e) => e.payload as { from: number; to: number });
    expect(scaled.map((s) => `${s.from}->${s.to}`)).toEqual(['1->6', '6->5', '5->4', '4->3', '3->2', '2->1']);
  });

  it('an unhealthy worker is drained, its task retried on the other; it is reported unhealthy, then recovered', async () => {
    const { queue, seen, hold, health, a, b, sync, pool } = await setup({ minAgents: 2, maxAgents: 4 });
    await sync();
    await pool.tick();
    const o = new MultiAgentOrchestrator({ store: { type: 'memory' } }, { queue });
    closers.push(() => o.close());
    o.registerAgent({ id: 'busy', handler: () => 'unused here' });
    const run = o.executeWorkflow({
      id: 'h',
      name: 'h',
      tasks: [{ id: 'job', agentId: 'busy', retry: { maxAttempts: 2, initialDelayMs: 10 } }],
    });
    await waitFor('task running', () => a.state().agents.busy.active + b.state().agents.busy.active === 1 || undefined);
    const [sick, other] = a.state().agents.busy.active === 1 ? (['A', 'B'] as const) : (['B', 'A'] as const);
    health[sick] = false;
    await sync(); // the sick worker's health check fails: it drains and gives its task back
    const p = await pool.tick();
    expect(p.workers.find((w) => w.workerId === sick)).toMatchObject({ healthy: false });
    expect(
      seen.filter((e) => e.type === 'agent:unhealthy').map((e) => (e.payload as { instanceId: string }).instanceId),
    ).toEqual([sick]);
    hold.open();
    const r = await run;
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('completed');
    expect(r.tasks.job.output).toBe(other);
    expect(r.tasks.job.attempts).toBe(2);

    health[sick] = true;
    await sync();
    await pool.tick();
    expect(
      seen.filter((e) => e.type === 'agent:recovered').map((e) => (e.payload as { instanceId: string }).instanceId),
    ).toEqual([sick]);
    expect(o.poolState()).toMatchObject({ mode: 'distributed', workers: [{ healthy: true }, { healthy: true }] });
  });

  it('a pass Redis refuses is an error event with source "pool", at most one a minute; the pool keeps ticking', async () => {
    const target = { ...redisTarget(url), prefix: `cdx-poolerr-${randomUUID().slice(0, 8)}` };
    const bus = new EventBus();
    const errors: Array<OrchestratorEvents['error']> = [];
    bus.on('error', (p: OrchestratorEvents['error']) => errors.push(p));
    const cfg = parseConfig({
      agents: { minAgents: 1, maxAgents: 2, healthCheckInterval: 50 },
      execution: { mode: 'distributed' },
    });
    const queue = new BullMQQueue(target, cfg.execution, { agents: cfg.agents, bus });
    await queue.ready();
    closers.push(() => queue.close());
    const r = new Redis(url!);
    closers.push(async () => r.disconnect());
    // The heartbeats key holding a string: every pass's read of it fails with WRONGTYPE.
    await r.set(distKeys(target.prefix).workers, 'not a hash');
    await waitFor('the error event', () => errors.length > 0 || undefined, 10_000);
    expect(errors[0]).toMatchObject({ source: 'pool', error: { code: 'CDX_ERR_QUEUE' } });
    expect(errors[0].error.message).toMatch(/^agent pool could not run its pass: WRONGTYPE/);
    await new Promise((res) => setTimeout(res, 400));
    expect(errors).toHaveLength(1);
    // Once Redis takes the reads again, the passes go on: a worker's heartbeat shows in the pool's state.
    await r.del(distKeys(target.prefix).workers);
    const w = await new TaskWorker({ target, agents: [{ id: 'x', handler: () => 1 }], heartbeatMs: 50 }).start();
    closers.push(() => w.close());
    await waitFor('the worker in the pool state', () => queue.pool!.state().workers.length === 1 || undefined, 10_000);
  });
});
