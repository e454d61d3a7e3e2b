import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// Shared plumbing of the fake provider servers: real HTTP on 127.0.0.1:0, seeded fault injection (429 with
// retry-after, 500, 529, slow, hanging, mid-stream stall), request recording, and deterministic token counts that
// differ from the library's own estimator so tests can tell "provider usage" from "our estimate".

export type FaultKind = '401' | '429' | '500' | '529' | 'hang' | 'slow' | 'stall';

export interface FaultOptions {
  /** Probability per request of a fault, picked uniformly from `kinds`. */
  rate?: number;
  kinds?: FaultKind[];
  /** `retry-after` sent with 429s, seconds (fractions allowed). */
  retryAfterSeconds?: number;
  slowMs?: number;
  seed?: number;
}

/** A tool call the fake model makes; `arguments` as a string is sent verbatim (to test invalid JSON). */
export interface FakeToolCall {
  id?: string;
  name: string;
  arguments: unknown;
}

/** A scripted answer: text, tool calls, or both. */
export interface FakeAnswer {
  text?: string;
  toolCalls?: FakeToolCall[];
}

export interface FakeServerOptions {
  faults?: FaultOptions;
  /** Produces the answer text; default echoes the tail of the last user message. */
  reply?: (prompt: string, model: string) => string;
  /** Scripts the answer from the parsed request (tools offered, tool results so far, schema); wins over `reply`. */
  respond?: (call: ParsedCall) => FakeAnswer | undefined;
  /** A hostile server that echoes the caller's credentials in error messages (for the redaction tests). */
  leakCredentialsInErrors?: boolean;
}

/** Splits text into `n` fragments (streamed tool-call arguments arrive in pieces on every wire). */
export function fragments(text: string, n = 3): string[] {
  const size = Math.max(1, Math.ceil(text.length / n));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length ? out : [''];
}

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  at: number;
  status: number;
  fault?: FaultKind;
  /** The client hung up before the response was complete (an aborted request or stream). */
  closedEarly?: boolean;
}

export interface ParsedCall {
  model: string;
  stream: boolean;
  /** Concatenated text of all messages, system included. */
  prompt: string;
  lastUser: string;
  messageCount: number;
  maxTokens?: number;
  /** Names of the tools offered, in the request's order. */
  tools: string[];
  /** Tool results sent back so far (all turns), in order. */
  toolResults: Array<{ id?: string; name?: string; content: string; isError?: boolean }>;
  /** The structured-output JSON Schema asked for, in the wire's own field. */
  schema?: unknown;
}

/** A tool call as the wire writes it: id assigned, arguments as JSON text. */
export interface WireToolCall {
  id: string;
  name: string;
  args: string;
}

export interface WireFormat {
  /** Returns the parsed call, or undefined when the path is not this provider's. */
  parse(path: string, body: unknown): ParsedCall | undefined;
  credential(headers: IncomingMessage['headers']): string | undefined;
  error(res: ServerResponse, status: number, message: string, retryAfterSeconds?: number): void;
  complete(
    res: ServerResponse,
    call: ParsedCall,
    text: string,
    usage: { input: number; output: number },
    toolCalls: WireToolCall[],
  ): void;
  /** Writes the stream; `stallAfterFirst` stops after the first chunk and never ends the response. */
  stream(
    res: ServerResponse,
    call: ParsedCall,
    words: string[],
    usage: { input: number; output: number },
    stallAfterFirst: boolean,
    toolCalls: WireToolCall[],
  ): void;
}

/** The fake servers' token count: words (whitespace-separated) plus 2 per message. */
export function serverTokens(text: string): number {
  const t = text.trim();
  return t ? t.split(/\s+/).length : 0;
}

import { mulberry32 } from '../../support/prng.js';

export { mulberry32 };

/** A JSON response (an answer or a provider's error body), with `retry-after` in seconds when given. */
export function sendJson(res: ServerResponse, status: number, body: unknown, retryAfterSeconds?: number): void {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  res.writeHead(status, headers);
  res.end(JSON.stringify(body));
}

