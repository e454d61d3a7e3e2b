import { FakeServer, type FakeServerOptions, sendJson, sseHeaders, type WireFormat } from './http.js';

// Google Gemini wire format: POST /v1beta/models/{model}:generateContent (JSON) and
// :streamGenerateContent?alt=sse (each SSE `data:` is a GenerateContentResponse; usage repeated, final on the last).
// Errors are google.rpc.Status; 429s carry a RetryInfo detail as the real API does. Tools:
// `tools[].functionDeclarations`; answers with `functionCall` parts (whole, one per streamed chunk); results come
// back as `functionResponse` parts. Structured output: `generationConfig.responseJsonSchema`.
interface Part {
  text?: string;
  functionResponse?: { id?: string; name?: string; response?: Record<string, unknown> };
}
interface Body {
  contents: Array<{ role?: string; parts: Part[] }>;
  systemInstruction?: { parts: Array<{ text?: string }> };
  generationConfig?: { maxOutputTokens?: number; responseJsonSchema?: unknown; responseSchema?: unknown };
  tools?: Array<{ functionDeclarations?: Array<{ name: string }> }>;
}

const partsText = (p: Array<{ text?: string }>): string => p.map((x) => x.text ?? '').join('');
const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  529: 'UNAVAILABLE',
};

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
      tools: (b.tools ?? []).flatMap((t) => (t.functionDeclarations ?? []).map((f) => f.name)),
      toolResults: b.contents.flatMap((c) =>
        c.parts
          .filter((p) => p.functionResponse)
          .map((p) => {
            const r = p.functionResponse?.response ?? {};
            const isError = 'error' in r;
            const v = isError ? r.error : (r.output ?? r);
            return {
              id: p.functionResponse?.id,
              name: p.functionResponse?.name,
              content: typeof v === 'string' ? v : JSON.stringify(v),
              isError,
            };
          }),
      ),
      schema: b.generationConfig?.responseJsonSchema ?? b.generationConfig?.responseSchema,
    };
  },
  credential(h) {
    const k = h['x-goog-api-key'];
    return typeof k === 'string' ? k : undefined;
  },
  error(res, status, message, retryAfter) {
    const details =
      retryAfter !== undefined
        ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfter}s` }]
        : [];
    sendJson(
      res,
      status,
      { error: { code: status, message, status: STATUS[status] ?? 'UNKNOWN', details } },
      retryAfter,
    );
  },
  complete(res, call, out, usage, toolCalls) {
    const body = response(call.model, out, usage, 'STOP');
    const parts: unknown[] = out || !toolCalls.length ? [{ text: out }] : [];
    for (const c of toolCalls) parts.push({ functionCall: { id: c.id, name: c.name, args: JSON.parse(c.args) } });
    body.candidates[0]!.content.parts = parts;
    sendJson(res, 200, body);
  },
  stream(res, call, words, usage, stall, toolCalls) {
    sseHeaders(res);
    if (toolCalls.length) {
      // Gemini streams each functionCall part whole, one per chunk; text (if any) first.
      const chunks: unknown[][] = words.length ? [[{ text: words.join(' ') }]] : [];
      for (const c of toolCalls) chunks.push([{ functionCall: { id: c.id, name: c.name, args: JSON.parse(c.args) } }]);
      chunks.forEach((parts, i) => {
        const last = i === chunks.length - 1;
        const body = response(
          call.model,
          '',
          { input: usage.input, output: last ? usage.output : i + 1 },
          last ? 'STOP' : undefined,
        );
        body.candidates[0]!.content.parts = parts;
        res.write(`data: ${JSON.stringify(body)}\r\n\r\n`);
      });
      return void res.end();
    }
    words.forEach((w, i) => {
      if (stall && i > 0) return;
      const last = i === words.length - 1;
      // Usage grows as the answer does; the final chunk carries the totals.
      const u = { input: usage.input, output: last ? usage.output : i + 1 };
      res.write(
        `data: ${JSON.stringify(response(call.model, i === 0 ? w : ` ${w}`, u, last ? 'STOP' : undefined))}\r\n\r\n`,
      );
    });
    if (!stall) res.end();
  },
};

function response(model: string, text: string, usage: { input: number; output: number }, finishReason?: string) {
  return {
    candidates: [
      {
        content: { role: 'model', parts: [{ text }] as unknown[] },
        ...(finishReason ? { finishReason } : {}),
        index: 0,
      },
    ],
    usageMetadata: {
      promptTokenCount: usage.input,
      candidatesTokenCount: usage.output,
      totalTokenCount: usage.input + usage.output,
    },
    modelVersion: model,
  };
}

/** Base URL for SDKs/providers: `server.url` (the SDK appends /v1beta/models/…). */
export function startFakeGemini(opts?: FakeServerOptions): Promise<FakeServer> {
  return new FakeServer(wire, opts).start();
}
