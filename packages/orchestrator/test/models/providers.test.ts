import { FakeListChatModel } from '@langchain/core/utils/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelManager } from '../../src/models/manager.js';
import { defineProvider } from '../../src/models/providers/code.js';
import { LangChainProvider } from '../../src/models/providers/langchain.js';
import { serverTokens } from './fake-servers/index.js';
import { type Fakes, KEYS, makeManager, startFakes, TEST_CATALOG } from './helpers.js';

let f: Fakes;
beforeAll(async () => {
  f = await startFakes();
});
afterAll(() => f.close());

// Usage must be the server's own count (words + 2 per message), never our chars/4 estimate.
const expectedInput = (system: string, user: string) => serverTokens(system) + serverTokens(user) + 4;

describe.each([
  ['oa-small', 'openai', 'gpt-4o-mini'],
  ['an-haiku', 'anthropic', 'claude-haiku-4-5'],
  ['gm-flash', 'google', 'gemini-2.5-flash'],
] as const)('%s through the %s provider', (modelId, provider, wireModel) => {
  const system = 'You are a careful analyst of quarterly sales';
  const prompt = 'Summarise the revenue trend for the north region please';

  it('completes without streaming; usage and cost match the server exactly', async () => {
    const { manager, of } = makeManager(f);
    const r = await manager.run({
      agentId: 'a',
      requirements: { model: modelId },
      system,
      prompt,
      executionId: 'e1',
      taskId: 't1',
    });
    const reply = `reply from ${wireModel} about trend for the north region please`;
    expect(r.text).toBe(reply);
    expect(r.provider).toBe(provider);
    const input = expectedInput(system, prompt);
    const output = serverTokens(reply);
    expect(r.usage).toEqual({ inputTokens: input, outputTokens: output });
    const m = TEST_CATALOG.find((x) => x.id === modelId)!;
    expect(r.cost).toBeCloseTo((input * m.inputPricePerMTok + output * m.outputPricePerMTok) / 1e6, 12);
    expect(manager.ledger.task('e1', 't1')).toMatchObject({ calls: 1, inputTokens: input, outputTokens: output });
    expect(manager.ledger.model(modelId).cost).toBeCloseTo(r.cost, 12);
    const call = of('model:call')[0]!.payload as { usage: unknown; cost: number; success: boolean; requestKey: string };
    expect(call).toMatchObject({ usage: { inputTokens: input, outputTokens: output }, success: true });
    expect(call.requestKey).toMatch(/^[\w-]{22}$/);
  });

  it('streams deltas and ends with the same text and exact usage', async () => {
    const { manager } = makeManager(f);
    const deltas: string[] = [];
    const r = await manager.run({
      agentId: 'a',
      requirements: { model: modelId },
      system,
      prompt,
      onDelta: (d) => deltas.push(d),
    });
    const reply = `reply from ${wireModel} about trend for the north region please`;
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(reply);
    expect(r.text).toBe(reply);
    expect(r.usage).toEqual({ inputTokens: expectedInput(system, prompt), outputTokens: serverTokens(reply) });
  });

  it('passes maxTokens to the wire and the server honours it', async () => {
    const { manager } = makeManager(f);
    const r = await manager.run({
      agentId: 'a',
      requirements: { model: modelId },
      prompt: 'one two three',
      maxTokens: 2,
    });
    expect(r.usage.outputTokens).toBe(2);
    expect(r.text.split(' ')).toHaveLength(2);
  });
});

