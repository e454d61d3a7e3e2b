import type { Redis } from 'ioredis';
import { CodexError, ErrorCodes } from '../../errors.js';

// One orchestrator drives an execution at a time: it holds a lease (SET NX PX) and renews it at a third of its
// length; another process can take the execution over only once the lease has lapsed.

// Renewal also takes back a lease that vanished (Redis restarted without persistence); only another holder wins.
const RENEW = `local h = redis.call('GET', KEYS[1])
if h == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not h then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface ExecutionLease {
  release(): Promise<void>;
}

/**
 * Takes the lease on `key` for `owner` or throws EXECUTION_RUNNING naming the holder. `onLost` runs if a renewal
 * finds the lease gone or taken (the process stalled longer than the lease), so the caller stops driving the run.
 */
export async function acquireLease(
  redis: Redis,
  key: string,
  executionId: string,
  owner: string,
  ttlMs: number,
  onLost: () => void,
): Promise<ExecutionLease> {
  const ok = await redis.set(key, owner, 'PX', ttlMs, 'NX');
  if (ok !== 'OK') {
    const holder = await redis.get(key);
    const left = await redis.pttl(key);
    throw new CodexError(
      ErrorCodes.EXECUTION_RUNNING,
      `Execution "${executionId}" is driven by another orchestrator (${holder ?? 'unknown'}); its lease lapses in ${Math.max(0, left)} ms`,
    );
  }
  let stopped = false;
  const timer = setInterval(
    () => {
      redis.eval(RENEW, 1, key, owner, ttlMs).then(
        (r) => {
          if (r === 0 && !stopped) {
            stopped = true;
            clearInterval(timer);
            onLost();
          }
        },
        () => {},
      );
    },
    Math.max(50, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  return {
    async release() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await redis.eval(RELEASE, 1, key, owner).catch(() => {});
    },
  };
}
