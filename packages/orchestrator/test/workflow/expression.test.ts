import { describe, expect, it } from 'vitest';
import { ErrorCodes, evaluate, parseExpression } from '../../src/index.js';

const ev = (src: string, scope: Record<string, unknown> = {}) => evaluate(parseExpression(src), scope);

describe('expression language', () => {
  it('evaluates arithmetic, comparison, logic, ternaries and helpers', () => {
    expect(ev('1 + 2 * 3 - 4 / 2')).toBe(5);
    expect(ev('(1 + 2) * 3 % 4')).toBe(1);
    expect(ev('a > 1 && b == "x" || false', { a: 2, b: 'x' })).toBe(true);
    expect(ev('not a and b', { a: false, b: true })).toBe(true);
    expect(ev('a ? "yes" : "no"', { a: 0 })).toBe('no');
    expect(ev('len(xs) + len("abc")', { xs: [1, 2] })).toBe(5);
    expect(ev('"b" in xs', { xs: ['a', 'b'] })).toBe(true);
    expect(ev('contains(lower(s), "hi")', { s: 'OH HI' })).toBe(true);
    expect(ev('missing ?? 7')).toBe(7);
    expect(ev('o.a.b[1]', { o: { a: { b: [5, 6] } } })).toBe(6);
    expect(ev('missing.deep.path')).toBeUndefined();
    expect(ev('x == null', {})).toBe(true);
    expect(ev('x === null', {})).toBe(false);
  });

  it('refuses prototype access, unknown functions and code', () => {
    for (const bad of [
      'a.__proto__',
      'a.constructor',
      'constructor',
      'a["__proto__"]',
      'Function("x")',
      'eval("1")',
      'process.exit()',
    ]) {
      let code: string | undefined;
      try {
        ev(bad, { a: {} });
      } catch (e) {
        code = (e as { code: string }).code;
      }
      expect(code, bad).toBe(ErrorCodes.EXPRESSION);
    }
    // Inherited members are invisible: only own properties are readable.
    expect(ev('a.toString', { a: {} })).toBeUndefined();
    expect(ev('a.hasOwnProperty', { a: {} })).toBeUndefined();
  });

  it('reports syntax errors with a position', () => {
    expect(() => parseExpression('1 +')).toThrow(/Unexpected end of expression at position 3/);
    expect(() => parseExpression('a ? b')).toThrow(/Expected ':'/);
    expect(() => parseExpression('"open')).toThrow(/Unterminated string/);
    expect(() => parseExpression('a # b')).toThrow(/Unexpected character '#'/);
  });
});
