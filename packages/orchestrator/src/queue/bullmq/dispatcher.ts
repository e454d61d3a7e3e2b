import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CodexError, ErrorCodes } from '../../errors.js';
import type { ExecutionConfig } from '../config.js';
import type { DispatchContext, RemoteModelCall, TaskJobData } from '../types.js';
import { coalesceWrites } from './connection.js';
import type { FlowRules } from './flow-rules.js';
import { type AgentSpread, alone, batchSize, type Outgoing, packJobs, type Ready } from './job-batches.js';
import { jobDataOf } from './job-data.js';
import { type DistKeys, jobIdOf, queueName } from './keys.js';
import type { OutputsPublisher } from './outputs-sync.js';
import { ReplyWaiters, type Waiter, type WaitLane } from './reply-waiters.js';

interface Lane extends WaitLane {
  agentId: string;
  ready: Promise<void>;
  pending: Ready[];
  /**
   * False under an agent-wide concurrency or rate limit: BullMQ counts those in jobs, so a batch would hold several
   * attempts in one unit of the limit.
   */
  batches: boolean;
}

/**
 * Jobs per addBulk when many become ready at once (a fan-out): the first chunk is written while the rest are
 * prepared, a chunk per event-loop turn, so Redis and the workers start on it meanwhile. Measured on a fan-out of
 * 1000 (workload B), one worker: 96 → 83 µs per task against one addBulk of everything.
 */
export const ADD_CHUNK = 128;

/** What the dispatch needs from the queue that owns it: the connection, BullMQ, names and per-agent setup. */
export interface DispatcherDeps {
  redis(): Redis;
  bull: typeof import('bullmq');
  keys: DistKeys;
  /** host:port, for errors. */
  label: string;
  cfg: ExecutionConfig;
  rules: FlowRules;
  outputs: OutputsPublisher;
  /** This orchestrator's reply id: workers publish its results on `keys.replies(replyId)` (see {@link TaskJobData.reply}). */
  replyId: string;
  /** How the healthy workers share an agent (the pool's last plan), undefined when not known: no batches. */
  spread?(agentId: string): AgentSpread | undefined;
}

/**
 * Sends attempts as BullMQ jobs, one queue per agent, and hands their results back (see ReplyWaiters). The jobs
 * made ready in one turn go out in one write (one addBulk per agent), the attempts of one agent in batch jobs
 * where they can share (see job-batches.ts).
 */
export class JobDispatcher {
  private readonly lanes = new Map<string, Lane>();
  private batches = 0;
  private readonly waiters: ReplyWaiters;
  private flushing = false;
  private closed = false;
  /** How long BullMQ keeps a failed job (a finished one's result is in its execution's results hash). */
  private readonly keep: { age: number };

  constructor(private readonly d: DispatcherDeps) {
    this.keep = { age: d.cfg.keepJobsSeconds };
    this.waiters = new ReplyWaiters(d);
  }

  /** Enqueues one attempt; the promise settles with the worker's result (or the error it reported). */
  run(ctx: DispatchContext, agentId: string, model: RemoteModelCall | undefined): Promise<unknown> {
    // Aborted before it was sent (e.g. the run ended in the same turn): nothing to enqueue, nothing to wait for.
    if (!ctx.onAbort && ctx.signal.aborted) return Promise.reject(ctx.signal.reason);
    const lane = this.lane(agentId);
    const jobId = jobIdOf(ctx.executionId, ctx.taskId, ctx.index ?? ctx.iteration, ctx.attempt);
    coalesceWrites(this.d.redis());
    let data: TaskJobData;
    try {
      data = jobDataOf(ctx, model, this.d.replyId, (deps) => this.d.outputs.publish(ctx, deps));
    } catch (err) {
      return Promise.reject(err);
    }
    // BullMQ makes one attempt of a job (attempts defaults to 0: no retry): retries are the scheduler's.
    // A completed job goes at once: its result is recorded in the execution's results hash (see job-record.ts).
    const opts: JobsOptions = { jobId, removeOnComplete: true, removeOnFail: this.keep };
    this.d.rules.apply(agentId, ctx, data, opts);
    return new Promise((resolve, reject) => {
      const cancel = (reason: unknown) => {
        const w = this.waiters.get(jobId);
        if (!w) return;
        this.waiters.reject(jobId, reason);
        this.cancelRemote(w, jobId);
      };
      if (ctx.onAbort) {
        if (!ctx.onAbort(cancel)) return reject(ctx.signal.reason);
      } else {
        const signal = ctx.signal;
        signal.addEventListener('abort', () => cancel(signal.reason), { once: true });
      }
      this.waiters.add(jobId, { resolve, reject, ctx, lane });
      const batchable = !model && !ctx.resumed && data.flowKey === undefined && opts.priority === undefined;
      lane.pending.push({
        key: jobId,
        executionId: ctx.executionId,
        attempt: ctx.attempt,
        name: ctx.taskId,
        data,
        opts,
        batchable,
      });
      this.scheduleFlush();
    });
  }

