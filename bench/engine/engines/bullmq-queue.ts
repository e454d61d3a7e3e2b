// BullMQ as a plain queue with the DAG kept by the client: workers run jobs; the client listens to QueueEvents
// and, when a stage's last job completes, adds the next stage with addBulk, passing the results as job data.
import { type Job, Queue, QueueEvents, Worker } from 'bullmq';
import type { EngineAdapter, Runner, Shape, TaskBody } from '../types.ts';
import { redisForChild } from '../redis.ts';
import { parseReturn } from './bullmq-waiters.ts';

const CONCURRENCY = 200;

interface Data {
  up: number[];
}

interface RunState {
  stage: number;
  remaining: number;
  outputs: number[];
  resolve(v: number): void;
  reject(e: Error): void;
}

export async function createBullQueue(): Promise<EngineAdapter> {
  const redis = await redisForChild();
  const connection = { host: redis.host, port: redis.port, maxRetriesPerRequest: null };
  const queueName = `q-${process.pid}`;
  let body: TaskBody = async () => 0;
  let shape: Shape = { stages: [], sleepMs: 0 };
  const worker = new Worker<Data, number>(queueName, async (job: Job<Data, number>) => body(job.data.up), {
    connection,
    concurrency: CONCURRENCY,
  });
  const events = new QueueEvents(queueName, { connection });
  const queue = new Queue<Data, number>(queueName, { connection });
  await Promise.all([worker.waitUntilReady(), events.waitUntilReady(), queue.waitUntilReady()]);
  const runs = new Map<string, RunState>();
  let runSeq = 0;

  const enqueue = (runId: string, st: RunState, up: number[]): void => {
    const ids = shape.stages[st.stage];
    st.remaining = ids.length;
    st.outputs = [];
    queue
      .addBulk(ids.map((name, i) => ({ name, data: { up }, opts: { jobId: `${runId}-${st.stage}-${i}` } })))
      .catch((e: Error) => st.reject(e));
  };

  events.on('completed', ({ jobId, returnvalue }) => {
    const runId = jobId.slice(0, jobId.indexOf('-'));
    const st = runs.get(runId);
    if (!st) return;
    st.outputs.push(parseReturn(returnvalue));
    if (--st.remaining > 0) return;
    if (st.stage === shape.stages.length - 1) {
      runs.delete(runId);
      st.resolve(st.outputs[0]);
      return;
    }
    const up = st.outputs;
    st.stage++;
    enqueue(runId, st, up);
  });
  events.on('failed', ({ jobId, failedReason }) => {
    const runId = jobId.slice(0, jobId.indexOf('-'));
    runs.get(runId)?.reject(new Error(failedReason));
    runs.delete(runId);
  });

  return {
    async prepare(s: Shape, b: TaskBody): Promise<Runner> {
      body = b;
      shape = s;
      return () =>
        new Promise<number>((resolve, reject) => {
          const runId = `r${runSeq++}`;
          const st: RunState = { stage: 0, remaining: 0, outputs: [], resolve, reject };
          runs.set(runId, st);
          enqueue(runId, st, []);
        });
    },
    async close() {
      await Promise.allSettled([worker.close(), events.close(), queue.close()]);
      await redis.stop();
    },
  };
}
