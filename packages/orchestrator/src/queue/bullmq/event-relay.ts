import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Subscription } from 'rxjs';
import { EventBus, type OrchestratorEvent } from '../../events.js';
import { connect, type RedisTarget } from './connection.js';
import { distKeys } from './keys.js';

// The orchestrator's own events (workflow, task, model, pool) on Redis pub/sub, so a server or dashboard in
// another process sees them. Events of one tick go out as one message: one PUBLISH per tick, not per event.

/** One Redis pub/sub message of orchestrator events: the events of one tick and the orchestrator that sent them. */
export interface EventBatch {
  /** Which orchestrator sent it (a subscriber can drop its own). */
  origin: string;
  events: OrchestratorEvent[];
}

/** Publishes every event of `bus` on the orchestrator-events channel, batched per tick. */
export function publishEvents(bus: EventBus, client: Redis, channel: string, origin = randomUUID()): Subscription {
  let batch: OrchestratorEvent[] = [];
  const flush = () => {
    const events = batch;
    batch = [];
    let msg: string;
    try {
      msg = JSON.stringify({ origin, events } satisfies EventBatch);
    } catch {
      // A payload that is not JSON (a cycle): send the batch without it rather than nothing.
      msg = JSON.stringify({ origin, events: events.filter(jsonable) });
    }
    client.publish(channel, msg).catch(() => 0);
  };
  return bus.events$.subscribe((e) => {
    if (batch.push(e) === 1) setImmediate(flush);
  });
}

const jsonable = (e: unknown): boolean => {
  try {
    JSON.stringify(e);
    return true;
  } catch {
    return false;
  }
};

/**
 * The receiving side, for a process that does not run the workflows (a server, a dashboard backend): the events
 * every orchestrator on `target` publishes, replayed on a local `bus`.
 */
export class RedisEventSubscriber {
  readonly bus = new EventBus();
  private sub?: Redis;

  constructor(
    private readonly target: RedisTarget,
    /** Drop batches from this origin (an orchestrator listening to its own channel). */
    private readonly ignoreOrigin?: string,
  ) {}

  async start(): Promise<this> {
    const channel = distKeys(this.target.prefix).orchestratorEvents;
    this.sub = connect(this.target, 'codexos-event-subscriber');
    await this.sub.subscribe(channel);
    this.sub.on('message', (ch: string, msg: string) => {
      if (ch !== channel) return;
      let b: EventBatch;
      try {
        b = JSON.parse(msg);
      } catch {
        return;
      }
      if (b.origin === this.ignoreOrigin || !Array.isArray(b.events)) return;
      for (const e of b.events)
        if (typeof e?.type === 'string' && e.payload && typeof e.payload === 'object')
          this.bus.publish(e.type as never, e.payload as never);
    });
    return this;
  }

  close(): void {
    this.sub?.disconnect();
  }
}
