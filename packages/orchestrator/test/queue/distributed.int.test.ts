import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, type MultiAgentOrchestrator } from '../../src/index.js';
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
const procs: Proc[] = [];
const orchs: MultiAgentOrchestrator[] = [];
afterEach(async () => {
  await Promise.allSettled(orchs.splice(0).map((o) => o.close()));
  await Promise.allSettled(procs.splice(0).map((p) => p.kill('SIGKILL')));
});

const completedCount = async (o: MultiAgentOrchestrator, id: string, task: string) =>
  (await o.history(id)).filter((t) => t.taskKey === task && t.status === 'completed').length;

describe.skipIf(!url)('distributed execution (real Redis, `codexos worker` processes)', () => {
  it('spreads the tasks of one workflow over two worker processes; dependents see stored results', async () => {
    const ns = newNs();
    const [w1, w2] = await Promise.all([startWorker(url!, ns, ['--concurrency', '3']), startWorker(url!, ns, ['--concurrency', '3'])]);
    procs.push(w1, w2);
    const o = orchestrator(url!, ns);
    orchs.push(o);
    const r = await o.executeWorkflow(fan(12, 150));
    expect(r.status).toBe('completed');
    const pids = new Set(Array.from({ length: 12 }, (_, i) => (r.tasks[`f${i}`].output as { pid: number }).pid));
    expect(pids).toEqual(new Set([w1.proc.pid, w2.proc.pid]));
    // The join ran after all twelve outputs were stored and passed to it.
    expect((r.tasks.join.output as { n: number }).n).toBe(13);
    const stored = await o.getExecution(r.executionId);
    expect(stored?.header.status).toBe('completed');
    expect(stored?.tasks.get('join')?.status).toBe('completed');
  });

  it('a worker SIGKILLed mid-task: the task completes on the other worker, recorded once', async () => {
    const ns = newNs();
    const [w1, w2] = await Promise.all([startWorker(url!, ns), startWorker(url!, ns)]);
    procs.push(w1, w2);
    const o = orchestrator(url!, ns);
    orchs.push(o);
    const run = o.executeWorkflow({ id: 'one', name: 'one', tasks: [{ id: 'slow', agentId: 'work', input: { ms: 1500 } }] });
    const first = await waitFor('task started', async () => (await runs(url!, ns))[0]);
    const victim = first.pid === w1.proc.pid ? w1 : w2;
    const survivor = victim === w1 ? w2 : w1;
    await victim.kill('SIGKILL');
    const r = await run;
    expect(r.status).toBe('completed');
    expect((r.tasks.slow.output as { pid: number }).pid).toBe(survivor.proc.pid);
    expect((await runs(url!, ns)).map((x) => x.pid)).toEqual([victim.proc.pid, survivor.proc.pid]);
    expect(await completedCount(o, r.executionId, 'slow')).toBe(1);
  });

  it('the orchestrator SIGKILLed mid-run is resumed by another; nothing lost, nothing run or recorded twice; two never drive one run', async () => {
    const ns = newNs();
    procs.push(await startWorker(url!, ns, ['--concurrency', '2']));
    const id = randomUUID();
    const first = startOrchestrator(url!, ns, id, 6, 250);
    procs.push(first);
    await waitFor('two tasks completed', () => (first.out().match(/completed c\d/g)?.length ?? 0) >= 2 || undefined);
    const o = orchestrator(url!, ns);
    orchs.push(o);
    // While the first process holds the lease, nobody else may drive the execution.
    await expect(o.resume(id)).rejects.toMatchObject({ code: ErrorCodes.EXECUTION_RUNNING });
    await first.kill('SIGKILL');
    const r = await waitFor('lease lapsed and run resumed', async () => {
      try {
        return await o.resume(id);
      } catch (e) {
        if ((e as { code?: string }).code === ErrorCodes.EXECUTION_RUNNING) return undefined;
        throw e;
      }
    });
    expect(r.status).toBe('completed');
    expect(r.resumed).toBe(true);
    expect((r.tasks.c5.output as { n: number }).n).toBe(6);
    const ran = (await runs(url!, ns)).map((x) => x.task).sort();
    expect(ran).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
    for (let i = 0; i < 6; i++) expect(await completedCount(o, id, `c${i}`)).toBe(1);
  });

  it('per-key concurrency holds across two workers while other keys run in parallel', async () => {
    const ns = newNs();
    const o = orchestrator(url!, ns, {
      execution: { mode: 'distributed', flow: { keyed: { key: 'params.customer', keyConcurrency: 1 } } },
    });
    orchs.push(o);
    // The orchestrator publishes the flow rules when it connects; workers read them.
    await o.queue.ready();
    const [w1, w2] = await Promise.all([startWorker(url!, ns, ['--concurrency', '4']), startWorker(url!, ns, ['--concurrency', '4'])]);
    procs.push(w1, w2);
    const tasks = Array.from({ length: 8 }, (_, i) => ({
      id: `k${i}`,
      agentId: 'keyed',
      input: { customer: i % 2 ? 'acme' : 'globex', ms: 150 },
    }));
    const r = await o.executeWorkflow({ id: 'keys', name: 'keys', tasks });
    expect(r.status).toBe('completed');
    expect(await readKey(url!, `${ns}:max:acme`)).toBe('1');
    expect(await readKey(url!, `${ns}:max:globex`)).toBe('1');
    expect(Number(await readKey(url!, `${ns}:max:all`))).toBe(2);
    expect(new Set((await runs(url!, ns)).map((x) => x.pid)).size).toBe(2);
  });

  it('cancellation reaches the task running on a worker', async () => {
    const ns = newNs();
    procs.push(await startWorker(url!, ns));
    const o = orchestrator(url!, ns);
    orchs.push(o);
    const ac = new AbortController();
    const run = o.executeWorkflow({ id: 'c', name: 'c', tasks: [{ id: 'wait', agentId: 'cancellable' }] }, { signal: ac.signal });
    await waitFor('task started', async () => (await runs(url!, ns))[0]);
    ac.abort('user pressed stop');
    const r = await run;
    expect(r.status).toBe('cancelled');
    const aborted = await waitFor('worker saw the abort', async () => (await runs(url!, ns, 'aborted'))[0]);
    expect(aborted.task).toBe('wait');
  });

  it('an unreachable Redis fails fast with an error naming host:port', async () => {
    const port = await freePort();
    const o = orchestrator(`redis://127.0.0.1:${port}`, newNs(), { execution: { mode: 'distributed', connectTimeoutMs: 1000 } });
    orchs.push(o);
    const err = await o.executeWorkflow(chain(1, 1)).catch((e) => e);
    expect(err).toMatchObject({ code: ErrorCodes.REDIS_UNAVAILABLE });
    expect(err.message).toContain(`127.0.0.1:${port}`);
  });

  it('Redis restarted during a run: the run ends (completed or a clear error), never hangs', async () => {
    const redis = await ownRedis();
    const ns = newNs();
    try {
      procs.push(await startWorker(redis.url, ns));
      const o = orchestrator(redis.url, ns, { execution: { mode: 'distributed', connectTimeoutMs: 1000 } });
      orchs.push(o);
      const run = o.executeWorkflow(chain(8, 200));
      await waitFor('first task ran', async () => (await runs(redis.url, ns).catch(() => []))[0]);
      await redis.stop();
      await new Promise((r) => setTimeout(r, 300));
      await redis.start();
      const r = await run;
      if (r.status !== 'completed') {
        expect(r.status).toBe('failed');
        expect([ErrorCodes.STORE, ErrorCodes.QUEUE, ErrorCodes.REDIS_UNAVAILABLE, ErrorCodes.TASK_FAILED]).toContain(r.error?.code);
        expect(r.error?.message).toMatch(/Redis|store|queue/i);
      }
    } finally {
      await Promise.allSettled(orchs.splice(0).map((o) => o.close()));
      await Promise.allSettled(procs.splice(0).map((p) => p.kill('SIGKILL')));
      await redis.stop();
    }
  });
});
