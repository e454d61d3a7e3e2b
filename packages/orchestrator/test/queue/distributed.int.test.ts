import { randomUUID } from 'node:crypto';
import { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, type MultiAgentOrchestrator } from '../../src/index.js';
import type { BullMQQueue } from '../../src/queue/bullmq/bullmq-queue.js';
import { distKeys, jobIdOf } from '../../src/queue/bullmq/keys.js';
import { freePort } from '../support/net.js';
import {
  newNs,
  orchestrator,
  ownRedis,
  type Proc,
  readKey,
  runs,
  startOrchestrator,
  startWorker,
  waitFor,
} from './dist-helpers.js';
import { chain, fan } from './fixtures/workflows.js';

const url = process.env.REDIS_URL;
const completedCount = async (o: MultiAgentOrchestrator, id: string, task: string) =>
  (await o.history(id)).filter((t) => t.taskKey === task && t.status === 'completed').length;

// Two `codexos worker` processes shared by the tests (starting one costs seconds); each test records under its
// own tag. The worker-kill test runs last because it takes one of them away.
describe.skipIf(!url)('distributed execution (real Redis, `codexos worker` processes)', () => {
  const ns = newNs();
  let w1: Proc;
  let w2: Proc;
  let o: MultiAgentOrchestrator;
  const tag = () => `${ns}:${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    o = orchestrator(url!, ns, {
      // Four slots per worker from the start (the workers' own concurrency), so tasks ready together batch.
      agents: { minAgents: 8, maxAgents: 8 },
      execution: {
        mode: 'distributed',
        flow: {
          keyed: { key: 'params.customer', keyConcurrency: 1 },
          limited: { concurrency: 1 },
          work: { priority: 'params.tier == "gold" ? 1 : 5' },
        },
      },
    });
    // Connecting publishes the flow rules the workers read.
    await o.queue.ready();
    [w1, w2] = await Promise.all([
      startWorker(url!, ns, ['--concurrency', '4']),
      startWorker(url!, ns, ['--concurrency', '4']),
    ]);
  }, 120_000);
  afterAll(async () => {
    await o?.close();
    await Promise.allSettled([w1?.kill('SIGKILL'), w2?.kill('SIGKILL')]);
  });

  /** Resumes a run as soon as the lease of the orchestrator that drove it lapses. */
  const resumeOnceFree = (id: string) =>
    waitFor('lease lapsed and run resumed', async () => {
      try {
        return await o.resume(id);
      } catch (e) {
        if ((e as { code?: string }).code === ErrorCodes.EXECUTION_RUNNING) return undefined;
        throw e;
      }
    });

  /** Jobs added to the `plain` agent's queue so far (BullMQ's `added` events). */
  const plainJobsAdded = async () => {
    const c = new Redis(url!);
    try {
      const events = await c.xrange(`${distKeys(ns).bullPrefix}:agent.plain:events`, '-', '+');
      return events.filter(([, f]) => f[1] === 'added').length;
    } finally {
      c.disconnect();
    }
  };

  it('spreads the tasks of one workflow over two worker processes; dependents see stored results', async () => {
    const r = await o.executeWorkflow(fan(12, 150, tag()));
    expect(r.status).toBe('completed');
    const pids = new Set(Array.from({ length: 12 }, (_, i) => (r.tasks[`f${i}`].output as { pid: number }).pid));
    expect(pids).toEqual(new Set([w1.proc.pid, w2.proc.pid]));
    // The join ran after all twelve outputs were stored and passed to it.
    expect((r.tasks.join.output as { n: number }).n).toBe(13);
    const stored = await o.getExecution(r.executionId);
    expect(stored?.header.status).toBe('completed');
    expect(stored?.tasks.get('join')?.status).toBe('completed');
  });

  it('per-key concurrency holds across two workers while other keys run in parallel', async () => {
    const t = tag();
    const tasks = Array.from({ length: 8 }, (_, i) => ({
      id: `k${i}`,
      agentId: 'keyed',
      input: { customer: i % 2 ? 'acme' : 'globex', ms: 150, tag: t },
    }));
    const r = await o.executeWorkflow({ id: 'keys', name: 'keys', tasks });
    expect(r.status).toBe('completed');
    expect(await readKey(url!, `${t}:max:acme`)).toBe('1');
    expect(await readKey(url!, `${t}:max:globex`)).toBe('1');
    expect(Number(await readKey(url!, `${t}:max:all`))).toBe(2);
    expect(new Set((await runs(url!, t)).map((x) => x.task)).size).toBe(8);
  });

  it('per-agent concurrency holds across two workers', async () => {
    const t = tag();
    // Eight ready at once, enough to batch if the limit allowed it (the pool knows both workers' four slots):
    // BullMQ counts its limit in jobs.
    await (o.queue as BullMQQueue).pool!.tick();
    const tasks = Array.from({ length: 8 }, (_, i) => ({
      id: `l${i}`,
      agentId: 'limited',
      input: { customer: `c${i}`, ms: 100, tag: t },
    }));
    const r = await o.executeWorkflow({ id: 'limited', name: 'limited', tasks });
    expect(r.status).toBe('completed');
    expect(await readKey(url!, `${t}:max:all`)).toBe('1');
    expect((await runs(url!, t)).length).toBe(8);
  });

  it('priority from the flow rule reaches the BullMQ job', async () => {
    const executionId = `prio-${randomUUID()}`;
    const run = o.executeWorkflow(
      {
        id: 'prio',
        name: 'prio',
        tasks: [
          { id: 'gold', agentId: 'work', input: { tier: 'gold', ms: 400, tag: tag() } },
          { id: 'silver', agentId: 'work', input: { tier: 'silver', ms: 400, tag: tag() } },
        ],
      },
      { executionId },
    );
    // Read while the jobs run: a completed job is removed.
    const q = (o.queue as BullMQQueue).agentQueue('work');
    const prio = async (task: string) => (await Job.fromId(q, jobIdOf(executionId, task, undefined, 1)))?.opts.priority;
    const both = await waitFor('both jobs added', async () => {
      const p = [await prio('gold'), await prio('silver')];
      return p.every((v) => v !== undefined) ? p : undefined;
    });
    expect(both).toEqual([1, 5]);
    expect((await run).status).toBe('completed');
  });

  it('cancellation reaches the task running on a worker', async () => {
    const t = tag();
    const ac = new AbortController();
    const run = o.executeWorkflow(
      { id: 'c', name: 'c', tasks: [{ id: 'wait', agentId: 'cancellable', input: { tag: t } }] },
      { signal: ac.signal },
    );
    await waitFor('task started', async () => (await runs(url!, t))[0]);
    ac.abort('user pressed stop');
    const r = await run;
    expect(r.status).toBe('cancelled');
    const aborted = await waitFor('worker saw the abort', async () => (await runs(url!, t, 'aborted'))[0]);
    expect(aborted.task).toBe('wait');
  });

  it('the orchestrator SIGKILLed mid-run is resumed by another; nothing lost, nothing run or recorded twice; two never drive one run', {
    timeout: 120_000,
  }, async () => {
    const t = tag();
    const id = randomUUID();
    const first = startOrchestrator(url!, ns, id, 6, 250, t);
    try {
      await waitFor(
        'two tasks completed',
        () => (first.out().match(/completed c\d/g)?.length ?? 0) >= 2 || undefined,
        90_000,
      );
      // While the first process holds the lease, nobody else may drive the execution.
      await expect(o.resume(id)).rejects.toMatchObject({ code: ErrorCodes.EXECUTION_RUNNING });
    } finally {
      await first.kill('SIGKILL');
    }
    // The attempt in flight finishes while no orchestrator drives the run (its job completed, so gone from
    // BullMQ): the orchestrator that resumes the run must take its recorded result, not run it again.
    const started = (await runs(url!, t)).length;
    const c = new Redis(url!);
    try {
      await waitFor(
        'the attempt in flight finished',
        async () => (await c.hlen(distKeys(ns).results(id))) >= started || undefined,
      );
    } finally {
      c.disconnect();
    }
    const r = await resumeOnceFree(id);
    expect(r.status).toBe('completed');
    expect(r.resumed).toBe(true);
    expect((r.tasks.c5.output as { n: number }).n).toBe(6);
    const ran = (await runs(url!, t)).map((x) => x.task).sort();
    expect(ran).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
    for (let i = 0; i < 6; i++) expect(await completedCount(o, id, `c${i}`)).toBe(1);
  });

  it('the orchestrator SIGKILLed mid fan-out (batch jobs) is resumed by another; each attempt runs once', {
    timeout: 120_000,
  }, async () => {
    const t = tag();
    const id = randomUUID();
    // f0, f2, … take 10 ms, f1, f3, … 2 s; batches pair them.
    const first = startOrchestrator(url!, ns, id, 8, 2000, t, 'fan');
    try {
      await waitFor(
        'fast tasks completed',
        () => (first.out().match(/completed f\d/g)?.length ?? 0) >= 2 || undefined,
        90_000,
      );
    } finally {
      await first.kill('SIGKILL');
    }
    // The slow attempts run on while no orchestrator drives the run; the resumed run sends them again, alone: each
    // waits for the batch that holds it, or takes its recorded result.
    const r = await resumeOnceFree(id);
    expect(r.status).toBe('completed');
    expect(r.resumed).toBe(true);
    const tasks = [...Array.from({ length: 8 }, (_, i) => `f${i}`), 'join'];
    expect((await runs(url!, t)).map((x) => x.task).sort()).toEqual(tasks.sort());
    for (const task of tasks) expect(await completedCount(o, id, task)).toBe(1);
    expect((r.tasks.join.output as { n: number }).n).toBe(9);
    // The first orchestrator sent batch jobs: their claims name a batch, not the attempt itself.
    const c = new Redis(url!);
    try {
      const claims = Object.entries(await c.hgetall(distKeys(ns).results(id))).filter(([k]) => k.startsWith('claim:'));
      expect(claims.some(([k, by]) => k !== `claim:${by}`)).toBe(true);
    } finally {
      c.disconnect();
    }
  });

  it('an unreachable Redis fails fast with an error naming host:port', async () => {
    const port = await freePort();
    const bad = orchestrator(`redis://127.0.0.1:${port}`, newNs(), {
      execution: { mode: 'distributed', connectTimeoutMs: 1000 },
    });
    try {
      const err = await bad.executeWorkflow(chain(1, 1)).catch((e) => e);
      expect(err).toMatchObject({ code: ErrorCodes.REDIS_UNAVAILABLE });
      expect(err.message).toContain(`127.0.0.1:${port}`);
    } finally {
      await bad.close();
    }
  });

  it('a worker SIGKILLed mid-task: the task completes on the other worker, recorded once', async () => {
    const t = tag();
    const run = o.executeWorkflow({
      id: 'one',
      name: 'one',
      tasks: [{ id: 'slow', agentId: 'work', input: { ms: 1500, tag: t } }],
    });
    const first = await waitFor('task started', async () => (await runs(url!, t))[0]);
    const victim = first.pid === w1.proc.pid ? w1 : w2;
    const survivor = victim === w1 ? w2 : w1;
    await victim.kill('SIGKILL');
    const r = await run;
    expect(r.status).toBe('completed');
    expect((r.tasks.slow.output as { pid: number }).pid).toBe(survivor.proc.pid);
    expect((await runs(url!, t)).map((x) => x.pid)).toEqual([victim.proc.pid, survivor.proc.pid]);
    expect(await completedCount(o, r.executionId, 'slow')).toBe(1);
  });

  it('a worker SIGKILLed mid-batch: its attempts that finished are not run again, the rest complete elsewhere', {
    timeout: 120_000,
  }, async () => {
    // One worker is left from the test before: a second one joins it, and one of the two is killed.
    const left = [w1, w2].find((w) => w.proc.exitCode === null && w.proc.signalCode === null)!;
    const w3 = await startWorker(url!, ns, ['--concurrency', '4']);
    try {
      await waitFor('the pool sees the new worker', async () => {
        const pool = (o.queue as BullMQQueue).pool!;
        await pool.tick();
        return pool.state().workers.some((w) => w.healthy && w.pid === w3.proc.pid) || undefined;
      });
      const t = tag();
      const slow = (task: string) => Number(task.slice(1)) % 2 === 1;
      const addedBefore = await plainJobsAdded();
      // Pairs of a fast and a slow attempt: batches of two or four, so a batch holds both kinds.
      const run = o.executeWorkflow(fan(8, (i) => (i % 2 ? 3000 : 10), t, 'plain'));
      // The worker to kill: one that ran a fast attempt and is running a slow one.
      const victim = await waitFor('a worker ran a fast and a slow attempt', async () => {
        const all = await runs(url!, t);
        return [left, w3].find((w) => {
          const mine = all.filter((x) => x.pid === w.proc.pid);
          return mine.some((x) => !slow(x.task)) && mine.some((x) => slow(x.task));
        });
      });
      const other = victim === w3 ? left : w3;
      // The fast attempts' results are recorded before the kill.
      await new Promise((r) => setTimeout(r, 300));
      const killed = (await runs(url!, t)).filter((x) => x.pid === victim.proc.pid).map((x) => x.task);
      await victim.kill('SIGKILL');
      const r = await run;
      expect(r.status).toBe('completed');
      const all = await runs(url!, t);
      for (let i = 0; i < 8; i++) {
        const task = `f${i}`;
        const ran = all.filter((x) => x.task === task).map((x) => x.pid);
        // A fast attempt ran once; a slow one the killed worker had started ran again on the other worker.
        if (slow(task) && killed.includes(task)) expect(ran).toEqual([victim.proc.pid, other.proc.pid]);
        else expect(ran).toHaveLength(1);
        expect(await completedCount(o, r.executionId, task)).toBe(1);
      }
      expect(killed.some((x) => !slow(x))).toBe(true);
      // They travelled in batch jobs: fewer jobs than the 9 attempts were added to the agent's queue.
      expect((await plainJobsAdded()) - addedBefore).toBeLessThan(9);
    } finally {
      await w3.kill('SIGKILL');
    }
  });
});

describe.skipIf(!url)('distributed execution across a Redis restart', () => {
  it('the run ends (completed, or failed with a clear error), never hangs', { timeout: 120_000 }, async () => {
    const redis = await ownRedis();
    const ns = newNs();
    let worker: Proc | undefined;
    const o = orchestrator(redis.url, ns, { execution: { mode: 'distributed', connectTimeoutMs: 1000 } });
    try {
      worker = await startWorker(redis.url, ns);
      const run = o.executeWorkflow(chain(8, 200, ns));
      await waitFor('first task ran', async () => (await runs(redis.url, ns).catch(() => []))[0]);
      await redis.stop();
      await new Promise((r) => setTimeout(r, 300));
      await redis.start();
      const r = await run;
      if (r.status !== 'completed') {
        expect(r.status).toBe('failed');
        expect([ErrorCodes.STORE, ErrorCodes.QUEUE, ErrorCodes.REDIS_UNAVAILABLE, ErrorCodes.TASK_FAILED]).toContain(
          r.error?.code,
        );
        expect(r.error?.message).toMatch(/Redis|store|queue/i);
      }
    } finally {
      await o.close();
      await worker?.kill('SIGKILL');
      await redis.stop();
    }
  });
});
