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
  /** Where a PUBLISH Redis refused is reported (events are best-effort: by default it is dropped). */
  failed: (err: unknown) => void = () => {},
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
    client.publish(channel, msg).catch(failed);
  };
  return bus.events$.subscribe((e) => {
    if (batch.push(e) === 1) setImmediate(flush);
  });
}

/** The channel a new subscriber of `channel` announces itself on, so publishers start relaying at once. */
export const listenersChannel = (channel: string): string => `${channel}:listeners`;

/**
 * Relays `bus` on `channel` (as {@link publishEvents}) only while some process is subscribed there: serializing and
 * publishing every event of every run costs the orchestrator more than the rest of a task's dispatch, and with no
 * listener it is all waste. Whether anyone listens is read with PUBSUB NUMSUB every `pollMs`, and a subscriber that
 * says hello on {@link listenersChannel} (as {@link RedisEventSubscriber} does) is relayed to at once.
 */
export class ListenedRelay {
  private relay?: Subscription;
  private timer?: NodeJS.Timeout;
  private checking = false;
  private stopped = false;

  constructor(
    private readonly bus: EventBus,
    private readonly client: Redis,
    private readonly channel: string,
    private readonly pollMs = 1000,
  ) {}

  /** True while events are being published (someone listens, or it could not be read). */
  get relaying(): boolean {
    return this.relay !== undefined;
  }

  start(): this {
    this.check();
    this.timer = setInterval(() => this.check(), this.pollMs);
    this.timer.unref();
    return this;
  }

  /** A subscriber announced itself on the listeners channel. */
  heard(): void {
    if (!this.stopped) this.relay ??= publishEvents(this.bus, this.client, this.channel);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.quiet();
  }

  private quiet(): void {
    this.relay?.unsubscribe();
    this.relay = undefined;
  }

  private check(): void {
    if (this.checking) return;
    this.checking = true;
    this.client.pubsub('NUMSUB', this.channel).then(
      (r) => {
        this.checking = false;
        if (Number((r as unknown[])[1]) > 0) this.heard();
        else this.quiet();
      },
      // Unknown (Redis unreachable): keep relaying, so a listener is never cut off by a failed read.
      () => {
        this.checking = false;
        this.heard();
      },
    );
  }
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
    // Orchestrators publish only while someone listens: say so, so they start now rather than at their next check.
    const hello = connect(this.target, 'codexos-event-subscriber-hello');
    try {
      await hello.publish(listenersChannel(channel), 'hello');
    } finally {
      hello.disconnect();
    }
    return this;
  }

  close(): void {
    this.sub?.disconnect();
  }
}
