import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AgentDefinition } from '../../agents/types.js';
import { CodexError, ErrorCodes } from '../../errors.js';
import type { EventBus } from '../../events.js';
import type { TaskBatchData, TaskJobData, TaskJobResult } from '../types.js';
import { coalesceWrites } from './connection.js';
import type { FlowGate, FlowLimits } from './flow.js';
import { BATCH_JOB, resolveBatch, resolveJobData, unpackValues, type WorkerJobData } from './job-data.js';
import { keepMsOf, type ResultLog } from './job-record.js';
import { errorReport } from './job-result.js';
import type { DistKeys } from './keys.js';
import { LazyAbort } from './lazy-abort.js';
import type { OutputsReplica } from './outputs-sync.js';
import type { TaskSlots } from './task-slots.js';
import { encodeWire } from './wire.js';
import { WorkerContext } from './worker-context.js';
import type { TaskWorkerOptions } from './worker-types.js';

// How a worker runs the jobs BullMQ hands it: one attempt, or a batch of them (see TaskBatchData), each in a slot
// of its lane, each result recorded before it is replied. The TaskWorker around it owns the process: connections,
// lanes, heartbeat, the pool's plan, health, drain.

/** One agent on this worker: its BullMQ Worker, its slots and its counts (sent in the heartbeat). */
export interface AgentLane {
  agent: AgentDefinition;
  worker: Worker;
  max: number;
  /** The concurrency the pool assigned (at most `max`): attempts at once, batched or not. */
  limit: number;
  /** Attempts beyond the first of the batch jobs running: BullMQ fetches that many jobs fewer. */
  extra: number;
  slots: TaskSlots;
  active: number;
  completed: number;
  failed: number;
  draining: boolean;
}

/** An attempt given up because its worker drains: the orchestrator retries it elsewhere. */
export class DrainedError extends Error {
  constructor() {
    super('worker drained while running the task');
  }

  /** The result the orchestrator gets: a retryable queue failure, so it retries the attempt on another worker. */
  get result(): TaskJobResult {
    return { ok: false, error: { code: ErrorCodes.QUEUE, message: this.message, retryable: true } };
  }
}

/** How long a cancel of an attempt not running here is kept (a batch may start it later). */
const CANCELLED_KEEP_MS = 600_000;

/**
 * A batch's attempt that a drained worker gave up: recorded as a retryable queue failure, so the orchestrator
 * retries it and a rerun of the batch does not run it again. (A job of its own fails instead, and the TaskWorker's
 * 'failed' listener replies.)
 */
function drainedResult(err: unknown): TaskJobResult {
  if (!(err instanceof DrainedError)) throw err;
  return err.result;
}

/** BullMQ fetches as many jobs as the lane's slots hold attempts: a running batch counts each of its attempts. */
export function fit(l: AgentLane): void {
  const n = Math.max(1, l.limit - l.extra);
  if (n !== l.worker.concurrency) l.worker.concurrency = n;
  l.slots.wake();
}

const cancelledHere = () => new CodexError(ErrorCodes.CANCELLED, 'attempt cancelled by the orchestrator');

/** What the runner needs from the worker process it runs in. */
export interface JobRunnerDeps {
  workerId: string;
  keys: DistKeys;
  client(): Redis;
  bull(): typeof import('bullmq');
  gate(): FlowGate;
  results: ResultLog;
  replica: OutputsReplica;
  models?: TaskWorkerOptions['models'];
  bus?: EventBus;
  /** The agent's per-key limits, when it has any. */
  flowLimits(agentId: string): { key: FlowLimits } | undefined;
  /** Reports a flow-control slot Redis would not release. */
  leaveFailed(err: unknown): void;
  closed(): boolean;
}

/** Runs jobs on a worker's lanes, and knows the attempts running there (for cancels, drain and flow slots). */
export class JobRunner {
  private readonly running = new Map<string, { ctrl: LazyAbort; agentId: string; flowKey?: string }>();
  /** Attempts cancelled while not running here (ms): one that a batch holds is not started. Pruned on sync. */
  private readonly cancelled = new Map<string, number>();

  constructor(private readonly d: JobRunnerDeps) {}

  /** A cancel heard on pub/sub: the attempt's signal aborts, now or as it starts here. */
  cancel(key: string): void {
    const r = this.running.get(key);
    if (r) r.ctrl.abort(cancelledHere());
    else this.cancelled.set(key, Date.now());
  }

