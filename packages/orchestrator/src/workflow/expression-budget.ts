import { CodexError, ErrorCodes } from '../errors.js';

// Budgets for evaluating untrusted expressions and templates. Expressions have no loops, so their cost is the
// nodes they visit plus what their helpers process; what can blow up is the size of values, since references
// share (`[x, x, x]` holds x three times at no cost, its JSON or joined text is three times as long). Every
// operation that turns values into text or lists therefore measures before it allocates.

/** Bounds on evaluating one expression or template: nesting depth, steps, string and list length, and total allocation. */
export interface ExpressionLimits {
  /** Deepest nesting of an expression (brackets, unary operators, operator chains), checked when it is parsed. */
  maxDepth: number;
  /** Evaluation steps: nodes visited plus elements processed by helpers (join, split, range, json, contains…). */
  maxSteps: number;
  /** Longest string an evaluation may build, characters. */
  maxStringLength: number;
  /** Longest list an evaluation may build. */
  maxListLength: number;
  /** Everything one evaluation builds, in bytes (a character counts 1, a list element 8). */
  maxAllocation: number;
}

/** Expression limits used when the config sets none. */
export const DEFAULT_EXPRESSION_LIMITS: Readonly<ExpressionLimits> = Object.freeze({
  maxDepth: 100,
  maxSteps: 10_000_000,
  maxStringLength: 10_000_000,
  maxListLength: 1_000_000,
  maxAllocation: 128 * 1024 * 1024,
});

export function limitError(key: keyof ExpressionLimits, limit: number, what: string): CodexError {
  return new CodexError(
    ErrorCodes.EXPRESSION_LIMIT,
    `expression limit reached: ${what} (workflow.expressionLimits.${key} is ${limit})`,
  );
}

/** The running cost of one evaluation (one condition, one loop list, one template or one task's parameters). */
export class Budget {
  private steps = 0;
  private alloc = 0;

  constructor(readonly limits: ExpressionLimits = DEFAULT_EXPRESSION_LIMITS) {}

  step(n = 1): void {
    this.steps += n;
    if (this.steps > this.limits.maxSteps)
      throw limitError('maxSteps', this.limits.maxSteps, `more than ${this.limits.maxSteps} evaluation steps`);
  }

  /** Call before building a string of `n` characters. */
  text(n: number): void {
    if (n > this.limits.maxStringLength)
      throw limitError('maxStringLength', this.limits.maxStringLength, `a string of ${n} characters`);
    this.charge(n);
  }

  /** Call before building a list of `n` elements. */
  list(n: number): void {
    if (n > this.limits.maxListLength)
      throw limitError('maxListLength', this.limits.maxListLength, `a list of ${n} elements`);
    this.step(n);
    this.charge(n * 8);
  }

  private charge(bytes: number): void {
    this.alloc += bytes;
    if (this.alloc > this.limits.maxAllocation)
      throw limitError(
        'maxAllocation',
        this.limits.maxAllocation,
        `more than ${this.limits.maxAllocation} bytes built`,
      );
  }
}

/** `String(v)` as JavaScript would give it, measured: lists are joined with our own `join` (which is budgeted). */
export function toText(v: unknown, b: Budget): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined || typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return joinList(v, ',', b);
  const s = String(v);
  b.text(s.length);
  return s;
}

/** `Array.prototype.join`, measured before the result exists; cyclic lists join as '' like JavaScript's. */
export function joinList(list: unknown[], sep: string, b: Budget, active: Set<unknown> = new Set()): string {
  if (active.has(list)) return '';
  active.add(list);
  b.step(list.length);
  const parts: string[] = new Array(list.length);
  let total = Math.max(0, list.length - 1) * sep.length;
  for (let i = 0; i < list.length; i++) {
    const x = list[i];
    const s =
      x === null || x === undefined
        ? ''
        : Array.isArray(x)
          ? joinList(x, ',', b, active)
          : typeof x === 'string'
            ? x
            : toText(x, b);
    total += s.length;
    if (total > b.limits.maxStringLength) b.text(total);
    parts[i] = s;
  }
  active.delete(list);
  b.text(total);
  return parts.join(sep);
}

/** `JSON.stringify(v)`, stopped as soon as the text it is writing would pass the string budget. */
export function jsonText(v: unknown, b: Budget): string | undefined {
  let size = 0;
  const max = b.limits.maxStringLength;
  const s = JSON.stringify(v, (k, x) => {
    b.step();
    size += k.length + 4;
    if (typeof x === 'string') size += x.length;
    else if (typeof x === 'number') size += 8;
    if (size > max) b.text(size);
    return x;
  });
  if (s !== undefined) b.text(s.length);
  return s;
}

/** A value as an operand of arithmetic or comparison: objects become their (measured) text first, as JS would. */
export function primitive(v: unknown, b: Budget): unknown {
  return v !== null && typeof v === 'object' && !(v instanceof Date) ? toText(v, b) : v;
}
