import { CodexError, ErrorCodes } from '../errors.js';
import { toProviderError } from './provider-error.js';
import type { Redactor } from './redact.js';
import { estimateTokens } from './tokens.js';
import type { ModelProvider, ModelRequest, ModelResponse } from './types.js';

export interface AttemptContext {
  provider: ModelProvider;
  /** Catalog id, for error messages. */
  modelId: string;
  redactor: Redactor;
  signal?: AbortSignal;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  /** Streaming: called per text delta; `state.delivered` turns true after the first. */
  onDelta?: (delta: string) => void;
  state: { delivered: boolean };
  /** Input tokens counted before sending, used when the provider reports no usage. */
  estimatedInputTokens: number;
}

const TIMEOUT = Symbol('timeout');

/**
 * The caller's own code (the `onDelta` callback) threw during a call. It is no provider outcome: not retried, not
 * counted by the breaker, no fallback; the caller gets its own error back (`cause`).
 */
export class CallerError extends Error {
  constructor(override readonly cause: unknown) {
    super("the caller's callback threw during a model call");
    this.name = 'CallerError';
  }
}

/**
 * One provider call with hang protection: the whole call (or, when streaming, each gap between chunks) is
 * bounded; on expiry the request is aborted and a retryable `timeout` error thrown. Errors come out normalised and
 * redacted; a caller's cancellation comes out as CANCELLED.
 */
export async function callOnce(req: ModelRequest, ctx: AttemptContext): Promise<ModelResponse> {
  ctx.signal?.throwIfAborted();
  const ac = new AbortController();
  const onCallerAbort = (): void => ac.abort(ctx.signal?.reason);
  ctx.signal?.addEventListener('abort', onCallerAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const deadline = (ms: number): Promise<typeof TIMEOUT> =>
    new Promise((resolve) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        ac.abort();
        resolve(TIMEOUT);
      }, ms);
    });
  try {
    const res =
      ctx.onDelta && ctx.provider.stream
        ? await streamed(req, ctx, ac.signal, deadline)
        : await whole(req, ctx, ac.signal, deadline);
    return fillUsage(res, ctx.estimatedInputTokens);
  } catch (err) {
    if (err instanceof CallerError) {
      ac.abort();
      throw err;
    }
    if (ctx.signal?.aborted && !timedOut) {
      throw new CodexError(ErrorCodes.CANCELLED, `Call to ${ctx.provider.id}/${ctx.modelId} cancelled`);
    }
    throw toProviderError(timedOut ? { name: 'TimeoutError', message: 'no response before the deadline' } : err, {
      provider: ctx.provider.id,
      model: ctx.modelId,
      redactor: ctx.redactor,
      timedOut,
    });
  } finally {
    clearTimeout(timer);
    ctx.signal?.removeEventListener('abort', onCallerAbort);
  }
}

async function whole(
  req: ModelRequest,
  ctx: AttemptContext,
  signal: AbortSignal,
  deadline: (ms: number) => Promise<typeof TIMEOUT>,
): Promise<ModelResponse> {
  const call = ctx.provider.complete(req, { signal });
  // A provider that ignores the signal is still bounded by the race.
  const r = await Promise.race([call, deadline(ctx.requestTimeoutMs)]);
  if (r === TIMEOUT) {
    call.catch(() => undefined);
    throw new Error('timeout');
  }
  return r;
}

async function streamed(
  req: ModelRequest,
  ctx: AttemptContext,
  signal: AbortSignal,
  deadline: (ms: number) => Promise<typeof TIMEOUT>,
): Promise<ModelResponse> {
  const it = (ctx.provider.stream as NonNullable<ModelProvider['stream']>)(req, { signal })[Symbol.asyncIterator]();
  let text = '';
  let usage: ModelResponse['usage'] | undefined;
  let finishReason: string | undefined;
  let toolCalls: ModelResponse['toolCalls'];
  for (;;) {
    const next = it.next();
    const r = await Promise.race([next, deadline(ctx.idleTimeoutMs)]);
    if (r === TIMEOUT) {
      next.catch(() => undefined);
      void it.return?.()?.catch?.(() => undefined);
      throw new Error('timeout');
    }
    if (r.done) break;
    const chunk = r.value;
    if (chunk.delta) {
      text += chunk.delta;
      ctx.state.delivered = true;
      try {
        ctx.onDelta?.(chunk.delta);
      } catch (err) {
        // Close the provider's stream now rather than leave it open until the server gives up.
        void it.return?.()?.catch?.(() => undefined);
        throw new CallerError(err);
      }
    }
    if (chunk.usage) usage = chunk.usage;
    if (chunk.finishReason) finishReason = chunk.finishReason;
    if (chunk.toolCalls) toolCalls = chunk.toolCalls;
    if (chunk.done) break;
  }
  return {
    text,
    model: req.model,
    usage: usage ?? { inputTokens: 0, outputTokens: 0, estimated: true },
    finishReason,
    toolCalls,
  };
}

/** Providers that report no usage get estimates, flagged as such. */
function fillUsage(res: ModelResponse, estimatedInput: number): ModelResponse {
  if (!res.usage.estimated) return res;
  return { ...res, usage: { inputTokens: estimatedInput, outputTokens: estimateTokens(res.text), estimated: true } };
}
