import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { FifoLanes } from './fifo-lanes.js';
import { type ModelRateLimiter, type RateLimiterOptions, type Reservation, sleep } from './rate-limiter.js';
import type { RateLimit } from './types.js';

// The model rate limits shared by every process on one Redis (distributed mode): the same sliding windows as
// the in-memory limiter, kept as one sorted-set log per provider and per model, on Redis's clock. Each grant is
// one Lua script, so two processes never both take the last request of a window.

/**
 * KEYS: provider log, provider pause, model log, model pause. ARGV: window, requests, tokens, member,
 * then per limiter (provider, model): on (1/0), rpm (-1 none), tpm (-1 none). Returns {wait ms, now}.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local win = tonumber(ARGV[1])
local want = { tonumber(ARGV[2]), tonumber(ARGV[3]) }
local wait = 0
for i = 1, 2 do
  local on = tonumber(ARGV[2 + i * 3])
  if on == 1 then
    local log, pause = KEYS[i * 2 - 1], KEYS[i * 2]
    local until_ = tonumber(redis.call('GET', pause) or '0')
    if until_ - now > wait then wait = until_ - now end
    redis.call('ZREMRANGEBYSCORE', log, '-inf', now - win)
    local es = redis.call('ZRANGE', log, 0, -1, 'WITHSCORES')
    for k = 1, 2 do
      local cap = tonumber(ARGV[3 + i * 3 + (k - 1)])
      if cap >= 0 then
        local used = 0
        for j = 1, #es, 2 do
          local r, tk = string.match(es[j], '|([^|]*)|([^|]*)$')
          used = used + tonumber(k == 1 and r or tk)
        end
        local need = math.min(want[k], cap)
        if used + need > cap then
          for j = 1, #es, 2 do
            local r, tk = string.match(es[j], '|([^|]*)|([^|]*)$')
            used = used - tonumber(k == 1 and r or tk)
            if used + need <= cap then
              local w = tonumber(es[j + 1]) + win - now
              if w > wait then wait = w end
              break
            end
          end
        end
      end
    end
  end
end
if wait > 0 then return { wait, now } end
for i = 1, 2 do
  if tonumber(ARGV[2 + i * 3]) == 1 then
    redis.call('ZADD', KEYS[i * 2 - 1], now, ARGV[4])
    redis.call('PEXPIRE', KEYS[i * 2 - 1], win * 2)
  end
end
return { 0, now }`;

/** KEYS: logs. ARGV: old member, new member. Keeps the grant's time, replaces its token figure. */
const SETTLE = `
for i = 1, #KEYS do
  local at = redis.call('ZSCORE', KEYS[i], ARGV[1])
  if at then
    redis.call('ZREM', KEYS[i], ARGV[1])
    redis.call('ZADD', KEYS[i], at, ARGV[2])
  end
end
return 0`;

const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
for i = 1, #KEYS do
  local cur = tonumber(redis.call('GET', KEYS[i]) or '0')
  if now + ms > cur then redis.call('SET', KEYS[i], now + ms, 'PX', ms) end
end
return 0`;

const on = (l: RateLimit | undefined): l is RateLimit => !!l && !!(l.rpm || l.tpm);

/** Same contract as the in-memory `RateLimiter`; the budget is shared by every process using `prefix`. */
export class RedisRateLimiter implements ModelRateLimiter {
  private readonly providers = new Map<string, RateLimit>();
  private readonly models = new Map<string, RateLimit>();
  private readonly lanes = new FifoLanes();
  private readonly windowMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly opts: Omit<RateLimiterOptions, 'now'> = {},
  ) {
    this.windowMs = opts.windowMs ?? 60_000;
  }

  setProviderLimit(provider: string, limit: RateLimit | undefined): void {
    if (on(limit)) this.providers.set(provider, limit);
    else this.providers.delete(provider);
  }

  setModelLimit(model: string, limit: RateLimit | undefined): void {
    if (on(limit)) this.models.set(model, limit);
    else this.models.delete(model);
  }

  pause(provider: string, model: string | undefined, ms: number): void {
    const keys = [this.key('p', provider, 'pause')];
    if (model && this.models.has(model)) keys.push(this.key('m', model, 'pause'));
    this.redis.eval(PAUSE, keys.length, ...keys, Math.max(1, Math.ceil(ms))).catch(() => 0);
  }

  acquire(
    provider: string,
    model: string,
    requests: number,
    tokens: number,
    signal?: AbortSignal,
  ): Promise<Reservation> {
    const p = this.providers.get(provider);
    const m = this.models.get(model);
    if (!p && !m) return Promise.resolve({ waitedMs: 0, grantedAt: 0, settle() {} });
    // FIFO per provider and model within this process, as in memory; across processes the script decides.
    const key = `${provider}\u0000${model}`;
    return this.lanes.run(key, () => this.waitTurn(provider, model, p, m, requests, tokens, signal));
  }

  private key(kind: 'p' | 'm', id: string, what: 'log' | 'pause'): string {
    return `${this.prefix}:ratelimit:${kind}:${id}:${what}`;
  }

  private async waitTurn(
    provider: string,
    model: string,
    p: RateLimit | undefined,
    m: RateLimit | undefined,
    requests: number,
    tokens: number,
    signal?: AbortSignal,
  ): Promise<Reservation> {
    const member = (t: number) => `${randomUUID()}|${requests}|${t}`;
    const id = member(tokens);
    const logs = [this.key('p', provider, 'log'), this.key('m', model, 'log')];
    const keys = [logs[0], this.key('p', provider, 'pause'), logs[1], this.key('m', model, 'pause')];
    const limits = (l: RateLimit | undefined) => (l ? [1, l.rpm ?? -1, l.tpm ?? -1] : [0, -1, -1]);
    let start: number | undefined;
    let reported = false;
    for (;;) {
      signal?.throwIfAborted();
      const [wait, now] = (await this.redis.eval(
        ACQUIRE,
        4,
        ...keys,
        this.windowMs,
        requests,
        tokens,
        id,
        ...limits(p),
        ...limits(m),
      )) as [number, number];
      start ??= now;
      if (wait <= 0) {
        const used = [p ? logs[0] : undefined, m ? logs[1] : undefined].filter((k): k is string => !!k);
        let current = id;
        return {
          waitedMs: now - start,
          grantedAt: now,
          settle: (actual) => {
            const next = `${current.slice(0, current.indexOf('|'))}|${requests}|${actual}`;
            this.redis.eval(SETTLE, used.length, ...used, current, next).catch(() => 0);
            current = next;
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
}
