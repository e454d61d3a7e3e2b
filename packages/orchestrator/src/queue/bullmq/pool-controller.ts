import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { OrchestratorConfig } from '../../config.js';
import type { EventBus } from '../../events.js';
import { BackgroundErrors, poolSink } from './background-errors.js';
import type { AgentSpread } from './job-batches.js';
import type { DistKeys } from './keys.js';
import type { LocalWorkers, LocalWorkersState } from './local-workers.js';
import type { WorkerHeartbeat } from './task-worker.js';

/** One worker process as the pool sees it. */
export interface PoolWorkerState {
  workerId: string;
  host: string;
  pid: number;
  healthy: boolean;
  reason?: string;
  /** ms since its last heartbeat. */
  silentMs: number;
  agents: WorkerHeartbeat['agents'];
}

/** One agent across every worker: instances (cluster-wide concurrency) between minAgents and maxAgents. */
export interface PoolAgentState {
  agentId: string;
  instances: number;
  capacity: number;
  active: number;
  waiting: number;
  /** (active + waiting) / capacity, %: above 100 means a backlog. */
  utilisation: number;
  workers: number;
}

/** Snapshot of the distributed worker pool: each worker's health and each agent's instances, backlog and utilisation. */
export interface DistributedPoolState {
  at: number;
  workers: PoolWorkerState[];
  agents: PoolAgentState[];
  /** The local `codexos worker` processes the pool starts and stops (when `execution.localWorkers` is set). */
  local?: LocalWorkersState;
}

interface AgentTrack {
  instances: number;
  up: number;
  down: number;
}

/** Ticks in a row past a threshold before the pool scales: one busy or idle tick does not make it thrash. */
const STREAK = 2;

/**
 * The agent pool across processes. Every `healthCheckInterval` it reads the workers' heartbeats, marks silent or
 * self-reported unhealthy workers (their tasks come back through BullMQ's stall recovery or the worker's own
 * drain), scales each agent's instances between minAgents and maxAgents on utilisation with hysteresis, and
 * spreads the instances over the healthy workers as their BullMQ concurrency (least loaded first).
 */
