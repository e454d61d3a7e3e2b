import { FakeServer, sendJson, sseHeaders, type FakeServerOptions, type WireFormat } from './http.js';

// Google Gemini wire format: POST /v1beta/models/{model}:generateContent (JSON) and
// :streamGenerateContent?alt=sse (each SSE `data:` is a GenerateContentResponse; usage repeated, final on the last).
// Errors are google.rpc.Status; 429s carry a RetryInfo detail as the real API does.
interface Body {
  contents: Array<{ role?: string; parts: Array<{ text?: string }> }>;
  systemInstruction?: { parts: Array<{ text?: string }> };
  generationConfig?: { maxOutputTokens?: number };
}

const partsText = (p: Array<{ text?: string }>): string => p.map((x) => x.text ?? '').join('');
const STATUS: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 529: 'UNAVAILABLE' };

const wire: WireFormat = {
  parse(path, raw) {
    const m = /^\/v1beta\/models\/([^:/?]+):(generateContent|streamGenerateContent)(\?.*)?$/.exec(path);
    const b = raw as Body;
    if (!m || !Array.isArray(b?.contents)) return undefined;
    const system = b.systemInstruction ? partsText(b.systemInstruction.parts) : '';
    const parts = [...(system ? [system] : []), ...b.contents.map((c) => partsText(c.parts))];
    return {
      model: m[1] as string,
      stream: m[2] === 'streamGenerateContent',
      prompt: parts.join('\n'),
      lastUser: partsText(b.contents.filter((c) => c.role !== 'model').at(-1)?.parts ?? []),
      messageCount: parts.length,
      maxTokens: b.generationConfig?.maxOutputTokens,
    };
  },
  credential(h) {
    const k = h['x-goog-api-key'];
    return typeof k === 'string' ? k : undefined;
  },
  error(res, status, message, retryAfter) {
    const details = retryAfter !== undefined ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfter}s` }] : [];
    sendJson(res, status, { error: { code: status, message, status: STATUS[status] ?? 'UNKNOWN', details } }, retryAfter);
  },
  complete(res, call, out, usage) {
    sendJson(res, 200, response(call.model, out, usage, 'STOP'));
  },
  stream(res, call, words, usage, stall) {
    sseHeaders(res);
    words.forEach((w, i) => {
      if (stall && i > 0) return;
      const last = i === words.length - 1;
      // Usage grows as the answer does; the final chunk carries the totals.
      const u = { input: usage.input, output: last ? usage.output : i + 1 };
      res.write(`data: ${JSON.stringify(response(call.model, i === 0 ? w : ` ${w}`, u, last ? 'STOP' : undefined))}\r\n\r\n`);
    });
    if (!stall) res.end();
  },
};

function response(model: string, text: string, usage: { input: number; output: number }, finishReason?: string) {
  return {
    candidates: [{ content: { role: 'model', parts: [{ text }] }, ...(finishReason ? { finishReason } : {}), index: 0 }],
    usageMetadata: { promptTokenCount: usage.input, candidatesTokenCount: usage.output, totalTokenCount: usage.input + usage.output },
    modelVersion: model,
  };
}

/** Base URL for SDKs/providers: `server.url` (the SDK appends /v1beta/models/…). */
export function startFakeGemini(opts?: FakeServerOptions): Promise<FakeServer> {
  return new FakeServer(wire, opts).start();
}
