// Server bench: API throughput (POST /api/executions?wait=true, 1-task workflow, SQLite store) against a bare
// Fastify hello-world in the same run, and live events (100 WebSocket watchers on one 1000-task run).
// Servers run in child processes; autocannon runs here, the watchers in child processes (watchers.ts). Writes
// bench/.out/server.md. Environment: SERVER_BENCH_SECONDS (10), SERVER_BENCH_CONNECTIONS (32; 10 is always run too),
// SERVER_BENCH_WATCHER_PROCS (4), SERVER_BENCH_ONLY=api|live (one part, printed as JSON, nothing written).
// Where the API's time goes: profile.ts (PROFILE_TOP, PROFILE_CALLERS=<function>, PROFILE_INCL=all).
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { outPath } from '../out.ts';

const here = dirname(fileURLToPath(import.meta.url));
const DURATION = Number(process.env.SERVER_BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.SERVER_BENCH_CONNECTIONS ?? 32);
const WATCHERS = 100;

function child(script: string, args: string[] = []): Promise<{ proc: ChildProcess; info: Record<string, any> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(here, script), ...args], {
    cwd: here,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout?.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve({ proc, info: JSON.parse(buf.slice(0, nl)) });
    });
    proc.on('exit', (code) => reject(new Error(`${script} exited ${code}`)));
  });
}

/** Drives one server; CPU per request is the server process's own CPU over the measured window (robust to load). */
async function load(opts: autocannon.Options, server: ChildProcess) {
  await autocannon({ ...opts, duration: 2 }); // warm-up
  server.send('go');
  const r = await autocannon(opts);
  server.send('cpu');
  const { cpuMs } = await new Promise<{ cpuMs: number }>((res) => server.once('message', res as never));
  return {
    rps: r.requests.average,
    total: r.requests.total,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
    cpuUsPerRequest: (cpuMs * 1000) / Math.max(1, r.requests.total),
  };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};

/** Watchers spread over this many processes (the client side must not be what the latency measures). */
const WATCHER_PROCS = Number(process.env.SERVER_BENCH_WATCHER_PROCS ?? 4);

