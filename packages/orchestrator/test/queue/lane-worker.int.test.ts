import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentDefinition } from '../../src/agents/types.js';
import { parseConfig } from '../../src/config.js';
import { BullMQQueue } from '../../src/queue/bullmq/bullmq-queue.js';
import { redisTarget } from '../../src/queue/bullmq/connection.js';
import { distKeys, queueName } from '../../src/queue/bullmq/keys.js';
import { TaskWorker } from '../../src/queue/bullmq/task-worker.js';
import { dispatchContext } from './dist-helpers.js';

// How a task worker fetches: a chain's step (a job sent alone, reaching a worker with nothing else running) is
// not followed by BullMQ's speculative second fetch; a fan-out still is. Counted on Redis itself (MONITOR).

const url = process.env.REDIS_URL;
const step: AgentDefinition = { id: 'step', handler: (ctx) => (ctx.params as { n: number }).n + 1 };

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A queue, two task workers of 8 slots, and a count of moveToActive script calls on this test's agent queue. */
async function setup() {
  const target = { ...redisTarget(url), prefix: `cdx-lw-${randomUUID().slice(0, 8)}` };
  const queue = new BullMQQueue(target, parseConfig({ execution: { mode: 'distributed' } }).execution);
  await queue.ready();
  cleanup.push(() => queue.close());
  const workers = await Promise.all(
    [0, 1].map(() => new TaskWorker({ target, agents: [step], concurrency: 8, heartbeatMs: 60_000 }).start()),
  );
  for (const w of workers) cleanup.push(() => w.close());
  // Wait until both workers block on their queue's marker, so their start-up fetches are not counted.
  await new Promise((r) => setTimeout(r, 300));
  const wait = `${distKeys(target.prefix).bullPrefix}:${queueName('step')}:wait`;
  const mon = await new Redis(url!).monitor();
  cleanup.push(() => mon.disconnect());
  let fetches = 0;
  // moveToActive is BullMQ's only 11-key script whose first key is the wait list, on a run where nothing is delayed.
  mon.on('monitor', (_t: string, args: string[]) => {
    if (args[0]?.toLowerCase() === 'evalsha' && args[2] === '11' && args[3] === wait) fetches++;
  });
  const ran = () => workers.map((w) => w.state().agents.step.completed);
  return { queue, fetches: () => fetches, ran };
}

describe.skipIf(!url)('task worker fetching (real Redis, two workers in this process)', () => {
  it("a chain's next step is taken by the worker that ran the step before, with no speculative second fetch", async () => {
    const { queue, fetches, ran } = await setup();
    const executionId = `exec-${randomUUID()}`;
    let n = 0;
    const steps = 40;
    for (let i = 0; i < steps; i++)
      n = (await queue.run(dispatchContext('step', `s${i}`, { n }, executionId), step)) as number;
    expect(n).toBe(steps);
    // Per step: the fetch that takes it, and the other worker's empty one (woken by the marker BullMQ leaves as a
    // job becomes active). Stock BullMQ adds a third: the taking worker asks again at once before it blocks.
    expect(fetches()).toBeGreaterThanOrEqual(steps);
    expect(fetches()).toBeLessThanOrEqual(2 * steps + 4);
    // Blocking at once keeps the taking worker first in line for the next step.
    expect(Math.max(...ran())).toBeGreaterThanOrEqual(steps - 4);
  });
});
