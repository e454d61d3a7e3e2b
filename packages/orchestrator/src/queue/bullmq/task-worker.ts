import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Subscription } from 'rxjs';
import type { AgentDefinition } from '../../agents/types.js';
import type { FlowRule } from '../config.js';
import type { TaskJobData } from '../types.js';
import { BackgroundErrors, warningSink } from './background-errors.js';
import { connect, probeRedis } from './connection.js';
import { publishEvents } from './event-relay.js';
import { FlowGate, type FlowLimits } from './flow.js';
import { ResultLog } from './job-record.js';
import { type AgentLane, DrainedError, fit, JobRunner } from './job-runner.js';
import { type DistKeys, distKeys, queueName } from './keys.js';
import { type LaneWorkerClass, laneWorkerClass } from './lane-worker.js';
import { OutputsReplica } from './outputs-sync.js';
import { needsOwnDefinition } from './own-agents.js';
import { TaskSlots } from './task-slots.js';
import type { TaskWorkerOptions, WorkerHeartbeat } from './worker-types.js';

export type { TaskWorkerOptions, WorkerHeartbeat } from './worker-types.js';

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
  private readonly jobs: JobRunner;
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
    this.replica = new OutputsReplica(() => this.client!, this.keys);
    this.results = new ResultLog(() => this.client!, this.keys, {
      record: this.errors.for('record a result in Redis'),
      reply: this.errors.for('send a result to its orchestrator'),
    });
    this.flow = { ...o.flow };
    this.jobs = new JobRunner({
      workerId: this.workerId,
      keys: this.keys,
      client: () => this.client!,
      bull: () => this.bull,
      gate: () => this.gate!,
      results: this.results,
      replica: this.replica,
      models: o.models,
      bus: o.bus,
      flowLimits: (agentId) => this.limitsOf(agentId),
      // Made once: no closure per task.
      leaveFailed: this.errors.for('release a flow-control slot'),
      closed: () => this.closed,
    });
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
        this.jobs.cancel(msg);
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
    this.jobs.abortAll(reason);
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
    const worker = new this.LaneWorker(queueName(agent.id), (job, token) => this.jobs.process(lane, job, token), {
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
      this.results.reply(replyTo, job.id!, JSON.stringify(err.result));
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
    for (const r of this.jobs.flowSlots())
      await this.gate!.refresh(r.agentId, r.flowKey, r.key).catch(e.for('refresh a flow-control slot'));
    await this.heartbeat().catch(e.for('write its heartbeat'));
    this.results.prune();
    this.jobs.prune();
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