describe('custom providers', () => {
  it('uses any number of named OpenAI-compatible endpoints from config', async () => {
    const manager = new ModelManager(
      {
        providers: {
          'my-vllm': { baseURL: `${f.openai.url}/v1` },
          'my-ollama': { type: 'openai-compatible', baseURL: `${f.openai.url}/v1` },
        },
        catalog: {
          replace: true,
          models: [
            {
              id: 'llama',
              provider: 'my-vllm',
              providerModel: 'meta-llama/Llama-3.1-8B',
              capabilities: ['chat'],
              contextWindow: 8192,
              inputPricePerMTok: 0,
              outputPricePerMTok: 0,
            },
            {
              id: 'qwen',
              provider: 'my-ollama',
              providerModel: 'qwen2.5',
              capabilities: ['chat'],
              contextWindow: 8192,
              inputPricePerMTok: 0,
              outputPricePerMTok: 0,
            },
          ],
        },
      },
      undefined,
      { env: {} },
    );
    const a = await manager.run({ agentId: 'x', requirements: { model: 'llama' }, prompt: 'hi' });
    const b = await manager.run({ agentId: 'x', requirements: { model: 'qwen' }, prompt: 'hi' });
    expect(a.text).toBe('reply from meta-llama/Llama-3.1-8B about hi');
    expect(b.provider).toBe('my-ollama');
    // Compatible servers get `max_tokens`; only OpenAI itself gets `max_completion_tokens`.
    await manager.run({ agentId: 'x', requirements: { model: 'qwen' }, prompt: 'hi', maxTokens: 3 });
    expect((f.openai.requests.at(-1)!.body as Record<string, unknown>).max_tokens).toBe(3);
  });

  it('reads base URLs and keys from the environment (GOOGLE_API_KEY accepted for Gemini)', async () => {
    const manager = new ModelManager({}, undefined, {
      catalog: TEST_CATALOG,
      env: {
        OPENAI_API_KEY: KEYS.openai,
        OPENAI_BASE_URL: `${f.openai.url}/v1`,
        GOOGLE_API_KEY: KEYS.google,
        GEMINI_BASE_URL: f.google.url,
      },
    });
    expect(manager.isAvailable('openai')).toBe(true);
    expect(manager.isAvailable('anthropic')).toBe(false);
    const r = await manager.run({ agentId: 'x', requirements: { model: 'gm-flash' }, prompt: 'env' });
    expect(r.provider).toBe('google');
    expect(f.google.requests.at(-1)!.headers['x-goog-api-key']).toBe(KEYS.google);
  });

  it('takes a code provider; usage is estimated (and flagged) when it reports none', async () => {
    const echo = defineProvider({
      id: 'echo',
      complete: async (req) => ({
        text: req.messages.at(-1)!.content.toUpperCase(),
        model: req.model,
        usage: { inputTokens: 0, outputTokens: 0, estimated: true },
      }),
    });
    const manager = new ModelManager(
      {
        catalog: {
          models: [
            {
              id: 'echo-1',
              provider: 'echo',
              capabilities: ['chat'],
              contextWindow: 1000,
              inputPricePerMTok: 1,
              outputPricePerMTok: 1,
            },
          ],
        },
      },
      undefined,
      { env: {}, providers: [echo] },
    );
    const r = await manager.run({ agentId: 'x', requirements: { model: 'echo-1' }, prompt: 'shout this' });
    expect(r.text).toBe('SHOUT THIS');
    expect(r.usage.estimated).toBe(true);
    expect(r.usage.inputTokens).toBeGreaterThan(0);
    expect(manager.ledger.totals().estimatedCalls).toBe(1);
  });

  it('adapts a LangChain.js chat model, streaming too', async () => {
    const lc = new FakeListChatModel({ responses: ['first answer from langchain', 'second answer'] });
    const manager = new ModelManager(
      {
        catalog: {
          models: [
            {
              id: 'lc-model',
              provider: 'langchain',
              capabilities: ['chat'],
              contextWindow: 4000,
              inputPricePerMTok: 0,
              outputPricePerMTok: 0,
            },
          ],
        },
      },
      undefined,
      { env: {}, providers: [new LangChainProvider({ id: 'langchain', model: lc })] },
    );
    const r = await manager.run({ agentId: 'x', requirements: { model: 'lc-model' }, system: 'sys', prompt: 'q' });
    expect(r.text).toBe('first answer from langchain');
    const deltas: string[] = [];
    const s = await manager.run({
      agentId: 'x',
      requirements: { model: 'lc-model' },
      prompt: 'q',
      onDelta: (d) => deltas.push(d),
    });
    expect(s.text).toBe('second answer');
    expect(deltas.length).toBeGreaterThan(1);
  });

  it('falls back to the labelled offline local provider when no key is configured', async () => {
    const manager = new ModelManager({}, undefined, { env: {} });
    const r = await manager.run({
      agentId: 'x',
      requirements: { capabilities: ['analysis'] },
      prompt: 'Analyse sales',
    });
    expect(r.provider).toBe('local');
    expect(r.offline).toBe(true);
    expect(r.text).toContain('[local offline model]');
    expect(r.cost).toBe(0);
  });
});
