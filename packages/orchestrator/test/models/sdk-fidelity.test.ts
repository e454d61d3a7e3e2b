import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeServer, startFakeAnthropic, startFakeGemini, startFakeOpenAI } from './fake-servers/index.js';

// The fake servers are only worth their tests if the official SDKs accept them as the real APIs.
let oa: FakeServer;
let an: FakeServer;
let gm: FakeServer;
beforeAll(async () => {
  [oa, an, gm] = await Promise.all([startFakeOpenAI(), startFakeAnthropic(), startFakeGemini()]);
});
afterAll(async () => {
  await Promise.all([oa.close(), an.close(), gm.close()]);
});

describe('fake OpenAI server speaks Chat Completions to the openai SDK', () => {
  const client = () => new OpenAI({ apiKey: 'sk-test-openai-key', baseURL: `${oa.url}/v1`, maxRetries: 0 });

  it('answers non-streaming with usage', async () => {
    const r = await client().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'count these five words' }],
    });
    expect(r.choices[0]?.message.content).toBe('reply from gpt-4o-mini about count these five words');
    expect(r.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 8, total_tokens: 14 });
    expect(oa.requests.at(-1)?.headers.authorization).toBe('Bearer sk-test-openai-key');
  });

  it('streams SSE chunks and a final usage chunk', async () => {
    const s = await client().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello there' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of s) {
      text += c.choices[0]?.delta.content ?? '';
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe('reply from gpt-4o-mini about hello there');
    expect(usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 6 });
  });

  it('returns 429 with retry-after as the SDK expects', async () => {
    oa.faults.retryAfterSeconds = 2;
    oa.inject('429');
    const err = await client()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.status).toBe(429);
    expect(err.headers.get('retry-after')).toBe('2');
    oa.faults.retryAfterSeconds = undefined;
  });

  it('returns 500 as InternalServerError', async () => {
    oa.inject('500');
    const err = await client()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
  });
});

describe('fake Anthropic server speaks Messages to @anthropic-ai/sdk', () => {
  const client = () => new Anthropic({ apiKey: 'sk-ant-test-key', baseURL: an.url, maxRetries: 0 });

  it('answers non-streaming with usage', async () => {
    const r = await client().messages.create({
      model: 'claude-3-sonnet-20240229',
      max_tokens: 100,
      system: 'be brief',
      messages: [{ role: 'user', content: 'tell me about rivers' }],
    });
    expect(r.content[0]).toMatchObject({
      type: 'text',
      text: 'reply from claude-3-sonnet-20240229 about be brief tell me about rivers',
    });
    expect(r.usage).toMatchObject({ input_tokens: 10, output_tokens: 10 });
    const h = an.requests.at(-1)?.headers;
    expect(h?.['x-api-key'] ?? h?.authorization).toMatch(/sk-ant-test-key$/);
  });

  it('streams named SSE events that the SDK assembles', async () => {
    const stream = client().messages.stream({
      model: 'claude-3-haiku',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const deltas: string[] = [];
    stream.on('text', (t) => deltas.push(t));
    const final = await stream.finalMessage();
    expect(deltas.join('')).toBe('reply from claude-3-haiku about hi');
    expect(final.usage).toMatchObject({ input_tokens: 3, output_tokens: 5 });
  });

  it('returns 529 overloaded and 429 rate-limit errors', async () => {
    an.inject('529', '429');
    const e1 = await client()
      .messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
      .catch((e) => e);
    expect(e1).toBeInstanceOf(Anthropic.APIError);
    expect(e1.status).toBe(529);
    expect(e1.error?.error?.type).toBe('overloaded_error');
    const e2 = await client()
      .messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
      .catch((e) => e);
    expect(e2).toBeInstanceOf(Anthropic.RateLimitError);
    expect(e2.headers.get('retry-after')).toBeTruthy();
  });
});

describe('fake Gemini server speaks generateContent to @google/genai', () => {
  const client = () => new GoogleGenAI({ apiKey: 'AIza-test-gemini-key', httpOptions: { baseUrl: gm.url } });

  it('answers generateContent with usageMetadata', async () => {
    const r = await client().models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'summarise the report',
      config: { systemInstruction: 'you are terse' },
    });
    expect(r.text).toBe('reply from gemini-2.5-flash about you are terse summarise the report');
    expect(r.usageMetadata).toMatchObject({ promptTokenCount: 10, candidatesTokenCount: 10 });
    expect(gm.requests.at(-1)?.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(gm.requests.at(-1)?.headers['x-goog-api-key']).toBe('AIza-test-gemini-key');
  });

  it('streams streamGenerateContent?alt=sse', async () => {
    const s = await client().models.generateContentStream({ model: 'gemini-pro', contents: 'hello' });
    let text = '';
    let last: number | undefined;
    for await (const c of s) {
      text += c.text ?? '';
      last = c.usageMetadata?.candidatesTokenCount;
    }
    expect(text).toBe('reply from gemini-pro about hello');
    expect(last).toBe(5);
    expect(gm.requests.at(-1)?.path).toBe('/v1beta/models/gemini-pro:streamGenerateContent?alt=sse');
  });

  it('returns RESOURCE_EXHAUSTED with RetryInfo', async () => {
    gm.inject('429');
    const err = await client()
      .models.generateContent({ model: 'gemini-pro', contents: 'x' })
      .catch((e) => e);
    expect(err.status).toBe(429);
    expect(err.message).toContain('RESOURCE_EXHAUSTED');
    expect(err.message).toContain('RetryInfo');
  });
});
