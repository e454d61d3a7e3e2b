import { CodexError, ErrorCodes } from '../errors.js';
import { type Expr, evaluate, parseExpression, referencedTasks, type Scope } from './expression.js';
import { Budget, DEFAULT_EXPRESSION_LIMITS, type ExpressionLimits, jsonText } from './expression-budget.js';

// Prompt templates: literal text with `{{ expression }}` holes, compiled once at plan time. One render (a prompt,
// or all of a task's parameters) runs under one expression budget.
export type Template = { parts: Array<string | Expr>; refs: Set<string> };

export function compileTemplate(
  src: string,
  limits: Partial<ExpressionLimits> = DEFAULT_EXPRESSION_LIMITS,
): Template | string {
  if (!src.includes('{{')) return src;
  const parts: Array<string | Expr> = [];
  const refs = new Set<string>();
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      parts.push(src.slice(i));
      break;
    }
    if (open > i) parts.push(src.slice(i, open));
    const close = src.indexOf('}}', open + 2);
    if (close < 0) throw new CodexError(ErrorCodes.TEMPLATE, `Unclosed '{{' at position ${open} in template`);
    const expr = parseExpression(src.slice(open + 2, close).trim(), limits);
    referencedTasks(expr, refs);
    parts.push(expr);
    i = close + 2;
  }
  return { parts, refs };
}

function show(v: unknown, b: Budget): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return jsonText(v, b) ?? '';
}

export function renderTemplate(
  t: Template | string,
  scope: Scope,
  limits: ExpressionLimits | Budget = DEFAULT_EXPRESSION_LIMITS,
): string {
  if (typeof t === 'string') return t;
  const b = limits instanceof Budget ? limits : new Budget(limits);
  let out = '';
  for (const p of t.parts) {
    const s = typeof p === 'string' ? p : show(evaluate(p, scope, b), b);
    b.text(out.length + s.length);
    out += s;
  }
  return out;
}

/** Renders every string in a task's `input` object (deeply), leaving other values alone. */
export function renderDeep(
  value: unknown,
  scope: Scope,
  limits: ExpressionLimits | Budget = DEFAULT_EXPRESSION_LIMITS,
): unknown {
  const b = limits instanceof Budget ? limits : new Budget(limits);
  if (typeof value === 'string') return renderTemplate(compileTemplate(value, b.limits), scope, b);
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, scope, b));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = renderDeep(v, scope, b);
    return out;
  }
  return value;
}
