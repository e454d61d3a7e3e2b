import {
  bearerToken,
  FakeServer,
  type FakeServerOptions,
  fragments,
  type ParsedCall,
  sendJson,
  sseHeaders,
  type WireFormat,
} from './http.js';

// OpenAI Chat Completions wire format: POST /v1/chat/completions, JSON or SSE (`data: {chunk}` … `data: [DONE]`),
// usage in the final chunk when `stream_options.include_usage` is set. Tools: `tools[].function`, answers with
// `message.tool_calls` (arguments as JSON text) and finish_reason `tool_calls`; streamed as `delta.tool_calls`
// fragments keyed by index (id and name first, then argument text). Results come back as `role: tool` messages.
// Structured output: `response_format: { type: 'json_schema', json_schema: { name, schema } }`.
interface Body {
  model: string;
  messages: Array<{ role: string; content: string | null; tool_call_id?: string; tool_calls?: unknown[] }>;
  stream?: boolean;
  max_tokens?: number;
  max_completion_tokens?: number;
  stream_options?: { include_usage?: boolean };
  tools?: Array<{ type: string; function: { name: string } }>;
  response_format?: { type: string; json_schema?: { schema?: unknown } };
}

const wire: WireFormat = {
  parse(path, raw) {
    if (!path.endsWith('/chat/completions')) return undefined;
    const b = raw as Body;
    if (!b?.model || !Array.isArray(b.messages)) return undefined;
    const users = b.messages.filter((m) => m.role === 'user');
    return {
      model: b.model,
      stream: b.stream === true,
      prompt: b.messages.map((m) => m.content ?? '').join('\n'),
      lastUser: users.at(-1)?.content ?? '',
      messageCount: b.messages.length,
      maxTokens: b.max_completion_tokens ?? b.max_tokens,
      includeUsage: b.stream_options?.include_usage === true,
      tools: (b.tools ?? []).map((t) => t.function.name),
      toolResults: b.messages
        .filter((m) => m.role === 'tool')
        .map((m) => ({ id: m.tool_call_id, content: m.content ?? '' })),
      schema: b.response_format?.type === 'json_schema' ? b.response_format.json_schema?.schema : undefined,
    } as ParsedCall;
  },
  credential: bearerToken,
  error(res, status, message, retryAfter) {
    const type = status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error';
    sendJson(res, status, { error: { message, type, param: null, code: type } }, retryAfter);
  },
  complete(res, call, text, usage, toolCalls) {
    const message = toolCalls.length
      ? {
          role: 'assistant',
          content: text || null,
          refusal: null,
          tool_calls: toolCalls.map((c) => ({
            id: c.id,
            type: 'function',
            function: { name: c.name, arguments: c.args },
          })),
        }
      : { role: 'assistant', content: text, refusal: null };
    sendJson(res, 200, {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: call.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: toolCalls.length ? 'tool_calls' : 'stop' }],
      usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output },
    });
  },
  stream(res, call, words, usage, stall, toolCalls) {
    sseHeaders(res);
    const base = {
      id: 'chatcmpl-fake',
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: call.model,
    };
    const send = (o: unknown): boolean => res.write(`data: ${JSON.stringify(o)}\n\n`);
    words.forEach((w, i) => {
      if (stall && i > 0) return;
      send({
        ...base,
        choices: [
          { index: 0, delta: i === 0 ? { role: 'assistant', content: w } : { content: ` ${w}` }, finish_reason: null },
        ],
      });
    });
    if (stall) return;
    toolCalls.forEach((c, index) => {
      // As the real API does, the first chunk of an answer carries the role (content null when it is only tool calls).
      const role = index === 0 && words.length === 0 ? { role: 'assistant', content: null } : {};
      send({
        ...base,
        choices: [
          {
            index: 0,
            delta: {
              ...role,
              tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }],
            },
            finish_reason: null,
          },
        ],
      });
      for (const f of fragments(c.args)) {
        send({
          ...base,
          choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: f } }] }, finish_reason: null }],
        });
      }
    });
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: toolCalls.length ? 'tool_calls' : 'stop' }] });
    if ((call as ParsedCall & { includeUsage?: boolean }).includeUsage) {
      send({
        ...base,
        choices: [],
        usage: {
          prompt_tokens: usage.input,
          completion_tokens: usage.output,
          total_tokens: usage.input + usage.output,
        },
      });
    }
    res.end('data: [DONE]\n\n');
  },
};

/** Base URL for SDKs/providers: `${server.url}/v1`. */
export function startFakeOpenAI(opts?: FakeServerOptions): Promise<FakeServer> {
  return new FakeServer(wire, opts).start();
}
