import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Subscription } from 'rxjs';
import { EventBus, type OrchestratorEvent } from '../../events.js';
import { connect, type RedisTarget } from './connection.js';
import { distKeys } from './keys.js';

// The orchestrator's own events (workflow, task, model, pool) on Redis pub/sub, so a server or dashboard in
// another process sees them; workers relay theirs (model events, streamed task:delta text) to the orchestrators
// the same way. Events of one tick go out as one message: one PUBLISH per tick, not per event.

/** One Redis pub/sub message of orchestrator events: the events of one tick and the orchestrator that sent them. */
export interface EventBatch {
  /** Which orchestrator sent it (a subscriber can drop its own). */
  origin: string;
  events: OrchestratorEvent[];
}

/** Publishes every event of `bus` on the orchestrator-events channel, batched per tick. */
export function publishEvents(
  bus: EventBus,
  client: Redis,
  channel: string,
  origin: string = randomUUID(),
): Subscription {
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

/**
 * Re-raises on `bus` the events of one pub/sub message: a batch from `publishEvents`, or a single event (as workers
 * of earlier versions send). Answers how many it raised; a batch from `ignoreOrigin` or a malformed message raises none.
 */
export function replayEvents(bus: EventBus, msg: string, ignoreOrigin?: string): number {
  let m: Partial<EventBatch> & { type?: unknown; payload?: unknown };
  try {
    m = JSON.parse(msg);
  } catch {
    return 0;
  }
  if (m === null || typeof m !== 'object' || (ignoreOrigin !== undefined && m.origin === ignoreOrigin)) return 0;
  const events: unknown[] = Array.isArray(m.events) ? m.events : [m];
  let n = 0;
  for (const e of events as Array<{ type?: unknown; payload?: unknown } | null>)
    if (typeof e?.type === 'string' && e.payload && typeof e.payload === 'object') {
      bus.publish(e.type as never, e.payload as never);
      n++;
    }
  return n;
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
      if (ch === channel) replayEvents(this.bus, msg, this.ignoreOrigin);
    });
    return this;
  }

  close(): void {
    this.sub?.disconnect();
  }
}
