import type { Redis } from 'ioredis';
import type { DistKeys } from './keys.js';

// Per-key flow control shared by every worker: a slot set (sorted by expiry, so a dead worker's slots lapse)
// and a fixed-window start counter. Each check is one Lua script, so two workers never both take the last slot.

// One script for both limits: the slot is checked before the window's start is counted, and nothing is counted
// for an attempt turned away (a start refused for want of a slot must not spend the window's budget).
const ENTER = `
local now = tonumber(ARGV[1])
local conc = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local max = tonumber(ARGV[5])
if conc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if not redis.call('ZSCORE', KEYS[1], ARGV[4]) and redis.call('ZCARD', KEYS[1]) >= conc then return -2 end
end
if max > 0 then
  local n = tonumber(redis.call('GET', KEYS[2]) or '0')
  if n >= max then return -1 end
  redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[6]))
end
if conc > 0 then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ttl * 2)
end
return 0`;

export interface FlowLimits {
  concurrency?: number;
  rate?: { max: number; durationMs: number };
}

export class FlowGate {
  constructor(
    private readonly redis: Redis,
    private readonly keys: DistKeys,
    private readonly slotTtlMs: number,
  ) {}

  /**
   * 0 when the job may start now (slot taken, start counted), else how long to wait before trying again, ms.
   * `now` is the limiter's clock (windows are aligned to it, so every worker shares them).
   */
  async enter(agentId: string, key: string, jobId: string, limits: FlowLimits, now = Date.now()): Promise<number> {
    if (!limits.rate && !limits.concurrency) return 0;
    const window = limits.rate ? Math.floor(now / limits.rate.durationMs) : 0;
    const r = (await this.redis.eval(
      ENTER,
      2,
      this.keys.flowSlots(agentId, key),
      this.keys.flowRate(agentId, key, window),
      now,
      limits.concurrency ?? 0,
      this.slotTtlMs,
      jobId,
      limits.rate?.max ?? 0,
      (limits.rate?.durationMs ?? 1) * 2,
    )) as number;
    if (r === -1) return Math.max(5, (window + 1) * limits.rate!.durationMs - now);
    if (r === -2) return 25 + Math.floor(Math.random() * 50);
    return 0;
  }

  /** Keeps a running job's slot from lapsing. */
  async refresh(agentId: string, key: string, jobId: string): Promise<void> {
    await this.redis.zadd(this.keys.flowSlots(agentId, key), 'XX', Date.now() + this.slotTtlMs, jobId);
  }

  async leave(agentId: string, key: string, jobId: string): Promise<void> {
    await this.redis.zrem(this.keys.flowSlots(agentId, key), jobId);
  }
}
