// The engine-overhead benchmark: every (engine, workload) pair in a fresh child process, one Redis for the
// BullMQ peers, then bench/results/engine.md (+ engine/results.json with the raw samples).
// Usage (from bench/): node --import tsx engine/bench.ts [--engines a,b] [--workloads A1000,B] [--report-only]
// With a filter the results are printed, not written, so engine.md always holds one complete run.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINE_LABELS } from './engines/index.ts';
import { redisCommand, startRedis } from './redis.ts';
import { type RunInfo, renderReport } from './report.ts';
import type { PairResult, WorkloadId } from './types.ts';

const here = dirname(fileURLToPath(import.meta.url));
const benchDir = join(here, '..');
const RAW = join(here, 'results.json');
const OUT = join(benchDir, 'results', 'engine.md');
const PAIR_TIMEOUT_MS = 150_000;

export const WORKLOADS: WorkloadId[] = ['A1000', 'B', 'C', 'D', 'E', 'A100', 'A300', 'A2000', 'A10000'];
export const ENGINE_ORDER = Object.keys(ENGINE_LABELS);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function runPair(engine: string, workload: WorkloadId, redisUrl: string): Promise<PairResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'worker.ts'), engine, workload], {
      cwd: benchDir,
      env: { ...process.env, REDIS_URL: redisUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), PAIR_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) return resolve(JSON.parse(line.slice(7)) as PairResult);
      const why = signal === 'SIGKILL' ? `timed out after ${PAIR_TIMEOUT_MS / 1000} s` : `exit ${code}`;
      resolve({ engine, workload, ok: false, error: `${why}: ${err.trim().split('\n').slice(-3).join(' ')}`.slice(0, 300), reps: 0, warmup: false });
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
    const saved = JSON.parse(readFileSync(RAW, 'utf8')) as { info: RunInfo; results: PairResult[] };
    writeFileSync(OUT, renderReport(saved.info, saved.results));
    console.log(`wrote ${OUT}`);
    return;
  }
  const engines = arg('--engines')?.split(',') ?? ENGINE_ORDER;
  const workloads = (arg('--workloads')?.split(',') as WorkloadId[] | undefined) ?? WORKLOADS;
  const partial = engines !== ENGINE_ORDER || workloads !== WORKLOADS;
  const t0 = Date.now();
  const redis = await startRedis();
  const results: PairResult[] = [];
  try {
    for (const w of workloads) {
      for (const e of engines) {
        await redisCommand(redis.port, 'FLUSHALL');
        const r = await runPair(e, w, redis.url);
        results.push(r);
        console.log(`${w.padEnd(7)} ${e.padEnd(22)} ${fmt(r)}`);
      }
    }
  } finally {
    await redis.stop();
  }
  const info: RunInfo = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
    os: `${process.platform} ${release()}`,
    durationS: Math.round((Date.now() - t0) / 1000),
    redis: execFileSync('redis-server', ['--version']).toString().match(/v=(\S+)/)?.[1] ?? '?',
  };
  if (partial) {
    console.log('(filtered run: engine.md not written)');
    return;
  }
  writeFileSync(RAW, `${JSON.stringify({ info, results }, null, 1)}\n`);
  writeFileSync(OUT, renderReport(info, results));
  console.log(`wrote ${OUT} in ${info.durationS} s`);
}

await main();
