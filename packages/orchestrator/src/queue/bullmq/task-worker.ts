import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Subscription } from 'rxjs';
import type { AgentDefinition } from '../../agents/types.js';
import { CodexError, ErrorCodes } from '../../errors.js';
import type { FlowRule } from '../config.js';
import type { TaskBatchData, TaskJobData, TaskJobResult } from '../types.js';
import { BackgroundErrors, warningSink } from './background-errors.js';
import { coalesceWrites, connect, probeRedis } from './connection.js';
import { publishEvents } from './event-relay.js';
import { FlowGate, type FlowLimits } from './flow.js';
import { BATCH_JOB, resolveBatch, resolveJobData, unpackValues, type WorkerJobData } from './job-data.js';
import { keepMsOf, ResultLog } from './job-record.js';
import { errorReport } from './job-result.js';
import { type DistKeys, distKeys, queueName } from './keys.js';
import { type LaneWorkerClass, laneWorkerClass } from './lane-worker.js';
import { LazyAbort } from './lazy-abort.js';
import { OutputsReplica } from './outputs-sync.js';
import { needsOwnDefinition } from './own-agents.js';
import { TaskSlots } from './task-slots.js';
import { encodeWire } from './wire.js';
import { WorkerContext } from './worker-context.js';
import type { TaskWorkerOptions, WorkerHeartbeat } from './worker-types.js';

export type { TaskWorkerOptions, WorkerHeartbeat } from './worker-types.js';

interface AgentLane {
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

class DrainedError extends Error {
  constructor() {
    super('worker drained while running the task');
  }
}

/** How long a cancel of an attempt not running here is kept (a batch may start it later). */
const CANCELLED_KEEP_MS = 600_000;

/**
 * A batch's attempt that a drained worker gave up: recorded as a retryable queue failure, so the orchestrator
 * retries it and a rerun of the batch does not run it again. (A job of its own fails instead: see the 'failed'
 * listener.)
 */
function drainedResult(err: unknown): TaskJobResult {
  if (!(err instanceof DrainedError)) throw err;
  return { ok: false, error: { code: ErrorCodes.QUEUE, message: err.message, retryable: true } };
}

/** BullMQ fetches as many jobs as the lane's slots hold attempts: a running batch counts each of its attempts. */
function fit(l: AgentLane): void {
  const n = Math.max(1, l.limit - l.extra);
  if (n !== l.worker.concurrency) l.worker.concurrency = n;
  l.slots.wake();
}

/**
 * The process side of `codexos worker`: one BullMQ Worker per agent whose code it has loaded. It runs attempts
 * with a context built from the job, hears cancellations on pub/sub, enforces per-key flow control, reports a
 * heartbeat (load and health) and takes the concurrency the orchestrator's pool assigns it.
 */
export class TaskWorker {
  readonly workerId: string;
  private readonly keys: DistKeys;
  private readonly lanes = new Map<string, AgentLane>();
  private readonly replica: OutputsReplica;
  private readonly results: ResultLog;
  private readonly errors: BackgroundErrors;
  /** Reports a flow-control slot Redis would not release (made once: no closure per task). */
  private readonly leaveFailed: (err: unknown) => void;
  private readonly running = new Map<string, { ctrl: LazyAbort; agentId: string; flowKey?: string }>();
  /** Attempts cancelled while not running here (ms): one that a batch holds is not started. Pruned on sync. */
  private readonly cancelled = new Map<string, number>();
  private client?: Redis;
  private sub?: Redis;
  private gate?: FlowGate;
  private timer?: NodeJS.Timeout;
  private relay?: Subscription;
  private flow: Record<string, FlowRule>;
  private bull!: typeof import('bullmq');
  private LaneWorker!: LaneWorkerClass;
  private healthy = true;
  private reason?: string;
  private closed = false;