  /** Aborts every attempt running or waiting for a slot here (the worker drains). */
  abortAll(reason: string): void {
    for (const r of this.running.values())
      r.ctrl.abort(new CodexError(ErrorCodes.CANCELLED, `worker drained: ${reason}`));
  }

  /** The attempts running here that hold a per-key flow slot (refreshed on the heartbeat). */
  *flowSlots(): Iterable<{ key: string; agentId: string; flowKey: string }> {
    for (const [key, r] of this.running)
      if (r.flowKey !== undefined) yield { key, agentId: r.agentId, flowKey: r.flowKey };
  }

  /** Forgets cancels heard long ago. */
  prune(now = Date.now()): void {
    const old = now - CANCELLED_KEEP_MS;
    for (const [key, at] of this.cancelled) if (at < old) this.cancelled.delete(key);
  }

  /** Runs one job (its result is recorded and sent by reply: BullMQ keeps no return value). */
  async process(lane: AgentLane, job: Job<TaskJobData>, token?: string): Promise<null> {
    if (lane.draining) {
      // Fetched just as this worker started draining: hand it straight back for another worker.
      await job.moveToDelayed(Date.now() + 20, token);
      throw new (this.d.bull().DelayedError)();
    }
    if (job.name === BATCH_JOB) return this.processBatch(lane, job as unknown as Job<TaskBatchData>);
    const d = resolveJobData(job.data, job, lane.agent.id, this.d.keys);
    const jobId = job.id!;
    // Sent again by an orchestrator that resumed the run (the first run of it may have finished, or may still run
    // in a batch), or handed out again (its worker stalled or died): a result already recorded is final.
    const done = d.resumed
      ? await this.resumedResult(lane, d, jobId, keepMsOf(job))
      : job.attemptsStarted > 1
        ? await this.d.results.recorded(d.executionId, jobId)
        : undefined;
    if (done !== undefined) {
      if (d.replyTo) this.d.results.reply(d.replyTo, jobId, done);
      return null;
    }
    const limits = d.flowKey !== undefined ? this.d.flowLimits(d.agentId) : undefined;
    if (limits) {
      const wait = await this.d.gate().enter(d.agentId, d.flowKey!, jobId, limits.key);
      if (wait > 0) {
        // Not this key's turn: back to the delayed set; another worker (or this one) takes it later.
        await job.moveToDelayed(Date.now() + wait, token);
        throw new (this.d.bull().DelayedError)();
      }
    }
    try {
      return this.reply(d, job, await this.attempt(lane, d, jobId, this.abortOf(jobId, d, limits && d.flowKey)));
    } finally {
      if (limits) await this.d.gate().leave(d.agentId, d.flowKey!, jobId).catch(this.d.leaveFailed);
    }
  }

  /**
   * Runs a batch's attempts side by side (each in a slot of its own), each recorded and replied as it finishes;
   * BullMQ completes the job once all are. Each attempt is claimed first: one a resumed run sent alone too runs once.
   */
  private async processBatch(lane: AgentLane, job: Job<TaskBatchData>): Promise<null> {
    const jobId = job.id!;
    const keep = keepMsOf(job);
    const tasks = resolveBatch(job.data, lane.agent.id, this.d.keys);
    // Registered before the claims' round trip, so a cancel heard meanwhile is not lost.
    const ctrls = tasks.map((t) => this.abortOf(t.key, t.d));
    lane.extra += tasks.length - 1;
    fit(lane);
    try {
      const claims = await this.d.results.claim(
        jobId,
        tasks.map((t) => ({ executionId: t.d.executionId, key: t.key })),
        keep,
      );
      await Promise.all(
        tasks.map(async ({ key, d }, i) => {
          const { recorded, by } = claims[i];
          if (recorded !== undefined) {
            if (d.replyTo) this.d.results.reply(d.replyTo, key, recorded);
            return;
          }
          // Another job (the attempt sent alone by an orchestrator that resumed the run) holds it.
          if (by !== jobId) return;
          const r = await this.attempt(lane, d, key, ctrls[i]).catch((err) => drainedResult(err));
          await this.d.results.recordBatched(d.executionId, key, JSON.stringify(r), keep, d.replyTo);
        }),
      );
    } finally {
      for (const t of tasks) this.running.delete(t.key);
      lane.extra -= tasks.length - 1;
      fit(lane);
    }
    return null;
  }

