import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CodexError, ErrorCodes } from '../../errors.js';
import type { ExecutionConfig } from '../config.js';
import type { DispatchContext, RemoteModelCall, TaskJobData, TaskJobResult } from '../types.js';
import { coalesceWrites } from './connection.js';
import type { FlowRules } from './flow-rules.js';
import {
  type AgentSpread,
  alone,
  batchSize,
  type Outgoing,
  packJobs,
  type Ready,
  type SentBatch,
} from './job-batches.js';
import { jobDataOf } from './job-data.js';
import { RESULT_FIELD } from './job-record.js';
import { errorFromReport, parseResult } from './job-result.js';
import { type DistKeys, jobIdOf, queueName } from './keys.js';
import type { OutputsPublisher } from './outputs-sync.js';
import { decodeWire } from './wire.js';

interface Lane {
  agentId: string;
  queue: Queue;
  ready: Promise<void>;
  pending: Ready[];
  /** Attempts sent and not settled (queued or running): the pool's load, which batch jobs would undercount. */
  open: number;
  /**
   * False under an agent-wide concurrency or rate limit: BullMQ counts those in jobs, so a batch would hold several
   * attempts in one unit of the limit.
   */
  batches: boolean;
}

interface Waiter {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  ctx: DispatchContext;
  lane: Lane;
  /** The BullMQ job that carries the attempt: its own, or a batch's. */
  job: string;
  batch?: SentBatch;
  /** The job's add has been acknowledged: a job missing after that is lost, not late. */
  added: boolean;
  /** When the job is next read from Redis if no reply came (ms), and the wait after that. */
  checkAt: number;
  backoff: number;
}

/**
 * First look at a job whose reply has not come, and the longest wait between looks (ms). Replies are lost only
 * with the subscription (then every job is read at once), so these looks find the rare job BullMQ ended itself
 * or one finished before this orchestrator resumed its run: a few seconds late is fine, a read per job is not.
 */
const FIRST_CHECK_MS = 2000;
const MAX_CHECK_MS = 30_000;
const CHECK_TICK_MS = 500;
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
 * Sends attempts as BullMQ jobs, one queue per agent, and hands their results back. The jobs made ready in one
 * turn go out in one write (one addBulk per agent). A worker publishes each result on this orchestrator's reply
 * channel as it returns it, so a result costs one message instead of a blocking read per queue event; a job
 * whose reply does not come (a result published while the subscription was down, a job BullMQ failed itself,
 * an attempt a worker ran before this orchestrator resumed the run) is read from Redis, with backoff.
 */
export class JobDispatcher {
  private readonly lanes = new Map<string, Lane>();
  private batches = 0;
  private readonly waiters = new Map<string, Waiter>();
  private flushing = false;
  private readonly timer: NodeJS.Timeout;
  private checking = false;
  private closed = false;
  /** How long BullMQ keeps a failed job (a finished one's result is in its execution's results hash). */
  private readonly keep: { age: number };

  constructor(private readonly d: DispatcherDeps) {
    this.keep = { age: d.cfg.keepJobsSeconds };
    this.timer = setInterval(() => this.checkOverdue(), CHECK_TICK_MS);
    this.timer.unref();
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
        this.drop(jobId, w);
        reject(reason);
        this.cancelRemote(w, jobId);
      };
      if (ctx.onAbort) {
        if (!ctx.onAbort(cancel)) return reject(ctx.signal.reason);
      } else {
        const signal = ctx.signal;
        signal.addEventListener('abort', () => cancel(signal.reason), { once: true });
      }
      const at = Date.now();
      lane.open++;
      this.waiters.set(jobId, {
        resolve,
        reject,
        ctx,
        lane,
        job: jobId,
        added: false,
        checkAt: at + FIRST_CHECK_MS,
        backoff: 0,
      });
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

  /** A message on the reply channel: `[jobId, result]`, or `[[jobId, result], …]` for a worker's batch, as JSON. */
  onReply(msg: string): void {
    let m: unknown;
    try {
      m = JSON.parse(msg);
    } catch {
      return;
    }
    if (!Array.isArray(m)) return;
    for (const one of Array.isArray(m[0]) ? m : [m]) {
      const [jobId, r] = one as [unknown, unknown];
      if (typeof jobId === 'string' && r && typeof r === 'object') this.settle(jobId, r as TaskJobResult);
    }
  }

  /** Replies may have been missed (the subscription dropped): every waiting job is read at the next check. */
  recheckAll(): void {
    const now = Date.now();
    for (const w of this.waiters.values()) w.checkAt = now;
  }