  constructor(private readonly o: TaskWorkerOptions) {
    this.workerId = o.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 6)}`;
    this.keys = distKeys(o.target.prefix);
    this.errors = new BackgroundErrors(`worker ${this.workerId}`, o.onError ?? warningSink('CodexOSWorkerWarning'));
    this.leaveFailed = this.errors.for('release a flow-control slot');
    this.replica = new OutputsReplica(() => this.client!, this.keys);
    this.results = new ResultLog(() => this.client!, this.keys, {
      record: this.errors.for('record a result in Redis'),
      reply: this.errors.for('send a result to its orchestrator'),
    });
    this.flow = { ...o.flow };
  }

  async start(): Promise<this> {
    await probeRedis(this.o.target, this.o.connectTimeoutMs ?? 3000);
    this.bull = await import('bullmq');
    this.LaneWorker = laneWorkerClass(this.bull.Worker);
    this.client = connect(this.o.target, `codexos-worker:${this.workerId}`);
    this.gate = new FlowGate(this.client, this.keys, (this.o.lockDurationMs ?? 30_000) * 2);
    this.sub = connect(this.o.target, `codexos-worker-sub:${this.workerId}`);
    await this.sub.subscribe(
      this.keys.cancel,
      this.keys.drain,
      ...(this.o.modelAgents ? [this.keys.modelAgentsChannel] : []),
    );
    this.sub.on('message', (ch: string, msg: string) => {
      if (ch === this.keys.modelAgentsChannel) this.serveModelAgent(msg);
      else if (ch === this.keys.cancel) {
        const r = this.running.get(msg);
        if (r) r.ctrl.abort(new CodexError(ErrorCodes.CANCELLED, 'attempt cancelled by the orchestrator'));
        else this.cancelled.set(msg, Date.now());
      } else if (ch === this.keys.drain && msg === this.workerId) void this.drain('asked to drain by the pool');
    });
    await this.loadFlow();
    for (const agent of this.o.agents)
      if (agent.handler || this.ownsModelAgent(agent)) this.lanes.set(agent.id, this.lane(agent));
    await this.loadModelAgents();
    await Promise.all([...this.lanes.values()].map((l) => l.worker.waitUntilReady()));
    // Batched per tick: a streamed answer's task:delta events do not cost a PUBLISH each.
    if (this.o.bus)
      this.relay = publishEvents(
        this.o.bus,
        this.client,
        this.keys.events,
        this.workerId,
        this.errors.for('relay events to the orchestrators'),
      );
    await this.heartbeat();
    const syncFailed = this.errors.for('run its heartbeat');
    this.timer = setInterval(() => {
      this.sync().catch(syncFailed);
    }, this.o.heartbeatMs ?? 5000);
    this.timer.unref();
    return this;
  }

  get agentIds(): string[] {
    return [...this.lanes.keys()];
  }

  /** Current state, as sent in the heartbeat. */
  state(): WorkerHeartbeat {
    const agents: WorkerHeartbeat['agents'] = {};
    for (const [id, l] of this.lanes)
      agents[id] = {
        concurrency: l.limit,
        max: l.max,
        active: l.active,
        completed: l.completed,
        failed: l.failed,
      };
    return {
      workerId: this.workerId,
      pid: process.pid,
      host: hostname(),
      at: Date.now(),
      agents,
      healthy: this.healthy,
      reason: this.reason,
      own: this.o.agents.filter((a) => this.lanes.get(a.id)?.agent === a && needsOwnDefinition(a)).map((a) => a.id),
    };
  }

  /** A model-backed agent of this worker's module that needs its code (tools, zod schema), when it serves such. */
  private ownsModelAgent(agent: AgentDefinition): boolean {
    const only = this.o.modelAgents;
    return needsOwnDefinition(agent) && (only === true || (Array.isArray(only) && only.includes(agent.id)));
  }

  /** Stops taking jobs and gives back the ones running (they go to other workers through stall recovery). */
  async drain(reason: string): Promise<void> {
    this.healthy = false;
    this.reason = reason;
    for (const l of this.lanes.values()) l.draining = true;
    // Stop fetching first, so a task given back is not taken again by this worker.
    const paused = Promise.allSettled([...this.lanes.values()].map((l) => l.worker.pause(true)));
    for (const r of this.running.values())
      r.ctrl.abort(new CodexError(ErrorCodes.CANCELLED, `worker drained: ${reason}`));
    await paused;
    await this.heartbeat().catch(this.errors.for('report itself drained'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.relay?.unsubscribe();
    await Promise.allSettled([...this.lanes.values()].map((l) => l.worker.close()));
    // Best effort on the way out: an entry left behind goes stale, and the pool drops a worker whose heartbeat has.
    await this.client?.hdel(this.keys.workers, this.workerId).catch(() => 0);
    this.sub?.disconnect();
    this.client?.disconnect();
  }

  private lane(agent: AgentDefinition): AgentLane {
    const max = Math.max(1, this.o.concurrency ?? agent.concurrency ?? 1);
    const worker = new this.LaneWorker(queueName(agent.id), (job, token) => this.process(lane, job, token), {
      // This process's client: a job's recorded result reaches Redis ahead of BullMQ's completion (which removes
      // the job), in one write (BullMQ opens its own blocking connection for fetching).
      connection: this.client!,
      prefix: this.keys.bullPrefix,
      concurrency: max,
      lockDuration: this.o.lockDurationMs ?? 30_000,
      stalledInterval: this.o.stalledIntervalMs ?? this.o.lockDurationMs ?? 30_000,
      maxStalledCount: 3,
      removeOnComplete: { age: 3600 },
      removeOnFail: { age: 3600 },
    });
    // BullMQ's own failures (fetching, completing, renewing locks): its connection retries; the user hears of it.
    worker.on('error', this.errors.for(`fetch or complete jobs of agent "${agent.id}"`));
    // A drained worker's retryable failure goes out once BullMQ holds the job as failed: sent any earlier, a
    // worker killed in between would leave the job to stall and run again beside the orchestrator's retry.
    worker.on('failed', (job: Job<TaskJobData> | undefined, err: Error) => {
      if (!job || !(err instanceof DrainedError)) return;
      const replyTo = job.data.replyTo;
      if (!replyTo) return;
      const r: TaskJobResult = { ok: false, error: { code: ErrorCodes.QUEUE, message: err.message, retryable: true } };
      this.results.reply(replyTo, job.id!, JSON.stringify(r));
    });
    const lane: AgentLane = {
      agent,
      worker,
      max,
      limit: max,
      extra: 0,
      slots: new TaskSlots(() => lane.limit),
      active: 0,
      completed: 0,
      failed: 0,
      draining: false,
    };
    worker.idle = () => lane.active === 0;
    return lane;
  }

  private limitsOf(agentId: string): { key: FlowLimits } | undefined {
    const r = this.flow[agentId];
    if (!r || (!r.keyConcurrency && !r.keyRateLimit)) return undefined;
    return { key: { concurrency: r.keyConcurrency, rate: r.keyRateLimit } };
  }

  /** Runs one job (its result is recorded and sent by reply: BullMQ keeps no return value). */
  private async process(lane: AgentLane, job: Job<TaskJobData>, token?: string): Promise<null> {
    if (lane.draining) {
      // Fetched just as this worker started draining: hand it straight back for another worker.
      await job.moveToDelayed(Date.now() + 20, token);
      throw new this.bull.DelayedError();
    }
    if (job.name === BATCH_JOB) return this.processBatch(lane, job as unknown as Job<TaskBatchData>);
    const d = resolveJobData(job.data, job, lane.agent.id, this.keys);
    const jobId = job.id!;
    // Sent again by an orchestrator that resumed the run (the first run of it may have finished, or may still run
    // in a batch), or handed out again (its worker stalled or died): a result already recorded is final.
    const done = d.resumed
      ? await this.resumedResult(lane, d, jobId, keepMsOf(job))
      : job.attemptsStarted > 1
        ? await this.results.recorded(d.executionId, jobId)
        : undefined;
    if (done !== undefined) {
      if (d.replyTo) this.results.reply(d.replyTo, jobId, done);
      return null;
    }
    const limits = d.flowKey !== undefined ? this.limitsOf(d.agentId) : undefined;
    if (limits) {
      const wait = await this.gate!.enter(d.agentId, d.flowKey!, jobId, limits.key);
      if (wait > 0) {
        // Not this key's turn: back to the delayed set; another worker (or this one) takes it later.
        await job.moveToDelayed(Date.now() + wait, token);
        throw new this.bull.DelayedError();
      }
    }
    try {
      return this.reply(d, job, await this.attempt(lane, d, jobId, this.abortOf(jobId, d, limits && d.flowKey)));
    } finally {
      if (limits) await this.gate!.leave(d.agentId, d.flowKey!, jobId).catch(this.leaveFailed);
    }
  }

  /**
   * Runs a batch's attempts side by side (each in a slot of its own), each recorded and replied as it finishes;
   * BullMQ completes the job once all are. Each attempt is claimed first: one a resumed run sent alone too runs once.
   */
  private async processBatch(lane: AgentLane, job: Job<TaskBatchData>): Promise<null> {
    const jobId = job.id!;
    const keep = keepMsOf(job);
    const tasks = resolveBatch(job.data, lane.agent.id, this.keys);
    // Registered before the claims' round trip, so a cancel heard meanwhile is not lost.
    const ctrls = tasks.map((t) => this.abortOf(t.key, t.d));
    lane.extra += tasks.length - 1;
    fit(lane);
    try {
      const claims = await this.results.claim(
        jobId,
        tasks.map((t) => ({ executionId: t.d.executionId, key: t.key })),
        keep,
      );
      await Promise.all(
        tasks.map(async ({ key, d }, i) => {
          const { recorded, by } = claims[i];
          if (recorded !== undefined) {
            this.running.delete(key);
            if (d.replyTo) this.results.reply(d.replyTo, key, recorded);
            return;
          }
          // Another job (the attempt sent alone by an orchestrator that resumed the run) holds it.
          if (by !== jobId) return void this.running.delete(key);
          const r = await this.attempt(lane, d, key, ctrls[i]).catch((err) => drainedResult(err));
          await this.results.recordBatched(d.executionId, key, JSON.stringify(r), keep, d.replyTo);
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
    const [c] = await this.results.claim(jobId, [{ executionId: d.executionId, key: jobId }], keep);
    let wait = 50;
    while (c.recorded === undefined && c.by !== jobId) {
      if (lane.draining || this.closed) throw new DrainedError();
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(1000, wait * 2);
      const [recorded, finished, created] = await Promise.all([
        this.results.recorded(d.executionId, jobId),
        this.client!.hmget(lane.worker.toKey(c.by), 'finishedOn', 'timestamp'),
      ]).then(([r, [f, t]]) => [r, f, t] as const);
      if (recorded !== undefined) return recorded;
      if (created == null || finished != null) return this.results.takeOver(d.executionId, jobId, jobId);
    }
    return c.recorded;
  }

  /** The abort of an attempt about to run here, registered for cancels (and aborted if one came already). */
  private abortOf(key: string, d: WorkerJobData, flowKey?: string): LazyAbort {
    const ctrl = new LazyAbort();
    this.running.set(key, { ctrl, agentId: d.agentId, flowKey });
    if (this.cancelled.delete(key))
      ctrl.abort(new CodexError(ErrorCodes.CANCELLED, 'attempt cancelled by the orchestrator'));
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
      const outputs = await this.replica.at(d.executionId, d.outputs, values.deps);
      const ctx = new WorkerContext(d, values, lane.agent, ctrl, this.o.models, outputs, this.o.bus);
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
      const s = this.client!.stream;
      s?.cork();
      this.results.recordNow(d.executionId, jobId, json, keep, d.replyTo);
      s?.uncork();
      return null;
    }
    // The only job running: at once too, in the write of BullMQ's completion.
    if (this.running.size === 0) {
      coalesceWrites(this.client!, 'microtasks');
      this.results.recordNow(d.executionId, jobId, json, keep, d.replyTo);
      return null;
    }
    // A fan-out: with the results of the other jobs that finish now, in one write with their completions.
    return this.results.recordBatched(d.executionId, jobId, json, keep, d.replyTo).then(() => null);
  }

  private runHandler(lane: AgentLane, ctx: WorkerContext): unknown {
    if (!lane.agent.handler)
      throw new CodexError(ErrorCodes.QUEUE, `agent "${lane.agent.id}" has no code handler on worker ${this.workerId}`);
    return lane.agent.handler(ctx);
  }

  /** Opens the queues of the model-backed agents orchestrators have announced (when this worker serves them). */
  private async loadModelAgents(): Promise<void> {
    if (!this.o.modelAgents || this.closed) return;
    for (const id of await this.client!.smembers(this.keys.modelAgents)) this.serveModelAgent(id);
  }

  private serveModelAgent(agentId: string): void {
    const only = this.o.modelAgents;
    if (!only || this.closed || this.lanes.has(agentId) || (Array.isArray(only) && !only.includes(agentId))) return;
    // The worker's own definition of the agent (instructions, model) when its module has one; the call itself
    // travels with each job, so the id is all it needs.
    const agent = this.o.agents.find((a) => a.id === agentId && !a.handler) ?? { id: agentId };
    this.lanes.set(agentId, this.lane(agent));
  }

  /** One heartbeat period: health check, the pool's plan, flow rules, heartbeat. Runs on the interval. */
  async sync(): Promise<void> {
    if (this.closed) return;
    const e = this.errors;
    await this.checkHealth();
    await this.applyPlan().catch(e.for("read the pool's plan"));
    await this.loadFlow().catch(e.for('read the flow-control rules'));
    await this.loadModelAgents().catch(e.for('read the model-backed agents to serve'));
    for (const [jobId, r] of this.running)
      if (r.flowKey !== undefined)
        await this.gate!.refresh(r.agentId, r.flowKey, jobId).catch(e.for('refresh a flow-control slot'));
    await this.heartbeat().catch(e.for('write its heartbeat'));
    this.results.prune();
    const old = Date.now() - CANCELLED_KEEP_MS;
    for (const [key, at] of this.cancelled) if (at < old) this.cancelled.delete(key);
  }

  private async checkHealth(): Promise<void> {
    let ok = true;
    let reason: string | undefined;
    for (const l of this.lanes.values()) {
      if (!l.agent.healthCheck) continue;
      try {
        if ((await l.agent.healthCheck({ instanceId: this.workerId })) === false) {
          ok = false;
          reason = `health check of ${l.agent.id} returned false`;
        }
      } catch (err) {
        ok = false;
        reason = `health check of ${l.agent.id} threw: ${(err as Error).message}`;
      }
    }
    if (!ok && this.healthy) await this.drain(reason!);
    else if (ok && !this.healthy) {
      this.healthy = true;
      this.reason = undefined;
      for (const l of this.lanes.values()) {
        l.draining = false;
        await l.worker.resume();
      }
    }
  }

  /** Per-key limits as the orchestrator published them (options given to this worker win). */
  private async loadFlow(): Promise<void> {
    const all = await this.client!.hgetall(this.keys.flow);
    const next: Record<string, FlowRule> = {};
    for (const [a, v] of Object.entries(all)) {
      try {
        next[a] = JSON.parse(v) as FlowRule;
      } catch {}
    }
    this.flow = { ...next, ...this.o.flow };
  }

  /** Takes the concurrency the pool assigned this worker per agent (never above its own maximum). */
  private async applyPlan(): Promise<void> {
    const ids = this.agentIds;
    if (ids.length === 0) return;
    const vals = await this.client!.hmget(this.keys.plan, ...ids.map((a) => `${this.workerId}|${a}`));
    ids.forEach((a, i) => {
      const v = vals[i];
      if (v == null) return;
      const l = this.lanes.get(a)!;
      l.limit = Math.min(l.max, Math.max(1, Number(v)));
      fit(l);
    });
  }

  private async heartbeat(): Promise<void> {
    await this.client!.hset(this.keys.workers, this.workerId, JSON.stringify(this.state()));
  }
}
