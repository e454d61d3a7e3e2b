// Raw BullMQ used the way CodexOS distributed mode uses it: a client keeps the DAG, adds each ready stage with
// addBulk, hears completions through QueueEvents; the jobs run in separate worker processes.
import { Queue, QueueEvents } from 'bullmq';
import type { Shape } from '../engine/types.ts';

interface RunState {
  shape: Shape;
  stage: number;
  remaining: number;
  outputs: number[];
  resolve(v: number): void;
  reject(e: Error): void;
  /** Extra job data (the CPU-bound workload's `rounds`). */
  data?: Record<string, unknown>;
}

export async function rawClient(url: string, queueName: string) {
  const u = new URL(url);
  const connection = { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null };
  const queue = new Queue(queueName, { connection });
  const events = new QueueEvents(queueName, { connection });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  const runs = new Map<string, RunState>();
  let seq = 0;
  const enqueue = (id: string, st: RunState, up: number[]) => {
    const extra = st.data ?? {};
    const ids = st.shape.stages[st.stage];
    st.remaining = ids.length;
    st.outputs = [];
    queue
      .addBulk(ids.map((name, i) => ({ name, data: { up, ms: st.shape.sleepMs, ...extra }, opts: { jobId: `${id}-${st.stage}-${i}`, removeOnComplete: true } })))
      .catch((e: Error) => st.reject(e));
  };
  events.on('completed', ({ jobId, returnvalue }) => {
    const id = jobId.slice(0, jobId.indexOf('-'));
    const st = runs.get(id);
    if (!st) return;
    st.outputs.push(typeof returnvalue === 'string' ? JSON.parse(returnvalue) : (returnvalue as number));
    if (--st.remaining > 0) return;
    if (st.stage === st.shape.stages.length - 1) {
      runs.delete(id);
      return st.resolve(st.outputs[0]);
    }
    const up = st.outputs;
    st.stage++;
    enqueue(id, st, up);
  });
  return {
    run(shape: Shape, data?: Record<string, unknown>): Promise<number> {
      return new Promise((resolve, reject) => {
        const id = `r${seq++}`;
        const st: RunState = { shape, stage: 0, remaining: 0, outputs: [], resolve, reject, data };
        runs.set(id, st);
        enqueue(id, st, []);
      });
    },
    async close() {
      await Promise.allSettled([events.close(), queue.close()]);
    },
  };
}