  /** Rejects every attempt still waiting (Redis lost or unreachable, queue closed). */
  rejectAll(err: unknown): void {
    for (const id of [...this.waiters.keys()]) this.rejectWaiter(id, err);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.rejectAll(new CodexError(ErrorCodes.CANCELLED, 'distributed queue closed'));
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
          for (const j of jobs)
            for (const key of j.keys) {
              const w = this.waiters.get(key);
              if (w) w.added = true;
            }
        },
        (err: Error) => {
          const e = new CodexError(
            ErrorCodes.QUEUE,
            `could not enqueue task on Redis at ${this.d.label}: ${err.message}`,
            { retryable: true },
          );
          for (const j of jobs) for (const key of j.keys) this.rejectWaiter(key, e);
        },
      );
  }

  private settle(jobId: string, r: TaskJobResult | undefined): void {
    const w = this.waiters.get(jobId);
    if (!w) return;
    this.drop(jobId, w);
    if (!r) return w.reject(new CodexError(ErrorCodes.QUEUE, `job ${jobId} returned no result`, { retryable: true }));
    if (r.ok) {
      if (r.usage && r.model) w.ctx.recordUsage({ usage: r.usage, cost: r.cost ?? 0, model: r.model });
      if (r.toolCalls?.length) w.ctx.recordToolCalls?.(r.toolCalls);
      let v: unknown;
      try {
        v = decodeWire(r.output);
      } catch (err) {
        return w.reject(err);
      }
      w.resolve(v);
    } else w.reject(errorFromReport(r.error));
  }

  private settleFailed(jobId: string, reason: string): void {
    // BullMQ failed the job itself (e.g. it stalled more often than allowed): the scheduler may retry it.
    this.rejectWaiter(
      jobId,
      new CodexError(ErrorCodes.QUEUE, `task job failed on the queue: ${reason}`, { retryable: true }),
    );
  }

  /** Forgets a settled or cancelled attempt: its lane's count and its batch's open attempts go down. */
  private drop(key: string, w: Waiter): void {
    this.waiters.delete(key);
    w.lane.open--;
    if (w.batch) w.batch.open--;
  }

  private rejectWaiter(jobId: string, err: unknown): void {
    const w = this.waiters.get(jobId);
    if (!w) return;
    this.drop(jobId, w);
    w.reject(err);
  }

  /** Reads the jobs whose reply is overdue, all in one write; a finished one settles as its reply would have. */
  private checkOverdue(): void {
    if (this.checking || this.closed || this.waiters.size === 0) return;
    const now = Date.now();
    const due: Array<[string, Waiter]> = [];
    for (const e of this.waiters) {
      const w = e[1];
      if (!w.added || w.checkAt > now) continue;
      w.backoff = Math.min(MAX_CHECK_MS, (w.backoff || FIRST_CHECK_MS / 2) * 2);
      w.checkAt = now + w.backoff;
      due.push(e);
    }
    if (due.length === 0) return;
    const r = this.d.redis();
    coalesceWrites(r);
    this.checking = true;
    // The job first, then its recorded result: a job gone by the first read had its result recorded before.
    Promise.all(
      due.map(([id, w]) =>
        Promise.all([
          r.hmget(w.lane.queue.toKey(w.job), 'timestamp', 'finishedOn', RESULT_FIELD, 'returnvalue', 'failedReason'),
          r.hget(this.d.keys.results(w.ctx.executionId), id),
        ]),
      ),
    )
      .then((rows) => {
        for (let i = 0; i < rows.length; i++) this.onJobRead(due[i][0], due[i][1], rows[i][0], rows[i][1]);
      })
      // Redis unreachable: its own check (the queue's down timer) rejects the waiters; these are read again later.
      .catch(() => {})
      .finally(() => {
        this.checking = false;
      });
  }

  /** A job read because its reply was overdue: finished (settles), still queued or running, or gone. */
  private onJobRead(
    id: string,
    w: Waiter,
    [created, finished, recorded, value, failed]: Array<string | null>,
    result: string | null,
  ): void {
    if (this.waiters.get(id) !== w) return;
    const r = result == null ? undefined : parseResult(result);
    if (r) return this.settle(id, r);
    if (created == null) {
      const e = new CodexError(ErrorCodes.QUEUE, `task job ${id} is gone from Redis at ${this.d.label}`, {
        retryable: true,
      });
      return this.rejectWaiter(id, e);
    }
    if (finished == null) return;
    // A finished job still there: failed by BullMQ, or run by a worker of an earlier release (which recorded the
    // result on the job, or returned it to BullMQ).
    const old = parseResult(recorded ?? value);
    if (!old) this.settleFailed(id, failed ?? 'no result');
    else this.settle(id, old);
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
