import { FifoLanes } from './fifo-lanes.js';
import type { RateLimit } from './types.js';

// Sliding-window limits on requests and tokens. A call that does not fit waits (FIFO per key) instead of
// failing; a provider's `retry-after` pauses its window for everyone.

interface Entry {
  at: number;
  requests: number;
  tokens: number;
}

/** One window (one provider, or one model). */
export class WindowLimiter {
  private readonly entries: Entry[] = [];
  private head = 0;
  private requests = 0;
  private tokens = 0;
  private pausedUntil = 0;

  constructor(
    readonly limit: RateLimit,
    private readonly windowMs: number,
  ) {}

  /** Milliseconds until `requests`/`tokens` fit (0: now). */
  waitFor(requests: number, tokens: number, now: number): number {
    this.expire(now);
    let wait = Math.max(0, this.pausedUntil - now);
    wait = Math.max(wait, this.waitOn('requests', this.limit.rpm, requests, now));
    wait = Math.max(wait, this.waitOn('tokens', this.limit.tpm, tokens, now));
    return wait;
  }

  take(requests: number, tokens: number, now: number): Entry {
    const e = { at: now, requests, tokens };
    this.entries.push(e);
    this.requests += requests;
    this.tokens += tokens;
    return e;
  }

  /** Replace a reservation's token estimate by the real figure once the provider reports usage. */
  settle(e: Entry, actualTokens: number, now: number): void {
    if (e.at + this.windowMs > now) this.tokens += actualTokens - e.tokens;
    e.tokens = actualTokens;
  }

  pauseUntil(t: number): void {
    if (t > this.pausedUntil) this.pausedUntil = t;
  }

  private waitOn(kind: 'requests' | 'tokens', cap: number | undefined, want: number, now: number): number {
    if (cap === undefined) return 0;
    let used = kind === 'requests' ? this.requests : this.tokens;
    // A single call larger than the whole budget runs alone in an empty window rather than never.
    const need = Math.min(want, cap);
    if (used + need <= cap) return 0;
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i] as Entry;
      used -= e[kind];
      if (used + need <= cap) return e.at + this.windowMs - now;
    }
    return 0;
  }

  private expire(now: number): void {
    const cutoff = now - this.windowMs;
    while (this.head < this.entries.length && (this.entries[this.head] as Entry).at <= cutoff) {
      const e = this.entries[this.head++] as Entry;
      this.requests -= e.requests;
      this.tokens -= e.tokens;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** Capacity granted by the rate limiter for one call; `settle` corrects it with the tokens actually used. */
export interface Reservation {
  /** Time spent queued, ms. */
  waitedMs: number;
  /** When the window granted it, on the limiter's clock (0 when no limit applies). */
  grantedAt: number;
  settle(actualTokens: number): void;
}

const NO_RESERVATION: Reservation = { waitedMs: 0, grantedAt: 0, settle() {} };

export interface RateLimiterOptions {
  windowMs?: number;
  now?: () => number;
  /** Called once per queued call with the first computed wait. */
  onWait?: (info: { provider: string; model: string; waitMs: number }) => void;
}

/** What the model layer needs of a rate limiter: in memory per process (default) or shared through Redis. */
export interface ModelRateLimiter {
  setProviderLimit(provider: string, limit: RateLimit | undefined): void;
  setModelLimit(model: string, limit: RateLimit | undefined): void;
  /** Honour a provider's `retry-after`: nobody calls that provider (or model) before it passes. */
  pause(provider: string, model: string | undefined, ms: number): void;
  acquire(
    provider: string,
    model: string,
    requests: number,
    tokens: number,
    signal?: AbortSignal,
  ): Promise<Reservation>;
}

/** Limits per provider and per model; acquire() resolves when both windows have room. */
export class RateLimiter implements ModelRateLimiter {
  private readonly providers = new Map<string, WindowLimiter>();
  private readonly models = new Map<string, WindowLimiter>();
  private readonly lanes = new FifoLanes();
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: RateLimiterOptions = {}) {
    this.windowMs = opts.windowMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  setProviderLimit(provider: string, limit: RateLimit | undefined): void {
    if (limit && (limit.rpm || limit.tpm)) this.providers.set(provider, new WindowLimiter(limit, this.windowMs));
    else this.providers.delete(provider);
  }

  setModelLimit(model: string, limit: RateLimit | undefined): void {
    if (limit && (limit.rpm || limit.tpm)) this.models.set(model, new WindowLimiter(limit, this.windowMs));
    else this.models.delete(model);
  }

  /** Honour a provider's `retry-after`: nobody calls that provider (or model) before it passes. */
  pause(provider: string, model: string | undefined, ms: number): void {
    const until = this.now() + ms;
    this.limiterFor(this.providers, provider).pauseUntil(until);
    if (model) this.models.get(model)?.pauseUntil(until);
  }

  async acquire(
    provider: string,
    model: string,
    requests: number,
    tokens: number,
    signal?: AbortSignal,
  ): Promise<Reservation> {
    const p = this.providers.get(provider);
    const m = this.models.get(model);
    if (!p && !m) return NO_RESERVATION;
    const key = `${provider}\u0000${model}`;
    return this.lanes.run(key, () => this.waitTurn(provider, model, p, m, requests, tokens, signal));
  }

  private async waitTurn(
    provider: string,
    model: string,
    p: WindowLimiter | undefined,
    m: WindowLimiter | undefined,
    requests: number,
    tokens: number,
    signal?: AbortSignal,
  ): Promise<Reservation> {
    const start = this.now();
    let reported = false;
    for (;;) {
      signal?.throwIfAborted();
      const now = this.now();
      const wait = Math.max(p?.waitFor(requests, tokens, now) ?? 0, m?.waitFor(requests, tokens, now) ?? 0);
      if (wait <= 0) {
        const pe = p?.take(requests, tokens, now);
        const me = m?.take(requests, tokens, now);
        return {
          waitedMs: now - start,
          grantedAt: now,
          settle: (actual) => {
            const t = this.now();
            if (pe) p?.settle(pe, actual, t);
            if (me) m?.settle(me, actual, t);
          },
        };
      }
      if (!reported) {
        reported = true;
        this.opts.onWait?.({ provider, model, waitMs: wait });
      }
      await sleep(wait, signal);
    }
  }

  private limiterFor(map: Map<string, WindowLimiter>, key: string): WindowLimiter {
    let l = map.get(key);
    if (!l) {
      l = new WindowLimiter({}, this.windowMs);
      map.set(key, l);
    }
    return l;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
