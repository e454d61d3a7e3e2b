// CPU readers for the distributed bench and its profile script: Redis and the worker processes share the
// machine's cores with the orchestrator, so their CPU is measured beside it.
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** Redis's own CPU so far (user + sys), µs, from INFO cpu. */
export async function redisCpuUs(stats: Redis): Promise<number> {
  const info = await stats.info('cpu');
  const v = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return (v('used_cpu_sys') + v('used_cpu_user')) * 1e6;
}

/** utime + stime of a process so far, µs (Linux /proc; clock ticks of 10 ms). */
export function procCpuUs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}
