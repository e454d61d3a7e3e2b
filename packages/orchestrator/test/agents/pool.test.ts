import { describe, expect, it } from 'vitest';
import { AgentPool } from '../../src/agents/pool.js';
import { parseConfig } from '../../src/config.js';
import { EventBus, type OrchestratorEvents } from '../../src/events.js';
import { fanOut, makeOrchestrator, sleep } from '../workflow/helpers.js';

const cfg = (over: Record<string, number> = {}) =>
  parseConfig({
    agents: {
      minAgents: 2,
      maxAgents: 4,
      scaleUpThreshold: 80,
      scaleDownThreshold: 20,
      healthCheckInterval: 60_000,
      ...over,
    },
  }).agents;

describe('agent pool', () => {
  it('starts at minAgents, dispatches to the least-loaded instance and scales up above the threshold', () => {
    const bus = new EventBus();
    const scaled: OrchestratorEvents['agent:scaled'][] = [];
    bus.on('agent:scaled', (e) => scaled.push(e));
    const pool = new AgentPool(cfg(), bus);
    pool.add({ id: 'a', concurrency: 2 });
    expect(pool.stats('a')!.instances).toHaveLength(2);
    const i1 = pool.acquire('a') as { instanceId: string };
    const i2 = pool.acquire('a') as { instanceId: string };
    expect(i1.instanceId).not.toBe(i2.instanceId); // least-loaded: the second task goes to the idle instance
    pool.acquire('a'); // 3 of 4 slots = 75 %: no scaling yet
    expect(scaled).toHaveLength(0);
    pool.acquire('a'); // 4 of 4 = 100 % > 80 %: one more instance
    expect(scaled).toEqual([expect.objectContaining({ agentId: 'a', from: 2, to: 3 })]);
    expect(pool.stats('a')!.capacity).toBe(6);
    pool.close();
  });

  it('queues at maxAgents and hands the next free slot to the oldest waiter', async () => {
    const pool = new AgentPool(cfg({ minAgents: 1, maxAgents: 1 }), new EventBus());
    pool.add({ id: 'a', concurrency: 1 });
    const first = pool.acquire('a');
    expect(first).not.toBeInstanceOf(Promise);
    const order: number[] = [];
    const w1 = (pool.acquire('a') as Promise<unknown>).then(() => order.push(1));
    const w2 = (pool.acquire('a') as Promise<unknown>).then(() => order.push(2));
    expect(pool.stats('a')!.waiting).toBe(2);
    pool.release(first as never, true);
    await w1;
    expect(order).toEqual([1]);
    pool.release(first as never, true);
    await w2;
    expect(order).toEqual([1, 2]);
    expect(pool.stats('a')!.instances[0].completed).toBe(2);
    pool.close();
  });

  it('scales down idle instances and replaces unhealthy ones on the health check', async () => {
    const bus = new EventBus();
    const unhealthy: string[] = [];
    bus.on('agent:unhealthy', (e) => unhealthy.push(e.instanceId));
    let healthy = true;
    const pool = new AgentPool(cfg({ minAgents: 1, maxAgents: 4 }), bus);
    pool.add({ id: 'a', concurrency: 1, healthCheck: () => healthy });
    const slots = [pool.acquire('a'), pool.acquire('a'), pool.acquire('a')];
    expect(pool.stats('a')!.instances.length).toBeGreaterThanOrEqual(3);
    for (const s of slots) pool.release(s as never, true);
    await pool.check();
    expect(pool.stats('a')!.instances).toHaveLength(1);
    healthy = false;
    await pool.check();
    expect(unhealthy).toHaveLength(1);
    const after = pool.stats('a')!;
    expect(after.instances).toHaveLength(1);
    expect(after.instances[0].instanceId).not.toBe(unhealthy[0]);
    pool.close();
  });

  it('an unhealthy instance takes no new task until a probe passes; no unprobed instance stands in for it', async () => {
    const bus = new EventBus();
    const unhealthy: string[] = [];
    bus.on('agent:unhealthy', (e) => unhealthy.push(e.instanceId));
    let healthy = true;
    const probed: string[] = [];
    const pool = new AgentPool(cfg({ minAgents: 1, maxAgents: 3 }), bus);
    pool.add({
      id: 'a',
      concurrency: 1,
      healthCheck: ({ instanceId }) => {
        probed.push(instanceId);
        return healthy;
      },
    });
    const busy = pool.acquire('a') as { instanceId: string };
    healthy = false;
    await pool.check();
    expect(unhealthy).toContain(busy.instanceId);
    const downs = unhealthy.length;
    expect(probed).toContain(busy.instanceId); // each instance is probed by name
    // Out of dispatch: a new task waits instead of going to it or to a fresh, unprobed instance.
    const waiting = pool.acquire('a');
    expect(waiting).toBeInstanceOf(Promise);
    const stats = pool.stats('a')!;
    expect(stats.instances.filter((i) => i.healthy)).toHaveLength(0);
    expect(stats.active).toBe(1); // the unhealthy instance's running task still counts
    pool.release(busy as never, true);
    await pool.check();
    expect(pool.stats('a')!.waiting).toBe(1);
    expect(unhealthy).toHaveLength(downs); // said once, not on every tick
    healthy = true;
    await pool.check();
    const got = (await waiting) as { instanceId: string; healthy: boolean };
    expect(got.healthy).toBe(true);
    expect(pool.stats('a')!.waiting).toBe(0);
    pool.close();
  });

  it('in a real run, tasks of an agent whose probe fails wait and concurrency is never exceeded', async () => {
    let healthy = true;
    let active = 0;
    let peak = 0;
    let started = 0;
    const gates: (() => void)[] = [];
    const o = makeOrchestrator({ agents: { minAgents: 1, maxAgents: 2, healthCheckInterval: 60_000 } }, [
      {
        id: 'one',
        concurrency: 1,
        healthCheck: () => healthy,
        handler: async () => {
          started++;
          active++;
          peak = Math.max(peak, active);
          await new Promise<void>((r) => gates.push(r));
          active--;
        },
      },
    ]);
    const run = o.executeWorkflow({
      id: 'h',
      name: 'h',
      tasks: Array.from({ length: 10 }, (_, i) => ({ id: `t${i}`, agentId: 'one' })),
    });
    while (started < 2) await sleep(2);
    healthy = false;
    await o.pool.check();
    // Both busy instances are out of dispatch: as they finish, nothing new starts on this agent.
    for (const open of gates.splice(0)) open();
    await sleep(30);
    await o.pool.check();
    await sleep(30);
    expect(started).toBe(2);
    expect(o.agentStats('one')!.waiting).toBeGreaterThan(0);
    healthy = true;
    await o.pool.check();
    while ((o.agentStats('one')?.waiting ?? 0) > 0 || gates.length > 0) {
      for (const open of gates.splice(0)) open();
      await sleep(2);
    }
    const r = await run;
    expect(r.status).toBe('completed');
    expect(started).toBe(10);
    expect(peak).toBeLessThanOrEqual(2); // maxAgents × concurrency, unhealthy or not
    await o.close();
  });

  it('bounds concurrent tasks per agent in a real run', async () => {
    let active = 0;
    let peak = 0;
    const o = makeOrchestrator({ agents: { minAgents: 1, maxAgents: 2 } }, [
      {
        id: 'slot',
        concurrency: 2,
        handler: async () => {
          active++;
          peak = Math.max(peak, active);
          await sleep(5);
          active--;
        },
      },
    ]);
    const r = await o.executeWorkflow(fanOut(20, 'slot'));
    expect(r.status).toBe('completed');
    expect(peak).toBe(4);
    expect(o.agentStats('slot')!.instances.reduce((n, i) => n + i.completed, 0)).toBe(22);
    await o.close();
  });
});
