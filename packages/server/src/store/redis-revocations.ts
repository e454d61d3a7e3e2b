import type { RedisClient } from './redis-keys.js';
import type { RevocationFeed, RevocationListener } from './types.js';

// Token revocations announced on a Redis channel: the revoke script publishes the token id in the same script
// that marks it revoked (redis-access.ts), and every server subscribed here drops that token from its cache.
// Pub/sub keeps nothing for a disconnected subscriber, so the feed is only `live` while subscribed; across a
// reconnect listeners are told to forget everything they cached.

/** Revocations of every server (and the CLI) on one Redis, through pub/sub. */
export class RedisRevocationFeed implements RevocationFeed {
  private sub?: RedisClient;
  private subscribing?: Promise<void>;
  private subscribed = false;
  private readonly listeners = new Set<RevocationListener>();

  constructor(
    private readonly redis: RedisClient,
    private readonly channel: string,
  ) {}

  get live(): boolean {
    return this.subscribed && this.sub?.status === 'ready';
  }

  async subscribe(listener: RevocationListener): Promise<() => void> {
    this.listeners.add(listener);
    const off = () => void this.listeners.delete(listener);
    this.subscribing ??= this.open();
    await this.subscribing;
    return off;
  }

  private gap(): void {
    for (const l of this.listeners) l.onGap();
  }

  private async open(): Promise<void> {
    const sub = this.redis.duplicate();
    this.sub = sub;
    sub.on('error', (err: Error) => {
      for (const l of this.listeners) l.onError?.(err);
    });
    sub.on('message', (channel: string, tokenId: string) => {
      if (channel === this.channel) for (const l of this.listeners) l.onRevoked(tokenId);
    });
    let first = true;
    sub.on('close', () => {
      this.subscribed = false;
      this.gap();
    });
    // On a reconnect ioredis re-subscribes by itself; subscribing again confirms it before the feed counts as live.
    sub.on('ready', () => {
      if (first) return;
      sub.subscribe(this.channel).then(
        () => {
          this.subscribed = true;
          this.gap();
        },
        (err: Error) => {
          for (const l of this.listeners) l.onError?.(err);
        },
      );
    });
    try {
      await sub.subscribe(this.channel);
      this.subscribed = true;
    } finally {
      // A first subscribe that failed (Redis down at start) is retried by the 'ready' handler on reconnect.
      first = false;
    }
  }

  async close(): Promise<void> {
    this.subscribed = false;
    this.listeners.clear();
    this.sub?.disconnect();
    this.sub = undefined;
  }
}
