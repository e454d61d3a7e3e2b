import {
  bearerToken,
  FakeServer,
  type FakeServerOptions,
  fragments,
  sendJson,
  sseHeaders,
  type WireFormat,
} from './http.js';

// Anthropic Messages wire format: POST /v1/messages, JSON or SSE with named events (message_start,
// content_block_start/delta/stop, message_delta with cumulative output usage, message_stop). 529 = overloaded.
// Tools: `tools[].input_schema`; answers with `tool_use` blocks and stop_reason `tool_use`; streamed as a
// content_block_start (id, name, empty input) then `input_json_delta` fragments. Results come back as
// `tool_result` blocks in a user turn. Structured output: `output_config.format: { type: 'json_schema', schema }`.
interface Block {
  type: string;
  text?: string;
  tool_use_id?: string;
  content?: string | Array<{ text?: string }>;
  is_error?: boolean;
}
interface Body {
  model: string;
  system?: string | Array<{ text: string }>;
  messages: Array<{ role: string; content: string | Block[] }>;
  max_tokens: number;
  stream?: boolean;
  tools?: Array<{ name: string }>;
  output_config?: { format?: { type: string; schema?: unknown } };
}

const blockText = (b: Block): string =>
  b.text ?? (typeof b.content === 'string' ? b.content : (b.content ?? []).map((p) => p.text ?? '').join(''));
const text = (c: Body['messages'][number]['content']): string =>
  typeof c === 'string' ? c : c.map(blockText).join('');

const wire: WireFormat = {
  parse(path, raw) {
    if (path !== '/v1/messages') return undefined;
    const b = raw as Body;
    if (!b?.model || !Array.isArray(b.messages) || typeof b.max_tokens !== 'number') return undefined;
    const system = typeof b.system === 'string' ? b.system : (b.system ?? []).map((s) => s.text).join('\n');
    const parts = [...(system ? [system] : []), ...b.messages.map((m) => text(m.content))];
    return {
      model: b.model,
      stream: b.stream === true,
      prompt: parts.join('\n'),
      lastUser: text(b.messages.filter((m) => m.role === 'user').at(-1)?.content ?? ''),
      messageCount: parts.length,
      maxTokens: b.max_tokens,
      tools: (b.tools ?? []).map((t) => t.name),
      toolResults: b.messages.flatMap((m) =>
        typeof m.content === 'string'
          ? []
          : m.content
              .filter((x) => x.type === 'tool_result')
              .map((x) => ({ id: x.tool_use_id, content: blockText(x), isError: x.is_error })),
      ),
      schema: b.output_config?.format?.type === 'json_schema' ? b.output_config.format.schema : undefined,
    };
  },
  credential(h) {
    // The SDK sends `x-api-key` or, in recent versions, `authorization: Bearer`; the API takes both.
    const k = h['x-api-key'];
    if (typeof k === 'string') return k;
    return bearerToken(h);
  },
  error(res, status, message, retryAfter) {
    const type =
      status === 429
        ? 'rate_limit_error'
        : status === 529
          ? 'overloaded_error'
          : status === 401
            ? 'authentication_error'
            : status >= 500
              ? 'api_error'
              : 'invalid_request_error';
    sendJson(res, status, { type: 'error', error: { type, message } }, retryAfter);
  },
  complete(res, call, out, usage, toolCalls) {
    const content: unknown[] = out || !toolCalls.length ? [{ type: 'text', text: out }] : [];
    for (const c of toolCalls) content.push({ type: 'tool_use', id: c.id, name: c.name, input: JSON.parse(c.args) });
    sendJson(res, 200, {
      id: 'msg_fake',
      type: 'message',
      role: 'assistant',
      model: call.model,
      content,
      stop_reason: toolCalls.length ? 'tool_use' : 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: usage.input, output_tokens: usage.output },
    });
  },
  stream(res, call, words, usage, stall, toolCalls) {
    sseHeaders(res);
    const ev = (name: string, data: unknown): boolean => res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    ev('message_start', {
      type: 'message_start',
      message: {
        id: 'msg_fake',
        type: 'message',
        role: 'assistant',
        model: call.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: usage.input, output_tokens: 1 },
      },
    });
    ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    ev('ping', { type: 'ping' });
    words.forEach((w, i) => {
      if (stall && i > 0) return;
      ev('content_block_delta', {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text: i === 0 ? w : ` ${w}` },
      });
    });
    if (stall) return;
    ev('content_block_stop', { type: 'content_block_stop', index: 0 });
    toolCalls.forEach((c, k) => {
      const index = k + 1;
      ev('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} },
      });
      for (const f of fragments(c.args))
        ev('content_block_delta', {
          type: 'content_block_delta',
          index,
          delta: { type: 'input_json_delta', partial_json: f },
        });
      ev('content_block_stop', { type: 'content_block_stop', index });
    });
    const stop = toolCalls.length ? 'tool_use' : 'end_turn';
    ev('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stop, stop_sequence: null },
      usage: { output_tokens: usage.output },
    });
    ev('message_stop', { type: 'message_stop' });
    res.end();
  },
};

/** Base URL for SDKs/providers: `server.url` (the SDK appends /v1/messages). */
export function startFakeAnthropic(opts?: FakeServerOptions): Promise<FakeServer> {
  return new FakeServer(wire, opts).start();
}
