import { randomUUID } from 'node:crypto';
import { Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentDefinition } from '../../src/agents/types.js';
import { parseConfig } from '../../src/config.js';
import { BullMQQueue } from '../../src/queue/bullmq/bullmq-queue.js';
import { redisTarget } from '../../src/queue/bullmq/connection.js';
import { ADD_CHUNK } from '../../src/queue/bullmq/dispatcher.js';
import { RESULT_FIELD } from '../../src/queue/bullmq/job-record.js';
import { parseResult } from '../../src/queue/bullmq/job-result.js';
import { distKeys, jobIdOf, queueName } from '../../src/queue/bullmq/keys.js';
import { TaskWorker } from '../../src/queue/bullmq/task-worker.js';
import { decodeWire } from '../../src/queue/bullmq/wire.js';
import type { TaskJobResult } from '../../src/queue/types.js';
import { encodeValue } from '../../src/store/codec.js';
import { dispatchContext } from './dist-helpers.js';

// Results come back on the orchestrator's reply channel; a job whose reply never comes (a worker that does not
// publish, a job BullMQ failed itself, a job gone from Redis) is read from Redis instead, never waited on forever.

const url = process.env.REDIS_URL;
const plain: AgentDefinition = { id: 'plain', handler: () => 'ran here' };

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup() {
  const target = { ...redisTarget(url), prefix: `cdx-rep-${randomUUID().slice(0, 8)}` };
  const queue = new BullMQQueue(target, parseConfig({ execution: { mode: 'distributed' } }).execution);
  await queue.ready();
  cleanup.push(() => queue.close());
  const u = new URL(url!);
  /**
   * A plain BullMQ worker on the agent's queue that publishes nothing: `fn` returns the job's return value (and
   * may record a result, or keep the job as a worker of an earlier release did).
   */
  const silentWorker = (fn: (job: Job) => Promise<TaskJobResult | null> | TaskJobResult | null) => {
    const w = new Worker(queueName('plain'), async (job) => fn(job), {
      connection: { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null },
      prefix: distKeys(target.prefix).bullPrefix,
    });
    cleanup.push(() => w.close());
    return w;
  };
  /**
   * A task worker of `concurrency` slots, and every reply message on the deployment's reply channels, its entries
   * (`[jobId, result]`) listed whether it carries one or a batch.
   */
  const workerAndReplies = async (concurrency: number, onMessage: (ch: string, entries: unknown[][]) => void) => {
    const worker = await new TaskWorker({ target, agents: [plain], concurrency, heartbeatMs: 60_000 }).start();
    cleanup.push(() => worker.close());
    const sub = new Redis(url!);
    cleanup.push(() => sub.disconnect());
    sub.on('pmessage', (_p: string, ch: string, msg: string) => {
      const m = JSON.parse(msg) as unknown[];
      onMessage(ch, (Array.isArray(m[0]) ? m : [m]) as unknown[][]);
    });
    await sub.psubscribe(`${target.prefix}:dist:replies:*`);
  };
  return { target, queue, silentWorker, workerAndReplies };
}

