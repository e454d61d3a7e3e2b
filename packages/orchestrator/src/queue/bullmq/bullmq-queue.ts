import { randomUUID } from 'node:crypto';
import type { JobsOptions, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Subscription } from 'rxjs';
import type { AgentDefinition } from '../../agents/types.js';
import type { OrchestratorConfig } from '../../config.js';
import { CodexError, ErrorCodes } from '../../errors.js';
import type { EventBus } from '../../events.js';
import { decodeValue, encodeValue } from '../../store/codec.js';
import type { ExecutionConfig } from '../config.js';
import { InProcessQueue } from '../in-process.js';
import type {
  DispatchContext,
  RemoteModelCall,
  TaskJobData,
  TaskJobResult,
  TaskJobValues,
  TaskQueue,
} from '../types.js';
import { bullConnection, connect, probeRedis, type RedisTarget } from './connection.js';
import { publishEvents, replayEvents } from './event-relay.js';
import { FlowRules } from './flow-rules.js';
import { errorFromReport, parseResult } from './job-result.js';
import { type DistKeys, distKeys, jobIdOf, queueName } from './keys.js';
import { LocalWorkers } from './local-workers.js';
import { OutputsPublisher } from './outputs-sync.js';
import { type DistributedPoolState, PoolController } from './pool-controller.js';

interface Waiter {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  ctx: DispatchContext;
}

interface Lane {
  queue: Queue;
  events: QueueEvents | undefined;
  ready: Promise<void>;
  pending: Array<{ name: string; data: TaskJobData; opts: JobsOptions }>;
}

/**
 * Attempts as BullMQ jobs, one queue per agent, for `codexos worker` processes. Attempts made in one tick go out
 * in one addBulk per agent; results come back through QueueEvents. Tasks of model-backed agents go to workers
 * that serve them (`codexos worker --config`), whose model calls share the rate limits through Redis.
 */
export class BullMQQueue implements TaskQueue {
  readonly kind = 'bullmq';
  readonly keys: DistKeys;
  private readonly local = new InProcessQueue();
  private readonly lanes = new Map<string, Lane>();
  private readonly waiters = new Map<string, Waiter>();
  private readonly rules = new FlowRules();
  private readonly outputs: OutputsPublisher;
  private readonly announced = new Set<string>();
  private client?: Redis;
  private sub?: Redis;
  private published?: Subscription;
  // Loaded on first connect: in-process users of the library never pay for BullMQ.
  private bull!: typeof import('bullmq');
  private connecting?: Promise<void>;
  private flushing = false;
  private epoch = '';
  private downSince = 0;
  private downTimer?: NodeJS.Timeout;
  private closed = false;

  /** The agent pool across worker processes (when built with the `agents` config). */
  pool?: PoolController;

  constructor(
    private readonly target: RedisTarget,
    private readonly cfg: ExecutionConfig,
    private readonly poolOpts?: { agents: OrchestratorConfig['agents']; bus?: EventBus; autoStart?: boolean },
  ) {
    this.keys = distKeys(target.prefix);
    this.outputs = new OutputsPublisher(() => this.redis, target.prefix, cfg.keepJobsSeconds);
  }

  get redis(): Redis {
    if (!this.client) throw new CodexError(ErrorCodes.QUEUE, 'distributed queue used before ready()');
    return this.client;
  }

  ready(): Promise<void> {
    this.connecting ??= this.open();
    return this.connecting;
  }

