import { CodexError, ErrorCodes } from '../errors.js';
import { type Expr, evaluate, parseExpression, referencedTasks, type Scope } from './expression.js';

// Prompt templates: literal text with `{{ expression }}` holes, compiled once at plan time.
export type Template = { parts: Array<string | Expr>; refs: Set<string> };

export function compileTemplate(src: string): Template | string {
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
    const expr = parseExpression(src.slice(open + 2, close).trim());
    referencedTasks(expr, refs);
    parts.push(expr);
    i = close + 2;
  }
  return { parts, refs };
}

function show(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

export function renderTemplate(t: Template | string, scope: Scope): string {
  if (typeof t === 'string') return t;
  let out = '';
  for (const p of t.parts) out += typeof p === 'string' ? p : show(evaluate(p, scope));
  return out;
}

/** Renders every string in a task's `input` object (deeply), leaving other values alone. */
export function renderDeep(value: unknown, scope: Scope): unknown {
  if (typeof value === 'string') return renderTemplate(compileTemplate(value), scope);
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, scope));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = renderDeep(v, scope);
    return out;
  }
  return value;
}
