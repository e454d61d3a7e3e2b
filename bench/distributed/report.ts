// Renders bench/.out/distributed.json (written by distributed/bench.ts) as .out/distributed.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { outPath } from '../out.ts';

const here = dirname(fileURLToPath(import.meta.url));
const file = outPath('distributed.json');
// biome-ignore lint/suspicious/noExplicitAny: a JSON report of known shape.
const r: any = JSON.parse(readFileSync(file, 'utf8'));
const f = (v: number | undefined, d = 0) => (v === undefined ? '–' : v.toFixed(d));
const peer = (e: string, w: string) => r.peers?.[`${e}/${w}`]?.value as number | undefined;
const row = (label: string, x: Record<string, { value: number; p50Ms?: number; p99Ms?: number }> | undefined) =>
  `| ${label} | ${f(x?.A?.value)} | ${f(x?.B?.value)} | ${f(x?.D?.value, 1)} (p50 ${f(x?.D?.p50Ms)} / p99 ${f(x?.D?.p99Ms)} ms) |`;
const ratio = (a?: number, b?: number) => (a && b ? (a / b).toFixed(2) : '–');

const lines = [
  '## Distributed: CodexOS on BullMQ workers vs raw BullMQ',
  '',
  `Command: \`cd bench && node --import tsx distributed/bench.ts && node --import tsx distributed/report.ts\`. Run ${r.at}, Node ${r.node}, ${r.cores} cores, load average at the end ${r.loadavg?.map((x: number) => x.toFixed(1)).join(' / ')} (the machine was shared: absolute figures are inflated and noisy; compare rows of this run only).`,
  '',
  `Workloads from \`anchors.md\`: A = chain of 1000 no-op tasks, B = start → 1000 → join, D = 100 data-analysis pipelines (50 ms tasks) at once. Median of ${r.reps ?? 3} reps after ${r.warmup ?? 1} warm-up rep(s) per side; CodexOS and raw BullMQ with the same number of worker processes are up at once and their reps alternate, which of them goes first alternating too, so a busy spell on a shared machine hits both alike. CodexOS: orchestrator in the bench process (\`execution.mode: distributed\`, memory store), tasks on 1 or 2 worker processes (\`TaskWorker\`, 200 slots each). "Raw BullMQ, same layout": a client keeping the DAG and adding each stage with addBulk, results through QueueEvents, jobs on 1 or 2 separate worker processes — BullMQ driven by a client that keeps the DAG, as distributed mode is (which hears results on a reply channel instead of QueueEvents). The engine bench's adapters (worker inside the client process) are listed too.`,
  '',
  '| engine | A µs/task | B µs/task | D wf/s |',
  '|---|---:|---:|---:|',
  row('CodexOS distributed, 1 worker process', r.codexos1),
  row('raw BullMQ, same layout, 1 worker process', r.raw1),
  row('CodexOS distributed, 2 worker processes', r.codexos2),
  row('raw BullMQ, same layout, 2 worker processes', r.raw2),
  `| BullMQ FlowProducer (worker in the client process) | ${f(peer('bullmq-flow', 'A1000'))} | ${f(peer('bullmq-flow', 'B'))} | ${f(peer('bullmq-flow', 'D'), 1)} |`,
  `| BullMQ queue + client DAG (worker in the client process) | ${f(peer('bullmq-queue', 'A1000'))} | ${f(peer('bullmq-queue', 'B'))} | ${f(peer('bullmq-queue', 'D'), 1)} |`,
  '',
  `Per-task cost against raw BullMQ used the same way (ratio > 1 = CodexOS slower): A ${ratio(r.codexos1?.A?.value, r.raw1?.A?.value)} (1 worker) / ${ratio(r.codexos2?.A?.value, r.raw2?.A?.value)} (2 workers); B ${ratio(r.codexos1?.B?.value, r.raw1?.B?.value)} / ${ratio(r.codexos2?.B?.value, r.raw2?.B?.value)}; D throughput ratio CodexOS/raw ${ratio(r.codexos1?.D?.value, r.raw1?.D?.value)} / ${ratio(r.codexos2?.D?.value, r.raw2?.D?.value)} (> 1 = CodexOS faster).`,
  '',
  `Orchestrator overhead per task in distributed mode (CPU of the orchestrator process over a run ÷ tasks, process.cpuUsage): A ${f(r.codexos1?.A?.orchestratorCpuUsPerTask)} µs, B ${f(r.codexos1?.B?.orchestratorCpuUsPerTask)} µs, D ${f(r.codexos1?.D?.orchestratorCpuUsPerTask)} µs with 1 worker process; A ${f(r.codexos2?.A?.orchestratorCpuUsPerTask)} µs, B ${f(r.codexos2?.B?.orchestratorCpuUsPerTask)} µs, D ${f(r.codexos2?.D?.orchestratorCpuUsPerTask)} µs with 2. The raw BullMQ client (same layout): A ${f(r.raw1?.A?.clientCpuUsPerTask)} µs, B ${f(r.raw1?.B?.clientCpuUsPerTask)} µs, D ${f(r.raw1?.D?.clientCpuUsPerTask)} µs (1 worker); A ${f(r.raw2?.A?.clientCpuUsPerTask)} µs, B ${f(r.raw2?.B?.clientCpuUsPerTask)} µs, D ${f(r.raw2?.D?.clientCpuUsPerTask)} µs (2).`,
  '',
  '| CPU per task (µs), 1 / 2 worker processes | A | B | D |',
  '|---|---:|---:|---:|',
  ...(
    [
      ['CodexOS orchestrator', 'codexos', 'orchestratorCpuUsPerTask'],
      ['CodexOS worker processes', 'codexos', 'workerCpuUsPerTask'],
      ['Redis (CodexOS run)', 'codexos', 'redisCpuUsPerTask'],
      ['raw BullMQ client', 'raw', 'clientCpuUsPerTask'],
      ['raw BullMQ worker processes', 'raw', 'workerCpuUsPerTask'],
      ['Redis (raw BullMQ run)', 'raw', 'redisCpuUsPerTask'],
    ] as const
  ).map(
    ([label, side, k]) =>
      `| ${label} | ${(['A', 'B', 'D'] as const).map((w) => `${f(r[`${side}1`]?.[w]?.[k])} / ${f(r[`${side}2`]?.[w]?.[k])}`).join(' | ')} |`,
  ),
  '',
  'Where the orchestrator\'s time goes: the engine itself costs a few µs per task (engine section); the rest is Redis I/O. The jobs made ready in one event-loop turn leave in one write (a large fan-out in chunks of 128, one per turn); the attempts of one agent made ready together travel in batch jobs (up to 32 attempts; at least two jobs per worker; never more attempts than a worker has slots, so the CPU-bound tasks below, one slot per worker, go one per job), so a fan-out (B) or a stage of many runs (D) costs Redis one add, one fetch and one completion per batch instead of per task, where raw BullMQ adds a job per task; a job carries only what a worker cannot work out (the task is the job\'s name, the execution and attempt its id, the agent its queue\'s, default keys and empty values are left out) and the run\'s recent outputs, so a short run\'s outputs log is never written to Redis; values travel as JSON when JSON keeps them exactly (else in the stores\' v8 encoding); the orchestrator publishes its events on Redis only while some process listens (none does in this bench). A worker records each result in its execution\'s results hash and publishes it on the orchestrator\'s reply channel as the handler returns, ahead of BullMQ\'s completion, which removes the job (a job handed out again after its worker died returns the recorded result instead of running twice); the results of a fan-out\'s jobs that finish together go as one HSET and one reply message. A chain\'s next step is taken by the worker that ran the step before, without BullMQ\'s at-once second fetch (4 scripts per task, raw BullMQ 5). In A, where each step is a job of its own, worker processes are where CodexOS spends more than raw BullMQ, most with 2 of them on 2 cores: a raw BullMQ worker only returns a value, a CodexOS worker also builds the handler\'s context (input, deps, the execution\'s outputs) and records and publishes the result. Raw BullMQ used the same way hears results through QueueEvents: a blocking XREAD on the events stream, answered once per batch of events (added, waiting, active, completed… for a chain, about three reads per task). Worker and Redis CPU are measured over the same runs (/proc and INFO cpu): all three share the machine\'s cores.',
  '',
  '### Targets',
  '',
  ...(['A', 'B'] as const).flatMap((w) =>
    [1, 2].map((n) => {
      const ours = r[`codexos${n}`]?.[w]?.value as number | undefined;
      const raw = r[`raw${n}`]?.[w]?.value as number | undefined;
      return `- ${w}, ${n} worker${n > 1 ? 's' : ''}: per-task cost ${f(ours)} µs vs raw BullMQ ${f(raw)} µs → ${ours !== undefined && raw !== undefined && ours <= raw ? 'met' : 'missed'} (target: no worse than raw BullMQ used the same way).`;
    }),
  ),
  ...[1, 2].map((n) => {
    const ours = r[`codexos${n}`]?.D?.value as number | undefined;
    const raw = r[`raw${n}`]?.D?.value as number | undefined;
    return `- D, ${n} worker${n > 1 ? 's' : ''}: ${f(ours, 1)} wf/s vs raw BullMQ ${f(raw, 1)} wf/s → ${ours !== undefined && raw !== undefined && ours >= raw ? 'met' : 'missed'}.`;
  }),
  `- CPU-bound, 2 workers vs 1: ${f(r.cpu?.speedup, 2)}× → ${r.cpu?.speedup >= 1.7 ? 'met' : 'missed'} (target ≥ 1.7×); raw BullMQ used the same way in the same run: ${f(r.cpu?.rawSpeedup, 2)}×.`,
  '',
  `Reading: wall times and throughputs move with the load of the machine (load average ${r.loadavg?.map((x: number) => x.toFixed(1)).join(' / ')} at the end of this run); CPU per task moves less. Compare the rows of this run only, and re-run on a quiet machine before reading the absolute figures.`,
  '',
  `CPU-bound scaling: ${r.cpu?.tasks} independent tasks of ${r.cpu?.rounds} rounds of HMAC-SHA-256 (PBKDF2, one native call on the worker's main thread, ≈ 5 ms each), worker concurrency 1: 1 worker process ${f(r.cpu?.w1?.tasksPerSec, 1)} tasks/s, 2 worker processes ${f(r.cpu?.w2?.tasksPerSec, 1)} tasks/s → ${f(r.cpu?.speedup, 2)}× (target ≥ 1.7× on 2 free cores; the orchestrator and Redis share the same 2 cores). Raw BullMQ used the same way (the tasks added at once with addBulk, completions heard through QueueEvents, the same hashing in its worker processes): 1 worker ${f(r.cpu?.raw1?.tasksPerSec, 1)} tasks/s, 2 workers ${f(r.cpu?.raw2?.tasksPerSec, 1)} tasks/s → ${f(r.cpu?.rawSpeedup, 2)}×; CodexOS against raw: ${f(r.cpu?.w1?.tasksPerSec / r.cpu?.raw1?.tasksPerSec, 2)}× (1 worker), ${f(r.cpu?.w2?.tasksPerSec / r.cpu?.raw2?.tasksPerSec, 2)}× (2 workers). ${r.cpuAt ? `Measured at ${r.cpuAt} (load average ${r.cpuLoadavg?.map((x: number) => x.toFixed(1)).join(' / ')}) with \`--cpu-only\`. ` : ''}Both layouts stay up and their reps alternate, so a busy spell hits both alike.`,
  '',
];
writeFileSync(outPath('distributed.md'), `${lines.join('\n')}\n`);
process.stdout.write(lines.join('\n'));
