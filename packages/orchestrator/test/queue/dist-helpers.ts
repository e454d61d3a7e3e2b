import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { OrchestratorConfigInput } from '../../src/config.js';
import { MultiAgentOrchestrator } from '../../src/index.js';
import type { DispatchContext } from '../../src/queue/types.js';
import { freePort } from '../support/net.js';
import { agents } from './fixtures/dist-agents.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..', '..');
/** The `codexos` binary of this checkout. */
export const bin = join(root, 'packages', 'cli', 'bin', 'codexos.js');
export const agentsFile = join(here, 'fixtures', 'dist-agents.ts');

export const newNs = () => `cdx-dist-${randomUUID().slice(0, 8)}`;

/** One attempt's context as the scheduler hands it to a queue (attempt 1, no model, nothing upstream). */
export function dispatchContext(
  agentId: string,
  taskId: string,
  params: Record<string, unknown> = {},
  executionId = `exec-${randomUUID()}`,
): DispatchContext {
  return {
    executionId,
    workflowId: 'wf',
    taskId,
    agentId,
    attempt: 1,
    input: {},
    params,
    prompt: '',
    deps: {},
    outputs: {},
    signal: new AbortController().signal,
    callModel: () => Promise.reject(new Error('no model in this test')),
    recordUsage: () => {},
  };
}

export interface Proc {
  proc: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
  kill(sig?: NodeJS.Signals): Promise<void>;
}

function track(proc: ChildProcess): Proc {
  let out = '';
  proc.stdout?.on('data', (d) => (out += d));
  proc.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  return {
    proc,
    out: () => out,
    exited,
    async kill(sig = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
      await exited;
    },
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `codexos worker` in its own process; resolves once it serves its queues. */
export async function startWorker(
  url: string,
  ns: string,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<Proc> {
  const proc = spawn(
    process.execPath,
    [
      bin,
      'worker',
      '--redis',
      url,
      '--agents',
      agentsFile,
      '--prefix',
      ns,
      '--lock-ms',
      '1000',
      '--heartbeat-ms',
      '200',
      ...extra,
    ],
    { cwd: root, env: { ...process.env, REDIS_URL: url, CDX_TEST_NS: ns, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const p = track(proc);
  // Generous: loading the TypeScript sources takes seconds on a busy machine.
  await waitFor(
    'worker ready',
    () =>
      p.out().includes('serving') ? true : proc.exitCode !== null ? Promise.reject(new Error(p.out())) : undefined,
    90_000,
  );
  return p;
}

/** An orchestrator in its own process running the chain workflow under `executionId`. */
export function startOrchestrator(
  url: string,
  ns: string,
  executionId: string,
  length: number,
  taskMs: number,
  tag: string,
  shape: 'chain' | 'fan' = 'chain',
): Proc {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(here, 'fixtures', 'dist-orchestrator.ts'),
      executionId,
      ns,
      String(length),
      String(taskMs),
      tag,
      shape,
    ],
    { cwd: root, env: { ...process.env, REDIS_URL: url, CDX_TEST_NS: ns }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return track(proc);
}

export function orchestrator(url: string, ns: string, extra: OrchestratorConfigInput = {}): MultiAgentOrchestrator {
  const o = new MultiAgentOrchestrator({
    redis: { url, keyPrefix: ns },
    ...extra,
    store: { leaseMs: 1000, ...extra.store },
    execution: { mode: 'distributed', ...extra.execution },
  });
  for (const a of agents) o.registerAgent(a);
  return o;
}

/** `taskId|pid` entries the fixture agents pushed. */
export async function runs(url: string, ns: string, list = 'runs'): Promise<Array<{ task: string; pid: number }>> {
  const r = new Redis(url);
  try {
    return (await r.lrange(`${ns}:${list}`, 0, -1)).map((s) => {
      const [task, pid] = s.split('|');
      return { task, pid: Number(pid) };
    });
  } finally {
    r.disconnect();
  }
}

export async function readKey(url: string, key: string): Promise<string | null> {
  const r = new Redis(url);
  try {
    return await r.get(key);
  } finally {
    r.disconnect();
  }
}

/** A private redis-server this test may stop and start again on the same port. */
export async function ownRedis(): Promise<{ url: string; start(): Promise<void>; stop(): Promise<void> }> {
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], {
      stdio: 'ignore',
    });
    await waitFor('redis up', () =>
      spawnSync('redis-cli', ['-p', String(port), 'ping'])
        .stdout?.toString()
        .trim() === 'PONG'
        ? true
        : undefined,
    );
  };
  const stop = async () => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, start, stop };
}
