import { describe, expect, it } from 'vitest';
import { ErrorCodes, MultiAgentOrchestrator } from '../../src/index.js';
import { makeOrchestrator } from './helpers.js';

// Whatever throws while the engine works on a task (rendering, cache key, the handler, reading its result,
// recording) fails that task; the run ends with a result and the process survives.

const once = { maxAttempts: 1 };

describe('one failure boundary per task', () => {
  it('an upstream output that cannot be keyed fails the cached task, not the process', { timeout: 5000 }, async () => {
    const o = makeOrchestrator({}, [
      {
        id: 'circular',
        handler: () => {
          const o: Record<string, unknown> = { a: 1 };
          o.self = o;
          return o;
        },
      },
    ]);
    const r = await o.executeWorkflow({
      id: 'ck',
      name: 'ck',
      tasks: [
        { id: 'a', agentId: 'circular' },
        { id: 'b', agentId: 'echo', dependencies: ['a'], cache: true, retry: once },
      ],
    });
    expect(r.status).toBe('failed');
    expect(r.tasks.a.status).toBe('completed');
    expect(r.tasks.b.status).toBe('failed');
    expect(r.tasks.b.error?.code).toBe(ErrorCodes.CACHE_KEY);
    expect(r.tasks.b.error?.message).toContain('"b"');
    // The orchestrator still runs workflows afterwards.
    const again = await o.executeWorkflow({ id: 'ok', name: 'ok', tasks: [{ id: 'x', agentId: 'echo' }] });
    expect(again.status).toBe('completed');
    await o.close();
  });

  it('a BigInt upstream output keys the cache (and hits it on the next run)', { timeout: 5000 }, async () => {
    let calls = 0;
    const o = makeOrchestrator({}, [
      { id: 'big', handler: () => ({ n: 10n ** 20n }) },
      { id: 'count', handler: () => ++calls },
    ]);
    const def = {
      id: 'bk',
      name: 'bk',
      tasks: [
        { id: 'a', agentId: 'big' },
        { id: 'b', agentId: 'count', dependencies: ['a'], cache: true },
      ],
    };
    const r1 = await o.executeWorkflow(def);
    const r2 = await o.executeWorkflow(def);
    expect(r1.status).toBe('completed');
    expect(r2.tasks.b).toMatchObject({ status: 'completed', output: 1, cached: true });
    expect(calls).toBe(1);
    await o.close();
  });

  it('a handler result whose `then` throws fails that attempt (and is retried)', { timeout: 5000 }, async () => {
    let calls = 0;
    const o = makeOrchestrator({}, [
      {
        id: 'thenable',
        handler: () => {
          calls++;
          return {
            // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is the point of this test
            then() {
              throw new Error('bad thenable');
            },
          };
        },
      },
    ]);
    const r = await o.executeWorkflow({
      id: 'th',
      name: 'th',
      tasks: [{ id: 'a', agentId: 'thenable', retry: { maxAttempts: 2, initialDelayMs: 1 } }],
    });
    expect(r.status).toBe('failed');
    expect(r.tasks.a.error?.message).toBe('bad thenable');
    expect(calls).toBe(2);
    await o.close();
  });

  it('a handler result whose `then` getter throws fails the task', { timeout: 5000 }, async () => {
    const o = makeOrchestrator({}, [
      {
        id: 'getter',
        handler: () =>
          new Proxy(
            {},
            {
              get(_t, k) {
                if (k === 'then') throw new Error('no then for you');
                return undefined;
              },
            },
          ),
      },
    ]);
    const r = await o.executeWorkflow({
      id: 'tg',
      name: 'tg',
      tasks: [{ id: 'a', agentId: 'getter', retry: once }],
    });
    expect(r.status).toBe('failed');
    expect(r.tasks.a.error?.message).toBe('no then for you');
    await o.close();
  });
});

describe('fallbacks', () => {
  it('a leaf task rescued by its fallback is in result.output', async () => {
    const o = new MultiAgentOrchestrator({ store: { type: 'memory' } });
    o.registerAgent({ id: 'ok', handler: (ctx) => `out-${ctx.taskId}` });
    o.registerAgent({
      id: 'bad',
      handler: () => {
        throw Object.assign(new Error('down'), { retryable: false });
      },
    });
    const r = await o.executeWorkflow({
      id: 'fl',
      name: 'fl',
      tasks: [
        { id: 'a', agentId: 'ok' },
        { id: 't', agentId: 'bad', dependencies: ['a'], onError: { fallback: 'f' } },
        { id: 'f', agentId: 'ok', dependencies: ['a'] },
      ],
    });
    expect(r.status).toBe('completed');
    expect(r.output).toEqual({ t: 'out-f' });
    await o.close();
  });
});

describe('timer limits', () => {
  const MAX = 2 ** 31 - 1;
  const def = (over: Record<string, unknown>, task: Record<string, unknown> = {}) => ({
    id: 'tl',
    name: 'tl',
    ...over,
    tasks: [{ id: 'a', agentId: 'echo', ...task }],
  });

  it('timeouts and delays above 2^31-1 ms are refused (Node would fire them after 1 ms)', () => {
    const o = makeOrchestrator();
    const cases: Array<[Record<string, unknown>, Record<string, unknown>?]> = [
      [{}, { timeoutMs: MAX + 1 }],
      [{ timeoutMs: MAX + 1 }],
      [{ defaults: { timeoutMs: MAX + 1 } }],
      [{ defaults: { retry: { maxDelayMs: MAX + 1 } } }],
      [{}, { retry: { initialDelayMs: MAX + 1 } }],
      [{}, { retry: { maxDelayMs: 1e12 } }],
    ];
    for (const [over, task] of cases) {
      expect(() => o.validateWorkflow(def(over, task)), JSON.stringify([over, task])).toThrow(
        expect.objectContaining({ code: ErrorCodes.WORKFLOW_INVALID }),
      );
    }
    expect(o.validateWorkflow(def({ timeoutMs: MAX }, { timeoutMs: MAX })).timeoutMs).toBe(MAX);
  });

  it('config timeouts above 2^31-1 ms are refused', () => {
    for (const workflow of [
      { defaultTimeout: MAX + 1 },
      { defaultRetry: { maxDelayMs: MAX + 1 } },
      { defaultRetry: { initialDelayMs: MAX + 1 } },
    ]) {
      expect(
        () => new MultiAgentOrchestrator({ store: { type: 'memory' }, workflow }),
        JSON.stringify(workflow),
      ).toThrow(expect.objectContaining({ code: ErrorCodes.CONFIG_INVALID }));
    }
    expect(
      () => new MultiAgentOrchestrator({ store: { type: 'memory' }, agents: { healthCheckInterval: MAX + 1 } }),
    ).toThrow(expect.objectContaining({ code: ErrorCodes.CONFIG_INVALID }));
  });
});
