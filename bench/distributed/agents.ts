// Agents the distributed bench's workers run: the engine bench's task body (1 + sum of upstream outputs, optional
// sleep), and a CPU-bound body (a fixed amount of SHA-256 hashing, about 5 ms on this machine).
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentDefinition } from '../../packages/orchestrator/src/index.ts';

export function hashWork(rounds: number): string {
  let h = Buffer.alloc(64, 1);
  for (let i = 0; i < rounds; i++) h = createHash('sha256').update(h).digest();
  return h.toString('hex', 0, 4);
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
