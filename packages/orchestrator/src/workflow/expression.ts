import { CodexError, ErrorCodes } from '../errors.js';

// A small, safe expression language for `when`, `forEach`, `while` and prompt templates. It is parsed into an
// AST and interpreted: no eval/Function, no access to prototypes, no calls except the whitelisted helpers below.
//
// Grammar (precedence low → high):
//   expr    := cond
//   cond    := or ('?' expr ':' expr)?
//   or      := and (('||' | '??') and)*
//   and     := eq ('&&' eq)*
//   eq      := rel (('==' | '!=' | '===' | '!==') rel)*
//   rel     := add (('<' | '<=' | '>' | '>=' | 'in') add)*
//   add     := mul (('+' | '-') mul)*
//   mul     := unary (('*' | '/' | '%') unary)*
//   unary   := ('!' | '-' | 'not') unary | postfix
//   postfix := primary ('.' ident | '[' expr ']' | '(' args ')')*
//   primary := number | string | true | false | null | ident | '(' expr ')' | '[' list ']'
// `and` / `or` / `not` are accepted as word forms of && / || / !.

export type Expr =
  | { k: 'lit'; v: unknown }
  | { k: 'id'; name: string }
  | { k: 'mem'; obj: Expr; prop: Expr }
  | { k: 'call'; fn: string; args: Expr[] }
  | { k: 'un'; op: string; a: Expr }
  | { k: 'bin'; op: string; a: Expr; b: Expr }
  | { k: 'cond'; c: Expr; t: Expr; f: Expr }
  | { k: 'arr'; items: Expr[] };

const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor', '__defineGetter__', '__defineSetter__']);

type Tok = { t: 'num' | 'str' | 'id' | 'op'; v: string; pos: number };

const OPS = [
  '===',
  '!==',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '??',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '!',
  '?',
  ':',
  '.',
  ',',
  '(',
  ')',
  '[',
  ']',
];

function fail(src: string, pos: number, msg: string): never {
  throw new CodexError(ErrorCodes.EXPRESSION, `${msg} at position ${pos} in expression "${src}"`);
}

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if ((c >= '0' && c <= '9') || (c === '.' && src[i + 1] >= '0' && src[i + 1] <= '9')) {
      const m = /^\d*\.?\d+(?:[eE][+-]?\d+)?/.exec(src.slice(i));
      if (!m) fail(src, i, 'Bad number');
      out.push({ t: 'num', v: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          const n = src[j + 1];
          s += n === 'n' ? '\n' : n === 't' ? '\t' : n;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) fail(src, i, 'Unterminated string');
      out.push({ t: 'str', v: s, pos: i });
      i = j + 1;
      continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(src.slice(i))!;
      out.push({ t: 'id', v: m[0], pos: i });
      i += m[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) fail(src, i, `Unexpected character '${c}'`);
    out.push({ t: 'op', v: op, pos: i });
    i += op.length;
  }
  return out;
}

const WORD_OPS: Record<string, string> = { and: '&&', or: '||', not: '!' };

class Parser {
  private i = 0;
  constructor(
    private readonly src: string,
    private readonly toks: Tok[],
  ) {}

  parse(): Expr {
    if (this.toks.length === 0) fail(this.src, 0, 'Empty expression');
    const e = this.expr();
    if (this.i < this.toks.length) fail(this.src, this.toks[this.i].pos, `Unexpected '${this.toks[this.i].v}'`);
    return e;
  }

  private peekOp(): string | undefined {
    const t = this.toks[this.i];
    if (!t) return undefined;
    if (t.t === 'op') return t.v;
    if (t.t === 'id' && (t.v in WORD_OPS || t.v === 'in')) return WORD_OPS[t.v] ?? t.v;
    return undefined;
  }

  private eat(op: string): void {
    const t = this.toks[this.i];
    if (t?.t !== 'op' || t.v !== op) fail(this.src, t?.pos ?? this.src.length, `Expected '${op}'`);
    this.i++;
  }

  private expr(): Expr {
    const c = this.binary(0);
    if (this.peekOp() === '?') {
      this.i++;
      const t = this.expr();
      this.eat(':');
      const f = this.expr();
      return { k: 'cond', c, t, f };
    }
    return c;
  }

  private static readonly LEVELS = [
    ['||', '??'],
    ['&&'],
    ['==', '!=', '===', '!=='],
    ['<', '<=', '>', '>=', 'in'],
    ['+', '-'],
    ['*', '/', '%'],
  ];