  private async open(): Promise<void> {
    await probeRedis(this.target, this.cfg.connectTimeoutMs);
    this.bull = await import('bullmq');
    const c = connect(this.target, 'codexos-orchestrator');
    this.client = c;
    await c.set(this.keys.epoch, randomUUID(), 'NX');
    this.epoch = (await c.get(this.keys.epoch)) ?? '';
    if (this.poolOpts) {
      const lw = this.cfg.localWorkers;
      const local = lw
        ? new LocalWorkers(lw, this.target, {
            heartbeatMs: this.poolOpts.agents.healthCheckInterval,
            bus: this.poolOpts.bus,
            knownAgents: () => this.pool?.state().agents.map((a) => a.agentId) ?? [],
            forget: (id) => {
              c.hdel(this.keys.workers, id).catch(() => 0);
            },
          })
        : undefined;
      this.pool = new PoolController(
        c,
        this.keys,
        this.poolOpts.agents,
        this.poolOpts.bus,
        (a) => this.agentQueue(a),
        local,
      );
      if (this.poolOpts.autoStart !== false) this.pool.start();
    }
    const bus = this.poolOpts?.bus;
    if (bus) {
      // Events raised on workers (model calls made by handlers there) reach this orchestrator's bus.
      this.sub = connect(this.target, 'codexos-orchestrator-events');
      await this.sub.subscribe(this.keys.events);
      this.sub.on('message', (_ch: string, msg: string) => replayEvents(bus, msg));
    }
    // This orchestrator's own events (worker events included, once relayed) for other processes.
    if (bus) this.published = publishEvents(bus, c, this.keys.orchestratorEvents);
    c.on('close', () => this.onDown());
    c.on('ready', () => this.onUp());
    for (const [agentId, rule] of Object.entries(this.cfg.flow)) {
      this.rules.add(agentId, rule);
      // Workers read per-key limits from here: one configuration, every process.
      await c.hset(this.keys.flow, agentId, JSON.stringify(rule));
    }
  }

  run(ctx: DispatchContext, agent: AgentDefinition): unknown {
    let model: RemoteModelCall | undefined;
    if (!agent.handler) {
      model = this.remoteModelCall(ctx, agent);
      if (!model) return this.local.run(ctx, agent);
      this.announceModelAgent(agent.id);
    }
    // Aborted before it was sent (e.g. the run ended in the same turn): nothing to enqueue, nothing to wait for.
    if (ctx.signal.aborted) return Promise.reject(ctx.signal.reason);
    const lane = this.lane(agent.id);
    const slot = ctx.index ?? ctx.iteration;
    const jobId = jobIdOf(ctx.executionId, ctx.taskId, slot, ctx.attempt);
    let data: TaskJobData;
    try {
      const values: TaskJobValues = { input: ctx.input, params: ctx.params, deps: ctx.deps };
      if (ctx.item !== undefined) values.item = ctx.item;
      data = {
        executionId: ctx.executionId,
        workflowId: ctx.workflowId,
        taskId: ctx.taskId,
        agentId: agent.id,
        attempt: ctx.attempt,
        prompt: ctx.prompt,
        values: encodeValue(values, `input of task "${ctx.taskId}"`).toString('base64'),
        outputs: this.outputs.publish(ctx),
      };
    } catch (err) {
      return Promise.reject(err);
    }
    if (ctx.idempotencyKey !== undefined) data.idempotencyKey = ctx.idempotencyKey;
    if (model) data.model = model;
    if (ctx.index !== undefined) data.index = ctx.index;
    if (ctx.iteration !== undefined) data.iteration = ctx.iteration;
    const opts: JobsOptions = {
      jobId,
      attempts: 1,
      removeOnComplete: { age: this.cfg.keepJobsSeconds },
      removeOnFail: { age: this.cfg.keepJobsSeconds },
    };
    this.rules.apply(agent.id, ctx, data, opts);
    const signal = ctx.signal;
    return new Promise((resolve, reject) => {
      this.waiters.set(jobId, { resolve, reject, ctx });
      lane.pending.push({ name: ctx.taskId, data, opts });
      this.scheduleFlush();
      signal.addEventListener(
        'abort',
        () => {
          if (!this.waiters.delete(jobId)) return;
          reject(signal.reason);
          this.cancelRemote(lane, jobId);
        },
        { once: true },
      );
    });
  }

