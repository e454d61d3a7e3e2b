import {
  type EventBus,
  type MultiAgentOrchestrator,
  RedisEventSubscriber,
  RedisStore,
  type RedisTarget,
  redisTarget,
} from '@codexos/multi-agent-orchestrator';
import type { LiveHub } from './hub.js';

// Runs driven by other processes (another server, `codexos run --redis`, tasks on `codexos worker`s) reach this
// server's live streams through the orchestrator-events channel on Redis. This process's own runs are already on
// its bus; when its orchestrator also publishes them, their echo from Redis is dropped here.

/** How long after this process last emitted an event of an execution its Redis echo is still taken as ours. */
const OWN_WINDOW_MS = 60_000;

/** Feeds the live hub with the events every orchestrator on a Redis publishes. */
export class RemoteRuns {
  private readonly own = new Map<string, number>();
  private readonly sub: RedisEventSubscriber;
  private readonly localSub: ReturnType<EventBus['events$']['subscribe']>;
  private detach?: () => void;
  private closed = false;
  /** Settles once the subscription is live (rejects when Redis refused it). */
  readonly ready: Promise<void>;

  constructor(hub: LiveHub, localBus: EventBus, target: RedisTarget) {
    this.localSub = localBus.events$.subscribe((e) => {
      const id = (e.payload as { executionId?: unknown } | undefined)?.executionId;
      if (typeof id !== 'string') return;
      if (this.own.size >= 10_000) this.prune();
      this.own.set(id, Date.now());
    });
    this.sub = new RedisEventSubscriber(target);
    this.ready = this.sub.start().then(() => {
      if (this.closed) return this.sub.close();
      this.detach = hub.attach(this.sub.bus, (p) => this.isOwn(p.executionId));
    });
  }

  private isOwn(executionId: unknown): boolean {
    const at = typeof executionId === 'string' ? this.own.get(executionId) : undefined;
    return at !== undefined && Date.now() - at < OWN_WINDOW_MS;
  }

  private prune(): void {
    const now = Date.now();
    for (const [id, at] of this.own) if (now - at >= OWN_WINDOW_MS) this.own.delete(id);
    if (this.own.size >= 10_000) this.own.clear();
  }

  close(): void {
    this.closed = true;
    this.detach?.();
    this.localSub.unsubscribe();
    this.sub.close();
  }
}

/** Where other processes publish run events for this orchestrator: its Redis, when it keeps state or runs there. */
export function remoteTargetOf(o: MultiAgentOrchestrator): RedisTarget | undefined {
  if (!(o.store instanceof RedisStore) && o.config.execution.mode !== 'distributed') return undefined;
  return redisTarget(o.config.redis);
}
