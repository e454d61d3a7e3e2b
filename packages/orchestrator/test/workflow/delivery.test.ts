import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore, MultiAgentOrchestrator } from '../../src/index.js';
import { sleep } from './helpers.js';

// What runs how often: loop items are checkpointed one by one, handlers get a key that is the same on every
// attempt and after a resume, and an abandoned (timed-out) attempt does not overlap the next one on its slot.

const once = { maxAttempts: 1 };

describe('loop checkpoints', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cdx-loop-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['memory', 'sqlite'] as const)(
    'resume runs only the forEach items that had not finished (%s store, new orchestrator)',
    async (kind) => {
      const store =
        kind === 'memory'
          ? { type: 'memory' as const }
          : { type: 'sqlite' as const, path: join(dir, `${randomUUID()}.db`) };
      const shared = kind === 'memory' ? { store: new MemoryStore() } : {};
      const ran: number[] = [];
      let broken = true;
      const make = () => {
        const o = new MultiAgentOrchestrator({ store }, shared);
        o.registerAgent({
          id: 'item',
          concurrency: 1,
          handler: (ctx) => {
            ran.push(ctx.index!);
            if (ctx.index === 3 && broken) throw Object.assign(new Error('item 3 down'), { retryable: false });
            return { n: ctx.index, at: new Date(0) };
          },
        });
        return o;
      };
      const def = {
        id: 'fe',
        name: 'fe',
        tasks: [{ id: 'each', agentId: 'item', forEach: 'range(5)', retry: once }],
      };
      const o1 = make();
      const first = await o1.executeWorkflow(def);
      expect(first.status).toBe('failed');
      expect(ran).toEqual([0, 1, 2, 3]);
      const keys = (await o1.history(first.executionId)).filter((h) => h.status === 'completed').map((h) => h.taskKey);
      expect(keys).toEqual(['each#0', 'each#1', 'each#2']);
      await o1.close();

      broken = false;
      ran.length = 0;
      const o2 = make();
      const resumed = await o2.resume(first.executionId);
      expect(resumed.status).toBe('completed');
      expect(ran).toEqual([3, 4]);
      const out = resumed.tasks.each.output as Array<{ n: number; at: Date }>;
      expect(out.map((x) => x.n)).toEqual([0, 1, 2, 3, 4]);
      expect(out[0].at).toBeInstanceOf(Date);
      expect(resumed.tasks.each.iterations).toBe(5);
      await o2.close();
    },
  );

  it('resume continues a while loop after its last finished iteration', async () => {
    const store = new MemoryStore();
    const o = new MultiAgentOrchestrator({}, { store });
    const ran: number[] = [];
    let broken = true;
    o.registerAgent({
      id: 'step',
      handler: (ctx) => {
        ran.push(ctx.iteration!);
        if (ctx.iteration === 2 && broken) throw Object.assign(new Error('down'), { retryable: false });
        return ctx.iteration! * 10;
      },
    });
    const def = {
      id: 'wh',
      name: 'wh',
      tasks: [{ id: 'loop', agentId: 'step', while: 'iteration < 4', retry: once }],
    };
    const first = await o.executeWorkflow(def);
    expect(first.status).toBe('failed');
    broken = false;
    ran.length = 0;
    const resumed = await o.resume(first.executionId);
    expect(resumed.status).toBe('completed');
    expect(ran).toEqual([2, 3]);
    expect(resumed.tasks.loop.output).toBe(30);
    await o.close();
  });
});

describe('idempotency keys', () => {
  it('are the same on every attempt and after a resume, and differ per task and per loop item', async () => {
    const store = new MemoryStore();
    const o = new MultiAgentOrchestrator({}, { store });
    const seen: Record<string, string[]> = {};
    let failFinal = true;
    o.registerAgent({
      id: 'k',
      handler: (ctx) => {
        const id = ctx.index === undefined ? ctx.taskId : `${ctx.taskId}#${ctx.index}`;
        seen[id] = [...(seen[id] ?? []), ctx.idempotencyKey!];
        if (ctx.taskId === 'a' && ctx.attempt === 1) throw new Error('transient');
        if (ctx.taskId === 'z' && failFinal) throw Object.assign(new Error('down'), { retryable: false });
        return 1;
      },
    });
    const def = {
      id: 'idem',
      name: 'idem',
      tasks: [
        { id: 'a', agentId: 'k', retry: { maxAttempts: 2, initialDelayMs: 1 } },
        { id: 'each', agentId: 'k', forEach: 'range(2)' },
        { id: 'z', agentId: 'k', dependencies: ['a', 'each'], retry: once },
      ],
    };
    const first = await o.executeWorkflow(def);
    expect(first.status).toBe('failed');
    failFinal = false;
    await o.resume(first.executionId);
    expect(seen.a).toHaveLength(2);
    expect(new Set(seen.a).size).toBe(1);
    expect(seen.z).toHaveLength(2);
    expect(seen.z[0]).toBe(seen.z[1]);
    const all = [seen.a[0], seen['each#0'][0], seen['each#1'][0], seen.z[0]];
    expect(new Set(all).size).toBe(4);
    expect(seen.z[0]).toContain(first.executionId);
    await o.close();
  });
});

describe('abandoned attempts', () => {
  it('a timed-out attempt that ignores its signal does not overlap its retries', async () => {
    let active = 0;
    let peak = 0;
    let calls = 0;
    const o = new MultiAgentOrchestrator({ store: { type: 'memory' } });
    o.registerAgent({
      id: 'deaf',
      concurrency: 1,
      handler: async () => {
        calls++;
        active++;
        peak = Math.max(peak, active);
        await sleep(80); // ignores ctx.signal
        active--;
        throw new Error('too slow');
      },
    });
    const r = await o.executeWorkflow({
      id: 'ab',
      name: 'ab',
      tasks: [{ id: 'a', agentId: 'deaf', timeoutMs: 20, retry: { maxAttempts: 3, initialDelayMs: 1 } }],
    });
    expect(r.status).toBe('failed');
    expect(calls).toBe(3);
    expect(peak).toBe(1);
    await o.close();
  });

  it('the agent slot of an abandoned attempt is freed when its handler settles, or after the grace', async () => {
    const o = new MultiAgentOrchestrator({
      store: { type: 'memory' },
      agents: { minAgents: 1, maxAgents: 1 },
      workflow: { timeoutGraceMs: 60 },
    });
    o.registerAgent({ id: 'stuck', concurrency: 1, handler: () => new Promise(() => {}) });
    const r = await o.executeWorkflow({
      id: 'g',
      name: 'g',
      tasks: [{ id: 'a', agentId: 'stuck', timeoutMs: 10, retry: { maxAttempts: 2, initialDelayMs: 1 } }],
    });
    expect(r.status).toBe('failed');
    expect(r.tasks.a.attempts).toBe(2);
    // The second attempt waited out the first one's grace: the run took at least one grace period.
    expect(r.duration).toBeGreaterThanOrEqual(60);
    // Right after the run the slot is still held by the abandoned handler; after the grace it is free.
    expect(o.agentStats('stuck')!.active).toBe(1);
    await sleep(150);
    expect(o.agentStats('stuck')!.active).toBe(0);
    await o.close();
  });
});
