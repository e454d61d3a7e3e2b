import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CodexError } from '../../../src/errors.js';
import type { ToolDefinition } from '../../../src/models/types.js';
import type { ParsedCall } from '../fake-servers/index.js';
import { type Fakes, KEYS, makeManager, startFakes } from '../helpers.js';

// The tool loop over real HTTP, each provider in its own wire format through its official SDK.
let f: Fakes;
let script: (
  c: ParsedCall,
) => { text?: string; toolCalls?: Array<{ id?: string; name: string; arguments: unknown }> } | undefined;
beforeAll(async () => {
  f = await startFakes({ respond: (c) => script?.(c) });
});
afterAll(async () => {
  await f.close();
});

const MODELS = { openai: 'oa-small', anthropic: 'an-haiku', google: 'gm-flash' } as const;
type P = keyof typeof MODELS;
const PROVIDERS = Object.keys(MODELS) as P[];

function weatherTool(calls: unknown[]): ToolDefinition<{ city: string; days?: number }> {
  return {
    name: 'get_weather',
    description: 'Weather for a city',
    inputSchema: z.object({ city: z.string().min(1), days: z.number().int().positive().optional() }),
    handler: async (args, ctx) => {
      calls.push({ args, key: ctx.idempotencyKey, aborted: ctx.signal.aborted });
      return { city: args.city, forecast: `sunny in ${args.city}` };
    },
  };
}

