import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { OrchestratorEvents } from '../../src/events.js';
import { redisTarget } from '../../src/queue/bullmq/connection.js';
import { RedisEventSubscriber } from '../../src/queue/bullmq/event-relay.js';
import { TaskWorker } from '../../src/queue/bullmq/task-worker.js';
import { newNs, orchestrator, waitFor } from './dist-helpers.js';
import { agents } from './fixtures/dist-agents.js';

const url = process.env.REDIS_URL;

describe.skipIf(!url)("the orchestrator's events on Redis pub/sub (distributed mode)", () => {
  it('a subscriber on its own connection sees the run from start to workflow:completed, in order', async () => {
    const ns = newNs();
    const target = { ...redisTarget(url), prefix: ns };
    const o = orchestrator(url!, ns);
    const sub = await new RedisEventSubscriber(target).start();
    const worker = await new TaskWorker({ target, agents, concurrency: 2, heartbeatMs: 60_000 }).start();
    const seen: string[] = [];
    const completed: Array<OrchestratorEvents['workflow:completed']> = [];
    sub.bus.on('workflow:started', () => seen.push('workflow:started'));
    sub.bus.on('task:completed', (e) => seen.push(`task:completed:${e.taskId}`));
    sub.bus.on('workflow:completed', (e) => {
      seen.push('workflow:completed');
      completed.push(e);
    });
    try {
      await o.queue.ready();
      const r = await o.executeWorkflow({
        id: 'relay',
        name: 'relay',
        tasks: [
          { id: 'a', agentId: 'work', input: { ms: 1, tag: ns } },
          { id: 'b', agentId: 'work', input: { ms: 1, tag: ns }, dependencies: ['a'] },
        ],
      });
      expect(r.status).toBe('completed');
      await waitFor('workflow:completed over Redis', () => completed[0]);
      expect(completed).toHaveLength(1);
      expect(completed[0].executionId).toBe(r.executionId);
      expect(seen).toEqual(['workflow:started', 'task:completed:a', 'task:completed:b', 'workflow:completed']);
    } finally {
      sub.close();
      await worker.close();
      await o.close();
    }
  });

  it('publishes nothing while no process listens, at once when a subscriber arrives, and stops once it leaves', async () => {
    const ns = newNs();
    const target = { ...redisTarget(url), prefix: ns };
    const o = orchestrator(url!, ns);
    const worker = await new TaskWorker({ target, agents, concurrency: 2, heartbeatMs: 60_000 }).start();
    // A pattern subscriber is not counted by PUBSUB NUMSUB: it sees what is published without asking for it.
    const spy = new Redis(url!);
    const heard: string[] = [];
    spy.on('pmessage', (_p: string, _ch: string, msg: string) => heard.push(msg));
    await spy.psubscribe(`${ns}:dist:orchestrator-events`);
    const relay = () => (o.queue as unknown as { published: { relaying: boolean } }).published.relaying;
    const run = async (id: string) => {
      const r = await o.executeWorkflow({
        id,
        name: id,
        tasks: [{ id: 'a', agentId: 'work', input: { ms: 1, tag: ns } }],
      });
      expect(r.status).toBe('completed');
      return r.executionId;
    };
    try {
      await o.queue.ready();
      await run('unheard');
      await new Promise((r) => setTimeout(r, 50));
      expect([relay(), heard.length]).toEqual([false, 0]);

      const sub = await new RedisEventSubscriber(target).start();
      const completed: string[] = [];
      sub.bus.on('workflow:completed', (e) => completed.push(e.executionId));
      await waitFor('relay on after the hello', () => relay() || undefined);
      const id = await run('heard');
      await waitFor('workflow:completed over Redis', () => completed[0]);
      expect(completed).toEqual([id]);
      expect(heard.length).toBeGreaterThan(0);

      sub.close();
      await waitFor('relay off once nobody listens', () => !relay() || undefined, 10_000);
      const before = heard.length;
      await run('unheard-again');
      await new Promise((r) => setTimeout(r, 50));
      expect(heard.length).toBe(before);
    } finally {
      spy.disconnect();
      await worker.close();
      await o.close();
    }
  });
});
