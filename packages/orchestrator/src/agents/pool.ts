import type { OrchestratorConfig } from '../config.js';
import type { EventBus } from '../events.js';
import type { AgentDefinition, AgentPoolStats } from './types.js';

/** One logical instance of an agent: a slot group that takes up to `capacity` tasks at once. */
export interface AgentInstance {
  readonly instanceId: string;
  readonly agentId: string;
  active: number;
  completed: number;
  failed: number;
  healthy: boolean;
}

interface Entry {
  agent: AgentDefinition;
  instances: AgentInstance[];
  capacity: number;
  active: number;
  waiters: Array<(inst: AgentInstance) => void>;
  waitHead: number;
  nextInstance: number;
  allocWaitTotal: number;
  allocCount: number;
  /** The last probe of some instance failed: no instance joins dispatch without passing a probe first. */
  failing: boolean;
}

const DEFAULT_CONCURRENCY = 100;

/**
 * Agent instances per agent between minAgents and maxAgents. Dispatch goes to the least-loaded healthy instance;
 * above scaleUpThreshold % utilisation an instance is added, below scaleDownThreshold an idle one is removed
 * (checked on each health tick, so a burst does not make the pool thrash).
 */
export class AgentPool {
  private readonly entries = new Map<string, Entry>();
  private timer?: NodeJS.Timeout;
  private checking = false;

  constructor(
    private readonly cfg: OrchestratorConfig['agents'],
    private readonly bus: EventBus,
  ) {}

  add(agent: AgentDefinition): void {
    const prev = this.entries.get(agent.id);
    const entry: Entry = prev
      ? { ...prev, agent, capacity: agent.concurrency ?? DEFAULT_CONCURRENCY }
      : {
          agent,
          instances: [],
          capacity: agent.concurrency ?? DEFAULT_CONCURRENCY,
          active: 0,
          waiters: [],
          waitHead: 0,
          nextInstance: 0,
          allocWaitTotal: 0,
          allocCount: 0,
          failing: false,
        };
    this.entries.set(agent.id, entry);
    const min = Math.max(1, this.cfg.minAgents);
    while (entry.instances.length < min) this.spawn(entry, true);
    this.startHealthChecks();
  }

  remove(agentId: string): void {
    this.entries.delete(agentId);
  }

  /** A free instance now, or a promise of one when every instance is at capacity and the pool is at maxAgents. */
  acquire(agentId: string): AgentInstance | Promise<AgentInstance> {
    const e = this.entries.get(agentId)!;
    let best: AgentInstance | undefined;
    for (const inst of e.instances) {
      if (inst.healthy && inst.active < e.capacity && (!best || inst.active < best.active)) best = inst;
    }
    if (!best && e.instances.length < this.cfg.maxAgents && !e.failing) best = this.spawn(e);
    if (best) {
      this.take(e, best);
      e.allocCount++;
      if (
        (e.active / (e.instances.length * e.capacity)) * 100 > this.cfg.scaleUpThreshold &&
        e.instances.length < this.cfg.maxAgents &&
        !e.failing
      ) {
        this.spawn(e);
      }
      return best;
    }
    const since = performance.now();
    return new Promise((resolve) => {
      e.waiters.push((inst) => {
        e.allocWaitTotal += performance.now() - since;
        e.allocCount++;
        resolve(inst);
      });
    });
  }

  release(inst: AgentInstance, ok: boolean): void {
    const e = this.entries.get(inst.agentId);
    inst.active--;
    if (ok) inst.completed++;
    else inst.failed++;
    if (!e) return;
    e.active--;
    // An unhealthy instance that has finished its last task leaves the pool (a probed replacement takes its place).
    if (!inst.healthy && inst.active === 0 && e.instances.length > Math.max(1, this.cfg.minAgents)) {
      e.instances = e.instances.filter((i) => i !== inst);
    }
    if (e.waitHead < e.waiters.length) {
      const target = inst.healthy && e.instances.includes(inst) ? inst : this.leastLoaded(e);
      if (target) {
        const w = e.waiters[e.waitHead];
        e.waiters[e.waitHead++] = undefined as never;
        if (e.waitHead > 1024 && e.waitHead * 2 > e.waiters.length) {
          e.waiters = e.waiters.slice(e.waitHead);
          e.waitHead = 0;
        }
        this.take(e, target);
        w(target);
      }
    }
  }

