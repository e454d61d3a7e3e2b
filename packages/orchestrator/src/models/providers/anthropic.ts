import Anthropic from '@anthropic-ai/sdk';
import type {
  ContentBlockParam,
  MessageCreateParamsBase,
  MessageParam,
  ToolResultBlockParam,
} from '@anthropic-ai/sdk/resources/messages';
import type {
  ChatMessage,
  ModelProvider,
  ModelRequest,
  ModelResponse,
  ModelStreamChunk,
  ProviderCallOptions,
  ToolCall,
} from '../types.js';
import { sdkClientOptions } from './sdk-client-options.js';
import { parseArgs } from './tool-args.js';

/** Options of the AnthropicProvider: id, API key, base URL, extra headers and default max tokens. */
export interface AnthropicProviderOptions {
  id?: string;
  apiKey?: string;
  baseURL?: string;
  headers?: Record<string, string>;
  /** Messages API requires `max_tokens`; used when the request sets none. */
  defaultMaxTokens?: number;
}

/** Base URL of the Anthropic API, used when the provider options set no `baseURL`. */
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
    const toolCalls: ToolCall[] = [];
    for (const block of res.content) {
      if (block.type === 'text') text += block.text;
      else if (block.type === 'tool_use') toolCalls.push({ id: block.id, name: block.name, arguments: block.input });
    }
    return {
      text,
      model: res.model ?? req.model,
      usage: { inputTokens: res.usage.input_tokens, outputTokens: res.usage.output_tokens },
      finishReason: res.stop_reason ?? undefined,
      toolCalls: toolCalls.length ? toolCalls : undefined,
    };
  }

  async *stream(req: ModelRequest, opts: ProviderCallOptions = {}): AsyncIterable<ModelStreamChunk> {
    const stream = await this.client.messages.create({ ...this.body(req), stream: true }, { signal: opts.signal });
    let inputTokens = 0;
    let outputTokens = 0;
    let finishReason: string | undefined;
    let sawUsage = false;
    // tool_use blocks open with id and name; their input streams as partial JSON text.
    const calls = new Map<number, { id: string; name: string; json: string }>();
    for await (const ev of stream) {
      if (ev.type === 'content_block_start' && ev.content_block.type === 'tool_use') {
        calls.set(ev.index, { id: ev.content_block.id, name: ev.content_block.name, json: '' });
      } else if (ev.type === 'content_block_delta' && ev.delta.type === 'input_json_delta') {
        const c = calls.get(ev.index);
        if (c) c.json += ev.delta.partial_json;
      } else if (ev.type === 'message_start') {
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
    const toolCalls = [...calls.values()].map((c) => ({ id: c.id, name: c.name, arguments: parseArgs(c.json) }));
    yield {
      delta: '',
      done: true,
      usage: sawUsage ? { inputTokens, outputTokens } : undefined,
      finishReason,
      toolCalls: toolCalls.length ? toolCalls : undefined,
    };
  }

  private body(req: ModelRequest): MessageCreateParamsBase {
    const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content);
    // The Messages API has no JSON mode; asking in the system prompt is Anthropic's documented approach.
    if (req.json) system.push('Respond with a single JSON object and nothing else.');
    const body: MessageCreateParamsBase = {
      model: req.model,
      max_tokens: req.maxTokens ?? this.defaultMaxTokens,
      messages: toWire(req.messages),
    };
    if (system.length) body.system = system.join('\n\n');
    if (req.tools?.length) {
      body.tools = req.tools.map((t) => ({
        name: t.name,
        description: t.description,
        input_schema: t.parameters as { type: 'object' },
      }));
    }
    if (req.responseSchema) body.output_config = { format: { type: 'json_schema', schema: req.responseSchema.schema } };
    // `temperature` is not sent: the current Messages API types no longer carry it (sampling is model-managed).
    return body;
  }
}

/** Tool results go back as `tool_result` blocks of one user turn (consecutive results share it). */
function toWire(messages: ChatMessage[]): MessageParam[] {
  const out: MessageParam[] = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    if (m.role === 'tool') {
      const block: ToolResultBlockParam = {
        type: 'tool_result',
        tool_use_id: m.toolCallId ?? '',
        content: m.content,
        ...(m.isError ? { is_error: true } : {}),
      };
      const last = out.at(-1);
      if (last?.role === 'user' && Array.isArray(last.content) && last.content.every((b) => b.type === 'tool_result')) {
        (last.content as ContentBlockParam[]).push(block);
      } else out.push({ role: 'user', content: [block] });
      continue;
    }
    if (m.role === 'assistant' && m.toolCalls?.length) {
      const content: ContentBlockParam[] = m.content ? [{ type: 'text', text: m.content }] : [];
      for (const c of m.toolCalls) content.push({ type: 'tool_use', id: c.id, name: c.name, input: c.arguments });
      out.push({ role: 'assistant', content });
      continue;
    }
    out.push({ role: m.role === 'assistant' ? 'assistant' : 'user', content: m.content });
  }
  return out;
}
