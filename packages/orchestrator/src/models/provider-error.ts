import { CodexError, ErrorCodes } from '../errors.js';
import type { Redactor } from './redact.js';

/** Why a provider call failed, which decides whether it is retried, falls back or fails the task. */
export type FailureKind =
  | 'rate-limit'
  | 'overloaded'
  | 'server'
  | 'timeout'
  | 'network'
  | 'client'
  | 'auth'
  | 'aborted';

/** A provider call failure, normalised across SDKs; its message is redacted and it carries no SDK object. */
export class ProviderError extends CodexError {
  readonly kind: FailureKind;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly provider: string;
  readonly model: string;

  constructor(
    info: { kind: FailureKind; status?: number; retryAfterMs?: number; provider: string; model: string },
    message: string,
    opts: { retryable?: boolean; cause?: unknown } = {},
  ) {
    const retryable = opts.retryable ?? (info.kind !== 'client' && info.kind !== 'auth' && info.kind !== 'aborted');
    super(info.kind === 'rate-limit' ? ErrorCodes.MODEL_RATE_LIMITED : ErrorCodes.MODEL, message, {
      retryable,
      cause: opts.cause,
    });
    this.name = 'ProviderError';
    this.kind = info.kind;
    this.status = info.status;
    this.retryAfterMs = info.retryAfterMs;
    this.provider = info.provider;
    this.model = info.model;
  }

  /** The same failure once the model layer has spent its retries on it: no caller should retry it again. */
  final(): ProviderError {
    if (!this.retryable) return this;
    const info = {
      kind: this.kind,
      status: this.status,
      retryAfterMs: this.retryAfterMs,
      provider: this.provider,
      model: this.model,
    };
    return new ProviderError(info, this.message, { retryable: false, cause: this });
  }
}

interface SdkLikeError {
  status?: number;
  headers?: Headers | Record<string, string | null | undefined>;
  message?: string;
  name?: string;
  code?: string;
  cause?: unknown;
}

function header(h: SdkLikeError['headers'], name: string): string | undefined {
  if (!h) return undefined;
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined;
  const v = (h as Record<string, string | null | undefined>)[name];
  return v ?? undefined;
}

/** `retry-after-ms`, then `retry-after` (seconds, fractional allowed, or an HTTP date), then Google's RetryInfo. */
export function parseRetryAfter(headers: SdkLikeError['headers'], body?: string, now = Date.now()): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = header(headers, 'retry-after');
  if (ra !== undefined) {
    const secs = Number(ra);
    if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
    const date = Date.parse(ra);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  const m = body ? /"retryDelay"\s*:\s*"([\d.]+)s"/.exec(body) : null;
  return m ? Number(m[1]) * 1000 : undefined;
}

function kindOf(status: number | undefined, err: SdkLikeError, timedOut: boolean): FailureKind {
  if (timedOut) return 'timeout';
  if (status === 429) return 'rate-limit';
  if (status === 529 || status === 503) return 'overloaded';
  if (status === 408) return 'timeout';
  if (status === 401 || status === 403) return 'auth';
  if (status !== undefined && status >= 500) return 'server';
  if (status !== undefined && status >= 400) return 'client';
  const name = err.name ?? '';
  if (name === 'AbortError' || /abort/i.test(name)) return 'aborted';
  if (/timeout/i.test(name)) return 'timeout';
  return 'network';
}

/**
 * Turns whatever an SDK threw into a ProviderError. `timedOut` tells a hang we aborted apart from a caller's
 * cancellation (both surface as abort errors from the SDKs).
 */
export function toProviderError(
  err: unknown,
  ctx: { provider: string; model: string; redactor: Redactor; timedOut?: boolean; retryAfterMs?: number },
): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = (err ?? {}) as SdkLikeError;
  const status = typeof e.status === 'number' ? e.status : undefined;
  const raw = typeof e.message === 'string' ? e.message : String(err);
  const kind = kindOf(status, e, ctx.timedOut ?? false);
  const retryAfterMs = ctx.retryAfterMs ?? parseRetryAfter(e.headers, raw);
  const what = kind === 'timeout' ? 'timed out (aborted)' : status ? `failed with HTTP ${status}` : `failed (${kind})`;
  const detail = ctx.redactor.redact(raw).slice(0, 500);
  return new ProviderError(
    { kind, status, retryAfterMs, provider: ctx.provider, model: ctx.model },
    `${ctx.provider}/${ctx.model} ${what}: ${detail}`,
  );
}
