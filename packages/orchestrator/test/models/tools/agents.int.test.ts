import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { OrchestratorEvent } from '../../../src/events.js';
import type { ToolDefinition } from '../../../src/models/types.js';
import { MultiAgentOrchestrator } from '../../../src/orchestrator.js';
import type { ParsedCall } from '../fake-servers/index.js';
import { type Fakes, fakeConfig, KEYS, startFakes, TEST_CATALOG } from '../helpers.js';

// Tools and structured output through the engine: agents, workflow files, task results, events, forEach.
let f: Fakes;
let script: (c: ParsedCall) => { text?: string; toolCalls?: Array<{ name: string; arguments: unknown }> } | undefined;
const open: MultiAgentOrchestrator[] = [];
beforeAll(async () => {
  f = await startFakes({ respond: (c) => script?.(c) });
});
afterAll(async () => {
  await f.close();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

function orchestrator() {
  const o = new MultiAgentOrchestrator({
    store: { type: 'memory' },
    models: { ...fakeConfig(f), catalog: { replace: true, models: TEST_CATALOG } },
  });
  open.push(o);
  const events: OrchestratorEvent[] = [];
  o.events$.subscribe((e) => events.push(e));
  return {
    o,
    events,
    of: <T extends OrchestratorEvent['type']>(t: T) =>
      events.filter((e) => e.type === t) as Array<Extract<OrchestratorEvent, { type: T }>>,
  };
}

const MODELS = { openai: 'oa-small', anthropic: 'an-haiku', google: 'gm-flash' } as const;
const FINDINGS = {
  type: 'object',
  properties: {
    findings: {
      type: 'array',
      items: { type: 'object', properties: { title: { type: 'string' } }, required: ['title'] },
    },
  },
  required: ['findings'],
};

const search: ToolDefinition = {
  name: 'search',
  description: 'Search the web',
  inputSchema: z.object({ q: z.string() }),
  handler: async ({ q }: { q: string }) => [`${q} result 1`, `${q} result 2`],
};

describe.each(Object.keys(MODELS) as Array<keyof typeof MODELS>)('agents on %s', (p) => {
  it('a tool-using agent: calls recorded on the task with attempt and key, usage summed on the task', async () => {
    script = (c) =>
      c.toolResults.length
        ? { text: `answer from ${c.toolResults[0]?.content}` }
        : { toolCalls: [{ name: 'search', arguments: { q: 'rivers' } }] };
    const { o, of } = orchestrator();
    const keys: string[] = [];
    o.registerAgent({
      id: 'researcher',
      model: { model: MODELS[p] },
      tools: [
        {
          ...search,
          handler: async (a: { q: string }, ctx) => {
            keys.push(ctx.idempotencyKey);
            return search.handler(a, ctx);
          },
        },
      ],
    });
    const r = await o.executeWorkflow(
      { id: 'w', name: 'w', tasks: [{ id: 'find', agentId: 'researcher', input: { prompt: 'find rivers' } }] },
      { executionId: `ex-${p}` },
    );
    expect(r.status).toBe('completed');
    expect(r.tasks.find?.output).toBe('answer from ["rivers result 1","rivers result 2"]');
    expect(r.tasks.find?.toolCalls).toEqual([
      expect.objectContaining({
        step: 1,
        tool: 'search',
        arguments: { q: 'rivers' },
        status: 'completed',
        attempt: 1,
        result: ['rivers result 1', 'rivers result 2'],
      }),
    ]);
    expect(keys).toEqual([`ex-${p}:find`]);
    const calls = of('model:call').map((e) => e.payload);
    expect(calls).toHaveLength(2);
    expect(r.tasks.find?.usage?.inputTokens).toBe(calls[0]!.usage.inputTokens + calls[1]!.usage.inputTokens);
    expect(of('tool:called')[0]?.payload).toMatchObject({
      executionId: `ex-${p}`,
      taskId: 'find',
      agentId: 'researcher',
      tool: 'search',
    });
    expect(JSON.stringify(r.tasks.find?.toolCalls)).not.toMatch(new RegExp(Object.values(KEYS).join('|')));
  });

  it('structured output: native schema sent, parsed value is the output and feeds forEach', async () => {
    script = (c) =>
      c.schema
        ? { text: JSON.stringify({ findings: [{ title: 'Nile' }, { title: 'Amazon' }] }) }
        : { text: `summary of ${c.lastUser.split('\n').at(-1)}` };
    const { o } = orchestrator();
    o.registerAgent({ id: 'r', model: { model: MODELS[p] } });
    const r = await o.executeWorkflow({
      id: 'w',
      name: 'w',
      tasks: [
        { id: 'find', agentId: 'r', input: { prompt: 'list rivers' }, output: { schema: FINDINGS } },
        {
          id: 'each',
          agentId: 'r',
          dependencies: ['find'],
          forEach: "outputs['find'].findings",
          input: { prompt: 'about {{ item.title }}' },
        },
      ],
    });
    expect(r.status).toBe('completed');
    expect(r.tasks.find?.output).toEqual({ findings: [{ title: 'Nile' }, { title: 'Amazon' }] });
    expect(r.tasks.each?.output).toEqual(['summary of about Nile', 'summary of about Amazon']);
    const first = f[p].requests.find((q) => JSON.stringify(q.body).includes('list rivers'));
    expect(JSON.stringify(first?.body)).toContain('"findings"');
  });

  it('structured output: an invalid answer is corrected once with the problem named', async () => {
    script = (c) =>
      c.prompt.includes('did not match')
        ? { text: JSON.stringify({ findings: [{ title: 'Fixed' }] }) }
        : { text: JSON.stringify({ findings: [{ title: 7 }] }) };
    const { o } = orchestrator();
    o.registerAgent({ id: 'r', model: { model: MODELS[p] } });
    const r = await o.executeWorkflow({
      id: 'w',
      name: 'w',
      tasks: [{ id: 'find', agentId: 'r', input: { prompt: 'x' }, output: { schema: FINDINGS } }],
    });
    expect(r.status).toBe('completed');
    expect(r.tasks.find?.output).toEqual({ findings: [{ title: 'Fixed' }] });
    const correction = f[p].requests.at(-1);
    expect(JSON.stringify(correction?.body)).toContain(
      'findings[0].title: Invalid input: expected string, received number',
    );
  });

  it('structured output: invalid twice fails the task with CDX_ERR_OUTPUT_INVALID naming the field', async () => {
    script = () => ({ text: '{"findings": [{"name": "no title"}]}' });
    const { o } = orchestrator();
    o.registerAgent({ id: 'r', model: { model: MODELS[p] } });
    const before = f[p].requests.length;
    const r = await o.executeWorkflow({
      id: 'w',
      name: 'w',
      tasks: [{ id: 'find', agentId: 'r', input: { prompt: 'x' }, output: { schema: FINDINGS } }],
    });
    expect(r.status).toBe('failed');
    expect(r.tasks.find?.error?.code).toBe('CDX_ERR_OUTPUT_INVALID');
    expect(r.tasks.find?.error?.message).toMatch(/findings\[0\]\.title/);
    // One answer and one correction: not retried again by the engine.
    expect(f[p].requests.length - before).toBe(2);
  });
});

describe('tools and the engine', () => {
  it('a tool still running when the task times out is aborted through ctx.signal', async () => {
    script = (c) => (c.toolResults.length ? { text: 'never' } : { toolCalls: [{ name: 'slow', arguments: {} }] });
    const { o, of } = orchestrator();
    let sawAbort: unknown;
    o.registerAgent({
      id: 'r',
      model: { model: 'oa-small' },
      tools: [
        {
          name: 'slow',
          handler: (_a, ctx) =>
            new Promise((_res, rej) => {
              ctx.signal.addEventListener('abort', () => {
                sawAbort = ctx.signal.reason;
                rej(ctx.signal.reason);
              });
            }),
        },
      ],
    });
    const r = await o.executeWorkflow({
      id: 'w',
      name: 'w',
      tasks: [{ id: 't', agentId: 'r', input: { prompt: 'x' }, timeoutMs: 300, retry: { maxAttempts: 1 } }],
    });
    expect(r.status).toBe('failed');
    expect(r.tasks.t?.error?.code).toBe('CDX_ERR_TASK_TIMEOUT');
    expect((sawAbort as { code?: string })?.code).toBe('CDX_ERR_TASK_TIMEOUT');
    expect(r.tasks.t?.toolCalls?.[0]).toMatchObject({
      tool: 'slow',
      status: 'failed',
      error: { code: 'CDX_ERR_TASK_TIMEOUT' },
    });
    expect(of('tool:failed')).toHaveLength(1);
  });

  it('a retried attempt calls its tools again with the same idempotency key; both attempts are recorded', async () => {
    script = (c) =>
      c.toolResults.length ? { text: 'charged once' } : { toolCalls: [{ name: 'charge', arguments: { cents: 500 } }] };
    const o = new MultiAgentOrchestrator({
      store: { type: 'memory' },
      models: {
        ...fakeConfig(f, { timeouts: { requestMs: 5_000 } }),
        fallback: { enabled: false },
        catalog: { replace: true, models: TEST_CATALOG },
      },
    });
    open.push(o);
    const keys: string[] = [];
    f.openai.faults.slowMs = 2_000;
    o.registerAgent({
      id: 'billing',
      model: { model: 'oa-small' },
      tools: [
        {
          name: 'charge',
          handler: (_a, ctx) => {
            keys.push(ctx.idempotencyKey);
            // The model call after the first charge outlives the task timeout, so the whole attempt is retried.
            if (keys.length === 1) f.openai.inject('slow');
            return { ok: true };
          },
        },
      ],
    });
    const r = await o
      .executeWorkflow(
        {
          id: 'w',
          name: 'w',
          tasks: [
            {
              id: 'pay',
              agentId: 'billing',
              input: { prompt: 'charge' },
              timeoutMs: 250,
              retry: { maxAttempts: 2, initialDelayMs: 1 },
            },
          ],
        },
        { executionId: 'ex-pay' },
      )
      .finally(() => {
        f.openai.faults.slowMs = undefined;
      });
    expect(r.status).toBe('completed');
    expect(r.tasks.pay?.attempts).toBe(2);
    expect(keys).toEqual(['ex-pay:pay', 'ex-pay:pay']);
    expect(r.tasks.pay?.toolCalls?.map((c) => c.attempt)).toEqual([1, 2]);
    expect(r.tasks.pay?.output).toBe('charged once');
  });

  it('streams a running task’s text as task:delta events, in order, batched', async () => {
    const words = Array.from({ length: 60 }, (_, i) => `w${i}`);
    script = () => ({ text: words.join(' ') });
    const { o, of } = orchestrator();
    o.registerAgent({ id: 'r', model: { model: 'an-haiku' } });
    const r = await o.executeWorkflow({
      id: 'w',
      name: 'w',
      tasks: [{ id: 't', agentId: 'r', input: { prompt: 'x' } }],
    });
    const deltas = of('task:delta').map((e) => e.payload);
    expect(deltas.length).toBeGreaterThan(0);
    expect(deltas.length).toBeLessThan(words.length);
    expect(deltas.map((d) => d.seq)).toEqual(deltas.map((_, i) => i));
    expect(deltas.map((d) => d.delta).join('')).toBe(r.tasks.t?.output);
    expect(deltas.every((d) => d.taskId === 't' && d.agentId === 'r')).toBe(true);
  });

  it('unknown tool names fail the task with CDX_ERR_TOOL_UNKNOWN', async () => {
    const { o } = orchestrator();
    o.registerAgent({ id: 'r', model: { model: 'oa-small' }, tools: ['nope', 'gh/*'] });
    const r = await o.executeWorkflow({
      id: 'w',
      name: 'w',
      tasks: [{ id: 't', agentId: 'r', input: { prompt: 'x' } }],
    });
    expect(r.tasks.t?.error).toMatchObject({ code: 'CDX_ERR_TOOL_UNKNOWN', message: /Unknown tool "nope"/ });
  });
});
