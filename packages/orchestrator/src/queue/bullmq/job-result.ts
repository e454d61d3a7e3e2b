import { CodexError } from '../../errors.js';
import type { TaskJobResult } from '../types.js';

// What comes back from a worker: its result (BullMQ hands it over as JSON text or as the value) and, for a failed
// attempt, its error report, turned back into the error the handler threw.

/** Turns a worker's error report back into an error the scheduler treats as the handler's own. */
export function errorFromReport(e: { code?: string; message: string; retryable?: boolean; name?: string }): Error {
  if (e.code?.startsWith('CDX_ERR_'))
    return new CodexError(e.code as never, e.message, { retryable: e.retryable ?? false });
  const err = new Error(e.message) as Error & { code?: string; retryable?: boolean };
  if (e.name) err.name = e.name;
  if (e.code) err.code = e.code;
  if (e.retryable === false) err.retryable = false;
  return err;
}

/** A job's return value as a TaskJobResult; undefined when it is not one. */
export function parseResult(v: unknown): TaskJobResult | undefined {
  if (typeof v === 'string') {
    try {
      return JSON.parse(v) as TaskJobResult;
    } catch {
      return undefined;
    }
  }
  return v as TaskJobResult;
}

/** A handler's error as the report a worker sends back (code, message and `retryable` flag kept). */
export const errorReport = (err: unknown): Extract<TaskJobResult, { ok: false }>['error'] => {
  if (err instanceof CodexError) return { code: err.code, message: err.message, retryable: err.retryable };
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; retryable?: unknown };
    return {
      name: e.name,
      message: e.message,
      code: typeof e.code === 'string' ? e.code : undefined,
      retryable: e.retryable === false ? false : undefined,
    };
  }
  return { message: String(err) };
};
