// The cost of watching: workloads A (chain of 1000 no-op tasks) and B (1000-wide fan-out/in) through the CodexOS
// engine with monitoring off and on, in one process, reps interleaved. "on" = enableMetrics + enableProfiling +
// enableTracing (global OTel provider, i.e. no SDK installed) + resource sampling, as a user gets by default.
// Two figures per mode: time until executeWorkflow resolves (what the caller waits for), and time until the
// monitor's end-of-run analysis (profile, critical path, insights, anomalies, metrics) has also finished.
//
//   cd bench && node --import tsx monitor/overhead.ts [--rounds 3] [--warmup 1] [--out .out/monitor.md]
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { MultiAgentOrchestrator } from '../../packages/orchestrator/src/index.ts';
import { ExecutionMonitor } from '../../packages/orchestrator/src/monitor/index.ts';
import type { Shape } from '../engine/types.ts';
import { Counter, chain, expectedOutput, fanOutIn, makeBody, taskCount } from '../engine/workloads.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const ROUNDS = Number(arg('rounds', '3'));
const REPS = 5;
const WARMUP = Number(arg('warmup', '1'));
const OUT = arg('out', '');
const CHILD = arg('child', '');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const SHAPES: Record<string, { label: string; shape: Shape }> = {
  A: { label: 'A (chain of 1000)', shape: chain(1000) },
  B: { label: 'B (1 → 1000 → 1)', shape: fanOutIn(1000) },
};

/** `listen`: the same events subscribed by empty listeners — the engine's cost of emitting them, without the monitor. */
type Mode = 'off' | 'listen' | 'on';

interface ChildResult {
  resolveUs: number;
  analysedUs: number;
  cpuUs: number;
}

/** One fresh process per (workload, mode), like the engine harness: 1 warm-up, then 5 measured reps. */
async function child(workload: string, mode: Mode): Promise<ChildResult> {
  const { shape } = SHAPES[workload];
  const counter = new Counter();
  const orchestrator = new MultiAgentOrchestrator({
    store: { type: 'memory' },
    workflow: { maxTasks: 20_000, maxDepth: 20_000, maxConcurrency: 5_000 },
    monitoring: { enableMetrics: false, enableProfiling: false, enableTracing: false },
  });
  const body = makeBody(shape, counter);
  orchestrator.registerAgent({ id: 'noop', name: 'noop', handler: (ctx) => body(Object.values(ctx.deps) as number[]) });
  const monitor =
    mode === 'on'
      ? new ExecutionMonitor(orchestrator.bus, { enableMetrics: true, enableProfiling: true, enableTracing: true }, { store: orchestrator.store })
      : undefined;
  if (mode === 'listen') {
    // The events the monitor subscribes to by default (no per-task event: tasks come with the final result).
    for (const e of ['workflow:started', 'task:retrying', 'model:call', 'model:rate-limited', 'workflow:completed', 'workflow:failed', 'workflow:cancelled'] as const) {
      orchestrator.bus.on(e, () => {});
    }
  }
  const tasks = shape.stages.flatMap((stage, s) => stage.map((id) => ({ id, name: id, agentId: 'noop', dependencies: s === 0 ? [] : shape.stages[s - 1] })));
  const def = orchestrator.prepareWorkflow({ id: `bench-${workload}`, name: 'bench', version: '1', tasks });
  const n = taskCount(shape);
  const last = shape.stages[shape.stages.length - 1][0];
  const resolve: number[] = [];
  const analysed: number[] = [];
  const cpu: number[] = [];
  for (let r = 1 - WARMUP; r <= REPS; r++) {
    const before = counter.executed;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const ex = await orchestrator.executeWorkflow(def);
    const t1 = performance.now();
    await monitor?.idle();
    const t2 = performance.now();
    const c = process.cpuUsage(c0);
    if (ex.status !== 'completed' || ex.tasks[last].output !== expectedOutput(shape)) throw new Error(`${workload}/${mode}: wrong result`);
    if (counter.executed - before !== n) throw new Error(`${workload}/${mode}: not every task ran`);
    if (r <= 0) continue; // warm-up
    resolve.push(((t1 - t0) * 1000) / n);
    analysed.push(((t2 - t0) * 1000) / n);
    cpu.push((c.user + c.system) / n);
  }
  if (monitor) {
    const [p] = await monitor.profiles({ limit: 1 });
    if (!p || p.completed !== n) throw new Error(`${workload}: monitor profile missing or incomplete`);
    await monitor.close();
  }
  await orchestrator.close();
  return { resolveUs: median(resolve), analysedUs: median(analysed), cpuUs: median(cpu) };
}