  /**
   * A resumed run's attempt: its recorded result, if any; else it is claimed for this job. When a batch of the
   * orchestrator before holds it, this job waits for that batch's result, or takes over if the batch ends without.
   */
  private async resumedResult(
    lane: AgentLane,
    d: WorkerJobData,
    jobId: string,
    keep: number,
  ): Promise<string | undefined> {
    const [c] = await this.d.results.claim(jobId, [{ executionId: d.executionId, key: jobId }], keep);
    if (c.recorded !== undefined || c.by === jobId) return c.recorded;
    for (let wait = 50; ; wait = Math.min(1000, wait * 2)) {
      if (lane.draining || this.d.closed()) throw new DrainedError();
      await new Promise((r) => setTimeout(r, wait));
      const [recorded, [finished, created]] = await Promise.all([
        this.d.results.recorded(d.executionId, jobId),
        this.d.client().hmget(lane.worker.toKey(c.by), 'finishedOn', 'timestamp'),
      ]);
      if (recorded !== undefined) return recorded;
      if (created == null || finished != null) return this.d.results.takeOver(d.executionId, jobId, jobId);
    }
  }

  /** The abort of an attempt about to run here, registered for cancels (and aborted if one came already). */
  private abortOf(key: string, d: WorkerJobData, flowKey?: string): LazyAbort {
    const ctrl = new LazyAbort();
    this.running.set(key, { ctrl, agentId: d.agentId, flowKey });
    if (this.cancelled.delete(key)) ctrl.abort(cancelledHere());
    return ctrl;
  }

  /**
   * Runs one attempt in a slot of its lane: the handler (or model call) with a context built from the job, its
   * output encoded as every store encodes outputs. A failure is a result too; on a draining worker it throws.
   */
  private async attempt(lane: AgentLane, d: WorkerJobData, key: string, ctrl: LazyAbort): Promise<TaskJobResult> {
    const wait = lane.slots.take();
    if (wait) await wait;
    lane.active++;
    try {
      if (ctrl.aborted) throw ctrl.reason;
      const values = unpackValues(d.values);
      const outputs = await this.d.replica.at(d.executionId, d.outputs, values.deps);
      const ctx = new WorkerContext(d, values, lane.agent, ctrl, this.d.models, outputs, this.d.bus);
      const output = d.model ? await ctx.runModelTask(d.model) : await this.runHandler(lane, ctx);
      if (lane.draining) throw new DrainedError();
      // A value that cannot be stored fails here, typed, like in process.
      const encoded = encodeWire(output, `output of task "${d.taskId}"`);
      lane.completed++;
      const r: TaskJobResult = { ok: true, output: encoded };
      if (ctx.usage && ctx.model) Object.assign(r, { usage: ctx.usage, cost: ctx.cost, model: ctx.model });
      if (ctx.toolCalls.length) r.toolCalls = ctx.toolCalls;
      return r;
    } catch (err) {
      lane.failed++;
      // A drained worker fails the attempt: the orchestrator sees a retryable queue error and retries it.
      if (lane.draining) throw err instanceof DrainedError ? err : new DrainedError();
      return { ok: false, error: errorReport(err) };
    } finally {
      lane.active--;
      lane.slots.give();
      this.running.delete(key);
    }
  }

  /**
   * Records the result (see job-record.ts) and sends it to the orchestrator that sent the job, before BullMQ
   * completes the job (which removes it: BullMQ keeps no return value).
   */
  private reply(d: WorkerJobData, job: Job, r: TaskJobResult): null | Promise<null> {
    const jobId = job.id!;
    const json = JSON.stringify(r);
    const keep = keepMsOf(job);
    // Sent alone by the orchestrator (a chain's next step, which it waits on): at once, in a write of its own.
    if (d.solo) {
      const s = this.d.client().stream;
      s?.cork();
      this.d.results.recordNow(d.executionId, jobId, json, keep, d.replyTo);
      s?.uncork();
      return null;
    }
    // The only job running: at once too, in the write of BullMQ's completion.
    if (this.running.size === 0) {
      coalesceWrites(this.d.client(), 'microtasks');
      this.d.results.recordNow(d.executionId, jobId, json, keep, d.replyTo);
      return null;
    }
    // A fan-out: with the results of the other jobs that finish now, in one write with their completions.
    return this.d.results.recordBatched(d.executionId, jobId, json, keep, d.replyTo).then(() => null);
  }

  private runHandler(lane: AgentLane, ctx: WorkerContext): unknown {
    if (!lane.agent.handler)
      throw new CodexError(
        ErrorCodes.QUEUE,
        `agent "${lane.agent.id}" has no code handler on worker ${this.d.workerId}`,
      );
    return lane.agent.handler(ctx);
  }
}
