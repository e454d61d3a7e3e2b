import { type Budget, joinList, jsonText, primitive, toText } from './expression-budget.js';

// The helpers an expression may call. Each gets the evaluation's budget first and measures what it builds or
// scans before doing it.

export type ExpressionFunction = (b: Budget, ...a: unknown[]) => unknown;

const size = (b: Budget, v: unknown): number => {
  if (typeof v === 'string' || Array.isArray(v)) return v.length;
  if (v && typeof v === 'object') {
    const n = Object.keys(v).length;
    b.step(n);
    return n;
  }
  return 0;
};

const text = (b: Budget, v: unknown): string => (v === null || v === undefined ? '' : toText(v, b));

const BUILTINS: Record<string, ExpressionFunction> = {
  len: size,
  length: size,
  contains: (b, h, n) => {
    if (typeof h === 'string') {
      b.step(h.length);
      return h.includes(toText(n, b));
    }
    if (Array.isArray(h)) {
      b.step(h.length);
      return h.includes(n);
    }
    return false;
  },
  startsWith: (b, s, p) => typeof s === 'string' && s.startsWith(toText(p, b)),
  endsWith: (b, s, p) => typeof s === 'string' && s.endsWith(toText(p, b)),
  lower: (b, s) => {
    const t = text(b, s);
    b.text(t.length);
    return t.toLowerCase();
  },
  upper: (b, s) => {
    const t = text(b, s);
    b.text(t.length);
    return t.toUpperCase();
  },
  trim: (b, s) => text(b, s).trim(),
  keys: (b, o) => {
    if (!o || typeof o !== 'object') return [];
    const k = Object.keys(o);
    b.list(k.length);
    return k;
  },
  number: (b, v) => Number(v !== null && typeof v === 'object' ? toText(v, b) : v),
  string: (b, v) => (typeof v === 'string' ? v : jsonText(v, b)),
  json: (b, v) => jsonText(v, b),
  exists: (_b, v) => v !== undefined && v !== null,
  range: (b, a, c) => {
    const [from, to] = c === undefined ? [0, Number(a)] : [Number(a), Number(c)];
    const n = Math.max(0, to - from) || 0;
    b.list(n);
    return Array.from({ length: n }, (_, i) => from + i);
  },
  split: (b, s, sep) => {
    const str = text(b, s);
    const by = sep === undefined || sep === null ? ',' : toText(sep, b);
    // Never more pieces than the list budget allows (a one-character separator can yield one per character).
    const parts = str.split(by, b.limits.maxListLength + 1);
    b.list(parts.length);
    b.text(str.length);
    return parts;
  },
  join: (b, a, sep) => (Array.isArray(a) ? joinList(a, sep === undefined ? ',' : toText(sep, b), b) : text(b, a)),
  min: (b, ...a) => Math.min(...(a.map((x) => primitive(x, b)) as number[])),
  max: (b, ...a) => Math.max(...(a.map((x) => primitive(x, b)) as number[])),
};

// A null-prototype table: `valueOf`, `toString` and other inherited names are not functions of the language.
export const FUNCTIONS: Record<string, ExpressionFunction> = Object.assign(Object.create(null), BUILTINS);
