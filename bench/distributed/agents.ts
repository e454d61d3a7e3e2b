// Agents the distributed bench's workers run: the engine bench's task body (1 + sum of upstream outputs, optional
// sleep), and a CPU-bound body (a fixed amount of SHA-256 hashing, about 5 ms on this machine).
import { pbkdf2Sync } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentDefinition } from '../../packages/orchestrator/src/index.ts';

const SALT = Buffer.alloc(16, 1);

/**
 * `rounds` iterations of HMAC-SHA-256 (PBKDF2) in one native call: CPU on the calling thread only. A loop of
 * `createHash` calls allocates one native hash object per round, and collecting them kept V8's helper threads busy
 * (about 1.3 cores per process), so two such processes could not scale on two cores whatever queue fed them.
 */
export function hashWork(rounds: number): string {
  return pbkdf2Sync('codexos', SALT, rounds, 32, 'sha256').toString('hex', 0, 4);
}

export const agents: AgentDefinition[] = [
  {
    id: 'stage',
    handler: async (ctx) => {
      const ms = (ctx.params as { ms?: number }).ms ?? 0;
      if (ms) await sleep(ms);
      let sum = 0;
      for (const v of Object.values(ctx.deps)) sum += v as number;
      return 1 + sum;
    },
  },
  {
    id: 'hash',
    handler: (ctx) => hashWork((ctx.params as { rounds: number }).rounds),
  },
];
