import { describe, expect, it } from 'vitest';
import type { AgentDefinition } from '../../src/agents/types.js';
import { CodexError, ErrorCodes } from '../../src/errors.js';
import { MultiAgentOrchestrator } from '../../src/orchestrator.js';
import type { DispatchContext, TaskQueue } from '../../src/queue/types.js';

/** A queue with the given agents' code available wherever it runs tasks. */
export interface QueueFixture {
  queue: TaskQueue;
  close(): Promise<void>;
}

let seq = 0;
function ctxFor(over: Partial<DispatchContext> = {}): DispatchContext & { ctrl: AbortController } {
  const ctrl = new AbortController();
  return {
    executionId: `exec-${process.pid}-${Date.now()}-${seq++}`,
    workflowId: 'wf',
    taskId: 't',
    agentId: 'echo',
    attempt: 1,
    input: { region: 'EMEA' },
    params: { n: 2 },
    prompt: 'hello',
    deps: { up: 41 },
    outputs: { up: 41 },
    signal: ctrl.signal,
    ctrl,
    callModel: () => Promise.reject(new Error('no model in this test')),
    recordUsage: () => {},
    ...over,
  };
}

/** The agents every implementation is tested with; a remote queue's workers load these too. */
export const conformanceAgents: AgentDefinition[] = [
  {
    id: 'echo',
    handler: (c) => ({
      taskId: c.taskId,
      params: c.params,
      prompt: c.prompt,
      input: c.input,
      deps: c.deps,
      item: c.item ?? null,
      index: c.index ?? null,
      attempt: c.attempt,
      key: c.idempotencyKey ?? null,
      agentId: c.agentId,
      workflowId: c.workflowId,
    }),
  },
  { id: 'sync', handler: (c) => (c.params as { n: number }).n * 2 },
  {
    id: 'fail',
    handler: (c) => {
      if (c.params.kind === 'codex') throw new CodexError(ErrorCodes.MODEL, 'upstream said no', { retryable: true });
      throw new Error(`plain failure ${String(c.params.n)}`);
    },
  },
  {
    id: 'wait-abort',
    // Resolves with how it ended: 'aborted' when the signal fires, 'timeout' if it never does.
    handler: (c) =>
      new Promise((res) => {
        const t = setTimeout(() => res('timeout'), 8000);
        c.signal.addEventListener('abort', () => {
          clearTimeout(t);
          res('aborted');
        });
      }),
  },
  {
    id: 'flaky',
    // Fails its first attempt of each task, succeeds on the next: retries are the scheduler's job.
    handler: (c) => {
      if (c.attempt === 1) throw new CodexError(ErrorCodes.MODEL, 'transient', { retryable: true });
      return `ok:${c.taskId}:${c.attempt}`;
    },
  },
  { id: 'item', handler: (c) => `${String(c.item)}!` },
  { id: 'peek', handler: (c) => ({ deps: c.deps, outputs: c.outputs }) },
  {
    id: 'typed',
    // Values JSON cannot carry: every queue hands them back as the stores do (one serialization contract).
    handler: () => ({ at: new Date(86_400_000), big: 2n ** 70n, m: new Map([['k', new Set([1, 2])]]), u: undefined }),
  },
];