  stats(agentId: string): AgentPoolStats | undefined {
    const e = this.entries.get(agentId);
    if (!e) return undefined;
    const capacity = e.instances.length * e.capacity;
    return {
      agentId,
      instances: e.instances.map(({ instanceId, active, completed, failed, healthy }) => ({
        instanceId,
        active,
        completed,
        failed,
        healthy,
      })),
      capacity,
      active: e.active,
      waiting: e.waiters.length - e.waitHead,
      utilisation: capacity ? (e.active / capacity) * 100 : 0,
      meanAllocationMs: e.allocCount ? e.allocWaitTotal / e.allocCount : 0,
    };
  }

  /** One health and scale-down pass; runs on the interval, callable directly. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      for (const e of this.entries.values()) {
        if (e.agent.healthCheck) await this.probeAll(e);
        this.scaleDown(e);
      }
    } finally {
      this.checking = false;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private startHealthChecks(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), this.cfg.healthCheckInterval);
    this.timer.unref();
  }

  private take(e: Entry, inst: AgentInstance): void {
    inst.active++;
    e.active++;
  }

  private leastLoaded(e: Entry): AgentInstance | undefined {
    let best: AgentInstance | undefined;
    for (const i of e.instances) if (i.healthy && i.active < e.capacity && (!best || i.active < best.active)) best = i;
    return best;
  }

  private spawn(e: Entry, initial = false, healthy = true): AgentInstance {
    const inst: AgentInstance = {
      instanceId: `${e.agent.id}#${e.nextInstance++}`,
      agentId: e.agent.id,
      active: 0,
      completed: 0,
      failed: 0,
      healthy,
    };
    const from = e.instances.length;
    e.instances.push(inst);
    if (!healthy) return inst;
    if (!initial && this.bus.wants('agent:scaled')) {
      this.bus.publish('agent:scaled', {
        agentId: e.agent.id,
        from,
        to: from + 1,
        utilisation: this.utilisation(e),
        timestamp: Date.now(),
      });
    }
    this.drain(e, inst);
    return inst;
  }

  private drain(e: Entry, inst: AgentInstance): void {
    while (inst.healthy && e.waitHead < e.waiters.length && inst.active < e.capacity) {
      const w = e.waiters[e.waitHead];
      e.waiters[e.waitHead++] = undefined as never;
      this.take(e, inst);
      w(inst);
    }
  }

  /**
   * Probes every instance. A failing one leaves dispatch at once (idle: it is retired and replaced by an instance
   * that must pass a probe before it takes work; busy: it finishes what it runs, then leaves). A passing one
   * (back) in dispatch takes waiting tasks.
   */
  private async probeAll(e: Entry): Promise<void> {
    let anyFailed = false;
    for (const inst of [...e.instances]) {
      const { ok, reason } = await this.probe(e, inst);
      if (ok) {
        if (!inst.healthy && e.instances.includes(inst)) {
          inst.healthy = true;
          this.drain(e, inst);
        }
        continue;
      }
      anyFailed = true;
      if (!inst.healthy) continue; // still failing: said once, when it went down
      inst.healthy = false;
      this.bus.publish('agent:unhealthy', {
        agentId: e.agent.id,
        instanceId: inst.instanceId,
        reason,
        timestamp: Date.now(),
      });
      if (inst.active === 0) e.instances = e.instances.filter((i) => i !== inst);
    }
    e.failing = anyFailed;
    while (e.instances.length < Math.max(1, this.cfg.minAgents)) {
      const fresh = this.spawn(e, true, false);
      const { ok } = await this.probe(e, fresh);
      if (ok) {
        fresh.healthy = true;
        this.drain(e, fresh);
      }
    }
  }

  private async probe(e: Entry, inst: AgentInstance): Promise<{ ok: boolean; reason: string }> {
    try {
      const ok = (await e.agent.healthCheck!({ instanceId: inst.instanceId })) !== false;
      return { ok, reason: 'health check returned false' };
    } catch (err) {
      return { ok: false, reason: `health check threw: ${(err as Error)?.message ?? String(err)}` };
    }
  }

  private scaleDown(e: Entry): void {
    const min = Math.max(1, this.cfg.minAgents);
    while (e.instances.length > min && this.utilisation(e) < this.cfg.scaleDownThreshold) {
      const idle = e.instances.findIndex((i) => i.active === 0);
      if (idle < 0) return;
      const from = e.instances.length;
      e.instances.splice(idle, 1);
      this.bus.publish('agent:scaled', {
        agentId: e.agent.id,
        from,
        to: from - 1,
        utilisation: this.utilisation(e),
        timestamp: Date.now(),
      });
    }
  }

  private utilisation(e: Entry): number {
    const cap = e.instances.length * e.capacity;
    return cap ? (e.active / cap) * 100 : 0;
  }
}
