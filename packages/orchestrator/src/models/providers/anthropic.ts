import Anthropic from '@anthropic-ai/sdk';
import type { MessageCreateParamsBase } from '@anthropic-ai/sdk/resources/messages';
import type { ModelProvider, ModelRequest, ModelResponse, ModelStreamChunk, ProviderCallOptions } from '../types.js';
import { sdkClientOptions } from './sdk-client-options.js';

export interface AnthropicProviderOptions {
  id?: string;
  apiKey?: string;
  baseURL?: string;
  headers?: Record<string, string>;
  /** Messages API requires `max_tokens`; used when the request sets none. */
  defaultMaxTokens?: number;
}

export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';

/** Anthropic Messages (`POST {base}/v1/messages`) through the official `@anthropic-ai/sdk`. */
export class AnthropicProvider implements ModelProvider {
  readonly id: string;
  private readonly client: Anthropic;
  private readonly defaultMaxTokens: number;

  constructor(opts: AnthropicProviderOptions = {}) {
    this.id = opts.id ?? 'anthropic';
    this.defaultMaxTokens = opts.defaultMaxTokens ?? 1024;
    this.client = new Anthropic(sdkClientOptions(opts, ANTHROPIC_DEFAULT_BASE_URL));
  }

  async complete(req: ModelRequest, opts: ProviderCallOptions = {}): Promise<ModelResponse> {
    const res = await this.client.messages.create({ ...this.body(req), stream: false }, { signal: opts.signal });
    let text = '';
    for (const block of res.content) if (block.type === 'text') text += block.text;
    return {
      text,
      model: res.model ?? req.model,
      usage: { inputTokens: res.usage.input_tokens, outputTokens: res.usage.output_tokens },
      finishReason: res.stop_reason ?? undefined,
    };
  }

  async *stream(req: ModelRequest, opts: ProviderCallOptions = {}): AsyncIterable<ModelStreamChunk> {
    const stream = await this.client.messages.create({ ...this.body(req), stream: true }, { signal: opts.signal });
    let inputTokens = 0;
    let outputTokens = 0;
    let finishReason: string | undefined;
    let sawUsage = false;
    for await (const ev of stream) {
      if (ev.type === 'message_start') {
        inputTokens = ev.message.usage.input_tokens;
        outputTokens = ev.message.usage.output_tokens;
        sawUsage = true;
      } else if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') {
        yield { delta: ev.delta.text };
      } else if (ev.type === 'message_delta') {
        // message_delta carries the cumulative output count.
        outputTokens = ev.usage.output_tokens;
        if (ev.usage.input_tokens != null) inputTokens = ev.usage.input_tokens;
        finishReason = ev.delta.stop_reason ?? undefined;
      }
    }
    yield { delta: '', done: true, usage: sawUsage ? { inputTokens, outputTokens } : undefined, finishReason };
  }

  private body(req: ModelRequest): MessageCreateParamsBase {
    const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content);
    // The Messages API has no JSON mode; asking in the system prompt is Anthropic's documented approach.
    if (req.json) system.push('Respond with a single JSON object and nothing else.');
    const body: MessageCreateParamsBase = {
      model: req.model,
      max_tokens: req.maxTokens ?? this.defaultMaxTokens,
      messages: req.messages
        .filter((m) => m.role !== 'system')
        .map((m) => ({
          role: m.role === 'assistant' ? ('assistant' as const) : ('user' as const),
          content: m.content,
        })),
    };
    if (system.length) body.system = system.join('\n\n');
    // `temperature` is not sent: the current Messages API types no longer carry it (sampling is model-managed).
    return body;
  }
}
