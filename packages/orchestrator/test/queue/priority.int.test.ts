import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AgentDefinition } from '../../src/agents/types.js';
import { parseConfig } from '../../src/config.js';
import { BullMQQueue } from '../../src/queue/bullmq/bullmq-queue.js';
import { redisTarget } from '../../src/queue/bullmq/connection.js';
import { TaskWorker } from '../../src/queue/bullmq/task-worker.js';
import { dispatchContext, waitFor } from './dist-helpers.js';

const url = process.env.REDIS_URL;

// Priority is an order, so it is checked as one: a single worker slot, a backlog built while the slot is held,
// then the order in which the handler saw the tasks.

describe.skipIf(!url)('flow control priority (real Redis, one worker of concurrency 1)', () => {
  it('serves a backlog highest priority first, first come first within one priority', async () => {
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const agents: AgentDefinition[] = [
      {
        id: 'ranked',
        handler: async (c) => {
          if (c.params.block) await held;
          else order.push(c.taskId);
          return c.taskId;
        },
      },
    ];
    const target = { ...redisTarget(url), prefix: `cdx-prio-${randomUUID().slice(0, 8)}` };
    const cfg = parseConfig({
      execution: {
        mode: 'distributed',
        flow: { ranked: { priority: 'params.tier == "gold" ? 1 : params.tier == "silver" ? 2 : 3' } },
      },
    }).execution;
    const queue = new BullMQQueue(target, cfg);
    await queue.ready();
    const worker = await new TaskWorker({ target, agents, concurrency: 1, heartbeatMs: 60_000 }).start();
    const ctx = (taskId: string, params: Record<string, unknown>) => dispatchContext('ranked', taskId, params);

    try {
      const blocker = queue.run(ctx('blocker', { block: true, tier: 'gold' }), agents[0]);
      const q = queue.agentQueue('ranked');
      await waitFor('the blocker holds the only slot', async () =>
        (await q.getJobCounts('active')).active === 1 ? true : undefined,
      );
      // Submitted lowest first, so first-in-first-out alone would give the reverse of the expected order.
      const backlog = [
        ['b1', 'bronze'],
        ['s1', 'silver'],
        ['b2', 'bronze'],
        ['g1', 'gold'],
        ['s2', 'silver'],
        ['g2', 'gold'],
      ] as const;
      const runs = backlog.map(([id, tier]) => queue.run(ctx(id, { tier }), agents[0]));
      await waitFor('the backlog is queued', async () =>
        (await q.getJobCounts('prioritized')).prioritized === backlog.length ? true : undefined,
      );
      release();
      expect(await Promise.all([blocker, ...runs])).toEqual(['blocker', ...backlog.map(([id]) => id)]);
      expect(order).toEqual(['g1', 'g2', 's1', 's2', 'b1', 'b2']);
    } finally {
      release();
      await queue.close();
      await worker.close();
    }
  });
});
