import { describe, expect, it } from 'vitest';
import { MultiAgentOrchestrator } from '../../src/index.js';
import type { DispatchContext, TaskQueue } from '../../src/queue/types.js';

// A queue that forwards aborts (the distributed one) hears them through ctx.onAbort, with no AbortSignal made.

describe('DispatchContext.onAbort', () => {
  it("tells a queue of its attempt's abort once; registering after the abort says so", async () => {
    const heard: unknown[] = [];
    const late: boolean[] = [];
    const queue: TaskQueue = {
      kind: 'hook',
      ready: () => undefined,
      run: (ctx: DispatchContext) =>
        new Promise((_, reject) => {
          const ok = ctx.onAbort!((reason) => {
            heard.push(reason);
            late.push(ctx.onAbort!(() => heard.push('again')));
            reject(reason);
          });
          expect(ok).toBe(true);
        }),
      close: async () => {},
    };
    const o = new MultiAgentOrchestrator({ store: { type: 'memory' } }, { queue });
    o.registerAgent({ id: 'slow', handler: () => 'never' });
    const r = await o.executeWorkflow({
      id: 'w',
      name: 'w',
      tasks: [{ id: 't', agentId: 'slow', timeoutMs: 30, retry: { maxAttempts: 1 } }],
    });
    await o.close();
    expect(r.status).toBe('failed');
    expect(heard).toHaveLength(1);
    expect(heard[0]).toMatchObject({ code: 'CDX_ERR_TASK_TIMEOUT' });
    expect(late).toEqual([false]);
  });
});
