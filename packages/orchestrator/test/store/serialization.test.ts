import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  MemoryStore,
  MultiAgentOrchestrator,
  type OrchestratorConfigInput,
  type OrchestratorOptions,
} from '../../src/index.js';
import { nonJsonValues } from './conformance.js';

// One serialization contract through the engine: what a task returns is what every store gives back, on the
// run's result and after resume alike; a value no store can hold fails that task, typed, on every store.

const dir = mkdtempSync(join(tmpdir(), 'cdx-ser-'));
type Setup = () => OrchestratorConfigInput & { options?: OrchestratorOptions };
const stores: [string, Setup][] = [
  // One MemoryStore shared by the orchestrators of a test, standing in for a store that outlives them.
  ['memory', () => ({ store: { type: 'memory' }, options: { store: new MemoryStore() } })],
  ['sqlite', () => ({ store: { type: 'sqlite', path: join(dir, `${randomUUID()}.db`) } })],
];
if (process.env.REDIS_URL)
  stores.push([
    'redis',
    () => ({ store: { type: 'redis' }, redis: { url: process.env.REDIS_URL, keyPrefix: `cdx-ser-${randomUUID()}` } }),
  ]);

function orchestrator({ options, ...cfg }: ReturnType<Setup>): MultiAgentOrchestrator {
  return new MultiAgentOrchestrator(cfg, options);
}

for (const [name, config] of stores) {
  describe(`outputs through the ${name} store`, () => {
    it('a BigInt, Date and Map output completes and comes back exactly after resume', async () => {
      const cfg = config();
      let armed = true;
      const make = () => {
        const o = orchestrator(cfg);
        o.registerAgent({ id: 'rich', handler: () => nonJsonValues() });
        o.registerAgent({ id: 'big', handler: () => 2n ** 70n });
        o.registerAgent({
          id: 'flaky',
          handler: (ctx) => {
            if (armed) {
              armed = false;
              throw Object.assign(new Error('stop here'), { retryable: false });
            }
            const rich = ctx.deps.rich as { date: Date; map: Map<string, number> };
            return `${rich.date.toISOString()} ${rich.map.get('k')} ${typeof ctx.deps.big}`;
          },
        });
        return o;
      };
      const def = {
        id: 'ser',
        name: 'ser',
        tasks: [
          { id: 'rich', agentId: 'rich' },
          { id: 'big', agentId: 'big' },
          { id: 'after', agentId: 'flaky', dependencies: ['rich', 'big'] },
        ],
      };
      const first = make();
      const r1 = await first.executeWorkflow(def, { executionId: 'ser-1', input: { since: new Date(0), n: 5n } });
      expect(r1.status).toBe('failed');
      expect(r1.tasks.big).toMatchObject({ status: 'completed', output: 2n ** 70n });
      expect(r1.tasks.after?.status).toBe('failed');
      await first.close();

      const second = make();
      const r2 = await second.resume('ser-1');
      expect(r2.status).toBe('completed');
      expect(r2.tasks.rich?.output).toEqual(nonJsonValues());
      expect(r2.tasks.big?.output).toBe(2n ** 70n);
      expect(r2.tasks.after?.output).toBe('2026-01-02T03:04:05.678Z 1 bigint');
      expect(r2.input).toEqual({ since: new Date(0), n: 5n });
      await second.close();
    });

    it('an output no store can hold fails that task with a typed error naming it; the process and run carry on', async () => {
      const o = orchestrator(config());
      o.registerAgent({ id: 'fn', handler: () => ({ ok: 1, callback: () => 1 }) });
      o.registerAgent({ id: 'fine', handler: (ctx) => `fine:${Object.keys(ctx.deps).join(',')}` });
      const r = await o.executeWorkflow({
        id: 'bad-out',
        name: 'bad-out',
        tasks: [
          { id: 'bad', agentId: 'fn', onError: 'continue' },
          { id: 'next', agentId: 'fine', dependencies: ['bad'] },
        ],
      });
      expect(r.status).toBe('completed');
      expect(r.tasks.bad?.status).toBe('failed');
      expect(r.tasks.bad?.error).toMatchObject({
        code: ErrorCodes.VALUE_NOT_SERIALIZABLE,
        message: expect.stringMatching(/output of task "bad" cannot be stored at \$\.callback \(a function\)/),
      });
      expect(r.tasks.next?.status).toBe('completed');
      const stored = (await o.getExecution(r.executionId))!;
      expect(stored.tasks.get('bad')?.status).toBe('failed');
      expect(stored.header.status).toBe('completed');
      await o.close();
    });

    it('refuses an input no store can hold before anything is written', async () => {
      const o = orchestrator(config());
      o.registerAgent({ id: 'a', handler: () => 1 });
      await expect(
        o.executeWorkflow(
          { id: 'w', name: 'w', tasks: [{ id: 't', agentId: 'a' }] },
          { executionId: 'in-1', input: { hook: () => 1 } },
        ),
      ).rejects.toMatchObject({ code: ErrorCodes.VALUE_NOT_SERIALIZABLE, message: expect.stringContaining('$.hook') });
      expect(await o.getExecution('in-1')).toBeUndefined();
      await o.close();
    });

    it('stores the input as the run was given it, even when a handler changes that object during the run', async () => {
      const o = orchestrator(config());
      o.registerAgent({
        id: 'mutate',
        handler: (ctx) => {
          (ctx.input as { list: number[] }).list.push(99);
          return (ctx.input as { list: number[] }).list.length;
        },
      });
      const input = { list: [1, 2], at: new Date(5) };
      const r = await o.executeWorkflow(
        { id: 'w', name: 'w', tasks: [{ id: 't', agentId: 'mutate' }] },
        { executionId: 'in-mut', input },
      );
      expect(r.status).toBe('completed');
      expect(r.tasks.t?.output).toBe(3);
      const stored = (await o.getExecution('in-mut'))!;
      expect(stored.header.status).toBe('completed');
      expect(stored.header.input).toEqual({ list: [1, 2], at: new Date(5) });
      await o.close();
    });

    it('refuses to start a new run under an id that exists, leaving the old run as it was', async () => {
      const o = orchestrator(config());
      o.registerAgent({ id: 'echo', handler: (ctx) => ctx.input });
      const def = { id: 'w', name: 'w', tasks: [{ id: 't', agentId: 'echo' }] };
      const r1 = await o.executeWorkflow(def, { executionId: 'same-id', input: { v: 1 } });
      expect(r1.status).toBe('completed');
      const before = await o.history('same-id');
      await expect(o.executeWorkflow(def, { executionId: 'same-id', input: { v: 2 } })).rejects.toMatchObject({
        code: ErrorCodes.EXECUTION_EXISTS,
        message: expect.stringContaining('same-id'),
      });
      expect(await o.history('same-id')).toEqual(before);
      const stored = (await o.getExecution('same-id'))!;
      expect(stored.header.input).toEqual({ v: 1 });
      expect(stored.tasks.get('t')?.output).toEqual({ v: 1 });
      // Resuming it is the way to continue it.
      expect((await o.resume('same-id')).tasks.t?.output).toEqual({ v: 1 });
      await o.close();
    });
  });
}