  private binary(level: number): Expr {
    if (level >= Parser.LEVELS.length) return this.unary();
    let a = this.binary(level + 1);
    for (;;) {
      const op = this.peekOp();
      if (!op || !Parser.LEVELS[level].includes(op)) return a;
      this.i++;
      a = { k: 'bin', op, a, b: this.binary(level + 1) };
    }
  }

  private unary(): Expr {
    const op = this.peekOp();
    if (op === '!' || op === '-') {
      this.i++;
      return { k: 'un', op, a: this.unary() };
    }
    return this.postfix();
  }

  private postfix(): Expr {
    let e = this.primary();
    for (;;) {
      const op = this.peekOp();
      if (op === '.') {
        this.i++;
        const t = this.toks[this.i++];
        if (t?.t !== 'id') fail(this.src, t?.pos ?? this.src.length, 'Expected a property name after "."');
        if (FORBIDDEN.has(t.v)) fail(this.src, t.pos, `'${t.v}' is not allowed`);
        e = { k: 'mem', obj: e, prop: { k: 'lit', v: t.v } };
      } else if (op === '[') {
        this.i++;
        const prop = this.expr();
        this.eat(']');
        e = { k: 'mem', obj: e, prop };
      } else if (op === '(' && e.k === 'id') {
        this.i++;
        const args: Expr[] = [];
        if (this.peekOp() !== ')') {
          args.push(this.expr());
          while (this.peekOp() === ',') {
            this.i++;
            args.push(this.expr());
          }
        }
        this.eat(')');
        if (!Object.hasOwn(FUNCTIONS, e.name)) fail(this.src, 0, `Unknown function '${e.name}'`);
        e = { k: 'call', fn: e.name, args };
      } else return e;
    }
  }

  private primary(): Expr {
    const t = this.toks[this.i++];
    if (!t) fail(this.src, this.src.length, 'Unexpected end of expression');
    if (t.t === 'num') return { k: 'lit', v: Number(t.v) };
    if (t.t === 'str') return { k: 'lit', v: t.v };
    if (t.t === 'id') {
      if (t.v === 'true') return { k: 'lit', v: true };
      if (t.v === 'false') return { k: 'lit', v: false };
      if (t.v === 'null') return { k: 'lit', v: null };
      if (t.v === 'undefined') return { k: 'lit', v: undefined };
      if (FORBIDDEN.has(t.v)) fail(this.src, t.pos, `'${t.v}' is not allowed`);
      return { k: 'id', name: t.v };
    }
    if (t.v === '(') {
      const e = this.expr();
      this.eat(')');
      return e;
    }
    if (t.v === '[') {
      const items: Expr[] = [];
      if (this.peekOp() !== ']') {
        items.push(this.expr());
        while (this.peekOp() === ',') {
          this.i++;
          items.push(this.expr());
        }
      }
      this.eat(']');
      return { k: 'arr', items };
    }
    return fail(this.src, t.pos, `Unexpected '${t.v}'`);
  }
}

const len = (v: unknown): number =>
  typeof v === 'string' || Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0;

const BUILTINS: Record<string, (...a: unknown[]) => unknown> = {
  len,
  length: len,
  contains: (h, n) => (typeof h === 'string' ? h.includes(String(n)) : Array.isArray(h) ? h.includes(n) : false),
  startsWith: (s, p) => typeof s === 'string' && s.startsWith(String(p)),
  endsWith: (s, p) => typeof s === 'string' && s.endsWith(String(p)),
  lower: (s) => String(s ?? '').toLowerCase(),
  upper: (s) => String(s ?? '').toUpperCase(),
  trim: (s) => String(s ?? '').trim(),
  keys: (o) => (o && typeof o === 'object' ? Object.keys(o) : []),
  number: (v) => Number(v),
  string: (v) => (typeof v === 'string' ? v : JSON.stringify(v)),
  json: (v) => JSON.stringify(v),
  exists: (v) => v !== undefined && v !== null,
  range: (a, b) => {
    const [from, to] = b === undefined ? [0, Number(a)] : [Number(a), Number(b)];
    const n = Math.max(0, Math.min(to - from, 100_000));
    return Array.from({ length: n }, (_, i) => from + i);
  },
  split: (s, sep) => String(s ?? '').split(String(sep ?? ',')),
  join: (a, sep) => (Array.isArray(a) ? a.join(sep === undefined ? ',' : String(sep)) : String(a ?? '')),
  min: (...a) => Math.min(...(a as number[])),
  max: (...a) => Math.max(...(a as number[])),
};

