import { randomUUID } from 'node:crypto';
import { Job } from 'bullmq';
import { describe } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { BullMQQueue } from '../../src/queue/bullmq/bullmq-queue.js';
import { redisTarget } from '../../src/queue/bullmq/connection.js';
import { jobIdOf } from '../../src/queue/bullmq/keys.js';
import { TaskWorker } from '../../src/queue/bullmq/task-worker.js';
import { conformanceAgents, type QueueFixture, queueConformance } from './conformance.js';

const url = process.env.REDIS_URL;

async function fixture(): Promise<QueueFixture> {
  const target = { ...redisTarget(url), prefix: `cdx-q-${randomUUID().slice(0, 8)}` };
  const cfg = parseConfig({ execution: { mode: 'distributed' } }).execution;
  const queue = new BullMQQueue(target, cfg);
  await queue.ready();
  const worker = await new TaskWorker({ target, agents: conformanceAgents, concurrency: 20, heartbeatMs: 200 }).start();
  return {
    queue,
    async close() {
      await queue.close();
      await worker.close();
    },
  };
}

describe.skipIf(!url)('BullMQ queue (real Redis, worker in this process)', () => {
  queueConformance('bullmq', fixture, async (f, ctx) => {
    const q = (f.queue as BullMQQueue).agentQueue('wait-abort');
    const id = jobIdOf(ctx.executionId, ctx.taskId, undefined, ctx.attempt);
    for (let i = 0; i < 100; i++) {
      const job = await Job.fromId(q, id);
      if (job?.finishedOn) return (job.returnvalue as { output?: string })?.output ?? 'no output';
      await new Promise((r) => setTimeout(r, 50));
    }
    return 'never finished';
  });
});