/** The token of an `authorization: Bearer …` header. */
export function bearerToken(headers: IncomingMessage['headers']): string | undefined {
  const a = headers.authorization;
  return typeof a === 'string' && a.startsWith('Bearer ') ? a.slice(7) : undefined;
}

export function sseHeaders(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
}

export class FakeServer {
  readonly requests: RecordedRequest[] = [];
  /** Faults forced for the next requests, in order (before random faults). */
  readonly forced: FaultKind[] = [];
  faults: FaultOptions;
  url = '';
  private readonly server: Server;
  private readonly random: () => number;

  constructor(
    private readonly wire: WireFormat,
    private readonly opts: FakeServerOptions = {},
  ) {
    this.faults = opts.faults ?? {};
    this.random = mulberry32(this.faults.seed ?? 42);
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  inject(...kinds: FaultKind[]): void {
    this.forced.push(...kinds);
  }

  /** Requests answered successfully. */
  get served(): number {
    return this.requests.filter((r) => r.status === 200 && !r.fault).length;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pickFault(): FaultKind | undefined {
    const forced = this.forced.shift();
    if (forced) return forced;
    const f = this.faults;
    if (!f.rate || !f.kinds?.length || this.random() >= f.rate) return undefined;
    return f.kinds[Math.floor(this.random() * f.kinds.length)];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: unknown;
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
    } catch {
      body = undefined;
    }
    const path = req.url ?? '/';
    const call = body === undefined ? undefined : this.wire.parse(path, body);
    const rec: RecordedRequest = { path, headers: req.headers, body, at: Date.now(), status: 0 };
    this.requests.push(rec);
    res.on('close', () => {
      if (!res.writableEnded) rec.closedEarly = true;
    });
    if (!call) {
      rec.status = 404;
      return this.wire.error(res, 404, `unknown route ${req.method} ${path}`);
    }
    if (!this.wire.credential(req.headers)) {
      rec.status = 401;
      return this.wire.error(res, 401, 'missing API key');
    }
    const fault = this.pickFault();
    rec.fault = fault;
    const leak = this.opts.leakCredentialsInErrors ? ` (key used: ${this.wire.credential(req.headers)})` : '';
    if (fault === '429') {
      rec.status = 429;
      return this.wire.error(res, 429, `rate limit reached${leak}`, this.faults.retryAfterSeconds ?? 0.01);
    }
    if (fault === '401') {
      rec.status = 401;
      return this.wire.error(res, 401, `invalid API key${leak}`);
    }
    if (fault === '500' || fault === '529') {
      rec.status = Number(fault);
      return this.wire.error(res, rec.status, `${fault === '529' ? 'overloaded' : 'internal error'}${leak}`);
    }
    if (fault === 'hang' || (fault === 'stall' && !call.stream)) return; // never answer
    if (fault === 'slow') await new Promise((r) => setTimeout(r, this.faults.slowMs ?? 50));

    const scripted = this.opts.respond?.(call);
    const reply = scripted ? (scripted.text ?? '') : (this.opts.reply ?? defaultReply)(call.prompt, call.model);
    let words = reply.split(/\s+/).filter(Boolean);
    if (call.maxTokens !== undefined) words = words.slice(0, call.maxTokens);
    const n = this.requests.length;
    const toolCalls = (scripted?.toolCalls ?? []).map((c, i) => ({
      id: c.id ?? `call_${n}_${i}`,
      name: c.name,
      args: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments ?? {}),
    }));
    const usage = {
      input: serverTokens(call.prompt) + 2 * call.messageCount,
      output: words.length + toolCalls.reduce((a, c) => a + serverTokens(c.args.replace(/[{}":,]/g, ' ')) + 1, 0),
    };
    rec.status = 200;
    if (call.stream) this.wire.stream(res, call, words, usage, fault === 'stall', toolCalls);
    else this.wire.complete(res, call, words.join(' '), usage, toolCalls);
  }
}

function defaultReply(prompt: string, model: string): string {
  const tail = prompt.trim().split(/\s+/).slice(-6).join(' ');
  return `reply from ${model} about ${tail}`;
}
