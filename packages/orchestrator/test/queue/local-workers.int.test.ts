import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentDefinition } from '../../src/agents/types.js';
import { parseConfig } from '../../src/config.js';
import { EventBus, type OrchestratorEvents } from '../../src/events.js';
import { BullMQQueue } from '../../src/queue/bullmq/bullmq-queue.js';
import { redisTarget } from '../../src/queue/bullmq/connection.js';
import { distKeys } from '../../src/queue/bullmq/keys.js';
import { LocalWorkers } from '../../src/queue/bullmq/local-workers.js';
import type { DistributedPoolState } from '../../src/queue/bullmq/pool-controller.js';
import { agentsFile, bin, dispatchContext, runs, startWorker, waitFor } from './dist-helpers.js';

const url = process.env.REDIS_URL;
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => {});
});

const gated: AgentDefinition = { id: 'gated', handler: () => 'runs on the local workers' };

async function setup(lockMs: number) {
  const ns = `cdx-local-${randomUUID().slice(0, 8)}`;
  const target = { ...redisTarget(url), prefix: ns };
  const bus = new EventBus();
  const seen: Array<{ type: string; payload: { agentId: string; instanceId?: string; reason?: string } }> = [];
  for (const type of ['agent:scaled', 'agent:unhealthy', 'agent:recovered'] as const)
    bus.on(type, (payload: OrchestratorEvents[typeof type]) => seen.push({ type, payload }));
  const cfg = parseConfig({
    agents: { minAgents: 1, maxAgents: 6, scaleUpThreshold: 80, scaleDownThreshold: 20, healthCheckInterval: 500 },
    execution: {
      mode: 'distributed',
      localWorkers: {
        min: 1,
        max: 3,
        concurrency: 2,
        command: [process.execPath, bin],
        agents: agentsFile,
        args: ['--only', 'gated', '--lock-ms', String(lockMs)],
      },
    },
  });
  // The pool is ticked by the test; the processes are real `codexos worker` children of this one.
  const queue = new BullMQQueue(target, cfg.execution, { agents: cfg.agents, bus, autoStart: false });
  await queue.ready();
  closers.push(() => queue.close());
  const redis = new Redis(url!);
  closers.push(async () => redis.disconnect());
  const pool = queue.pool!;
  const alive = (s: DistributedPoolState) => s.local?.processes.filter((p) => p.state !== 'stopping').length ?? 0;
  const running = (s: DistributedPoolState) => s.local?.processes.filter((p) => p.state === 'running').length ?? 0;
  /** Ticks until `done` holds, recording the live process count of every tick. */
  const tickUntil = async (what: string, done: (s: DistributedPoolState) => boolean, counts: number[]) => {
    const r = await waitFor(
      what,
      async () => {
        const s = await pool.tick();
        counts.push(alive(s));
        return done(s) ? s : undefined;
      },
      300_000,
    );
    return r;
  };
  return { ns, queue, pool, bus, seen, redis, alive, running, tickUntil };
}

