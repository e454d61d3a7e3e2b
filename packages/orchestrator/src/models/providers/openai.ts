import OpenAI from 'openai';
import type {
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
} from 'openai/resources/chat/completions';
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

/** Options of the OpenAIProvider, for OpenAI itself or any OpenAI-compatible server. */
export interface OpenAIProviderOptions {
  /** Provider id; `openai` for OpenAI itself, any name for an OpenAI-compatible server (Ollama, vLLM, LM Studio…). */
  id?: string;
  apiKey?: string;
  baseURL?: string;
  headers?: Record<string, string>;
  /** `openai` sends `max_completion_tokens` (required by reasoning models); compatible servers get `max_tokens`. */
  flavour?: 'openai' | 'compatible';
}

/** Base URL of the OpenAI API, used when the provider options set no `baseURL`. */
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
      toolCalls: toolCallsOf(choice?.message?.tool_calls),
    };
  }

  async *stream(req: ModelRequest, opts: ProviderCallOptions = {}): AsyncIterable<ModelStreamChunk> {
    const stream = await this.client.chat.completions.create(
      { ...this.body(req), stream: true, stream_options: { include_usage: true } },
      { signal: opts.signal },
    );
    let usage: ModelStreamChunk['usage'];
    let finishReason: string | undefined;
    // Tool calls stream as fragments keyed by index: the first carries id and name, the rest argument text.
    const calls: Array<{ id: string; name: string; args: string }> = [];
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.finish_reason) finishReason = choice.finish_reason;
      if (chunk.usage) usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
      for (const tc of choice?.delta?.tool_calls ?? []) {
        if (!calls[tc.index]) calls[tc.index] = { id: '', name: '', args: '' };
        const c = calls[tc.index] as { id: string; name: string; args: string };
        if (tc.id) c.id = tc.id;
        if (tc.function?.name) c.name += tc.function.name;
        if (tc.function?.arguments) c.args += tc.function.arguments;
      }
      const delta = choice?.delta?.content;
      if (delta) yield { delta };
    }
    const toolCalls = calls.filter(Boolean).map((c) => ({ id: c.id, name: c.name, arguments: parseArgs(c.args) }));
    yield { delta: '', done: true, usage, finishReason, toolCalls: toolCalls.length ? toolCalls : undefined };
  }

  private body(req: ModelRequest): ChatCompletionCreateParamsBase {
    const body: ChatCompletionCreateParamsBase = {
      model: req.model,
      messages: req.messages.map(toWire),
    };
    if (req.maxTokens !== undefined) {
      if (this.flavour === 'openai') body.max_completion_tokens = req.maxTokens;
      else body.max_tokens = req.maxTokens;
    }
    if (req.temperature !== undefined) body.temperature = req.temperature;
    if (req.json) body.response_format = { type: 'json_object' };
    if (req.responseSchema) {
      body.response_format = {
        type: 'json_schema',
        json_schema: { name: req.responseSchema.name, schema: req.responseSchema.schema, strict: false },
      };
    }
    if (req.tools?.length) {
      body.tools = req.tools.map((t) => ({
        type: 'function' as const,
        function: { name: t.name, description: t.description, parameters: t.parameters },
      }));
    }
    return body;
  }
}

function toWire(m: ChatMessage): ChatCompletionMessageParam {
  if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId ?? '', content: m.content };
  if (m.role === 'assistant' && m.toolCalls?.length) {
    return {
      role: 'assistant',
      content: m.content || null,
      tool_calls: m.toolCalls.map((c) => ({
        id: c.id,
        type: 'function' as const,
        function: {
          name: c.name,
          arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
        },
      })),
    };
  }
  return { role: m.role, content: m.content } as ChatCompletionMessageParam;
}

function toolCallsOf(calls: ChatCompletionMessageToolCall[] | undefined): ToolCall[] | undefined {
  const out: ToolCall[] = [];
  for (const c of calls ?? []) {
    if (c.type === 'function')
      out.push({ id: c.id, name: c.function.name, arguments: parseArgs(c.function.arguments) });
  }
  return out.length ? out : undefined;
}