async function liveEvents() {
  const { proc, info } = await child('target.ts', ['live']);
  const base = `127.0.0.1:${info.port}`;
  const start = await fetch(`http://${base}/api/executions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ workflowId: 'wide' }),
  });
  const { executionId } = (await start.json()) as { executionId: string };
  const shares = Array.from({ length: WATCHER_PROCS }, (_, i) =>
    Math.floor(WATCHERS / WATCHER_PROCS) + (i < WATCHERS % WATCHER_PROCS ? 1 : 0),
  );
  const groups = await Promise.all(
    shares.map((n) => child('watchers.ts', [base, executionId, info.token, String(n)]).then((c) => c.proc)),
  );
  const reports = groups.map(
    (g) =>
      new Promise<{ complete: number; events: number; latencies: number[]; cpuMs: number; bytesPerWatcher: number }>((r) =>
        g.once('message', r as never),
      ),
  );
  const goAt = Date.now();
  for (const g of groups) g.send({ goAt });
  proc.send('go');
  const done = await Promise.all(reports);
  proc.send('cpu');
  const cpu = await new Promise<{ cpuMs: number; wallMs: number; lagP50: number; lagP99: number; batches: number }>((r) =>
    proc.once('message', r as never),
  );
  proc.kill('SIGKILL');
  const latencies = done.flatMap((d) => d.latencies);
  const events = done[0].events;
  const complete = done.reduce((n, d) => n + (d.events === events ? d.complete : 0), 0);
  const clientCpuMs = done.reduce((n, d) => n + d.cpuMs, 0);
  const bytesPerWatcher = done[0].bytesPerWatcher;
  return {
    events,
    complete,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    max: pct(latencies, 100),
    cpu,
    clientCpuMs,
    bytesPerWatcher,
  };
}

async function main() {
  // `SERVER_BENCH_ONLY=live`: the live-events part alone, printed as JSON (for working on it; writes nothing).
  if (process.env.SERVER_BENCH_ONLY === 'live') {
    process.stdout.write(`${JSON.stringify({ loadavg: loadavg()[0], ...(await liveEvents()) })}\n`);
    return;
  }
  const t0 = Date.now();
  const la0 = loadavg()[0];
  const hello = await child('hello.ts');
  const h = await load(
    { url: `http://127.0.0.1:${hello.info.port}/`, connections: CONNECTIONS, duration: DURATION },
    hello.proc,
  );
  hello.proc.kill('SIGKILL');

  // Both load shapes: autocannon's default of 10 connections, and 32 (more requests in flight than one process
  // runs at once, so latency there is mostly queueing: by Little's law p99 ≤ 20 ms at 32 in flight needs well over
  // 2000/s).
  const api = await child('target.ts', ['api']);
  const apiLoad = (connections: number) =>
    load(
      {
        url: `http://127.0.0.1:${api.info.port}/api/executions?wait=true`,
        method: 'POST',
        headers: { authorization: `Bearer ${api.info.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ workflowId: 'one', input: { n: 1 } }),
        connections,
        duration: DURATION,
      },
      api.proc,
    );
  const a10 = await apiLoad(10);
  const a = await apiLoad(CONNECTIONS);
  api.proc.send('direct');
  const direct = await new Promise<{
    directPerSec: number;
    directCpuUsPerRun: number;
    direct32PerSec: number;
    direct32CpuUsPerRun: number;
  }>((r) =>
    api.proc.once('message', r as never),
  );
  api.proc.kill('SIGKILL');
  if (process.env.SERVER_BENCH_ONLY === 'api') {
    process.stdout.write(`${JSON.stringify({ loadavg: loadavg()[0], hello: h, a10, a, direct })}\n`);
    return;
  }

  const live = await liveEvents();
  const la1 = loadavg()[0];
  const verdict = (ok: boolean, text: string) => (ok ? `met (${text})` : `**missed** (${text})`);
  const L: string[] = [];
  L.push('# Server: API throughput and live events');
  L.push('');
  L.push('Command: `cd bench && node --import tsx server/bench.ts` (or `node --import tsx run.ts --only server`).');
  L.push(
    `Run: ${new Date(t0).toISOString()}, ${Math.round((Date.now() - t0) / 1000)} s; Node ${process.version}; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; linux ${release()}.`,
  );
  L.push(`1-minute load average at start / end: ${la0.toFixed(2)} / ${la1.toFixed(2)} (the cores are shared with other processes: compare ratios).`);
  L.push(
    `Load: autocannon 9 for ${DURATION} s after a 2 s warm-up, at 10 connections (autocannon's default) and at ${CONNECTIONS}; each server in its own process, the load generator in this one.`,
  );
  L.push(
    `Which load each verdict uses: executions/s at ${CONNECTIONS} connections (enough requests in flight to keep the server busy: its`,
  );
  L.push(
    `ceiling); p99 at 10 connections. At ${CONNECTIONS} in flight, p99 ≤ 20 ms needs ≥ ${Math.ceil((CONNECTIONS / 0.02) * 1.5)}/s or so (Little's law: mean latency =`,
  );
  L.push(`${CONNECTIONS} / throughput, and p99 sits well above the mean), so that p99 is shown for information.`);
  L.push('');
  L.push('| measure | result | target | verdict |');
  L.push('| --- | ---: | ---: | --- |');
  L.push(`| raw Fastify hello-world (the ceiling), ${CONNECTIONS} connections, requests/s | ${h.rps.toFixed(0)} (p99 ${h.p99} ms) | – | – |`);
  L.push(
    `| server CPU per request: hello-world / \`POST /api/executions?wait=true\` (the load-independent figure) | ${h.cpuUsPerRequest.toFixed(0)} / ${a.cpuUsPerRequest.toFixed(0)} µs (${(a.cpuUsPerRequest / h.cpuUsPerRequest).toFixed(1)}×; one core at this cost: ${(1e6 / a.cpuUsPerRequest).toFixed(0)} executions/s) | – | – |`,
  );
  L.push(
    `| the orchestrator alone in the same process (no HTTP), 1-task runs one after another / 32 at once: runs/s; CPU per run | ${direct.directPerSec.toFixed(0)} / ${direct.direct32PerSec.toFixed(0)}; ${direct.directCpuUsPerRun.toFixed(0)} / ${direct.direct32CpuUsPerRun.toFixed(0)} µs (the API adds ${(a.cpuUsPerRequest - direct.direct32CpuUsPerRun).toFixed(0)} µs per request over 32 at once) | – | – |`,
  );
  L.push(
    `| \`POST /api/executions?wait=true\`, 1-task workflow, SQLite, ${CONNECTIONS} connections: executions/s | ${a.rps.toFixed(0)} (${((a.rps / h.rps) * 100).toFixed(0)} % of the ceiling; ${a.errors} errors) | ≥ 2000 | ${verdict(a.rps >= 2000, `${(a.rps / 2000).toFixed(2)}× the target`)} |`,
  );
  L.push(`| same, ${CONNECTIONS} connections: latency p50 / p99 | ${a.p50} / ${a.p99} ms | (information) | – |`);
  L.push(
    `| same, 10 connections: executions/s; latency p50 / p99 | ${a10.rps.toFixed(0)}; ${a10.p50} / ${a10.p99} ms (${a10.errors} errors) | p99 ≤ 20 ms | ${verdict(a10.p99 <= 20, `${(a10.p99 / 20).toFixed(2)}× the limit`)} |`,
  );
  L.push(
    `| live events: watchers that received every event of the 1000-task run (${live.events} events), in order, no gaps | ${live.complete} / ${WATCHERS} | ${WATCHERS} / ${WATCHERS} | ${verdict(live.complete === WATCHERS, `${live.complete}`)} |`,
  );
  L.push(`| live events: delivery latency p50 / p99 / max (event time → watcher) | ${live.p50} / ${live.p99} / ${live.max} ms | p99 ≤ 50 ms | ${verdict(live.p99 <= 50, `${(live.p99 / 50).toFixed(2)}× the limit`)} |`);
  L.push(
    `| live events: server-side fan-out lag p50 / p99 (oldest event of a batch → written to the 100 sockets; ${live.cpu.batches} batches) | ${live.cpu.lagP50} / ${live.cpu.lagP99} ms | – | – |`,
  );
  L.push(
    `| live events: server CPU during the run | ${live.cpu.cpuMs.toFixed(0)} ms CPU over ${live.cpu.wallMs.toFixed(0)} ms (${((live.cpu.cpuMs / live.cpu.wallMs) * 100).toFixed(0)} % of one core); the ${WATCHERS} watchers (${WATCHER_PROCS} processes of ${WATCHERS / WATCHER_PROCS}, compact frames, ${(live.bytesPerWatcher / 1024).toFixed(0)} KiB each) used ${live.clientCpuMs.toFixed(0)} ms CPU in all | – | – |`,
  );
  L.push('');
  L.push('n8n publishes 220 executions/s per instance for comparison. Per request the server verifies the token (SHA-256 + one');
  L.push('indexed read), checks the workflow role, records which version the run is pinned to and the access-audit entry, runs the workflow through');
  L.push("the orchestrator (header, task transitions and result in SQLite) and answers with the run's detail.");
  L.push('');
  L.push('### Where the time goes');
  L.push('');
  L.push('- Throughput is CPU-bound in one process. The orchestrator-alone line is the ceiling for runs in that process');
  L.push('  (header and lease write, task transitions, result, the monitor\'s per-run profile saved to SQLite); the API adds');
  L.push('  HTTP parsing, token check, role check, the pinned-version record and access-audit entry (both committed with the');
  L.push('  other writes of the same event-loop turn in one transaction) and the JSON answer on top. The hello-world');
  L.push('  line is the same box\'s ceiling for a do-nothing route in this run.');
  L.push(`- Live events: the server wrote each batch to all ${WATCHERS} sockets within the fan-out lag above (one serialisation per`);
  L.push(`  batch shared by every watcher). Latency is the receipt time in a watcher minus the event's \`at\`, both read from`);
  L.push(`  this machine's one clock; the watchers run in ${WATCHER_PROCS} processes (\`SERVER_BENCH_WATCHER_PROCS\`) and parse every frame`);
  L.push('  whole, checking each event\'s seq; the rest of the delivery latency is the time the processes waited for a CPU.');
  L.push(`  The load average (${la0.toFixed(0)}–${la1.toFixed(0)} runnable processes on ${cpus().length} cores) means each process got a small`);
  L.push('  share of a core, so the absolute figures here are far from what an idle machine gives; the ratios and the');
  L.push('  completeness check (every watcher got every event, in order) are what this run can vouch for.');
  const md = `${L.join('\n')}\n`;
  writeFileSync(outPath('server.md'), md);
  process.stdout.write(md);
}

await main();
process.exit(0);
