import { randomUUID } from 'node:crypto';
import { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { EventBus, type OrchestratorEvents } from '../../src/events.js';
import { BullMQQueue } from '../../src/queue/bullmq/bullmq-queue.js';
import { redisTarget } from '../../src/queue/bullmq/connection.js';
import { parseResult } from '../../src/queue/bullmq/job-result.js';
import { distKeys, jobIdOf } from '../../src/queue/bullmq/keys.js';
import { OutputsPublisher, OutputsReplica } from '../../src/queue/bullmq/outputs-sync.js';
import { TaskWorker } from '../../src/queue/bullmq/task-worker.js';
import { decodeWire } from '../../src/queue/bullmq/wire.js';
import type { DispatchContext } from '../../src/queue/types.js';
import { conformanceAgents, type QueueFixture, queueConformance } from './conformance.js';
import { dispatchContext } from './dist-helpers.js';

const url = process.env.REDIS_URL;

/**
 * A queue and a worker in this process. With `batched`, the queue's pool knows the worker (concurrency 20), so the
 * attempts of one agent made ready together travel in batch jobs; without, the pool is off and each goes alone.
 */
async function fixture(batched = false): Promise<QueueFixture & { worker: TaskWorker }> {
  const target = { ...redisTarget(url), prefix: `cdx-q-${randomUUID().slice(0, 8)}` };
  const cfg = parseConfig({ execution: { mode: 'distributed' } });
  const queue = new BullMQQueue(target, cfg.execution, batched ? { agents: cfg.agents, autoStart: false } : undefined);
  await queue.ready();
  const worker = await new TaskWorker({ target, agents: conformanceAgents, concurrency: 20, heartbeatMs: 200 }).start();
  await queue.pool?.readOwnAgents();
  return {
    queue,
    worker,
    async close() {
      await queue.close();
      await worker.close();
    },
  };
}

describe.skipIf(!url)('BullMQ queue (real Redis, worker in this process)', () => {
  const observeAbort = async (f: QueueFixture, ctx: DispatchContext) => {
    const q = (f.queue as BullMQQueue).agentQueue('wait-abort');
    const id = jobIdOf(ctx.executionId, ctx.taskId, undefined, ctx.attempt);
    const c = new Redis(url!);
    try {
      for (let i = 0; i < 100; i++) {
        // The result the worker recorded for the job (BullMQ removes a completed job).
        const recorded = await c.hget((f.queue as BullMQQueue).keys.results(ctx.executionId), id);
        if (recorded != null && !(await Job.fromId(q, id))) {
          const r = parseResult(recorded);
          const out = r?.ok ? r.output : undefined;
          return out === undefined ? 'no output' : String(decodeWire(out));
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      return 'never finished';
    } finally {
      c.disconnect();
    }
  };
  queueConformance('bullmq', () => fixture(), observeAbort);
  queueConformance('bullmq, batched', () => fixture(true), observeAbort);
});

describe.skipIf(!url)('events over pub/sub', () => {
  it('an event raised on a worker reaches the orchestrator bus', async () => {
    const target = { ...redisTarget(url), prefix: `cdx-ev-${randomUUID().slice(0, 8)}` };
    const cfg = parseConfig({ execution: { mode: 'distributed' } });
    const bus = new EventBus();
    const got: Array<OrchestratorEvents['model:selected']> = [];
    bus.on('model:selected', (e) => got.push(e));
    const queue = new BullMQQueue(target, cfg.execution, { agents: cfg.agents, bus, autoStart: false });
    await queue.ready();
    const workerBus = new EventBus();
    const worker = await new TaskWorker({
      target,
      agents: conformanceAgents,
      bus: workerBus,
      heartbeatMs: 60_000,
    }).start();
    try {
      workerBus.publish('model:selected', {
        agentId: 'echo',
        taskId: 't',
        provider: 'local',
        model: 'local-echo',
        reason: 'test',
        timestamp: 1,
      });
      for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(got).toEqual([
        { agentId: 'echo', taskId: 't', provider: 'local', model: 'local-echo', reason: 'test', timestamp: 1 },
      ]);
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});

describe.skipIf(!url)('BullMQ queue: an attempt aborted before it is sent', () => {
  it('rejects at once and enqueues nothing', async () => {
    const f = await fixture();
    try {
      const ctrl = new AbortController();
      ctrl.abort(new Error('run already over'));
      const executionId = `pre-${randomUUID()}`;
      const ctx = { ...dispatchContext('sync', 't', { n: 1 }, executionId), signal: ctrl.signal };
      await expect(Promise.resolve(f.queue.run(ctx, conformanceAgents[1]))).rejects.toThrow('run already over');
      await new Promise((r) => setTimeout(r, 50));
      const q = (f.queue as BullMQQueue).agentQueue('sync');
      expect(await Job.fromId(q, jobIdOf(executionId, 't', undefined, 1))).toBeUndefined();
    } finally {
      await f.close();
    }
  });
});

describe.skipIf(!url)('outputs log: the last entries travel with each job', () => {
  it('a worker a few entries behind catches up from the job alone; one further behind reads Redis', async () => {
    const r = new Redis(url!);
    const prefix = `cdx-tail-${randomUUID().slice(0, 8)}`;
    try {
      const pub = new OutputsPublisher(() => r, distKeys(prefix), 60);
      const refs = Array.from({ length: 12 }, (_, i) =>
        pub.publish({
          executionId: 'exec-t',
          outputs: Object.fromEntries(Array.from({ length: i + 1 }, (_, k) => [`t${k}`, k])),
        }),
      );
      const last = refs[11];
      expect(last.len).toBe(12);
      expect(last.prev).toHaveLength(7);
      const near = new OutputsReplica(() => r, distKeys(prefix));
      await near.at('exec-t', refs[4], {}); // 5 entries (all carried by that job), then 7 behind the last job
      const far = new OutputsReplica(() => r, distKeys(prefix));
      await far.at('exec-t', refs[1], {});
      // With the log gone from Redis, only what the job carries can bring a replica up to date.
      await r.del(distKeys(prefix).outputsLog('exec-t', last.gen!));
      const want = Object.fromEntries(Array.from({ length: 12 }, (_, k) => [`t${k}`, k]));
      expect({ ...(await near.at('exec-t', last, {})) }).toEqual(want);
      await expect(far.at('exec-t', last, {})).rejects.toMatchObject({ code: 'CDX_ERR_QUEUE' });
    } finally {
      r.disconnect();
    }
  });
});

describe.skipIf(!url)('outputs log: written to Redis only once jobs stop carrying all of it', () => {
  it('a short log stays out of Redis; once it outgrows a job, all of it is there, in order', async () => {
    const r = new Redis(url!);
    const prefix = `cdx-lazy-${randomUUID().slice(0, 8)}`;
    try {
      const pub = new OutputsPublisher(() => r, distKeys(prefix), 60);
      const outputsAt = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, k) => [`t${k}`, k]));
      const refs = Array.from({ length: 8 }, (_, i) =>
        pub.publish({ executionId: 'exec-z', outputs: outputsAt(i + 1) }),
      );
      const key = distKeys(prefix).outputsLog('exec-z', refs[0].gen!);
      // Eight small entries: every job carries the whole log, and nothing was written.
      expect(refs[7].prev).toHaveLength(7);
      expect(await r.exists(key)).toBe(0);
      expect({ ...(await new OutputsReplica(() => r, distKeys(prefix)).at('exec-z', refs[7], {})) }).toEqual(
        outputsAt(8),
      );
      // The ninth no longer fits a job's tail: the log goes to Redis whole, with its expiry, and then grows there.
      const ninth = pub.publish({ executionId: 'exec-z', outputs: outputsAt(9) });
      expect(ninth.prev).toHaveLength(7);
      expect(await r.llen(key)).toBe(9);
      expect(await r.ttl(key)).toBeGreaterThan(0);
      const tenth = pub.publish({ executionId: 'exec-z', outputs: outputsAt(10) });
      expect(await r.llen(key)).toBe(10);
      // A replica that saw only the first job reads the entries the last one does not carry from Redis.
      const early = new OutputsReplica(() => r, distKeys(prefix));
      await early.at('exec-z', refs[0], {});
      expect({ ...(await early.at('exec-z', tenth, {})) }).toEqual(outputsAt(10));
      // A large entry overflows the tail by size just the same.
      const big = pub.publish({ executionId: 'exec-big', outputs: { a: 'x'.repeat(5000) } });
      expect(await r.exists(distKeys(prefix).outputsLog('exec-big', big.gen!))).toBe(0);
      pub.publish({ executionId: 'exec-big', outputs: { a: 'x'.repeat(5000), b: 1 } });
      expect(await r.llen(distKeys(prefix).outputsLog('exec-big', big.gen!))).toBe(2);
    } finally {
      r.disconnect();
    }
  });
});

describe.skipIf(!url)('outputs log: a worker that saw none of the earlier dispatches', () => {
  it('catches up from Redis and reads the same outputs as one that saw every dispatch', async () => {
    const r = new Redis(url!);
    const prefix = `cdx-outs-${randomUUID().slice(0, 8)}`;
    try {
      const pub = new OutputsPublisher(() => r, distKeys(prefix), 60);
      const seenAll = new OutputsReplica(() => r, distKeys(prefix));
      const late = new OutputsReplica(() => r, distKeys(prefix));
      const b = new Date(7);
      const steps: Array<Record<string, unknown>> = [{ a: 1 }, { a: 1, b }, { a: 1, b }, { b: 2 }];
      const refs = steps.map((o) => pub.publish({ executionId: 'exec-1', outputs: o }));
      // An unchanged map appends nothing: the third dispatch points at the second's entry.
      expect(refs.map((x) => x.len)).toEqual([1, 2, 2, 3]);
      expect(refs[2].delta).toBe(refs[1].delta);
      for (const ref of refs) await seenAll.at('exec-1', ref, {});
      const last = refs[refs.length - 1];
      expect({ ...(await seenAll.at('exec-1', last, {})) }).toEqual({ b: 2 });
      expect({ ...(await late.at('exec-1', last, {})) }).toEqual({ b: 2 });
      expect({ ...(await late.at('exec-1', refs[1], {})) }).toEqual({ b: 2 }); // never older than what it has seen
      // A log this short travels whole with the job: a fresh replica needs nothing from Redis.
      await r.del(distKeys(prefix).outputsLog('exec-1', last.gen!));
      expect({ ...(await new OutputsReplica(() => r, distKeys(prefix)).at('exec-1', last, {})) }).toEqual({ b: 2 });
    } finally {
      r.disconnect();
    }
  });

  it('a job whose deps are exactly the last change carries those outputs once (in its values, not the log entry)', async () => {
    const r = new Redis(url!);
    const prefix = `cdx-deps-${randomUUID().slice(0, 8)}`;
    try {
      const pub = new OutputsPublisher(() => r, distKeys(prefix), 60);
      pub.publish({ executionId: 'exec-d', outputs: { a: 1 } }, {});
      const outputs = { a: 1, b: { n: 2 }, c: 3 };
      // Dispatched after b and c completed: a join on both, and a task that needs only b.
      const join = pub.publish({ executionId: 'exec-d', outputs }, { b: outputs.b, c: 3 });
      const onlyB = pub.publish({ executionId: 'exec-d', outputs }, { b: outputs.b });
      expect(join).toMatchObject({ len: 2, deps: true });
      expect(join.delta).toBeUndefined();
      expect(onlyB.deps).toBeUndefined();
      expect(decodeWire(onlyB.delta!)).toEqual({ set: { b: { n: 2 }, c: 3 } });
      // A worker one entry behind takes the last entry from the job's deps.
      const w = new OutputsReplica(() => r, distKeys(prefix));
      await w.at('exec-d', { ...join, len: 1, prev: undefined, deps: undefined, delta: onlyB.prev?.[0] }, {});
      await r.del(distKeys(prefix).outputsLog('exec-d', join.gen!));
      expect({ ...(await w.at('exec-d', join, { b: { n: 2 }, c: 3 })) }).toEqual(outputs);
      // A fresh worker needs the whole log: the job's own entries are all it has once the log is gone.
      const fresh = new OutputsReplica(() => r, distKeys(prefix));
      expect({ ...(await fresh.at('exec-d', join, { b: { n: 2 }, c: 3 })) }).toEqual(outputs);
    } finally {
      r.disconnect();
    }
  });

  it("with the run's output log, each dispatch sends only the new outputs and reads the full map once", async () => {
    const r = new Redis(url!);
    const prefix = `cdx-outs-${randomUUID().slice(0, 8)}`;
    try {
      const pub = new OutputsPublisher(() => r, distKeys(prefix), 60);
      const replica = new OutputsReplica(() => r, distKeys(prefix));
      // A chain's output log as the engine keeps it: task ids by index, the order outputs were set.
      const ids = Array.from({ length: 50 }, (_, i) => `t${i}`);
      const outputs: unknown[] = [];
      const log: number[] = [];
      let fullReads = 0;
      const ctx = {
        executionId: 'exec-log',
        get outputs() {
          fullReads++;
          return Object.fromEntries(log.map((i) => [ids[i], outputs[i]]));
        },
        outputChanges(from: number) {
          const set: Record<string, unknown> = {};
          for (let k = from; k < log.length; k++) set[ids[log[k]]] = outputs[log[k]];
          return { log, to: log.length, set };
        },
      };
      const sizes: number[] = [];
      let ref = pub.publish(ctx);
      for (let i = 0; i < ids.length; i++) {
        outputs[i] = { n: i };
        log.push(i);
        ref = pub.publish(ctx);
        sizes.push(Object.keys((decodeWire(ref.delta!) as { set: object }).set).length);
      }
      expect(fullReads).toBe(1);
      expect(sizes).toEqual(ids.map(() => 1));
      const seen = await replica.at('exec-log', ref, {});
      expect(Object.keys(seen)).toEqual(ids);
      expect(seen.t49).toEqual({ n: 49 });
    } finally {
      r.disconnect();
    }
  });
});

describe.skipIf(!url)('BullMQ queue: what a job holds in Redis', () => {
  it('only what a worker cannot work out: no task, agent, default idempotency key or whole channel names', async () => {
    const f = await fixture();
    try {
      const executionId = `compact-${randomUUID()}`;
      const ctx = {
        ...dispatchContext('echo', 'c', {}, executionId),
        deps: { up: 1 },
        outputs: { up: 1 },
        idempotencyKey: `${executionId}:c`,
      };
      // The job as the worker fetched it (before it fills in what was left out); BullMQ removes it once completed.
      const fetched: Array<Pick<Job, 'id' | 'name' | 'data' | 'opts'>> = [];
      const lanes = (f.worker as unknown as { lanes: Map<string, { worker: import('bullmq').Worker }> }).lanes;
      lanes
        .get('echo')!
        .worker.on('active', (j: Job) =>
          fetched.push({ id: j.id, name: j.name, data: structuredClone(j.data), opts: j.opts }),
        );
      expect(await f.queue.run(ctx, conformanceAgents[0])).toMatchObject({ taskId: 'c', agentId: 'echo' });
      const jobId = jobIdOf(executionId, 'c', undefined, 1);
      expect(await Job.fromId((f.queue as BullMQQueue).agentQueue('echo'), jobId)).toBeUndefined();
      const job = fetched.find((j) => j.id === jobId);
      expect(job?.name).toBe('c');
      // The execution and attempt are in the job's id; the values are part of the job's JSON as they are.
      expect(Object.keys(job?.data ?? {}).sort()).toEqual(['outputs', 'reply', 'solo', 'values', 'workflowId']);
      // The outputs' last change is exactly the task's deps: carried once, in the values.
      expect(Object.keys(job?.data.outputs ?? {}).sort()).toEqual(['deps', 'gen', 'len']);
      expect(job?.data.values).toEqual({ deps: { up: 1 } });
      expect(job?.data.reply).toMatch(/^[\w-]{12}$/);
      expect(job?.opts.attempts ?? 0).toBe(0);
      expect(job?.opts.removeOnComplete).toBe(true);
    } finally {
      await f.close();
    }
  });
});
