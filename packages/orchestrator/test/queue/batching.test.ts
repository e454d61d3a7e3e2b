import { describe, expect, it } from 'vitest';
import { batchSize, MAX_BATCH, packJobs, type Ready } from '../../src/queue/bullmq/job-batches.js';
import { TaskSlots } from '../../src/queue/bullmq/task-slots.js';

describe('batchSize', () => {
  it('gives each serving worker at least two jobs, never more attempts than a worker has slots, at most MAX_BATCH', () => {
    expect(batchSize(100, { workers: 2, perWorker: 200 })).toBe(25);
    expect(batchSize(1000, { workers: 1, perWorker: 200 })).toBe(MAX_BATCH);
    expect(batchSize(24, { workers: 1, perWorker: 8 })).toBe(8);
    // A worker with one slot (an LLM agent run one at a time): no batches, so other workers share the load.
    expect(batchSize(50, { workers: 3, perWorker: 1 })).toBe(1);
    expect(batchSize(3, { workers: 2, perWorker: 10 })).toBe(1);
  });
});

describe('TaskSlots', () => {
  it('holds attempts beyond the limit, first come first served, and follows a changed limit', async () => {
    let limit = 2;
    const slots = new TaskSlots(() => limit);
    expect(slots.take()).toBeUndefined();
    expect(slots.take()).toBeUndefined();
    const order: number[] = [];
    const third = slots.take()!.then(() => order.push(3));
    const fourth = slots.take()!.then(() => order.push(4));
    expect(slots.load).toEqual({ running: 2, waiting: 2 });
    slots.give();
    await third;
    expect(order).toEqual([3]);
    expect(slots.load).toEqual({ running: 2, waiting: 1 });
    limit = 3;
    slots.wake();
    await fourth;
    expect(order).toEqual([3, 4]);
    limit = 1;
    slots.give();
    slots.give();
    // Lowered below what runs: a new attempt waits until the running ones are under the limit.
    const fifth = slots.take();
    expect(fifth).toBeInstanceOf(Promise);
    slots.give();
    await fifth;
    expect(slots.load).toEqual({ running: 1, waiting: 0 });
  });
});

describe('packJobs', () => {
  const ready = (key: string, batchable = true): Ready => ({
    key,
    executionId: 'e',
    attempt: 1,
    name: key,
    data: { workflowId: 'wf', values: { deps: {} } },
    opts: { jobId: key },
    batchable,
  });

  it('puts batchable attempts k to a job, sends the others and a lone leftover alone, each attempt once', () => {
    let n = 0;
    const jobs = packJobs(
      [ready('a'), ready('b'), ready('x', false), ready('c'), ready('d'), ready('e')],
      2,
      () => `b${++n}`,
    );
    expect(jobs.map((j) => [j.name, j.opts.jobId, j.keys])).toEqual([
      ['~batch', 'b1', ['a', 'b']],
      ['x', 'x', ['x']],
      ['~batch', 'b2', ['c', 'd']],
      ['e', 'e', ['e']],
    ]);
    expect(jobs[0].batch).toEqual({ id: 'b1', open: 2 });
    // A batch's entries name what its id cannot: execution, task and attempt.
    expect((jobs[2].data as { tasks: unknown[] }).tasks).toMatchObject([
      { executionId: 'e', taskId: 'c', attempt: 1 },
      { executionId: 'e', taskId: 'd', attempt: 1 },
    ]);
  });
});