  /**
   * The call a model-backed task makes, when a worker can make it: tools and zod schemas are code that only
   * this process has, so such agents (and `execution.modelTasks: orchestrator`) keep their calls here.
   */
  private remoteModelCall(ctx: DispatchContext, agent: AgentDefinition): RemoteModelCall | undefined {
    if (this.cfg.modelTasks !== 'workers' || !ctx.modelCall || agent.tools?.length) return undefined;
    const call = ctx.modelCall();
    if (call.output && typeof (call.output.schema as { safeParse?: unknown }).safeParse === 'function')
      return undefined;
    return call;
  }

  private announceModelAgent(agentId: string): void {
    if (this.announced.has(agentId)) return;
    this.announced.add(agentId);
    // Workers serving model-backed agents open this agent's queue: at once on the channel, else on their next sync.
    const c = this.redis;
    c.sadd(this.keys.modelAgents, agentId)
      .then(() => c.publish(this.keys.modelAgentsChannel, agentId))
      .catch(() => this.announced.delete(agentId));
  }

  /** The BullMQ queue of an agent (created on first use): counts, global limits. */
  agentQueue(agentId: string): Queue {
    return this.lane(agentId).queue;
  }

  /** Workers, instances, utilisation and health across processes (refreshed every healthCheckInterval). */
  poolState(): DistributedPoolState | undefined {
    return this.pool?.state();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pool?.stop();
    // Local worker processes finish what they run first: their results still reach this queue.
    await this.pool?.closeLocal();
    clearTimeout(this.downTimer);
    const err = new CodexError(ErrorCodes.CANCELLED, 'distributed queue closed');
    for (const w of this.waiters.values()) w.reject(err);
    this.waiters.clear();
    await Promise.allSettled([...this.lanes.values()].flatMap((l) => [l.queue.close(), l.events?.close()]));
    this.published?.unsubscribe();
    this.sub?.disconnect();
    this.client?.disconnect();
  }

