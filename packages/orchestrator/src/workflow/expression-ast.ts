import { CodexError, ErrorCodes } from '../errors.js';

// The expression language's tree, shared by its parser (expression.ts) and its evaluator (expression-eval.ts).

export type Expr =
  | { k: 'lit'; v: unknown }
  | { k: 'id'; name: string }
  | { k: 'mem'; obj: Expr; prop: Expr }
  | { k: 'call'; fn: string; args: Expr[] }
  | { k: 'un'; op: string; a: Expr }
  | { k: 'bin'; op: string; a: Expr; b: Expr }
  | { k: 'cond'; c: Expr; t: Expr; f: Expr }
  | { k: 'arr'; items: Expr[] };

export type Scope = Record<string, unknown>;

export const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor', '__defineGetter__', '__defineSetter__']);

/** Anything the engine did not throw itself (a stack or string-length RangeError, say) as a typed error. */
export function typed(err: unknown): unknown {
  if (err instanceof CodexError) return err;
  if (err instanceof RangeError)
    return new CodexError(ErrorCodes.EXPRESSION_LIMIT, `expression limit reached: ${err.message}`, { cause: err });
  return err;
}
