// The engine-overhead benchmark: every (engine, workload) pair in a fresh child process, one Redis for the
// BullMQ peers, then bench/.out/engine.md (+ .out/engine.json with the raw samples).
// Usage (from bench/): node --import tsx engine/bench.ts [--engines a,b] [--workloads A1000,B] [--profile]
//                      [--report-only]
// With a filter the results are printed, not written, so engine.md always holds one complete run.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINE_LABELS } from './engines/index.ts';
import { median } from './measure.ts';
import { redisCommand, startRedis } from './redis.ts';
import type { ProfileResult } from './profile.ts';
import { type RunInfo, renderReport } from './report.ts';
import type { PairResult, WorkloadId } from './types.ts';
import { outPath } from '../out.ts';

const here = dirname(fileURLToPath(import.meta.url));
const benchDir = join(here, '..');
const RAW = outPath('engine.json');
const OUT = outPath('engine.md');
const PAIR_TIMEOUT_MS = 120_000;
/** N=10 000 pairs are capped harder to keep the whole bench near 10 minutes; a kill is reported as a lower bound. */
const A10000_TIMEOUT_MS = 60_000;
/** At N=10 000 a peer whose N=2000 run took longer than this gets one cold run (its runs take tens of seconds). */
const SINGLE_IF_A2000_RUN_MS = 2_000;

export const WORKLOADS: WorkloadId[] = ['A1000', 'B', 'C', 'D', 'E', 'A100', 'A300', 'A2000', 'A10000'];
export const ENGINE_ORDER = Object.keys(ENGINE_LABELS);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function runPair(engine: string, workload: WorkloadId, redisUrl: string, single: boolean): Promise<PairResult> {
  const timeoutMs = workload === 'A10000' ? A10000_TIMEOUT_MS : PAIR_TIMEOUT_MS;
  return new Promise((resolve) => {
    const args = ['--import', 'tsx', join(here, 'worker.ts'), engine, workload, ...(single ? ['--single'] : [])];
    const child = spawn(process.execPath, args, {
      cwd: benchDir,
      env: { ...process.env, REDIS_URL: redisUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let preparedAt = 0;
    child.stdout.on('data', (d) => {
      out += d;
      if (!preparedAt && out.includes('PREPARED\n')) preparedAt = Date.now();
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) return resolve(JSON.parse(line.slice(7)) as PairResult);
      if (signal === 'SIGKILL') {
        const runs = out.split('\n').filter((l) => l.startsWith('RUN ')).map((l) => l.split(' '));
        if (runs.length > 0 && workload.startsWith('A')) {
          // Killed during a later rep: keep the runs that finished (the warm-up only if nothing else did).
          const reps = runs.filter((r) => r[2] === 'rep');
          const used = (reps.length ? reps : runs).map((r) => (Number(r[1]) * 1000) / Number(workload.slice(1)));
          const note = `killed after ${timeoutMs / 1000} s; ${used.length} run(s) kept${reps.length ? '' : ' (the warm-up)'}`;
          return resolve({ engine, workload, ok: true, reps: used.length, warmup: reps.length > 0, note, value: median(used), samples: used });
        }
        // Only the time since the workflow was built counts towards the lower bound of one run.
        const runMs = preparedAt ? Date.now() - preparedAt : 0;
        const error = `killed after ${timeoutMs / 1000} s, ${(runMs / 1000).toFixed(0)} s into its ${single ? 'only' : 'first'} run`;
        return resolve({ engine, workload, ok: false, error, reps: 0, warmup: false, timedOutMs: runMs });
      }
      const error = `exit ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`.slice(0, 300);
      resolve({ engine, workload, ok: false, error, reps: 0, warmup: false });
    });
  });
}

/** CPU profile of CodexOS's measured runs, in a child of its own (never during a timed pair). */
function runProfile(engine: string, workload: WorkloadId): Promise<ProfileResult | undefined> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'profile.ts'), engine, workload], {
      cwd: benchDir,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), PAIR_TIMEOUT_MS);
    child.on('close', () => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('PROFILE '));
      resolve(line ? (JSON.parse(line.slice(8)) as ProfileResult) : undefined);
    });
  });
}

function fmt(r: PairResult): string {
  if (!r.ok) return `FAILED ${r.error}`;
  const extra = r.workload === 'D' ? ` p50 ${r.p50Ms?.toFixed(1)} ms p99 ${r.p99Ms?.toFixed(1)} ms` : '';
  return `${r.value?.toFixed(2)}${extra} (${r.reps} reps${r.note ? `; ${r.note}` : ''}, ${((r.wallMs ?? 0) / 1000).toFixed(1)} s)`;
}

async function main(): Promise<void> {
  if (process.argv.includes('--report-only')) {
    const saved = JSON.parse(readFileSync(RAW, 'utf8')) as { info: RunInfo; results: PairResult[]; profiles?: ProfileResult[] };
    writeFileSync(OUT, renderReport(saved.info, saved.results, saved.profiles ?? []));
    console.log(`wrote ${OUT}`);
    return;
  }
  const engines = arg('--engines')?.split(',') ?? ENGINE_ORDER;
  const workloads = (arg('--workloads')?.split(',') as WorkloadId[] | undefined) ?? WORKLOADS;
  const partial = engines !== ENGINE_ORDER || workloads !== WORKLOADS;
  const t0 = Date.now();
  const load0 = loadavg()[0];
  const redis = await startRedis();
  const results: PairResult[] = [];
  try {
    for (const w of workloads) {
      for (const e of engines) {
        await redisCommand(redis.port, 'FLUSHALL');
        const a2000 = results.find((r) => r.engine === e && r.workload === 'A2000');
        const slow = !!a2000 && (!a2000.ok || (a2000.value ?? 0) * 2000 > SINGLE_IF_A2000_RUN_MS * 1000);
        const r = await runPair(e, w, redis.url, w === 'A10000' && slow);
        results.push(r);
        console.log(`${w.padEnd(7)} ${e.padEnd(22)} ${fmt(r)}`);
      }
    }
  } finally {
    await redis.stop();
  }
  const profiles: ProfileResult[] = [];
  if (!partial || process.argv.includes('--profile')) {
    for (const e of ['codexos-memory', 'codexos-sqlite'].filter((x) => engines.includes(x))) {
      for (const w of ['A1000', 'E'] as WorkloadId[]) {
        const p = await runProfile(e, w);
        if (p) profiles.push(p);
        console.log(`profile ${e} ${w}: ${p ? p.rows.slice(0, 3).map((r) => `${r.fn} ${r.pct.toFixed(1)}%`).join(', ') : 'failed'}`);
      }
    }
  }
  const info: RunInfo = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
    os: `${process.platform} ${release()}`,
    durationS: Math.round((Date.now() - t0) / 1000),
    redis: execFileSync('redis-server', ['--version']).toString().match(/v=(\S+)/)?.[1] ?? '?',
    load: [load0, loadavg()[0]],
    codexos: existsSync(new URL('../../packages/orchestrator/dist/index.js', import.meta.url))
      ? 'its build (packages/orchestrator/dist, compiled by tsc)'
      : 'its TypeScript sources through tsx',
  };
  if (partial) {
    console.log('(filtered run: engine.md not written)');
    return;
  }
  writeFileSync(RAW, `${JSON.stringify({ info, results, profiles }, null, 1)}\n`);
  writeFileSync(OUT, renderReport(info, results, profiles));
  console.log(`wrote ${OUT} in ${info.durationS} s`);
}

await main();
