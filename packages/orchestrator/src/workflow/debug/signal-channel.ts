import type { Redis } from 'ioredis';
import type { RedisStore } from '../../store/redis/redis-store.js';
import type { StateStore } from '../../store/types.js';

/**
 * Tells the process driving a run that another process recorded a signal for it. With the Redis store this is a
 * pub/sub message on the store's signal channel (the driver reads the store at once); every store also has the
 * driver read pending signals on its lease heartbeat, so a lost message only delays a decision.
 */
export class SignalChannel {
  private sub?: Redis;

  constructor(
    private readonly store: StateStore,
    private readonly onSignal: (executionId: string) => void,
  ) {}

  private get redis(): RedisStore | undefined {
    return this.store.kind === 'redis' && (this.store as RedisStore).redis ? (this.store as RedisStore) : undefined;
  }

  /** Announces a recorded signal (Redis only; other stores rely on the heartbeat). */
  async notify(executionId: string): Promise<void> {
    const s = this.redis;
    if (s) await s.redis.publish(s.keys.signals, executionId);
  }

  /** Subscribes once, on first need (a run of this process waits): no connection for processes that never wait. */
  listen(): void {
    const s = this.redis;
    if (!s || this.sub) return;
    const sub = s.redis.duplicate();
    this.sub = sub;
    // Connection trouble only slows signals down to the heartbeat; the subscriber reconnects by itself.
    sub.on('error', () => {});
    sub.on('message', (_channel: string, executionId: string) => this.onSignal(executionId));
    sub.subscribe(s.keys.signals).catch((err: Error) => {
      process.emitWarning(
        `CodexOS: signal notifications unavailable (${err.message}); signals are picked up on the lease heartbeat`,
      );
    });
  }

  close(): void {
    this.sub?.disconnect();
    this.sub = undefined;
  }
}
