import { CodexError, ErrorCodes } from '../errors.js';
import { type Expr, FORBIDDEN, type Scope, typed } from './expression-ast.js';
import { Budget, DEFAULT_EXPRESSION_LIMITS, type ExpressionLimits, primitive, toText } from './expression-budget.js';
import { FUNCTIONS } from './expression-functions.js';

// The interpreter: no eval/Function, own properties only, every step and every value it builds charged to a Budget.

function member(obj: unknown, prop: unknown, b: Budget): unknown {
  if (obj === null || obj === undefined) return undefined;
  const key = toText(prop, b);
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

/**
 * Evaluates a parsed expression under a budget: pass one Budget to share it across several evaluations (a template's
 * holes), or limits to start a fresh one.
 */
export function evaluate(
  e: Expr,
  scope: Scope,
  limits: ExpressionLimits | Budget = DEFAULT_EXPRESSION_LIMITS,
): unknown {
  const b = limits instanceof Budget ? limits : new Budget(limits);
  try {
    return run(e, scope, b);
  } catch (err) {
    throw typed(err);
  }
}

function run(e: Expr, scope: Scope, b: Budget): unknown {
  b.step();
  switch (e.k) {
    case 'lit':
      return e.v;
    case 'id':
      return Object.hasOwn(scope, e.name) ? scope[e.name] : undefined;
    case 'mem':
      return member(run(e.obj, scope, b), run(e.prop, scope, b), b);
    case 'arr':
      b.list(e.items.length);
      return e.items.map((i) => run(i, scope, b));
    case 'call':
      return FUNCTIONS[e.fn](b, ...e.args.map((a) => run(a, scope, b)));
    case 'un': {
      const v = run(e.a, scope, b);
      return e.op === '!' ? !v : -(primitive(v, b) as number);
    }
    case 'cond':
      return run(e.c, scope, b) ? run(e.t, scope, b) : run(e.f, scope, b);
    case 'bin': {
      if (e.op === '&&') return run(e.a, scope, b) && run(e.b, scope, b);
      if (e.op === '||') return run(e.a, scope, b) || run(e.b, scope, b);
      if (e.op === '??') return run(e.a, scope, b) ?? run(e.b, scope, b);
      const l = run(e.a, scope, b) as any;
      const r = run(e.b, scope, b) as any;
      switch (e.op) {
        // `==` treats null and undefined alike (a missing output equals null) but never coerces types.
        case '==':
          return l === r || (l == null && r == null);
        case '!=':
          return !(l === r || (l == null && r == null));
        case '===':
          return l === r;
        case '!==':
          return l !== r;
        case 'in':
          return contains(r, l, b);
        case '+': {
          const x = primitive(l, b) as any;
          const y = primitive(r, b) as any;
          if (typeof x !== 'string' && typeof y !== 'string') return x + y;
          const sx = toText(x, b);
          const sy = toText(y, b);
          b.text(sx.length + sy.length);
          return sx + sy;
        }
      }
      // Arithmetic and comparison see lists and objects as their text, as JavaScript would, measured.
      const x = primitive(l, b) as any;
      const y = primitive(r, b) as any;
      switch (e.op) {
        case '<':
          return x < y;
        case '<=':
          return x <= y;
        case '>':
          return x > y;
        case '>=':
          return x >= y;
        case '-':
          return x - y;
        case '*':
          return x * y;
        case '/':
          return x / y;
        case '%':
          return x % y;
      }
    }
  }
  throw new CodexError(ErrorCodes.EXPRESSION, 'Malformed expression');
}

function contains(hay: unknown, needle: unknown, b: Budget): boolean {
  if (Array.isArray(hay)) {
    b.step(hay.length);
    return hay.includes(needle);
  }
  if (typeof hay === 'string') {
    b.step(hay.length);
    return hay.includes(toText(needle, b));
  }
  return hay !== null && typeof hay === 'object' ? Object.hasOwn(hay, toText(needle, b)) : false;
}
