import { randomBytes, randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AgentDefinition } from '../../agents/types.js';
import type { OrchestratorConfig } from '../../config.js';
import { CodexError, ErrorCodes } from '../../errors.js';
import type { EventBus } from '../../events.js';
import type { ExecutionConfig } from '../config.js';
import { InProcessQueue } from '../in-process.js';
import type { DispatchContext, RemoteModelCall, TaskQueue } from '../types.js';
import { connect, probeRedis, type RedisTarget } from './connection.js';
import { JobDispatcher } from './dispatcher.js';
import { ListenedRelay, listenersChannel, replayEvents } from './event-relay.js';
import { FlowRules } from './flow-rules.js';
import { type DistKeys, distKeys } from './keys.js';
import { LocalWorkers } from './local-workers.js';
import { OutputsPublisher } from './outputs-sync.js';
import { remoteModelCall } from './own-agents.js';
import { type DistributedPoolState, PoolController } from './pool-controller.js';

/**
 * Attempts as BullMQ jobs, one queue per agent, for `codexos worker` processes. This class holds the connection's
 * lifecycle (connect, Redis lost or restarted, close), the agent pool and the event relay; the dispatch of jobs
 * and the return of their results is the `JobDispatcher`'s. Tasks of model-backed agents go to workers
 * that serve them (`codexos worker --config`), whose model calls share the rate limits through Redis.
 */
export class BullMQQueue implements TaskQueue {
  readonly kind = 'bullmq';
  readonly keys: DistKeys;
  private readonly local = new InProcessQueue();
  private readonly rules = new FlowRules();
  private readonly outputs: OutputsPublisher;
  private readonly announced = new Set<string>();
  private client?: Redis;
  private sub?: Redis;
  private published?: ListenedRelay;
  private dispatcher?: JobDispatcher;
  private connecting?: Promise<void>;
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
    this.outputs = new OutputsPublisher(() => this.redis, this.keys, cfg.keepJobsSeconds);
  }

  get redis(): Redis {
    if (!this.client) throw new CodexError(ErrorCodes.QUEUE, 'distributed queue used before ready()');
    return this.client;
  }

  private get dispatch(): JobDispatcher {
    if (!this.dispatcher) throw new CodexError(ErrorCodes.QUEUE, 'distributed queue used before ready()');
    return this.dispatcher;
  }

  ready(): Promise<void> {
    this.connecting ??= this.open();
    return this.connecting;
  }

  private async open(): Promise<void> {
    await probeRedis(this.target, this.cfg.connectTimeoutMs);
    // Loaded on first connect: in-process users of the library never pay for BullMQ.
    const bull = await import('bullmq');
    const c = connect(this.target, 'codexos-orchestrator');
    this.client = c;
    await c.set(this.keys.epoch, randomUUID(), 'NX');
    this.epoch = (await c.get(this.keys.epoch)) ?? '';
    // Workers publish this orchestrator's results here; subscribed before the first job can be sent.
    // Short (72 random bits): it travels in every job.
    const replyId = randomBytes(9).toString('base64url');
    const replyTo = this.keys.replies(replyId);
    const dispatcher = new JobDispatcher({
      redis: () => this.redis,
      bull,
      keys: this.keys,
      label: this.target.label,
      cfg: this.cfg,
      rules: this.rules,
      outputs: this.outputs,
      replyId,
      spread: (agentId) => this.pool?.spread(agentId),
    });
    this.dispatcher = dispatcher;
    const bus = this.poolOpts?.bus;
    const sub = connect(this.target, 'codexos-orchestrator-sub');
    this.sub = sub;
    const listeners = listenersChannel(this.keys.orchestratorEvents);
    await sub.subscribe(replyTo, ...(bus ? [this.keys.events, listeners] : []));
    sub.on('message', (ch: string, msg: string) => {
      if (ch === replyTo) dispatcher.onReply(msg);
      else if (ch === listeners) this.published?.heard();
      else if (bus) replayEvents(bus, msg);
    });
    // Replies published while the subscription was down are lost: the jobs still waiting are read instead.
    let subDown = false;
    sub.on('close', () => {
      subDown = true;
    });
    sub.on('ready', () => {
      if (subDown) dispatcher.recheckAll();
      subDown = false;
    });
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
        (a) => dispatcher.open(a),
      );
      await this.pool.readOwnAgents();
      if (this.poolOpts.autoStart !== false) this.pool.start();
    }
    // This orchestrator's own events (worker events included, once relayed) for other processes that listen.
    if (bus) this.published = new ListenedRelay(bus, c, this.keys.orchestratorEvents).start();
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
      // Only workers that registered the agent themselves open its queue for calls that need its code.
      if (!model.ownDefinition) this.announceModelAgent(agent.id);
    }
    return this.dispatch.run(ctx, agent.id, model);
  }

  /**
   * The call a model-backed task makes, when a worker can make it: tools and zod schemas are code, so such
   * agents go to workers only when one registered them itself (`execution.modelTasks: orchestrator`: none do).
   */
  private remoteModelCall(ctx: DispatchContext, agent: AgentDefinition): RemoteModelCall | undefined {
    if (this.cfg.modelTasks !== 'workers' || !ctx.modelCall) return undefined;
    return remoteModelCall(() => ctx.modelCall!(), agent, this.pool?.runsOwn(agent.id) ?? false);
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
    return this.dispatch.agentQueue(agentId);
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
    await this.dispatcher?.close();
    this.published?.stop();
    this.sub?.disconnect();
    this.client?.disconnect();
  }

  private onDown(): void {
    if (this.closed || this.downSince) return;
    this.downSince = Date.now();
    const ms = Math.max(this.cfg.connectTimeoutMs, 1000);
    this.downTimer = setTimeout(() => {
      this.dispatcher?.rejectAll(
        new CodexError(
          ErrorCodes.REDIS_UNAVAILABLE,
          `Redis at ${this.target.label} unreachable for ${ms} ms: task results cannot come back`,
        ),
      );
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
        this.dispatcher?.rejectAll(
          new CodexError(
            ErrorCodes.QUEUE,
            `Redis at ${this.target.label} restarted and lost queued tasks; they are sent again`,
            { retryable: true },
          ),
        );
      },
      () => {},
    );
  }
}
