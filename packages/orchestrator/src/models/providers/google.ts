import { GoogleGenAI, type GenerateContentConfig, type GenerateContentResponse } from '@google/genai';
import type { ModelProvider, ModelRequest, ModelResponse, ModelStreamChunk, ProviderCallOptions } from '../types.js';

export interface GoogleProviderOptions {
  id?: string;
  apiKey?: string;
  baseURL?: string;
  headers?: Record<string, string>;
}

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
    return {
      text: res.text ?? '',
      model: res.modelVersion ?? req.model,
      usage: usageOf(res),
      finishReason: res.candidates?.[0]?.finishReason,
    };
  }

  async *stream(req: ModelRequest, opts: ProviderCallOptions = {}): AsyncIterable<ModelStreamChunk> {
    const stream = await this.client.models.generateContentStream(this.params(req, opts.signal));
    let usage: ModelStreamChunk['usage'];
    let finishReason: string | undefined;
    for await (const chunk of stream) {
      // Each chunk repeats usage so far; the last one is final.
      if (chunk.usageMetadata) usage = usageOf(chunk);
      if (chunk.candidates?.[0]?.finishReason) finishReason = chunk.candidates[0].finishReason;
      const delta = chunk.text;
      if (delta) yield { delta };
    }
    yield { delta: '', done: true, usage, finishReason };
  }

  private params(req: ModelRequest, signal?: AbortSignal) {
    const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content);
    const config: GenerateContentConfig = { abortSignal: signal };
    if (system.length) config.systemInstruction = system.join('\n\n');
    if (req.maxTokens !== undefined) config.maxOutputTokens = req.maxTokens;
    if (req.temperature !== undefined) config.temperature = req.temperature;
    if (req.json) config.responseMimeType = 'application/json';
    return {
      model: req.model,
      contents: req.messages
        .filter((m) => m.role !== 'system')
        .map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] })),
      config,
    };
  }
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
