import type { JobsOptions } from 'bullmq';
import type { TaskBatchData, TaskJobData } from '../types.js';
import { BATCH_JOB } from './job-data.js';

// How the attempts that become ready together are packed into BullMQ jobs. Attempts of one agent share batch jobs
// (see TaskBatchData): a fan-out's tasks then cost Redis one add, one fetch and one completion per batch instead of
// per task. The size keeps every worker busy and every limit: see batchSize.

/** One attempt waiting for this turn's write. */
export interface Ready {
  /** The attempt's key (`jobIdOf`): its job's id when it goes alone, its results field either way. */
  key: string;
  executionId: string;
  attempt: number;
  name: string;
  data: TaskJobData;
  opts: JobsOptions;
  /** Plain enough to share a batch job: no priority, flow key or model call, and not a resumed run's. */
  batchable: boolean;
}

/** A batch job as its attempts' waiters share it: removed from the queue if every attempt still open is cancelled. */
export interface SentBatch {
  id: string;
  open: number;
}

/** A job as it is added: one attempt, or a batch of them (`keys`: the attempts it carries). */
export interface Outgoing {
  name: string;
  data: TaskJobData | TaskBatchData;
  opts: JobsOptions;
  keys: string[];
  batch?: SentBatch;
}

/** The most attempts one batch job carries. */
export const MAX_BATCH = 32;

/** How the workers serving an agent share it: how many serve it, and the slots each has (on average). */
export interface AgentSpread {
  workers: number;
  perWorker: number;
}

/**
 * Attempts per batch job when `n` batchable attempts of one agent are ready at once: at least two jobs per worker
 * (so each worker gets some, and a slow one holds back little), no more than a worker's slots (a batch runs on one
 * worker, its attempts side by side), and at most {@link MAX_BATCH}. Below 2: no batch.
 */
export function batchSize(n: number, s: AgentSpread): number {
  return Math.min(MAX_BATCH, s.perWorker, Math.ceil(n / (2 * Math.max(1, s.workers))));
}

/** An attempt as a job of its own (its key is the job's id). */
export const alone = (r: Ready): Outgoing => ({ name: r.name, data: r.data, opts: r.opts, keys: [r.key] });

/** The jobs for attempts ready together: batchable ones `k` to a batch job (ids from `batchId`), the rest alone. */
export function packJobs(ready: Ready[], k: number, batchId: () => string): Outgoing[] {
  const out: Outgoing[] = [];
  let group: Ready[] = [];
  for (const r of ready) {
    if (!r.batchable) out.push(alone(r));
    else if (group.push(r) === k) {
      out.push(batchJob(group, batchId()));
      group = [];
    }
  }
  if (group.length === 1) out.push(alone(group[0]));
  else if (group.length > 1) out.push(batchJob(group, batchId()));
  return out;
}

function batchJob(group: Ready[], id: string): Outgoing {
  const tasks: TaskBatchData['tasks'] = group.map((r) =>
    Object.assign(r.data, { executionId: r.executionId, taskId: r.name, attempt: r.attempt }),
  );
  return {
    name: BATCH_JOB,
    data: { tasks },
    opts: { ...group[0].opts, jobId: id },
    keys: group.map((r) => r.key),
    batch: { id, open: group.length },
  };
}
