import type { ModelProvider, ModelRequest, ModelResponse, ModelStreamChunk, ProviderCallOptions } from '../types.js';

// Structural view of a LangChain.js chat model (`BaseChatModel` from @langchain/core): only what we call, so
// this file needs no import of @langchain/core and the library works without it installed.
interface LcMessageLike {
  content: unknown;
  usage_metadata?: { input_tokens?: number; output_tokens?: number };
  response_metadata?: Record<string, unknown>;
}
/** The part of a LangChain.js chat model the adapter uses: `invoke` and, optionally, `stream`. */
export interface LangChainChatModelLike {
  invoke(input: Array<[string, string]>, options?: { signal?: AbortSignal }): Promise<LcMessageLike>;
  stream?(input: Array<[string, string]>, options?: { signal?: AbortSignal }): Promise<AsyncIterable<LcMessageLike>>;
}

/** Options of the LangChainProvider: the provider id and the LangChain chat model to wrap. */
export interface LangChainProviderOptions {
  id: string;
  model: LangChainChatModelLike;
}

const ROLE = { system: 'system', user: 'human', assistant: 'ai' } as const;

/** Brings any LangChain.js chat model into the model layer (retries, limits, costs, events all apply). */
export class LangChainProvider implements ModelProvider {
  readonly id: string;
  private readonly model: LangChainChatModelLike;

  constructor(opts: LangChainProviderOptions) {
    this.id = opts.id;
    this.model = opts.model;
  }

  async complete(req: ModelRequest, opts: ProviderCallOptions = {}): Promise<ModelResponse> {
    const msg = await this.model.invoke(toLc(req), { signal: opts.signal });
    return { text: textOf(msg.content), model: req.model, usage: usageOf(msg), finishReason: 'stop' };
  }

  async *stream(req: ModelRequest, opts: ProviderCallOptions = {}): AsyncIterable<ModelStreamChunk> {
    if (!this.model.stream) {
      const res = await this.complete(req, opts);
      yield { delta: res.text };
      yield { delta: '', done: true, usage: res.usage, finishReason: res.finishReason };
      return;
    }
    let inputTokens = 0;
    let outputTokens = 0;
    let sawUsage = false;
    for await (const chunk of await this.model.stream(toLc(req), { signal: opts.signal })) {
      if (chunk.usage_metadata) {
        sawUsage = true;
        inputTokens += chunk.usage_metadata.input_tokens ?? 0;
        outputTokens += chunk.usage_metadata.output_tokens ?? 0;
      }
      const t = textOf(chunk.content);
      if (t) yield { delta: t };
    }
    yield { delta: '', done: true, usage: sawUsage ? { inputTokens, outputTokens } : undefined, finishReason: 'stop' };
  }
}

function toLc(req: ModelRequest): Array<[string, string]> {
  // Tool turns have no tuple form in LangChain; they are passed as human text.
  return req.messages.map((m) => [m.role === 'tool' ? 'human' : ROLE[m.role], m.content]);
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((p) => (typeof p === 'string' ? p : ((p as { text?: string }).text ?? ''))).join('');
  return '';
}

function usageOf(msg: LcMessageLike): ModelResponse['usage'] {
  const u = msg.usage_metadata;
  if (!u) return { inputTokens: 0, outputTokens: 0, estimated: true };
  return { inputTokens: u.input_tokens ?? 0, outputTokens: u.output_tokens ?? 0 };
}