  /** Attempts of an agent this orchestrator sent that have not settled (queued or running). */
  open(agentId: string): number {
    return this.lanes.get(agentId)?.open ?? 0;
  }

  /** The BullMQ queue of an agent (created on first use): counts, global limits. */
  agentQueue(agentId: string): Queue {
    return this.lane(agentId).queue;
  }

  /** A message on the reply channel (see ReplyWaiters.onReply). */
  onReply(msg: string): void {
    this.waiters.onReply(msg);
  }

  /** Replies may have been missed (the subscription dropped): every waiting job is read at the next check. */
  recheckAll(): void {
    this.waiters.recheckAll();
  }

  /** Rejects every attempt still waiting (Redis lost or unreachable, queue closed). */
  rejectAll(err: unknown): void {
    this.waiters.rejectAll(err);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiters.close(new CodexError(ErrorCodes.CANCELLED, 'distributed queue closed'));
    await Promise.allSettled([...this.lanes.values()].map((l) => l.queue.close()));
  }

  private lane(agentId: string): Lane {
    let lane = this.lanes.get(agentId);
    if (lane) return lane;
    const queue = new this.d.bull.Queue(queueName(agentId), {
      connection: this.d.redis(),
      prefix: this.d.keys.bullPrefix,
    });
    queue.on('error', () => {});
    const rule = this.d.cfg.flow[agentId];
    const ready = (async () => {
      await queue.waitUntilReady();
      if (rule?.concurrency) await queue.setGlobalConcurrency(rule.concurrency);
      if (rule?.rateLimit) await queue.setGlobalRateLimit(rule.rateLimit.max, rule.rateLimit.durationMs);
    })();
    lane = { agentId, queue, ready, pending: [], open: 0, batches: !rule?.concurrency && !rule?.rateLimit };
    this.lanes.set(agentId, lane);
    return lane;
  }

  private scheduleFlush(): void {
    if (this.flushing) return;
    this.flushing = true;
    // Everything made ready in this turn goes out together (one addBulk per agent queue): the scheduler releases
    // all dependents of a written batch synchronously, so a microtask is late enough and adds no event-loop hop.
    queueMicrotask(() => {
      this.flushing = false;
      for (const lane of this.lanes.values()) {
        if (lane.pending.length === 0) continue;
        const ready = lane.pending;
        lane.pending = [];
        if (ready.length === 1) ready[0].data.solo = true;
        this.send(lane, ready, 0);
      }
    });
  }

  /** A chunk of what became ready, packed into jobs; the rest a chunk per event-loop turn (see ADD_CHUNK). */
  private send(lane: Lane, ready: Ready[], from: number): void {
    const end = from + ADD_CHUNK;
    this.add(lane, this.pack(lane, from === 0 && ready.length <= ADD_CHUNK ? ready : ready.slice(from, end)));
    if (end >= ready.length) return;
    setImmediate(() => {
      if (this.closed) return;
      coalesceWrites(this.d.redis());
      this.send(lane, ready, end);
    });
  }

  /** Jobs for attempts ready together: the batchable ones in batch jobs (see batchSize), the rest one job each. */
  private pack(lane: Lane, ready: Ready[]): Outgoing[] {
    let n = 0;
    for (const r of ready) if (r.batchable) n++;
    const spread = n > 1 && lane.batches ? this.d.spread?.(lane.agentId) : undefined;
    const k = spread ? batchSize(n, spread) : 1;
    if (k < 2) return ready.map(alone);
    const jobs = packJobs(ready, k, () => `${this.d.replyId}.${++this.batches}`);
    for (const j of jobs) {
      if (!j.batch) continue;
      for (const key of j.keys) {
        const w = this.waiters.get(key);
        if (w) {
          w.job = j.batch.id;
          w.batch = j.batch;
        }
      }
    }
    return jobs;
  }

  private add(lane: Lane, jobs: Outgoing[]): void {
    lane.ready
      // One job: a plain add (one script call) costs less than addBulk's pipeline.
      .then(
        (): Promise<unknown> =>
          jobs.length === 1 ? lane.queue.add(jobs[0].name, jobs[0].data, jobs[0].opts) : lane.queue.addBulk(jobs),
      )
      .then(
        () => {
          for (const j of jobs) this.waiters.added(j.keys);
        },
        (err: Error) => {
          const e = new CodexError(
            ErrorCodes.QUEUE,
            `could not enqueue task on Redis at ${this.d.label}: ${err.message}`,
            { retryable: true },
          );
          for (const j of jobs) for (const key of j.keys) this.waiters.reject(key, e);
        },
      );
  }

  private cancelRemote(w: Waiter, key: string): void {
    if (this.closed) return;
    // A waiting job is removed (a batch once none of its attempts is wanted); a running attempt hears the cancel on
    // pub/sub and its handler's signal aborts, and a batch's attempt not started yet is not started.
    if (!w.batch || w.batch.open === 0) w.lane.queue.remove(w.job).catch(() => 0);
    this.d
      .redis()
      .publish(this.d.keys.cancel, key)
      .catch(() => 0);
  }
}
