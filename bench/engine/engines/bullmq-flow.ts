// BullMQ FlowProducer: a parent job runs after all its children and reads their results with
// getChildrenValues(). A flow is a tree, so the DAG is cut at each fan-out stage into tree segments
// (chain: one flow; B: start, then join ← 1000; C: clean ← fetch, then report ← insights ← {trends, predict});
// the client adds the next segment when the previous root completes and passes its result as job data.
// Chains deeper than MAX_FLOW_DEPTH are cut the same way (FlowProducer.add overflows the stack otherwise).
import { FlowProducer, type FlowJob, type Job, QueueEvents, Worker } from 'bullmq';
import type { EngineAdapter, Runner, Shape, TaskBody } from '../types.ts';
import { redisForChild } from '../redis.ts';
import { Waiters, parseReturn } from './bullmq-waiters.ts';

const CONCURRENCY = 200;
/** FlowProducer.add recurses per level: a 10 000-deep tree overflows the stack, so tall chains are cut here. */
const MAX_FLOW_DEPTH = 1000;

interface Data {
  up?: number[];
}

/** Stage ranges [from, to] that form trees: every stage after the first of a segment has one task. */
export function treeSegments(shape: Shape): Array<[number, number]> {
  const segs: Array<[number, number]> = [];
  let from = 0;
  for (let s = 1; s < shape.stages.length; s++) {
    if (shape.stages[s].length > 1 || s - from >= MAX_FLOW_DEPTH) {
      segs.push([from, s - 1]);
      from = s;
    }
  }
  segs.push([from, shape.stages.length - 1]);
  for (const [, to] of segs) if (shape.stages[to].length !== 1) throw new Error('segment root must be one task');
  return segs;
}

export async function createBullFlow(): Promise<EngineAdapter> {
  const redis = await redisForChild();
  const connection = { host: redis.host, port: redis.port, maxRetriesPerRequest: null };
  const queueName = `flow-${process.pid}`;
  let body: TaskBody = async () => 0;
  const worker = new Worker<Data, number>(
    queueName,
    async (job: Job<Data, number>) => {
      if (job.data.up) return body(job.data.up);
      const vals = await job.getChildrenValues<number>();
      return body(Object.values(vals));
    },
    { connection, concurrency: CONCURRENCY },
  );
  const events = new QueueEvents(queueName, { connection });
  const flows = new FlowProducer({ connection });
  await Promise.all([worker.waitUntilReady(), events.waitUntilReady(), flows.waitUntilReady()]);
  const waiters = new Waiters();
  events.on('completed', ({ jobId, returnvalue }) => waiters.resolve(jobId, parseReturn(returnvalue)));
  events.on('failed', ({ jobId, failedReason }) => waiters.reject(jobId, new Error(failedReason)));
  let runSeq = 0;

  return {
    async prepare(shape: Shape, b: TaskBody): Promise<Runner> {
      body = b;
      const segs = treeSegments(shape);
      return async () => {
        const run = runSeq++;
        let up: number[] = [];
        for (const [from, to] of segs) {
          let level: FlowJob[] = shape.stages[from].map((id) => ({ name: id, queueName, data: { up } }));
          for (let s = from + 1; s <= to; s++) {
            level = [{ name: shape.stages[s][0], queueName, data: {}, children: level }];
          }
          const rootId = `r${run}-${from}`;
          level[0].opts = { jobId: rootId };
          const done = waiters.wait(rootId);
          await flows.add(level[0]);
          up = [await done];
        }
        return up[0];
      };
    },
    async close() {
      await Promise.allSettled([worker.close(), events.close(), flows.close()]);
      await redis.stop();
    },
  };
}
