// Where CodexOS's time goes: a CPU profile of the measured runs only (after build and warm-up), folded into
// self time per function. Child entry: node --import tsx engine/profile.ts <engine> <workload> → PROFILE {json}
import { Session } from 'node:inspector/promises';
import { relative } from 'node:path';
import { ENGINES } from './engines/index.ts';
import type { WorkloadId } from './types.ts';
import { Counter, makeBody, shapeOf } from './workloads.ts';

export interface ProfileRow {
  fn: string;
  where: string;
  pct: number;
}

export interface ProfileResult {
  engine: string;
  workload: WorkloadId;
  runs: number;
  rows: ProfileRow[];
  /** Inclusive share of tsx's keepNames helper (`__name` and the native name setter it calls). */
  keepNamesPct: number;
}

interface CpuProfile {
  nodes: Array<{ id: number; children?: number[]; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

const root = new URL('../../', import.meta.url).pathname;

function fold(p: CpuProfile, top: number): { rows: ProfileRow[]; keepNamesPct: number } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  let total = 0;
  let keepNames = 0;
  p.samples.forEach((id, i) => {
    const cf = byId.get(id)?.callFrame;
    const dt = p.timeDeltas[i] ?? 0;
    if (!cf || cf.functionName === '(idle)' || cf.functionName === '(program)') return;
    let inNames = false;
    for (let a: number | undefined = id; a !== undefined; a = parent.get(a)) {
      const f = byId.get(a)?.callFrame;
      // The profiler's own start/stop calls are not the engine's time.
      if (f?.url === 'node:inspector') return;
      if (f?.functionName === '__name') inNames = true;
    }
    if (inNames) keepNames += dt;
    const file = cf.url.startsWith('file://') ? relative(root, new URL(cf.url).pathname) : cf.url || '(native)';
    // tsx's transform keeps no useful line numbers, so the file names the place.
    const key = `${cf.functionName || '(anonymous)'}\t${file}${cf.lineNumber > 0 ? `:${cf.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  const rows = [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, v]) => {
      const [fn, where] = k.split('\t');
      return { fn, where, pct: (100 * v) / total };
    });
  return { rows, keepNamesPct: (100 * keepNames) / total };
}

async function main(): Promise<void> {
  const [engine, workload] = process.argv.slice(2) as [string, WorkloadId];
  const adapter = await ENGINES[engine]();
  const shape = shapeOf(workload);
  const runner = await adapter.prepare(shape, makeBody(shape, new Counter()));
  // Enough runs for ~2 s of samples at CodexOS speeds, after a warm-up of the same length.
  // --as-bench: the runs engine/bench.ts times (one warm-up, then 5 runs; E: 100 one-task runs each), JIT warm-up
  // included, profiled from the first run.
  const asBench = process.argv.includes('--as-bench');
  const runs = asBench
    ? (workload === 'E' ? 600 : 6)
    : workload === 'E'
      ? 20_000
      : Math.max(20, Math.round(100_000 / shape.stages.flat().length));
  if (!asBench) for (let i = 0; i < runs; i++) await runner();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  for (let i = 0; i < runs; i++) await runner();
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
  session.disconnect();
  await adapter.close();
  const result: ProfileResult = { engine, workload, runs, ...fold(profile, asBench ? 25 : 12) };
  process.stdout.write(`PROFILE ${JSON.stringify(result)}\n`);
  process.exit(0);
}

await main();
