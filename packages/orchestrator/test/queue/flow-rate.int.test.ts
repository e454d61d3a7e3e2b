import { randomUUID } from 'node:crypto';
import type { Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { AgentDefinition } from '../../src/agents/types.js';
import { parseConfig } from '../../src/config.js';
import { BullMQQueue } from '../../src/queue/bullmq/bullmq-queue.js';
import { redisTarget } from '../../src/queue/bullmq/connection.js';
import { FlowGate } from '../../src/queue/bullmq/flow.js';
import { distKeys } from '../../src/queue/bullmq/keys.js';
import { TaskWorker } from '../../src/queue/bullmq/task-worker.js';
import type { ExecutionConfig } from '../../src/queue/config.js';
import { dispatchContext } from './dist-helpers.js';

const url = process.env.REDIS_URL;

// Rate limits of flow control, checked on the limiter's own clock: starts are counted per window as the limiter
// saw them (the gate's admissions, BullMQ's processedOn), never against wall-clock thresholds.

const agents: AgentDefinition[] = [
  { id: 'paced', handler: async () => new Promise((r) => setTimeout(() => r('ok'), 5)) },
  { id: 'keyrate', handler: async (c) => new Promise((r) => setTimeout(() => r(c.params.customer), 5)) },
];

async function twoWorkers(flow: ExecutionConfig['flow']) {
  const target = { ...redisTarget(url), prefix: `cdx-rate-${randomUUID().slice(0, 8)}` };
  const cfg = parseConfig({ execution: { mode: 'distributed', flow } }).execution;
  const queue = new BullMQQueue(target, cfg);
  await queue.ready();
  const workers = await Promise.all(
    [0, 1].map((i) =>
      new TaskWorker({ target, agents, concurrency: 4, heartbeatMs: 60_000, workerId: `w${i}` }).start(),
    ),
  );
  // Every admission the per-key gates grant, stamped with the `now` the gate decided on.
  const admitted: Array<{ worker: string; key: string; at: number }> = [];
  for (const w of workers) {
    const gate = (w as unknown as { gate: FlowGate }).gate;
    const enter = gate.enter.bind(gate);
    gate.enter = async (agentId, key, jobId, limits, now = Date.now()) => {
      const wait = await enter(agentId, key, jobId, limits, now);
      if (wait === 0) admitted.push({ worker: w.workerId, key, at: now });
      return wait;
    };
  }
  // Every start BullMQ's limiter granted (processedOn, stamped by its script), read as each job goes active: a
  // completed job is removed.
  const starts: number[] = [];
  for (const w of workers) {
    const lanes = (w as unknown as { lanes: Map<string, { worker: Worker }> }).lanes;
    for (const l of lanes.values()) l.worker.on('active', (job: Job) => starts.push(job.processedOn!));
  }
  return {
    queue,
    admitted,
    starts,
    async close() {
      await queue.close();
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}

const perWindow = (times: number[], ms: number) => {
  const m = new Map<number, number>();
  for (const t of times) m.set(Math.floor(t / ms), (m.get(Math.floor(t / ms)) ?? 0) + 1);
  return [...m.values()];
};

describe.skipIf(!url)('flow control rate limits (real Redis, two workers)', () => {
  it('per-key rate: no window of the limiter sees more starts of one key than allowed, across two workers', async () => {
    const f = await twoWorkers({
      keyrate: { key: 'params.customer', keyRateLimit: { max: 3, durationMs: 250 } },
    });
    try {
      const runs = Array.from({ length: 10 }, (_, i) =>
        f.queue.run(dispatchContext('keyrate', `k${i}`, { customer: i < 8 ? 'acme' : 'globex' }), agents[1]),
      );
      const out = await Promise.all(runs);
      expect(out.filter((x) => x === 'acme')).toHaveLength(8);
      const acme = f.admitted.filter((a) => a.key === 'acme');
      expect(acme).toHaveLength(8);
      const counts = perWindow(
        acme.map((a) => a.at),
        250,
      );
      expect(Math.max(...counts)).toBeLessThanOrEqual(3);
      // 8 starts at 3 per window need at least three windows.
      expect(counts.length).toBeGreaterThanOrEqual(3);
      expect(f.admitted.filter((a) => a.key === 'globex')).toHaveLength(2);
    } finally {
      await f.close();
    }
  });

  it('per-agent rate: BullMQ starts no more than `max` jobs per window across two workers', async () => {
    const max = 3;
    const d = 250;
    const f = await twoWorkers({ paced: { rateLimit: { max, durationMs: d } } });
    try {
      const ctxs = Array.from({ length: 9 }, (_, i) => dispatchContext('paced', `p${i}`, {}));
      expect(await Promise.all(ctxs.map((c) => f.queue.run(c, agents[0])))).toEqual(Array(9).fill('ok'));
      const starts = [...f.starts].sort((a, b) => a - b);
      expect(starts).toHaveLength(9);
      // A window opens on its first start and lasts `d`: any 2*max+1 consecutive starts span two whole windows.
      for (let i = 0; i + 2 * max < starts.length; i++)
        expect(starts[i + 2 * max] - starts[i]).toBeGreaterThanOrEqual(d - 20);
    } finally {
      await f.close();
    }
  });

  it('a start refused for want of a slot does not spend the window budget (rate + concurrency on one key)', async () => {
    const r = new Redis(url!);
    const gate = new FlowGate(r, distKeys(`cdx-gate-${randomUUID().slice(0, 8)}`), 10_000);
    const limits = { concurrency: 1, rate: { max: 2, durationMs: 1000 } };
    const now = 1_000_000_000_000;
    try {
      expect(await gate.enter('a', 'k', 'j1', limits, now)).toBe(0);
      expect(await gate.enter('a', 'k', 'j2', limits, now + 1)).toBeGreaterThan(0); // slot held by j1
      await gate.leave('a', 'k', 'j1');
      expect(await gate.enter('a', 'k', 'j2', limits, now + 2)).toBe(0); // second start of the window
      await gate.leave('a', 'k', 'j2');
      expect(await gate.enter('a', 'k', 'j3', limits, now + 3)).toBe(997); // budget spent: wait for the next window
      expect(await gate.enter('a', 'k', 'j3', limits, now + 1000)).toBe(0);
    } finally {
      r.disconnect();
    }
  });
});
