import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FakeServer,
  type ParsedCall,
  startFakeAnthropic,
  startFakeGemini,
  startFakeOpenAI,
} from '../fake-servers/index.js';

// The wire-format servers' tool calls, streamed tool-call deltas and structured-output fields, checked with each
// official SDK's own accumulators (not ours), so our adapters are tested against what the real APIs send.
let oa: FakeServer;
let an: FakeServer;
let gm: FakeServer;
const seen: ParsedCall[] = [];
const respond = (c: ParsedCall) => {
  seen.push(c);
  if (c.toolResults.length) return { text: `got ${c.toolResults.map((r) => r.content).join('+')}` };
  if (c.tools.length)
    return {
      toolCalls: [
        { name: c.tools[0]!, arguments: { city: 'Paris', days: 2 } },
        { name: c.tools[0]!, arguments: { city: 'Rome' } },
      ],
    };
  return { text: '{"ok":true}' };
};
beforeAll(async () => {
  [oa, an, gm] = await Promise.all([
    startFakeOpenAI({ respond }),
    startFakeAnthropic({ respond }),
    startFakeGemini({ respond }),
  ]);
});
afterAll(async () => {
  await Promise.all([oa.close(), an.close(), gm.close()]);
});
const params = {
  type: 'object',
  properties: { city: { type: 'string' }, days: { type: 'integer' } },
  required: ['city'],
};

describe('openai SDK', () => {
  const client = () => new OpenAI({ apiKey: 'sk-test-key-123456', baseURL: `${oa.url}/v1`, maxRetries: 0 });
  const tools = [{ type: 'function' as const, function: { name: 'weather', parameters: params } }];

  it('parallel tool_calls, streamed as deltas, accumulate in the SDK’s own stream helper', async () => {
    const stream = client().chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'w' }],
      tools,
    });
    const final = await stream.finalChatCompletion();
    const calls = final.choices[0]?.message.tool_calls ?? [];
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    expect(calls.map((c) => c.type === 'function' && [c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      ['weather', { city: 'Paris', days: 2 }],
      ['weather', { city: 'Rome' }],
    ]);
  });

  it('tool results and json_schema response_format are read from the request', async () => {
    const r = await client().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'user', content: 'w' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'weather', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      ],
      response_format: { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' } } },
    });
    expect(r.choices[0]?.message.content).toBe('got sunny');
    expect(seen.at(-1)?.schema).toEqual({ type: 'object' });
  });
});

describe('@anthropic-ai/sdk', () => {
  const client = () => new Anthropic({ apiKey: 'sk-ant-test-123456', baseURL: an.url, maxRetries: 0 });

  it('tool_use blocks streamed as input_json_delta accumulate in the SDK’s MessageStream', async () => {
    const stream = client().messages.stream({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'w' }],
      tools: [{ name: 'weather', input_schema: params as { type: 'object' } }],
    });
    const msg = await stream.finalMessage();
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.content.filter((b) => b.type === 'tool_use').map((b) => b.type === 'tool_use' && b.input)).toEqual([
      { city: 'Paris', days: 2 },
      { city: 'Rome' },
    ]);
  });

  it('tool_result blocks and output_config.format are read from the request', async () => {
    const r = await client().messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      messages: [
        { role: 'user', content: 'w' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'weather', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'rainy', is_error: true }] },
      ],
      output_config: { format: { type: 'json_schema', schema: { type: 'object' } } },
    });
    expect(r.content[0]).toMatchObject({ type: 'text', text: 'got rainy' });
    expect(seen.at(-1)?.toolResults).toEqual([{ id: 't1', content: 'rainy', isError: true }]);
    expect(seen.at(-1)?.schema).toEqual({ type: 'object' });
  });
});

describe('@google/genai', () => {
  const client = () =>
    new GoogleGenAI({ apiKey: 'AIzaTestKey0123456789abcdefghijk', httpOptions: { baseUrl: gm.url } });

  it('functionCall parts, streamed, come out of the SDK’s functionCalls accessor', async () => {
    const stream = await client().models.generateContentStream({
      model: 'gemini-2.5-flash',
      contents: 'w',
      config: { tools: [{ functionDeclarations: [{ name: 'weather', parametersJsonSchema: params }] }] },
    });
    const calls = [];
    for await (const chunk of stream) calls.push(...(chunk.functionCalls ?? []));
    expect(calls.map((c) => [c.name, c.args])).toEqual([
      ['weather', { city: 'Paris', days: 2 }],
      ['weather', { city: 'Rome' }],
    ]);
  });

  it('functionResponse parts and responseJsonSchema are read from the request', async () => {
    const r = await client().models.generateContent({
      model: 'gemini-2.5-flash',
      contents: [
        { role: 'user', parts: [{ text: 'w' }] },
        { role: 'model', parts: [{ functionCall: { name: 'weather', args: {} } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'weather', response: { output: 'foggy' } } }] },
      ],
      config: { responseMimeType: 'application/json', responseJsonSchema: { type: 'object' } },
    });
    expect(r.text).toBe('got foggy');
    expect(seen.at(-1)?.schema).toEqual({ type: 'object' });
  });
});