  private lane(agentId: string): Lane {
    let lane = this.lanes.get(agentId);
    if (lane) return lane;
    const name = queueName(agentId);
    const opts = { connection: this.redis, prefix: this.keys.bullPrefix };
    const queue = new this.bull.Queue(name, opts);
    queue.on('error', () => {});
    const rule = this.cfg.flow[agentId];
    let events!: QueueEvents;
    const ready = (async () => {
      // Read events from the stream's current end, not from whenever the first XREAD happens to be sent: the
      // 'duplicated' event of an attempt that already ran comes straight back from addBulk.
      const last = (await this.redis.xrevrange(`${this.keys.bullPrefix}:${name}:events`, '+', '-', 'COUNT', 1))[0]?.[0];
      // QueueEvents reads with a blocking command: it needs a connection of its own.
      events = new this.bull.QueueEvents(name, {
        connection: bullConnection(this.target),
        prefix: this.keys.bullPrefix,
        lastEventId: last ?? '0',
      });
      lane!.events = events;
      events.on('error', () => {});
      events.on('completed', ({ jobId, returnvalue }) => this.settle(jobId, parseResult(returnvalue)));
      events.on('failed', ({ jobId, failedReason }) => this.settleFailed(jobId, failedReason));
      // An attempt a worker already ran (before this orchestrator resumed the run): fetch its stored result.
      (events as unknown as { on(e: string, f: (a: { jobId: string }) => void): void }).on('duplicated', ({ jobId }) =>
        this.fetchExisting(queue, jobId),
      );
      await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
      if (rule?.concurrency) await queue.setGlobalConcurrency(rule.concurrency);
      if (rule?.rateLimit) await queue.setGlobalRateLimit(rule.rateLimit.max, rule.rateLimit.durationMs);
    })();
    lane = { queue, events: undefined, ready, pending: [] };
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
        const batch = lane.pending;
        lane.pending = [];
        lane.ready
          // One job: a plain add (one script call) costs less than addBulk's MULTI.
          .then(
            (): Promise<unknown> =>
              batch.length === 1
                ? lane.queue.add(batch[0].name, batch[0].data, batch[0].opts)
                : lane.queue.addBulk(batch),
          )
          .catch((err: Error) => {
            for (const j of batch) {
              this.rejectWaiter(
                j.opts.jobId!,
                new CodexError(
                  ErrorCodes.QUEUE,
                  `could not enqueue task on Redis at ${this.target.label}: ${err.message}`,
                  {
                    retryable: true,
                  },
                ),
              );
            }
          });
      }
    });
  }

  private settle(jobId: string, r: TaskJobResult | undefined): void {
    const w = this.waiters.get(jobId);
    if (!w) return;
    this.waiters.delete(jobId);
    if (!r) return w.reject(new CodexError(ErrorCodes.QUEUE, `job ${jobId} returned no result`, { retryable: true }));
    if (r.ok) {
      if (r.usage && r.model) w.ctx.recordUsage({ usage: r.usage, cost: r.cost ?? 0, model: r.model });
      w.resolve(decodeValue(Buffer.from(r.output, 'base64')));
    } else w.reject(errorFromReport(r.error));
  }

  private settleFailed(jobId: string, reason: string): void {
    // BullMQ failed the job itself (e.g. it stalled more often than allowed): the scheduler may retry it.
    this.rejectWaiter(
      jobId,
      new CodexError(ErrorCodes.QUEUE, `task job failed on the queue: ${reason}`, { retryable: true }),
    );
  }

  private rejectWaiter(jobId: string, err: unknown): void {
    const w = this.waiters.get(jobId);
    if (!w) return;
    this.waiters.delete(jobId);
    w.reject(err);
  }

  private fetchExisting(queue: Queue, jobId: string): void {
    if (!this.waiters.has(jobId)) return;
    this.bull.Job.fromId(queue, jobId).then(
      (job) => {
        if (!job?.finishedOn) return; // still waiting or running: its completion event will come
        if (job.failedReason && job.returnvalue == null) this.settleFailed(jobId, job.failedReason);
        else this.settle(jobId, parseResult(job.returnvalue));
      },
      () => {},
    );
  }

  private cancelRemote(lane: Lane, jobId: string): void {
    if (this.closed) return;
    // A waiting job is removed; a running one hears the cancel on pub/sub and its handler's signal aborts.
    lane.queue.remove(jobId).catch(() => 0);
    this.client?.publish(this.keys.cancel, jobId).catch(() => 0);
  }

  private onDown(): void {
    if (this.closed || this.downSince) return;
    this.downSince = Date.now();
    const ms = Math.max(this.cfg.connectTimeoutMs, 1000);
    this.downTimer = setTimeout(() => {
      const err = new CodexError(
        ErrorCodes.REDIS_UNAVAILABLE,
        `Redis at ${this.target.label} unreachable for ${ms} ms: task results cannot come back`,
      );
      for (const id of [...this.waiters.keys()]) this.rejectWaiter(id, err);
    }, ms);
    this.downTimer.unref();
  }

  private onUp(): void {
    if (!this.downSince) return;
    this.downSince = 0;
    clearTimeout(this.downTimer);
    const c = this.client!;
    c.get(this.keys.epoch).then(
      async (e) => {
        if (e === this.epoch) return;
        // Redis came back without our data (restarted without persistence): queued and running jobs are gone.
        await c.set(this.keys.epoch, randomUUID(), 'NX');
        this.epoch = (await c.get(this.keys.epoch)) ?? '';
        const err = new CodexError(
          ErrorCodes.QUEUE,
          `Redis at ${this.target.label} restarted and lost queued tasks; they are sent again`,
          { retryable: true },
        );
        for (const id of [...this.waiters.keys()]) this.rejectWaiter(id, err);
      },
      () => {},
    );
  }
}
