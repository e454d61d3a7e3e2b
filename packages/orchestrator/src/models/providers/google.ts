import { type Content, type GenerateContentConfig, type GenerateContentResponse, GoogleGenAI } from '@google/genai';
import type {
  ChatMessage,
  ModelProvider,
  ModelRequest,
  ModelResponse,
  ModelStreamChunk,
  ProviderCallOptions,
  ToolCall,
} from '../types.js';

/** Options of the GoogleProvider: id, API key, base URL and extra headers. */
export interface GoogleProviderOptions {
  id?: string;
  apiKey?: string;
  baseURL?: string;
  headers?: Record<string, string>;
}

/** Base URL of the Gemini API, used when the provider options set no `baseURL`. */
export const GOOGLE_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

/** Carries status and headers of a failed response: @google/genai's ApiError keeps neither `retry-after` nor headers. */
class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly headers: Headers,
    message: string,
  ) {
    super(message);
    this.name = 'HttpStatusError';
  }
}

/**
 * Google Gemini (`{base}/v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`) through
 * the official `@google/genai` SDK.
 */
export class GoogleProvider implements ModelProvider {
  readonly id: string;
  private readonly client: GoogleGenAI;

  constructor(opts: GoogleProviderOptions = {}) {
    this.id = opts.id ?? 'google';
    const inner = globalThis.fetch;
    this.client = new GoogleGenAI({
      apiKey: opts.apiKey ?? 'no-key',
      httpOptions: {
        baseUrl: opts.baseURL ?? GOOGLE_DEFAULT_BASE_URL,
        headers: opts.headers,
        // The SDK only retries when retryOptions is set; we leave it unset so retries stay in the model layer.
        fetch: async (input, init) => {
          const res = await inner(input, init);
          if (!res.ok) throw new HttpStatusError(res.status, res.headers, await res.text());
          return res;
        },
      },
    });
  }

  async complete(req: ModelRequest, opts: ProviderCallOptions = {}): Promise<ModelResponse> {
    const res = await this.client.models.generateContent(this.params(req, opts.signal));
    const toolCalls = callsOf(res, 0);
    return {
      text: textOf(res),
      model: res.modelVersion ?? req.model,
      usage: usageOf(res),
      finishReason: res.candidates?.[0]?.finishReason,
      toolCalls: toolCalls.length ? toolCalls : undefined,
    };
  }

  async *stream(req: ModelRequest, opts: ProviderCallOptions = {}): AsyncIterable<ModelStreamChunk> {
    const stream = await this.client.models.generateContentStream(this.params(req, opts.signal));
    let usage: ModelStreamChunk['usage'];
    let finishReason: string | undefined;
    // Gemini streams each functionCall part whole, so calls are collected as they come.
    const toolCalls: ToolCall[] = [];
    for await (const chunk of stream) {
      // Each chunk repeats usage so far; the last one is final.
      if (chunk.usageMetadata) usage = usageOf(chunk);
      if (chunk.candidates?.[0]?.finishReason) finishReason = chunk.candidates[0].finishReason;
      toolCalls.push(...callsOf(chunk, toolCalls.length));
      const delta = textOf(chunk);
      if (delta) yield { delta };
    }
    yield { delta: '', done: true, usage, finishReason, toolCalls: toolCalls.length ? toolCalls : undefined };
  }

  private params(req: ModelRequest, signal?: AbortSignal) {
    const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content);
    const config: GenerateContentConfig = { abortSignal: signal };
    if (system.length) config.systemInstruction = system.join('\n\n');
    if (req.maxTokens !== undefined) config.maxOutputTokens = req.maxTokens;
    if (req.temperature !== undefined) config.temperature = req.temperature;
    if (req.json) config.responseMimeType = 'application/json';
    if (req.responseSchema) {
      config.responseMimeType = 'application/json';
      config.responseJsonSchema = req.responseSchema.schema;
    }
    if (req.tools?.length) {
      config.tools = [
        {
          functionDeclarations: req.tools.map((t) => ({
            name: t.name,
            description: t.description,
            parametersJsonSchema: t.parameters,
          })),
        },
      ];
    }
    return { model: req.model, contents: toContents(req.messages), config };
  }
}

/** Function responses travel in a user turn (consecutive ones share it), matched to calls by id and name. */
function toContents(messages: ChatMessage[]): Content[] {
  const out: Content[] = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    if (m.role === 'tool') {
      const part = {
        functionResponse: {
          id: m.toolCallId,
          name: m.toolName ?? '',
          response: m.isError ? { error: m.content } : { output: m.content },
        },
      };
      const last = out.at(-1);
      if (last?.role === 'user' && last.parts?.every((p) => p.functionResponse)) last.parts.push(part);
      else out.push({ role: 'user', parts: [part] });
      continue;
    }
    if (m.role === 'assistant') {
      const parts: NonNullable<Content['parts']> = m.content ? [{ text: m.content }] : [];
      for (const c of m.toolCalls ?? []) {
        parts.push({ functionCall: { id: c.id, name: c.name, args: c.arguments as Record<string, unknown> } });
      }
      out.push({ role: 'model', parts });
      continue;
    }
    out.push({ role: 'user', parts: [{ text: m.content }] });
  }
  return out;
}

// Read parts directly: the SDK's `text` getter warns on responses that also hold function calls.
function textOf(res: GenerateContentResponse): string {
  let text = '';
  for (const p of res.candidates?.[0]?.content?.parts ?? [])
    if (typeof p.text === 'string' && !p.thought) text += p.text;
  return text;
}

/** Calls without an id (older Gemini models) get a positional one. */
function callsOf(res: GenerateContentResponse, offset: number): ToolCall[] {
  const out: ToolCall[] = [];
  for (const p of res.candidates?.[0]?.content?.parts ?? []) {
    const f = p.functionCall;
    if (f?.name) out.push({ id: f.id ?? `call_${offset + out.length}`, name: f.name, arguments: f.args ?? {} });
  }
  return out;
}

function usageOf(res: GenerateContentResponse): ModelResponse['usage'] {
  const u = res.usageMetadata;
  if (!u) return { inputTokens: 0, outputTokens: 0, estimated: true };
  // Thinking tokens are billed as output.
  return {
    inputTokens: u.promptTokenCount ?? 0,
    outputTokens: (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0),
  };
}
