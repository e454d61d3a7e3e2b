import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CodexError, ErrorCodes } from '../../errors.js';
import type { DispatchContext, TaskJobResult } from '../types.js';
import { coalesceWrites } from './connection.js';
import type { SentBatch } from './job-batches.js';
import { RESULT_FIELD } from './job-record.js';
import { errorFromReport, parseResult } from './job-result.js';
import type { DistKeys } from './keys.js';
import { decodeWire } from './wire.js';

// The attempts an orchestrator has sent and waits on, and how their results come back. A worker publishes each
// result on this orchestrator's reply channel as it returns it, so a result costs one message instead of a blocking
// read per queue event. A job whose reply does not come (a result published while the subscription was down, a job
// BullMQ failed itself, an attempt a worker ran before this orchestrator resumed the run) is read from Redis, with
// backoff.

/** The agent queue an attempt went to, and its count of attempts not settled (the pool's load). */
export interface WaitLane {
  queue: Queue;
  open: number;
}

/** One attempt waiting for its result. */
export interface Waiter {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  ctx: DispatchContext;
  lane: WaitLane;
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

/** The attempts waiting for results, by attempt key (`jobIdOf`), and the reads of those whose reply is late. */
export class ReplyWaiters {
  private readonly waiters = new Map<string, Waiter>();
  private readonly timer: NodeJS.Timeout;
  private checking = false;
  private closed = false;

  constructor(private readonly d: { redis(): Redis; keys: DistKeys /** host:port, for errors. */; label: string }) {
    this.timer = setInterval(() => this.checkOverdue(), CHECK_TICK_MS);
    this.timer.unref();
  }

  get(key: string): Waiter | undefined {
    return this.waiters.get(key);
  }

  /** Waits on an attempt just sent (its own job, until a batch takes it: see Waiter.job). */
  add(key: string, w: Pick<Waiter, 'resolve' | 'reject' | 'ctx' | 'lane'>): void {
    w.lane.open++;
    // A literal with every field (`batch` too): one shape for all waiters. A spread, then a field added later, made
    // these objects slow to read on every reply (measured: about 10 µs per task on a chain).
    this.waiters.set(key, {
      resolve: w.resolve,
      reject: w.reject,
      ctx: w.ctx,
      lane: w.lane,
      job: key,
      batch: undefined,
      added: false,
      checkAt: Date.now() + FIRST_CHECK_MS,
      backoff: 0,
    });
  }

  /** The job carrying these attempts was added: from now on one missing from Redis is lost, not late. */
  added(keys: string[]): void {
    for (const key of keys) {
      const w = this.waiters.get(key);
      if (w) w.added = true;
    }
  }

  /** Forgets a settled or cancelled attempt: its lane's count and its batch's open attempts go down. */
  private drop(key: string, w: Waiter): void {
    this.waiters.delete(key);
    w.lane.open--;
    if (w.batch) w.batch.open--;
  }

  reject(key: string, err: unknown): void {
    const w = this.waiters.get(key);
    if (!w) return;
    this.drop(key, w);
    w.reject(err);
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
    for (const key of [...this.waiters.keys()]) this.reject(key, err);
  }

  close(err: unknown): void {
    this.closed = true;
    clearInterval(this.timer);
    this.rejectAll(err);
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
    this.reject(
      jobId,
      new CodexError(ErrorCodes.QUEUE, `task job failed on the queue: ${reason}`, { retryable: true }),
    );
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
      return this.reject(id, e);
    }
    if (finished == null) return;
    // A finished job still there: failed by BullMQ, or run by a worker of an earlier release (which recorded the
    // result on the job, or returned it to BullMQ).
    const old = parseResult(recorded ?? value);
    if (!old) this.settleFailed(id, failed ?? 'no result');
    else this.settle(id, old);
  }
}