describe.each(PROVIDERS)('tool loop on %s', (p) => {
  it('runs a two-step loop: tool call, result fed back, final answer; usage summed; events emitted', async () => {
    script = (c) =>
      c.toolResults.length === 0
        ? { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] }
        : { text: `final: ${c.toolResults[0]?.content}` };
    const { manager, of } = makeManager(f);
    const seen: unknown[] = [];
    const before = f[p].requests.length;
    const r = await manager.run({
      agentId: 'a',
      taskId: 't1',
      executionId: 'e1',
      idempotencyKey: 'e1:t1',
      requirements: { model: MODELS[p] },
      prompt: 'What is the weather in Paris?',
      tools: [weatherTool(seen)],
    });
    expect(r.text).toBe('final: {"city":"Paris","forecast":"sunny in Paris"}');
    expect(r.steps).toBe(2);
    expect(seen).toEqual([{ args: { city: 'Paris' }, key: 'e1:t1', aborted: false }]);
    expect(r.tools).toHaveLength(1);
    expect(r.tools?.[0]).toMatchObject({
      step: 1,
      tool: 'get_weather',
      status: 'completed',
      arguments: { city: 'Paris' },
    });
    const reqs = f[p].requests.slice(before);
    expect(reqs).toHaveLength(2);
    // Usage is the sum of both provider-reported steps.
    const calls = of('model:call').map((e) => e.payload);
    expect(calls).toHaveLength(2);
    expect(r.usage.inputTokens).toBe(calls[0]!.usage.inputTokens + calls[1]!.usage.inputTokens);
    expect(r.usage.outputTokens).toBe(calls[0]!.usage.outputTokens + calls[1]!.usage.outputTokens);
    expect(r.cost).toBeCloseTo(calls[0]!.cost + calls[1]!.cost, 12);
    expect(of('tool:called').map((e) => e.payload.tool)).toEqual(['get_weather']);
    expect(of('tool:completed')).toHaveLength(1);
    // The tool records never carry credentials.
    expect(JSON.stringify(r.tools)).not.toMatch(new RegExp(Object.values(KEYS).join('|')));
  });

  it('runs parallel tool calls of one step concurrently and answers each by id', async () => {
    script = (c) =>
      c.toolResults.length === 0
        ? { toolCalls: ['Oslo', 'Rome', 'Lima'].map((city) => ({ name: 'get_weather', arguments: { city } })) }
        : { text: c.toolResults.map((t) => JSON.parse(t.content).city).join(',') };
    const { manager } = makeManager(f);
    let active = 0;
    let peak = 0;
    const tool: ToolDefinition = {
      name: 'get_weather',
      inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      handler: async (args: { city: string }) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 20));
        active--;
        return { city: args.city };
      },
    };
    const r = await manager.run({
      agentId: 'a',
      requirements: { model: MODELS[p] },
      prompt: 'three cities',
      tools: [tool],
    });
    expect(r.text).toBe('Oslo,Rome,Lima');
    expect(peak).toBe(3);
    expect(r.tools?.map((t) => t.arguments)).toEqual([{ city: 'Oslo' }, { city: 'Rome' }, { city: 'Lima' }]);
  });

  it('answers invalid arguments with the validation error and lets the model correct them', async () => {
    script = (c) => {
      if (c.toolResults.length === 0) return { toolCalls: [{ name: 'get_weather', arguments: { city: 42 } }] };
      if (c.toolResults.length === 1) return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Berlin' } }] };
      return { text: `done after: ${c.toolResults[0]?.content}` };
    };
    const { manager, of } = makeManager(f);
    const seen: unknown[] = [];
    const r = await manager.run({
      agentId: 'a',
      requirements: { model: MODELS[p] },
      prompt: 'weather',
      tools: [weatherTool(seen)],
    });
    expect(seen).toEqual([expect.objectContaining({ args: { city: 'Berlin' } })]);
    expect(r.tools?.map((t) => t.status)).toEqual(['invalid', 'completed']);
    expect(r.tools?.[0]?.error?.message).toMatch(/city: Invalid input: expected string, received number/);
    expect(r.text).toMatch(/done after: Invalid arguments for tool "get_weather": city/);
    expect(of('tool:failed')[0]?.payload).toMatchObject({ invalid: true, tool: 'get_weather' });
  });

  it('streams text deltas in order and assembles streamed tool-call arguments', async () => {
    script = (c) =>
      c.toolResults.length === 0
        ? { text: 'let me check', toolCalls: [{ name: 'get_weather', arguments: { city: 'Kyoto', days: 3 } }] }
        : { text: 'one two three four five' };
    const { manager } = makeManager(f);
    const seen: unknown[] = [];
    const deltas: string[] = [];
    const r = await manager.run({
      agentId: 'a',
      requirements: { model: MODELS[p] },
      prompt: 'weather',
      tools: [weatherTool(seen)],
      onDelta: (d) => deltas.push(d),
    });
    expect(seen).toEqual([expect.objectContaining({ args: { city: 'Kyoto', days: 3 } })]);
    expect(r.text).toBe('one two three four five');
    expect(deltas.join('')).toBe('let me checkone two three four five');
    expect(deltas.length).toBeGreaterThanOrEqual(6);
    expect(f[p].requests.at(-1)?.path).toMatch(p === 'google' ? /streamGenerateContent/ : /./);
  });

  it('fails with CDX_ERR_TOOL_MAX_STEPS when the model never stops calling tools', async () => {
    script = () => ({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Loop' } }] });
    const { manager } = makeManager(f);
    const seen: unknown[] = [];
    const err = await manager
      .run({
        agentId: 'a',
        taskId: 'looping',
        requirements: { model: MODELS[p] },
        prompt: 'x',
        tools: [weatherTool(seen)],
        maxSteps: 3,
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(CodexError);
    expect(err.code).toBe('CDX_ERR_TOOL_MAX_STEPS');
    expect(err.message).toMatch(/task "looping".*3 tool steps/);
    expect(seen).toHaveLength(3);
  });

  it('feeds a throwing tool back to the model as an error result', async () => {
    script = (c) =>
      c.toolResults.length === 0
        ? { toolCalls: [{ name: 'flaky', arguments: {} }] }
        : { text: `recovered: ${c.toolResults[0]?.content}${c.toolResults[0]?.isError ? ' (error)' : ''}` };
    const { manager, of } = makeManager(f);
    const r = await manager.run({
      agentId: 'a',
      requirements: { model: MODELS[p] },
      prompt: 'x',
      tools: [
        {
          name: 'flaky',
          handler: () => {
            throw new Error(`disk on fire ${KEYS.openai}`);
          },
        },
      ],
    });
    expect(r.text).toMatch(/^recovered: disk on fire \[redacted\]/);
    if (p === 'anthropic' || p === 'google') expect(r.text).toMatch(/\(error\)$/);
    expect(r.tools?.[0]).toMatchObject({ status: 'failed', error: { message: 'disk on fire [redacted]' } });
    expect(of('tool:failed')[0]?.payload.invalid).toBe(false);
  });
});