// A null-prototype table: `valueOf`, `toString` and other inherited names are not functions of the language.
const FUNCTIONS: Record<string, (...a: unknown[]) => unknown> = Object.assign(Object.create(null), BUILTINS);

export function parseExpression(src: string): Expr {
  return new Parser(src, tokenize(src)).parse();
}

function member(obj: unknown, prop: unknown): unknown {
  if (obj === null || obj === undefined) return undefined;
  const key = String(prop);
  if (FORBIDDEN.has(key)) throw new CodexError(ErrorCodes.EXPRESSION, `Access to '${key}' is not allowed`);
  if (typeof obj === 'string') return key === 'length' ? obj.length : /^\d+$/.test(key) ? obj[Number(key)] : undefined;
  if (typeof obj !== 'object') return undefined;
  // Own properties only: nothing reachable through the prototype chain.
  return Object.hasOwn(obj, key)
    ? (obj as Record<string, unknown>)[key]
    : Array.isArray(obj) && key === 'length'
      ? obj.length
      : undefined;
}

export type Scope = Record<string, unknown>;

export function evaluate(e: Expr, scope: Scope): unknown {
  switch (e.k) {
    case 'lit':
      return e.v;
    case 'id':
      return Object.hasOwn(scope, e.name) ? scope[e.name] : undefined;
    case 'mem':
      return member(evaluate(e.obj, scope), evaluate(e.prop, scope));
    case 'arr':
      return e.items.map((i) => evaluate(i, scope));
    case 'call':
      return FUNCTIONS[e.fn](...e.args.map((a) => evaluate(a, scope)));
    case 'un': {
      const v = evaluate(e.a, scope);
      return e.op === '!' ? !v : -(v as number);
    }
    case 'cond':
      return evaluate(e.c, scope) ? evaluate(e.t, scope) : evaluate(e.f, scope);
    case 'bin': {
      if (e.op === '&&') return evaluate(e.a, scope) && evaluate(e.b, scope);
      if (e.op === '||') return evaluate(e.a, scope) || evaluate(e.b, scope);
      if (e.op === '??') return evaluate(e.a, scope) ?? evaluate(e.b, scope);
      const a = evaluate(e.a, scope) as any;
      const b = evaluate(e.b, scope) as any;
      switch (e.op) {
        // `==` treats null and undefined alike (a missing output equals null) but never coerces types.
        case '==':
          return a === b || (a == null && b == null);
        case '!=':
          return !(a === b || (a == null && b == null));
        case '===':
          return a === b;
        case '!==':
          return a !== b;
        case '<':
          return a < b;
        case '<=':
          return a <= b;
        case '>':
          return a > b;
        case '>=':
          return a >= b;
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '/':
          return a / b;
        case '%':
          return a % b;
        case 'in':
          return Array.isArray(b)
            ? b.includes(a)
            : typeof b === 'string'
              ? b.includes(String(a))
              : b && typeof b === 'object'
                ? Object.hasOwn(b, String(a))
                : false;
      }
    }
  }
  throw new CodexError(ErrorCodes.EXPRESSION, 'Malformed expression');
}

/** Task ids read through `outputs.X` / `outputs['X']` / `tasks.X`: used to check templates reference upstream tasks. */
export function referencedTasks(e: Expr, acc: Set<string> = new Set()): Set<string> {
  if (e.k === 'mem' && e.obj.k === 'id' && (e.obj.name === 'outputs' || e.obj.name === 'tasks') && e.prop.k === 'lit') {
    acc.add(String(e.prop.v));
  }
  switch (e.k) {
    case 'mem':
      referencedTasks(e.obj, acc);
      referencedTasks(e.prop, acc);
      break;
    case 'call':
      for (const a of e.args) referencedTasks(a, acc);
      break;
    case 'arr':
      for (const a of e.items) referencedTasks(a, acc);
      break;
    case 'un':
      referencedTasks(e.a, acc);
      break;
    case 'bin':
      referencedTasks(e.a, acc);
      referencedTasks(e.b, acc);
      break;
    case 'cond':
      referencedTasks(e.c, acc);
      referencedTasks(e.t, acc);
      referencedTasks(e.f, acc);
      break;
  }
  return acc;
}