describe.skipIf(!url)('distributed results without a reply message', () => {
  it('a result recorded in the results hash whose reply was lost is read from Redis (the job itself is gone)', async () => {
    const { target, queue, silentWorker } = await setup();
    // As a worker of this release whose reply message was lost: the result recorded, nothing returned.
    const c = new Redis(url!);
    cleanup.push(() => c.disconnect());
    const r: TaskJobResult = { ok: true, output: '~{"n":8}' };
    const keys = distKeys(target.prefix);
    const executionId = `exec-${randomUUID()}`;
    const w = silentWorker(async (job) => {
      await c.hset(keys.results(executionId), job.id!, JSON.stringify(r));
      return null;
    });
    const got = await Promise.all(
      [0, 1].map((i) => Promise.resolve(queue.run(dispatchContext('plain', `t${i}`, {}, executionId), plain))),
    );
    expect(got).toEqual([{ n: 8 }, { n: 8 }]);
    // BullMQ removed the completed jobs: the results hash was all there was to read.
    expect(await c.exists(w.toKey(jobIdOf(executionId, 't0', undefined, 1)))).toBe(0);
  });

  it('the result of a job kept by an earlier release (on the job, or its return value) is read from Redis', async () => {
    const { queue, silentWorker } = await setup();
    const c = new Redis(url!);
    cleanup.push(() => c.disconnect());
    const recorded: TaskJobResult = { ok: true, output: '~{"n":8}' };
    const w = silentWorker(async (job) => {
      // Earlier releases kept finished jobs (an age, not removal on completion).
      job.opts.removeOnComplete = { age: 60 };
      if (job.name === 't0') {
        await c.hset(w.toKey(job.id!), RESULT_FIELD, JSON.stringify(recorded));
        return null;
      }
      return { ok: true, output: encodeValue({ n: 7 }).toString('base64'), worker: 'silent' };
    });
    const got = await Promise.all(
      [0, 1, 2].map((i) => Promise.resolve(queue.run(dispatchContext('plain', `t${i}`), plain))),
    );
    expect(got).toEqual([{ n: 8 }, { n: 7 }, { n: 7 }]);
  });

  it('a job BullMQ failed itself ends the attempt with a retryable queue error naming the reason', async () => {
    const { queue, silentWorker } = await setup();
    silentWorker(() => {
      throw new Error('processor blew up');
    });
    const err = await Promise.resolve(queue.run(dispatchContext('plain', 't'), plain)).then(
      () => undefined,
      (e: unknown) => e as { code?: string; retryable?: boolean; message: string },
    );
    expect(err).toMatchObject({ code: 'CDX_ERR_QUEUE', retryable: true });
    expect(err?.message).toContain('processor blew up');
  });

  it('a job removed from Redis while it waits ends the attempt with a retryable queue error', async () => {
    const { queue } = await setup();
    const executionId = `exec-${randomUUID()}`;
    const pending = Promise.resolve(queue.run(dispatchContext('plain', 't', {}, executionId), plain)).then(
      () => undefined,
      (e: unknown) => e as { code?: string; retryable?: boolean; message: string },
    );
    const jobId = jobIdOf(executionId, 't', undefined, 1);
    const q = queue.agentQueue('plain');
    for (let i = 0; i < 100 && (await q.getJobState(jobId)) !== 'waiting'; i++)
      await new Promise((r) => setTimeout(r, 20));
    await q.remove(jobId);
    const err = await pending;
    expect(err).toMatchObject({ code: 'CDX_ERR_QUEUE', retryable: true });
    expect(err?.message).toContain('gone from Redis');
  });

  it('a job handed out again after its worker replied returns that result instead of running twice', async () => {
    // A worker replies as its handler returns, before BullMQ writes the job's completion. One killed in between
    // leaves a job that stalls and is handed out again after the orchestrator recorded its result.
    const { target, queue } = await setup();
    let ran = 0;
    const counted: AgentDefinition = { id: 'plain', handler: () => ++ran };
    const original = Job.prototype.moveToCompleted;
    let completions = 0;
    // The first worker's completion never reaches Redis, as if the worker died right after its reply.
    Job.prototype.moveToCompleted = function (this: Job, ...args: Parameters<Job['moveToCompleted']>) {
      if (completions++ === 0) return new Promise<never>(() => {});
      return original.apply(this, args);
    };
    cleanup.push(() => {
      Job.prototype.moveToCompleted = original;
    });
    const timings = { heartbeatMs: 60_000, lockDurationMs: 400, stalledIntervalMs: 200 };
    const first = await new TaskWorker({ target, agents: [counted], concurrency: 1, ...timings }).start();
    cleanup.push(() => first.close());
    const executionId = `exec-${randomUUID()}`;
    const jobId = jobIdOf(executionId, 't', undefined, 1);
    expect(await queue.run(dispatchContext('plain', 't', {}, executionId), plain)).toBe(1);
    const q = queue.agentQueue('plain');
    expect([ran, completions, await q.getJobState(jobId)]).toEqual([1, 1, 'active']);
    // The first worker dies: its BullMQ workers stop without finishing, so the job's lock lapses.
    const lanes = (first as unknown as { lanes: Map<string, { worker: Worker }> }).lanes;
    for (const l of lanes.values()) await l.worker.close(true);
    const second = await new TaskWorker({ target, agents: [counted], concurrency: 1, ...timings }).start();
    cleanup.push(() => second.close());
    // Completed (and so removed) by the second worker.
    for (let i = 0; i < 300 && (await q.getJobState(jobId)) !== 'unknown'; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await q.getJobState(jobId)).toBe('unknown');
    // From the recorded result: the handler ran once in all.
    expect(ran).toBe(1);
    expect(completions).toBe(2);
    const c = new Redis(url!);
    cleanup.push(() => c.disconnect());
    const r = parseResult(await c.hget(distKeys(target.prefix).results(executionId), jobId));
    expect(r?.ok && decodeWire(r.output)).toBe(1);
  });

  it('the retryable failure of a drained worker reaches the orchestrator only once BullMQ holds the job as failed', async () => {
    const { target, queue } = await setup();
    let started = 0;
    const held: AgentDefinition = {
      id: 'plain',
      handler: (ctx) =>
        new Promise((_, reject) => {
          started++;
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        }),
    };
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const original = Job.prototype.moveToFailed;
    let holding = 0;
    Job.prototype.moveToFailed = async function (this: Job, ...args: Parameters<Job['moveToFailed']>) {
      holding++;
      await gate;
      return original.apply(this, args);
    };
    cleanup.push(() => {
      Job.prototype.moveToFailed = original;
    });
    const worker = await new TaskWorker({ target, agents: [held], concurrency: 1, heartbeatMs: 60_000 }).start();
    cleanup.push(() => worker.close());
    cleanup.push(() => release());
    let settled = false;
    const pending = Promise.resolve(queue.run(dispatchContext('plain', 't'), plain)).then(
      () => undefined,
      (e: unknown) => e as { code?: string; retryable?: boolean },
    );
    void pending.finally(() => {
      settled = true;
    });
    for (let i = 0; i < 200 && started === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const drained = worker.drain('test');
    for (let i = 0; i < 200 && holding === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect([started, holding]).toEqual([1, 1]);
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false);
    release();
    expect(await pending).toMatchObject({ code: 'CDX_ERR_QUEUE', retryable: true });
    await drained;
  });

  it('a task worker publishes each result once, on the channel of the orchestrator that sent the job', async () => {
    const { queue, workerAndReplies } = await setup();
    // One message per job, or one per batch of jobs that finished together (`[[jobId, result], …]`).
    const seen: Array<[string, string]> = [];
    let messages = 0;
    await workerAndReplies(4, (ch, entries) => {
      messages++;
      for (const one of entries) seen.push([ch, one[0] as string]);
    });
    const executionId = `exec-${randomUUID()}`;
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const got = await Promise.all(
      ids.map((t) => Promise.resolve(queue.run(dispatchContext('plain', t, {}, executionId), plain))),
    );
    expect(got).toEqual(ids.map(() => 'ran here'));
    for (let i = 0; i < 50 && seen.length < ids.length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen.map(([, id]) => id).sort()).toEqual(ids.map((t) => jobIdOf(executionId, t, undefined, 1)));
    expect(new Set(seen.map(([ch]) => ch)).size).toBe(1);
    expect(messages).toBeLessThanOrEqual(ids.length);
  });

  it('a fan-out larger than one chunk reaches Redis in chunks, each job once, every attempt settled', async () => {
    const { queue, workerAndReplies } = await setup();
    await workerAndReplies(50, () => {});
    const q = queue.agentQueue('plain');
    // The first chunk (or a whole small batch) goes the turn the tasks became ready; the rest in later turns.
    const sizes: number[] = [];
    const addBulk = q.addBulk.bind(q);
    q.addBulk = (jobs) => {
      sizes.push(jobs.length);
      return addBulk(jobs);
    };
    const executionId = `exec-${randomUUID()}`;
    const n = 2 * ADD_CHUNK + 44;
    const ids = Array.from({ length: n }, (_, i) => `t${i}`);
    const got = await Promise.all(
      ids.map((t) => Promise.resolve(queue.run(dispatchContext('plain', t, {}, executionId), plain))),
    );
    expect(got).toEqual(ids.map(() => 'ran here'));
    expect(sizes).toEqual([ADD_CHUNK, ADD_CHUNK, 44]);
    const c = new Redis(url!);
    cleanup.push(() => c.disconnect());
    expect(await c.hlen(queue.keys.results(executionId))).toBe(n);
  });

  it('the replies of jobs that finish together reach the orchestrator as one message, each settled', async () => {
    const { queue, workerAndReplies } = await setup();
    const sizes: number[] = [];
    await workerAndReplies(50, (_ch, entries) => sizes.push(entries.length));
    const executionId = `exec-${randomUUID()}`;
    const ids = Array.from({ length: 200 }, (_, i) => `t${i}`);
    const got = await Promise.all(
      ids.map((t) => Promise.resolve(queue.run(dispatchContext('plain', t, {}, executionId), plain))),
    );
    expect(got).toEqual(ids.map(() => 'ran here'));
    for (let i = 0; i < 50 && sizes.reduce((a, b) => a + b, 0) < ids.length; i++)
      await new Promise((r) => setTimeout(r, 20));
    // Every job replied once, and some replies shared a message.
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(ids.length);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    // Each result is also in the execution's results hash, where an orchestrator that missed the reply reads it,
    // and the jobs are gone (BullMQ removed them as it completed them); the hash expires like a failed job.
    const q = queue.agentQueue('plain');
    const c = new Redis(url!);
    cleanup.push(() => c.disconnect());
    const key = queue.keys.results(executionId);
    const kept = await c.hgetall(key);
    expect(Object.keys(kept).sort()).toEqual(ids.map((t) => jobIdOf(executionId, t, undefined, 1)).sort());
    expect(Object.values(kept).every((v) => parseResult(v)?.ok)).toBe(true);
    const ttl = await c.pttl(key);
    expect(ttl).toBeGreaterThan(3_590_000);
    expect(ttl).toBeLessThanOrEqual(3_660_000);
    const left = await Promise.all(ids.map((t) => c.exists(q.toKey(jobIdOf(executionId, t, undefined, 1)))));
    expect(left.filter((n) => n > 0)).toEqual([]);
  });
});