if (CHILD) {
  const [workload, mode] = CHILD.split(':');
  process.stdout.write(JSON.stringify(await child(workload, mode as Mode)));
} else {
  const { execFileSync } = await import('node:child_process');
  const self = fileURLToPath(import.meta.url);
  const run = (w: string, m: string): ChildResult =>
    JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', self, '--child', `${w}:${m}`, '--warmup', String(WARMUP)], { encoding: 'utf8' }));
  const rows: string[] = [];
  const loadBefore = loadavg()[0];
  for (const w of Object.keys(SHAPES)) {
    const res: Record<Mode, ChildResult[]> = { off: [], listen: [], on: [] };
    for (let r = 0; r < ROUNDS; r++) for (const m of (r % 2 ? ['on', 'listen', 'off'] : ['off', 'listen', 'on']) as Mode[]) res[m].push(run(w, m));
    const med = (m: Mode, k: keyof ChildResult) => median(res[m].map((x) => x[k]));
    const pct = (on: number, off: number) => `${on >= off ? '+' : ''}${(((on - off) / off) * 100).toFixed(0)} %`;
    const f = (v: number) => v.toFixed(2);
    const [offR, lisR, onR, onA, offC, lisC, onC] = [
      med('off', 'resolveUs'),
      med('listen', 'resolveUs'),
      med('on', 'resolveUs'),
      med('on', 'analysedUs'),
      med('off', 'cpuUs'),
      med('listen', 'cpuUs'),
      med('on', 'cpuUs'),
    ];
    rows.push(
      `| ${SHAPES[w].label} | ${f(offR)} | ${f(lisR)} (${pct(lisR, offR)}) | ${f(onR)} (${pct(onR, offR)}) | ${f(onA)} (${pct(onA, med('off', 'analysedUs'))}) | ${f(offC)} / ${f(lisC)} / ${f(onC)} (${pct(onC, offC)}; monitor alone ${pct(onC, lisC)}) |`,
    );
  }
  const loadAfter = loadavg()[0];
  const md = [
    '# Cost of watching: engine overhead with monitoring off / on',
    '',
    `Node ${process.version}, load average (1 min) ${loadBefore.toFixed(2)} before / ${loadAfter.toFixed(2)} after on ${(await import('node:os')).cpus().length} cores. Each cell: median over ${ROUNDS} fresh processes (off/listen/on alternating) of the median of ${REPS} reps after ${WARMUP} warm-up run(s); µs per task.`,
    '"on" = enableMetrics + enableProfiling + enableTracing (no OTel SDK installed, so spans are skipped at the root) + resource sampling every 1 s, monitor attached to the orchestrator\'s bus with its StateStore. The monitor listens to no per-task event: it takes each run in from workflow:started (the DAG) and the final ExecutionResult.',
    '"run resolves" is what the caller of executeWorkflow waits for; "incl. analysis" also waits for the monitor\'s end-of-run work (critical path, bottlenecks, insights, anomalies, metrics), which runs on the next macrotask.',
    'Budget: monitoring may add at most 20 % per task.',
    '',
    '"listen" subscribes empty listeners to the same events as the monitor: it isolates what the engine pays to build and emit those payloads (mostly workflow:started with the DAG), from what the monitor itself adds.',
    '',
    '| workload | off µs/task | listen (empty listeners) | on, run resolves | on, incl. analysis | CPU µs/task off / listen / on |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Command: \`cd bench && node --import tsx monitor/overhead.ts --rounds ${ROUNDS} --warmup ${WARMUP}\``,
    '',
  ].join('\n');
  process.stdout.write(md);
  if (OUT) writeFileSync(OUT, md);
}
