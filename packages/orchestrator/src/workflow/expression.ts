import { CodexError, ErrorCodes } from '../errors.js';
import { type Expr, FORBIDDEN, typed } from './expression-ast.js';
import { DEFAULT_EXPRESSION_LIMITS, type ExpressionLimits, limitError } from './expression-budget.js';
import { FUNCTIONS } from './expression-functions.js';

export type { Expr, Scope } from './expression-ast.js';
export { DEFAULT_EXPRESSION_LIMITS, type ExpressionLimits } from './expression-budget.js';
export { evaluate } from './expression-eval.js';

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
// Untrusted input: nesting is bounded when parsing (`maxDepth`) and evaluation runs under a Budget (size and steps).

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
  private depth = 0;
  constructor(
    private readonly src: string,
    private readonly toks: Tok[],
    private readonly maxDepth: number,
  ) {}

  /** Recursion guard: each nested expression or unary operator goes one level deeper. */
  private enter(): void {
    if (++this.depth > this.maxDepth) {
      const pos = this.toks[this.i]?.pos ?? this.src.length;
      throw limitError('maxDepth', this.maxDepth, `nesting deeper than ${this.maxDepth} levels at position ${pos}`);
    }
  }

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
    this.enter();
    const c = this.binary(0);
    let e = c;
    if (this.peekOp() === '?') {
      this.i++;
      const t = this.expr();
      this.eat(':');
      const f = this.expr();
      e = { k: 'cond', c, t, f };
    }
    this.depth--;
    return e;
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
      this.enter();
      const a = this.unary();
      this.depth--;
      return { k: 'un', op, a };
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

/** Parses an expression of the safe expression language (used by `when`, `forEach`, `while` and templates). */
export function parseExpression(src: string, limits: Partial<ExpressionLimits> = DEFAULT_EXPRESSION_LIMITS): Expr {
  const maxDepth = limits.maxDepth ?? DEFAULT_EXPRESSION_LIMITS.maxDepth;
  let e: Expr;
  try {
    e = new Parser(src, tokenize(src), maxDepth).parse();
  } catch (err) {
    throw typed(err);
  }
  // Operator and member chains nest in the tree without recursing in the parser: measure the tree too, so that
  // evaluating it never recurses deeper than the limit.
  if (treeDepth(e, maxDepth) > maxDepth)
    throw limitError('maxDepth', maxDepth, `an expression nested deeper than ${maxDepth} levels`);
  return e;
}

/** Depth of an expression tree, iteratively; stops counting once past `cap`. */
function treeDepth(root: Expr, cap: number): number {
  let max = 0;
  const stack: Array<[Expr, number]> = [[root, 1]];
  while (stack.length) {
    const [e, d] = stack.pop()!;
    if (d > max) max = d;
    if (max > cap) return max;
    switch (e.k) {
      case 'mem':
        stack.push([e.obj, d + 1], [e.prop, d + 1]);
        break;
      case 'call':
        for (const a of e.args) stack.push([a, d + 1]);
        break;
      case 'arr':
        for (const a of e.items) stack.push([a, d + 1]);
        break;
      case 'un':
        stack.push([e.a, d + 1]);
        break;
      case 'bin':
        stack.push([e.a, d + 1], [e.b, d + 1]);
        break;
      case 'cond':
        stack.push([e.c, d + 1], [e.t, d + 1], [e.f, d + 1]);
        break;
    }
  }
  return max;
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