export class PoolController {
  private readonly tracks = new Map<string, AgentTrack>();
  private readonly unhealthy = new Set<string>();
  private timer?: NodeJS.Timeout;
  private last: DistributedPoolState = { at: 0, workers: [], agents: [] };
  private ticking = false;
  /** Model-backed agents some healthy worker runs with its own definition (tools, zod output schema). */
  private own = new Set<string>();
  /** How the healthy workers share each agent, as of the last plan (or first read of heartbeats): for batching. */
  private spreads = new Map<string, AgentSpread>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: DistKeys,
    private readonly cfg: OrchestratorConfig['agents'],
    private readonly bus: EventBus | undefined,
    private readonly queueOf: (agentId: string) => Queue,
    private readonly local?: LocalWorkers,
    /** Attempts of an agent this orchestrator sent and that have not settled (a batch job holds several). */
    private readonly open: (agentId: string) => number = () => 0,
  ) {}

  start(): void {
    if (this.timer) return;
    // The fewest local processes come up at once, not a tick later.
    this.local?.reconcile(this.local.processesFor(Math.max(1, this.cfg.minAgents)), []);
    // A pass Redis refuses is an `error` event (source `pool`), or a process warning when nobody listens; at most
    // one a minute, so an outage does not flood the bus. The next interval tries again.
    const passFailed = new BackgroundErrors('agent pool', poolSink(this.bus, 'CodexOSPoolWarning'), 60_000).for(
      'run its pass',
    );
    this.timer = setInterval(() => {
      this.tick().catch(passFailed);
    }, this.cfg.healthCheckInterval);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops the local worker processes gracefully (each finishes its running tasks) and waits for them. */
  async closeLocal(): Promise<void> {
    await this.local?.close();
  }

  /** True when a healthy worker registered this model-backed agent itself and serves it (see own-agents.ts). */
  runsOwn(agentId: string): boolean {
    return this.own.has(agentId);
  }

  /** How many healthy workers serve an agent and the slots each has, on average; undefined when none does. */
  spread(agentId: string): AgentSpread | undefined {
    return this.spreads.get(agentId);
  }

  /**
   * Reads which agents workers run with their own definition, and how they share each agent, now, without waiting
   * for the first tick.
   */
  async readOwnAgents(now = Date.now()): Promise<void> {
    const own = new Set<string>();
    const healthy: WorkerHeartbeat[] = [];
    for (const v of Object.values(await this.redis.hgetall(this.keys.workers))) {
      try {
        const hb = JSON.parse(v) as WorkerHeartbeat;
        if (!this.isHealthy(hb, Math.max(0, now - hb.at))) continue;
        healthy.push(hb);
        for (const a of hb.own ?? []) own.add(a);
      } catch {}
    }
    this.own = own;
    this.spreads = spreadsOf(healthy);
  }

  /** Healthy: the worker says so and was heard from within three health-check intervals. */
  private isHealthy(hb: WorkerHeartbeat, silentMs: number): boolean {
    return hb.healthy && silentMs <= this.cfg.healthCheckInterval * 3;
  }

  /** The state as of the last tick. */
  state(): DistributedPoolState {
    return this.last;
  }

  /** One pass: health, scaling, plan. Runs on the interval; tests call it directly, tick by tick. */
  async tick(now = Date.now()): Promise<DistributedPoolState> {
    if (this.ticking) return this.last;
    this.ticking = true;
    try {
      return await this.pass(now);
    } finally {
      this.ticking = false;
    }
  }

  private async pass(now: number): Promise<DistributedPoolState> {
    const raw = await this.redis.hgetall(this.keys.workers);
    const workers: PoolWorkerState[] = [];
    const own = new Set<string>();
    for (const v of Object.values(raw)) {
      let hb: WorkerHeartbeat;
      try {
        hb = JSON.parse(v) as WorkerHeartbeat;
      } catch {
        continue;
      }
      const silentMs = Math.max(0, now - hb.at);
      if (silentMs > this.cfg.healthCheckInterval * 30) {
        // Long gone: forget it (its tasks were handed on by stall recovery long ago).
        await this.redis.hdel(this.keys.workers, hb.workerId);
        this.unhealthy.delete(hb.workerId);
        continue;
      }
      const healthy = this.isHealthy(hb, silentMs);
      const reason = !hb.healthy ? (hb.reason ?? 'reported unhealthy') : `no heartbeat for ${silentMs} ms`;
      workers.push({
        workerId: hb.workerId,
        host: hb.host,
        pid: hb.pid,
        healthy,
        reason: healthy ? undefined : reason,
        silentMs,
        agents: hb.agents,
      });
      this.health(hb, healthy, reason, now);
      if (healthy) for (const a of hb.own ?? []) own.add(a);
    }
    this.own = own;
    const agentIds = new Set(workers.flatMap((w) => Object.keys(w.agents)));
    const agents: PoolAgentState[] = [];
    const plan: string[] = [];
    const spreads = new Map<string, AgentSpread>();
    for (const agentId of agentIds) {
      const serving = workers.filter((w) => w.healthy && w.agents[agentId]);
      let capacity = 0;
      let active = 0;
      for (const w of serving) {
        capacity += w.agents[agentId].concurrency;
        active += w.agents[agentId].active;
      }
      const counts = await this.queueOf(agentId).getJobCounts('wait', 'prioritized');
      // A batch job waiting holds several attempts: this orchestrator's own count of them is the floor.
      const waiting = Math.max((counts.wait ?? 0) + (counts.prioritized ?? 0), this.open(agentId) - active);
      const utilisation = capacity ? ((active + waiting) / capacity) * 100 : waiting ? 100 : 0;
      const instances = this.scale(agentId, utilisation, now);
      agents.push({ agentId, instances, capacity, active, waiting, utilisation, workers: serving.length });
      // Least-loaded first get the remainder; every serving worker keeps at least one slot.
      serving.sort((a, b) => a.agents[agentId].active - b.agents[agentId].active);
      // The slots each worker will have (its share, never above its own --concurrency), for batching.
      let slots = 0;
      serving.forEach((w, i) => {
        const share = Math.max(1, Math.floor(instances / serving.length) + (i < instances % serving.length ? 1 : 0));
        plan.push(`${w.workerId}|${agentId}`, String(share));
        slots += Math.min(share, w.agents[agentId].max ?? share);
      });
      if (serving.length)
        spreads.set(agentId, { workers: serving.length, perWorker: Math.floor(slots / serving.length) });
    }
    if (plan.length) await this.redis.hset(this.keys.plan, ...plan);
    this.last = { at: now, workers, agents };
    // The plan just made, not the heartbeats read: a worker takes its share at its next sync.
    this.spreads = spreads;
    if (this.local) {
      // Processes follow the largest agent's instances (each process serves every agent of its module).
      const biggest = agents.reduce((m, a) => Math.max(m, a.instances), agents.length ? 0 : this.cfg.minAgents);
      this.local.reconcile(this.local.processesFor(biggest), workers);
      this.last.local = this.local.state();
    }
    return this.last;
  }

  private health(hb: WorkerHeartbeat, healthy: boolean, reason: string, now: number): void {
    const was = !this.unhealthy.has(hb.workerId);
    if (was === healthy) return;
    if (healthy) this.unhealthy.delete(hb.workerId);
    else this.unhealthy.add(hb.workerId);
    for (const agentId of Object.keys(hb.agents)) {
      if (healthy) this.bus?.publish('agent:recovered', { agentId, instanceId: hb.workerId, timestamp: now });
      else this.bus?.publish('agent:unhealthy', { agentId, instanceId: hb.workerId, reason, timestamp: now });
    }
  }

  private scale(agentId: string, utilisation: number, now: number): number {
    const { minAgents, maxAgents, scaleUpThreshold, scaleDownThreshold } = this.cfg;
    const min = Math.max(1, minAgents);
    let t = this.tracks.get(agentId);
    if (!t) {
      t = { instances: min, up: 0, down: 0 };
      this.tracks.set(agentId, t);
    }
    if (utilisation > scaleUpThreshold) {
      t.up++;
      t.down = 0;
    } else if (utilisation < scaleDownThreshold) {
      t.down++;
      t.up = 0;
    } else t.up = t.down = 0;
    const from = t.instances;
    if (t.up >= STREAK && t.instances < maxAgents) {
      // Grow toward the size that would bring utilisation under the threshold (at least one more instance).
      const want = Math.ceil((t.instances * utilisation) / Math.max(1, scaleUpThreshold));
      t.instances = Math.min(maxAgents, Math.max(t.instances + 1, want));
      t.up = 0;
    } else if (t.down >= STREAK && t.instances > min) {
      t.instances--;
      t.down = 0;
    }
    if (t.instances !== from)
      this.bus?.publish('agent:scaled', { agentId, from, to: t.instances, utilisation, timestamp: now });
    return t.instances;
  }
}

/** Per agent: the healthy workers serving it and their average slots. */
function spreadsOf(healthy: WorkerHeartbeat[]): Map<string, AgentSpread> {
  const sum = new Map<string, { workers: number; slots: number }>();
  for (const hb of healthy)
    for (const [agentId, a] of Object.entries(hb.agents)) {
      const s = sum.get(agentId) ?? { workers: 0, slots: 0 };
      s.workers++;
      // A worker reports the concurrency it took: its share, never above its own --concurrency.
      s.slots += a.concurrency;
      sum.set(agentId, s);
    }
  return new Map([...sum].map(([id, s]) => [id, { workers: s.workers, perWorker: Math.floor(s.slots / s.workers) }]));
}