describe.skipIf(!url)('the agent pool starts and stops local worker processes (real processes, real Redis)', () => {
  it('scales processes up under load, down when idle (graceful), within min and max', async () => {
    // A long job lock: on a loaded machine a short one lets BullMQ hand a slow-renewing task to a second process.
    const { ns, queue, seen, redis, running, tickUntil } = await setup(15_000);
    const counts: number[] = [];
    await tickUntil('the first process serves', (s) => running(s) === 1 && s.agents.length === 1, counts);
    expect(counts.every((n) => n === 1)).toBe(true);

    const exec = randomUUID();
    const tasks = Array.from({ length: 10 }, (_, i) =>
      Promise.resolve(queue.run(dispatchContext('gated', `t${i}`, { tag: ns }, exec), gated)),
    );
    for (const t of tasks) t.catch(() => {}); // awaited below; a failed test must not leave them unhandled
    counts.length = 0;
    const up = await tickUntil('three processes serve', (s) => running(s) === 3, counts);
    // Never above max; instances grew toward the backlog, capped at maxAgents.
    expect(Math.max(...counts)).toBe(3);
    expect(up.agents[0].instances).toBe(6);
    expect(up.local!.processes).toHaveLength(3);
    const pids = new Set(up.local!.processes.map((p) => p.pid));
    // Six slots busy across the three processes (2 each), the rest waiting.
    await tickUntil('six tasks running', (s) => s.agents[0].active === 6, counts);

    await redis.set(`${ns}:open`, '1');
    const out = await Promise.all(tasks);
    expect(out).toHaveLength(10);
    for (const pid of out) expect(pids.has(pid as number)).toBe(true);
    counts.length = 0;
    const down = await tickUntil('back to one process', (s) => s.local!.processes.length === 1, counts);
    expect(Math.min(...counts)).toBe(1);
    expect(down.local!.restarts).toBe(0);
    // The stopped processes exited by themselves once their tasks were done (the agents' module holds a Redis
    // client open): none had to be killed after stopGraceMs.
    expect(down.local!.forced).toBe(0);
    // Every task ran once and finished: the stopped processes finished what they had before exiting.
    expect((await runs(url!, ns)).length).toBe(10);
    expect((await runs(url!, ns, 'done')).length).toBe(10);
    expect(seen.filter((e) => e.type === 'agent:unhealthy' && e.payload.reason?.includes('unasked'))).toEqual([]);
    const scaled = seen
      .filter((e) => e.type === 'agent:scaled')
      .map((e) => e.payload as unknown as { from: number; to: number });
    expect(scaled[0]).toMatchObject({ from: 1 });
    expect(Math.max(...scaled.map((e) => e.to))).toBe(6);
    expect(scaled[scaled.length - 1].to).toBeLessThanOrEqual(2);
  }, 400_000);

  it("a live process's failure of its own work reaches the orchestrator as an error event", async () => {
    const { ns, bus, redis, running, tickUntil } = await setup(15_000);
    const errors: Array<OrchestratorEvents['error']> = [];
    bus.on('error', (p: OrchestratorEvents['error']) => errors.push(p));
    await tickUntil('the first process serves', (s) => running(s) === 1, []);
    // The pool's plan holding a string: the process's read of it, on its next heartbeat, fails with WRONGTYPE.
    await redis.set(distKeys(ns).plan, 'not a hash');
    const e = await waitFor(
      'the forwarded failure',
      () => errors.find((x) => x.error.message.includes("could not read the pool's plan")),
      60_000,
    );
    expect(e).toMatchObject({ source: 'pool', error: { code: 'CDX_ERR_QUEUE' } });
    expect(e.error.message).toMatch(/^worker \S+ could not read the pool's plan: WRONGTYPE/);
  }, 120_000);

  it('a crashed process is reported unhealthy, replaced, its task finished elsewhere; the replacement recovered', async () => {
    // The job lock decides how soon the dead process's task is handed on.
    const { ns, queue, seen, redis, running, tickUntil } = await setup(3000);
    const counts: number[] = [];
    await tickUntil('the first process serves', (s) => running(s) === 1 && s.agents.length === 1, counts);
    const run = Promise.resolve(queue.run(dispatchContext('gated', 'only', { tag: ns }, randomUUID()), gated));
    run.catch(() => {});
    const first = await waitFor('the task started', async () => (await runs(url!, ns))[0]);
    process.kill(first.pid, 'SIGKILL');
    counts.length = 0;
    const recovered = () => seen.filter((e) => e.type === 'agent:recovered');
    const after = await tickUntil('the replacement serves', () => recovered().length > 0, counts);
    expect(after.local!.restarts).toBe(1);
    // A task waiting with no process serving it may scale the pool up meanwhile, never past max.
    expect(Math.max(...counts)).toBeLessThanOrEqual(3);
    const unhealthy = seen.filter((e) => e.type === 'agent:unhealthy');
    expect(unhealthy).toHaveLength(1);
    expect(unhealthy[0].payload).toMatchObject({ agentId: 'gated' });
    expect(unhealthy[0].payload.reason).toContain('SIGKILL');
    const replacement = after.local!.processes.find((p) => p.workerId === recovered()[0].payload.instanceId);
    expect(replacement).toMatchObject({ state: 'running' });
    expect(recovered()).toHaveLength(1);
    expect(replacement!.pid).not.toBe(first.pid);

    await redis.set(`${ns}:open`, '1');
    // BullMQ's stall recovery hands the dead process's task on; it finishes once, not on the dead process.
    const pid = await run;
    expect(pid).not.toBe(first.pid);
    expect((await runs(url!, ns, 'done')).map((r) => r.pid)).toEqual([pid]);
  }, 400_000);
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!url)('local worker processes whose orchestrator is SIGKILLed', () => {
  it('exit on their own, and the task one of them held runs on another worker', async () => {
    const ns = `cdx-orphan-${randomUUID().slice(0, 8)}`;
    const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'local-pool-orchestrator.ts');
    // Two processes, a 1 s stop grace: the one running the held task must give it up, not wait for it.
    const orch = spawn(process.execPath, ['--import', 'tsx', fixture, ns, '2', '1000'], {
      env: { ...process.env, REDIS_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    orch.stdout.on('data', (d) => (out += d));
    orch.stderr.on('data', (d) => (out += d));
    closers.push(async () => orch.kill('SIGKILL'));
    const line = await waitFor(
      'the orchestrator reports its local workers',
      () => (orch.exitCode !== null ? Promise.reject(new Error(out)) : /pids ([\d,]+)/.exec(out)?.[1]),
      240_000,
    );
    const pids = line.split(',').map(Number);
    expect(pids).toHaveLength(2);
    for (const pid of pids) closers.push(async () => alive(pid) && process.kill(pid, 'SIGKILL'));
    expect(pids.every(alive)).toBe(true);
    const held = (await runs(url!, ns))[0];
    expect(pids).toContain(held.pid);

    orch.kill('SIGKILL');
    let left = pids;
    for (let i = 0; i < 600 && left.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = left.filter(alive);
    }
    expect(left).toEqual([]);

    // The held task was not finished; BullMQ's stall check hands it to the next worker, where it runs once.
    expect(await runs(url!, ns, 'done')).toEqual([]);
    const next = await startWorker(url!, ns, ['--only', 'gated']);
    closers.push(() => next.kill());
    const r = new Redis(url!);
    closers.push(async () => r.disconnect());
    await r.set(`${ns}:open`, '1');
    const done = await waitFor('the held task finishes elsewhere', async () => {
      const d = await runs(url!, ns, 'done');
      return d.length ? d : undefined;
    });
    expect(done).toEqual([{ task: 'held', pid: next.proc.pid }]);
  }, 400_000);
});

describe('local worker processes that cannot start', () => {
  it('are reported with the reason and restarted ever more slowly, not in a tight loop', async () => {
    const bus = new EventBus();
    const unhealthy: Array<OrchestratorEvents['agent:unhealthy']> = [];
    bus.on('agent:unhealthy', (e) => unhealthy.push(e));
    const forgotten: string[] = [];
    const lw = new LocalWorkers(
      parseConfig({
        execution: { localWorkers: { max: 2, min: 1, command: ['/nonexistent/codexos-binary'] } },
      }).execution.localWorkers!,
      { ...redisTarget('redis://:s3cret@127.0.0.1:1'), prefix: 'cdx-none' },
      { heartbeatMs: 100, bus, knownAgents: () => ['a'], forget: (id) => forgotten.push(id) },
    );
    const died = (n: number) => waitFor(`death ${n}`, () => (unhealthy.length >= n ? true : undefined));
    const started: number[] = [];
    const tick = () => {
      lw.reconcile(1, []);
      started.push(lw.state().processes.length);
    };
    try {
      tick(); // starts one
      await died(1);
      expect(unhealthy[0]).toMatchObject({ agentId: 'a' });
      expect(unhealthy[0].reason).toContain('ENOENT');
      expect(unhealthy[0].reason).not.toContain('s3cret');
      expect(forgotten).toEqual([unhealthy[0].instanceId]);
      tick(); // held back one tick
      tick(); // starts again
      await died(2);
      tick(); // held back two ticks
      tick();
      tick(); // starts again
      await died(3);
      expect(started).toEqual([1, 0, 1, 0, 0, 1]);
      expect(lw.state().restarts).toBe(3);
    } finally {
      await lw.close();
    }
  });
});
