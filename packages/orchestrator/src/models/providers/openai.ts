import OpenAI from 'openai';
import type { ChatCompletionCreateParamsBase } from 'openai/resources/chat/completions';
import type { ModelProvider, ModelRequest, ModelResponse, ModelStreamChunk, ProviderCallOptions } from '../types.js';
import { sdkClientOptions } from './sdk-client-options.js';

export interface OpenAIProviderOptions {
  /** Provider id; `openai` for OpenAI itself, any name for an OpenAI-compatible server (Ollama, vLLM, LM Studio…). */
  id?: string;
  apiKey?: string;
  baseURL?: string;
  headers?: Record<string, string>;
  /** `openai` sends `max_completion_tokens` (required by reasoning models); compatible servers get `max_tokens`. */
  flavour?: 'openai' | 'compatible';
}

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/** OpenAI Chat Completions (`POST {base}/chat/completions`) through the official `openai` SDK. */
export class OpenAIProvider implements ModelProvider {
  readonly id: string;
  private readonly client: OpenAI;
  private readonly flavour: 'openai' | 'compatible';

  constructor(opts: OpenAIProviderOptions = {}) {
    this.id = opts.id ?? 'openai';
    this.flavour = opts.flavour ?? (this.id === 'openai' ? 'openai' : 'compatible');
    this.client = new OpenAI(sdkClientOptions(opts, OPENAI_DEFAULT_BASE_URL));
  }

  async complete(req: ModelRequest, opts: ProviderCallOptions = {}): Promise<ModelResponse> {
    const res = await this.client.chat.completions.create(
      { ...this.body(req), stream: false },
      { signal: opts.signal },
    );
    const choice = res.choices[0];
    return {
      text: choice?.message?.content ?? '',
      model: res.model ?? req.model,
      usage: res.usage
        ? { inputTokens: res.usage.prompt_tokens, outputTokens: res.usage.completion_tokens }
        : { inputTokens: 0, outputTokens: 0, estimated: true },
      finishReason: choice?.finish_reason ?? undefined,
    };
  }

  async *stream(req: ModelRequest, opts: ProviderCallOptions = {}): AsyncIterable<ModelStreamChunk> {
    const stream = await this.client.chat.completions.create(
      { ...this.body(req), stream: true, stream_options: { include_usage: true } },
      { signal: opts.signal },
    );
    let usage: ModelStreamChunk['usage'];
    let finishReason: string | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.finish_reason) finishReason = choice.finish_reason;
      if (chunk.usage) usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
      const delta = choice?.delta?.content;
      if (delta) yield { delta };
    }
    yield { delta: '', done: true, usage, finishReason };
  }

  private body(req: ModelRequest): ChatCompletionCreateParamsBase {
    const body: ChatCompletionCreateParamsBase = {
      model: req.model,
      messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
    };
    if (req.maxTokens !== undefined) {
      if (this.flavour === 'openai') body.max_completion_tokens = req.maxTokens;
      else body.max_tokens = req.maxTokens;
    }
    if (req.temperature !== undefined) body.temperature = req.temperature;
    if (req.json) body.response_format = { type: 'json_object' };
    return body;
  }
}
