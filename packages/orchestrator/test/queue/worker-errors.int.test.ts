import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentDefinition } from '../../src/agents/types.js';
import { parseConfig } from '../../src/config.js';
import type { CodexError } from '../../src/errors.js';
import { BullMQQueue } from '../../src/queue/bullmq/bullmq-queue.js';
import { redisTarget } from '../../src/queue/bullmq/connection.js';
import { distKeys } from '../../src/queue/bullmq/keys.js';
import { TaskWorker } from '../../src/queue/bullmq/task-worker.js';
import { dispatchContext, newNs, startWorker, waitFor } from './dist-helpers.js';

// What a task worker does on its own and Redis refuses is reported to the user (here: WRONGTYPE on keys the
// worker writes), and the worker goes on serving.

const url = process.env.REDIS_URL;
const plain: AgentDefinition = { id: 'plain', handler: (ctx) => `ran ${ctx.taskId}` };

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe.skipIf(!url)('task worker background failures (real Redis)', () => {
  it('a result record and a heartbeat Redis refuses reach onError; the result still reaches the orchestrator', async () => {
    const target = { ...redisTarget(url), prefix: `cdx-werr-${randomUUID().slice(0, 8)}` };
    const keys = distKeys(target.prefix);
    const queue = new BullMQQueue(target, parseConfig({ execution: { mode: 'distributed' } }).execution);
    await queue.ready();
    cleanup.push(() => queue.close());
    const seen: CodexError[] = [];
    const worker = await new TaskWorker({
      target,
      agents: [plain],
      concurrency: 2,
      heartbeatMs: 100,
      onError: (e) => seen.push(e),
    }).start();
    cleanup.push(() => worker.close());
    const r = new Redis(url!);
    cleanup.push(() => r.disconnect());
    // Keys of the wrong type where the worker records results and beats its heartbeat.
    const executionId = `exec-${randomUUID()}`;
    await r.set(keys.results(executionId), 'not a hash');
    await r.set(keys.workers, 'not a hash');
    expect(await queue.run(dispatchContext('plain', 't1', {}, executionId), plain)).toBe('ran t1');
    await waitFor('both reports', () => seen.length >= 2 || undefined, 5000);
    const messages = seen.map((e) => e.message).sort();
    expect(messages[0]).toMatch(new RegExp(`^worker ${worker.workerId} could not record a result in Redis: WRONGTYPE`));
    expect(messages[1]).toMatch(new RegExp(`^worker ${worker.workerId} could not write its heartbeat: WRONGTYPE`));
    expect(seen.every((e) => e.code === 'CDX_ERR_QUEUE')).toBe(true);
    // Reported once per kind per quiet period, however many heartbeats fail meanwhile; the worker still serves.
    await new Promise((res) => setTimeout(res, 400));
    expect(seen).toHaveLength(2);
    await r.del(keys.results(executionId));
    expect(await queue.run(dispatchContext('plain', 't2', {}, executionId), plain)).toBe('ran t2');
  });

  it('codexos worker prints such a failure on stderr, once, and keeps running', { timeout: 120_000 }, async () => {
    const ns = newNs();
    const w = await startWorker(url!, ns);
    cleanup.push(() => w.kill());
    const r = new Redis(url!);
    cleanup.push(() => r.disconnect());
    const before = w.out().length;
    await r.set(distKeys(ns).workers, 'not a hash');
    const line = await waitFor('the heartbeat failure on stderr', () =>
      w
        .out()
        .slice(before)
        .split('\n')
        .find((l) => l.includes('could not write its heartbeat')),
    );
    expect(line).toMatch(/^worker \S+ could not write its heartbeat: WRONGTYPE/);
    // Heartbeats every 200 ms keep failing; the quiet period keeps it to one line.
    await new Promise((res) => setTimeout(res, 1000));
    expect(w.out().split('could not write its heartbeat').length - 1).toBe(1);
    expect(w.proc.exitCode).toBeNull();
  });
});