/** The TaskQueue contract, run against every implementation. */
export function queueConformance(
  name: string,
  make: () => Promise<QueueFixture>,
  /** For a remote queue: how the handler (elsewhere) ended, once the local attempt was aborted. */
  observeAbort?: (f: QueueFixture, ctx: DispatchContext) => Promise<string>,
): void {
  describe(`TaskQueue conformance: ${name}`, () => {
    it('runs an attempt and returns the handler output; the context reaches the handler', async () => {
      const f = await make();
      try {
        const ctx = ctxFor({ taskId: 'a', item: 'x', index: 3, idempotencyKey: 'run:a#3' });
        const out = await f.queue.run(ctx, conformanceAgents[0]);
        expect(out).toEqual({
          taskId: 'a',
          params: { n: 2 },
          prompt: 'hello',
          input: { region: 'EMEA' },
          deps: { up: 41 },
          item: 'x',
          index: 3,
          attempt: 1,
          key: 'run:a#3',
          agentId: 'echo',
          workflowId: 'wf',
        });
        expect(await f.queue.run(ctxFor({ agentId: 'sync', params: { n: 21 } }), conformanceAgents[1])).toBe(42);
      } finally {
        await f.close();
      }
    });

    it('empty input, params and prompt and the default idempotency key reach the handler as given', async () => {
      const f = await make();
      try {
        const executionId = `exec-empty-${seq++}`;
        const over = { executionId, taskId: 'b', input: {}, params: {}, prompt: '', deps: {}, outputs: {} };
        const loop = ctxFor({ ...over, item: 'y', index: 2, idempotencyKey: `${executionId}:b#2` });
        expect(await f.queue.run(loop, conformanceAgents[0])).toMatchObject({
          taskId: 'b',
          input: {},
          params: {},
          prompt: '',
          deps: {},
          index: 2,
          key: `${executionId}:b#2`,
          agentId: 'echo',
        });
        const plain = ctxFor({ ...over, attempt: 2, idempotencyKey: `${executionId}:b` });
        expect(await f.queue.run(plain, conformanceAgents[0])).toMatchObject({ key: `${executionId}:b`, attempt: 2 });
        // An input that is not an empty object (here: none at all) stays what it was.
        const none = ctxFor({ ...over, attempt: 3, input: undefined });
        expect(await f.queue.run(none, conformanceAgents[0])).toMatchObject({ input: undefined, attempt: 3 });
      } finally {
        await f.close();
      }
    });

    it('returns Date, BigInt, Map, Set and undefined exactly as the handler produced them', async () => {
      const f = await make();
      try {
        const typed = conformanceAgents.find((a) => a.id === 'typed')!;
        const out = (await f.queue.run(ctxFor({ agentId: 'typed' }), typed)) as Record<string, unknown>;
        expect(out.at).toBeInstanceOf(Date);
        expect((out.at as Date).getTime()).toBe(86_400_000);
        expect(out.big).toBe(2n ** 70n);
        expect(out.m).toEqual(new Map([['k', new Set([1, 2])]]));
        expect('u' in out).toBe(true);
      } finally {
        await f.close();
      }
    });

    it('ctx.outputs holds every output of the execution so far, as given, also as it changes', async () => {
      const f = await make();
      try {
        const peek = conformanceAgents.find((a) => a.id === 'peek')!;
        const executionId = `outs-${process.pid}-${Date.now()}-${seq++}`;
        const at = (taskId: string, outputs: Record<string, unknown>, deps: Record<string, unknown>) =>
          f.queue.run(ctxFor({ executionId, taskId, agentId: 'peek', deps, outputs }), peek) as Promise<unknown>;
        expect(await at('first', {}, {})).toEqual({ deps: {}, outputs: {} });
        const far = new Date(5);
        expect(await at('second', { far, up: 41 }, { up: 41 })).toEqual({ deps: { up: 41 }, outputs: { far, up: 41 } });
        // A rerun resets an output and changes another: the next attempt sees exactly that.
        const out = (await at('third', { up: 42n }, { up: 42n })) as { outputs: Record<string, unknown> };
        expect(out).toEqual({ deps: { up: 42n }, outputs: { up: 42n } });
        expect('far' in out.outputs).toBe(false);
      } finally {
        await f.close();
      }
    });

    it('in a workflow, ctx.outputs has upstream outputs beyond the direct dependencies, values intact', async () => {
      const f = await make();
      const o = new MultiAgentOrchestrator({ store: { type: 'memory' } }, { queue: f.queue });
      try {
        for (const a of conformanceAgents) o.registerAgent(a);
        const r = await o.executeWorkflow({
          id: 'outs',
          name: 'outputs',
          tasks: [
            { id: 'a', agentId: 'typed' },
            { id: 'b', agentId: 'sync', dependencies: ['a'], input: { n: 2 } },
            { id: 'c', agentId: 'peek', dependencies: ['b'] },
          ],
        });
        expect(r.status).toBe('completed');
        const seen = r.tasks.c.output as { deps: Record<string, unknown>; outputs: Record<string, unknown> };
        expect(seen.deps).toEqual({ b: 4 });
        expect(Object.keys(seen.outputs).sort()).toEqual(['a', 'b']);
        expect(seen.outputs.b).toBe(4);
        const a = seen.outputs.a as { at: Date; big: bigint; m: Map<string, Set<number>> };
        expect(a.at).toBeInstanceOf(Date);
        expect(a.big).toBe(2n ** 70n);
        expect(a.m).toEqual(new Map([['k', new Set([1, 2])]]));
      } finally {
        await o.close();
        await f.close();
      }
    });

    it('a failing handler rejects with its code, message and retryable flag', async () => {
      const f = await make();
      try {
        // A synchronous throw counts as a rejection: the scheduler handles both the same way.
        const a = (async () =>
          f.queue.run(ctxFor({ agentId: 'fail', params: { kind: 'codex' } }), conformanceAgents[2]))();
        await expect(a).rejects.toMatchObject({
          code: ErrorCodes.MODEL,
          message: 'upstream said no',
          retryable: true,
        });
        const b = (async () => f.queue.run(ctxFor({ agentId: 'fail', params: { n: 7 } }), conformanceAgents[2]))();
        await expect(b).rejects.toThrow('plain failure 7');
      } finally {
        await f.close();
      }
    });

    it('aborting the signal reaches the running handler', async () => {
      const f = await make();
      try {
        const ctx = ctxFor({ agentId: 'wait-abort' });
        const run = Promise.resolve(f.queue.run(ctx, conformanceAgents[3])).catch((e) => e);
        await new Promise((r) => setTimeout(r, 300));
        ctx.ctrl.abort(new CodexError(ErrorCodes.CANCELLED, 'stop'));
        if (observeAbort) {
          expect(await run).toMatchObject({ code: ErrorCodes.CANCELLED });
          expect(await observeAbort(f, ctx)).toBe('aborted');
        } else expect(await run).toBe('aborted');
      } finally {
        await f.close();
      }
    });

    it('aborting attempts sent together reaches each running handler; one not aborted completes', async () => {
      const f = await make();
      try {
        const ctxs = Array.from({ length: 4 }, (_, i) => ctxFor({ agentId: 'wait-abort', taskId: `w${i}` }));
        const runs = ctxs.map((ctx) => Promise.resolve(f.queue.run(ctx, conformanceAgents[3])).catch((e) => e));
        const plain = f.queue.run(ctxFor({ agentId: 'sync', params: { n: 4 } }), conformanceAgents[1]);
        await new Promise((r) => setTimeout(r, 300));
        for (const ctx of ctxs.slice(0, 3)) ctx.ctrl.abort(new CodexError(ErrorCodes.CANCELLED, 'stop'));
        for (const [i, ctx] of ctxs.slice(0, 3).entries()) {
          if (observeAbort) {
            expect(await runs[i]).toMatchObject({ code: ErrorCodes.CANCELLED });
            expect(await observeAbort(f, ctx)).toBe('aborted');
          } else expect(await runs[i]).toBe('aborted');
        }
        expect(await plain).toBe(8);
        ctxs[3].ctrl.abort(new CodexError(ErrorCodes.CANCELLED, 'stop'));
        await runs[3];
      } finally {
        await f.close();
      }
    });

    it('many attempts at once each get their own result', async () => {
      const f = await make();
      try {
        const outs = await Promise.all(
          Array.from({ length: 60 }, (_, n) =>
            f.queue.run(ctxFor({ agentId: 'sync', params: { n } }), conformanceAgents[1]),
          ),
        );
        expect(outs).toEqual(Array.from({ length: 60 }, (_, n) => n * 2));
      } finally {
        await f.close();
      }
    });

    it('a workflow with conditions, a loop, retries and a fallback runs as in process', async () => {
      const f = await make();
      const o = new MultiAgentOrchestrator({ store: { type: 'memory' } }, { queue: f.queue });
      try {
        for (const a of conformanceAgents) o.registerAgent(a);
        const r = await o.executeWorkflow(
          {
            id: 'conf',
            name: 'conformance',
            tasks: [
              { id: 'double', agentId: 'sync', input: { n: 5 } },
              {
                id: 'skipped',
                agentId: 'sync',
                dependencies: ['double'],
                when: 'outputs.double > 100',
                input: { n: 1 },
              },
              { id: 'each', agentId: 'item', dependencies: ['double'], forEach: 'input.items' },
              { id: 'retried', agentId: 'flaky', retry: { maxAttempts: 2, initialDelayMs: 1 } },
              {
                id: 'broken',
                agentId: 'fail',
                input: { n: 1 },
                retry: { maxAttempts: 1 },
                onError: { fallback: 'plan-b' },
              },
              { id: 'plan-b', agentId: 'sync', input: { n: 50 } },
            ],
          },
          { input: { items: ['a', 'b'] } },
        );
        expect(r.status).toBe('completed');
        expect(r.tasks.double.output).toBe(10);
        expect(r.tasks.skipped.status).toBe('skipped');
        expect(r.tasks.each.output).toEqual(['a!', 'b!']);
        expect(r.tasks.retried.output).toBe('ok:retried:2');
        expect(r.tasks.broken.output).toBe(100);
      } finally {
        await o.close();
        await f.close();
      }
    });
  });
}
