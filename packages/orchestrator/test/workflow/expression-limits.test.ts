import { describe, expect, it } from 'vitest';
import { CodexError, DEFAULT_EXPRESSION_LIMITS, ErrorCodes, evaluate, parseExpression } from '../../src/index.js';
import { makeOrchestrator } from './helpers.js';

// Expressions and templates come from workflow files: they run under step, size and depth budgets and fail with
// CDX_ERR_EXPRESSION_LIMIT (a typed task failure) instead of exhausting the heap or the stack.

const LIMIT = ErrorCodes.EXPRESSION_LIMIT;
// 56 characters that used to build a 369-million-character string (heap OOM in about a second).
const BOMB = "len(split(join(range(100000), join(range(1200), '')), ''))";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CodexError);
    return (err as CodexError).code;
  }
  return undefined;
}

describe('expression budgets', () => {
  it('the string bomb stops at the size budget, directly and in when / forEach / templates', async () => {
    expect(codeOf(() => evaluate(parseExpression(BOMB), {}))).toBe(LIMIT);
    const o = makeOrchestrator();
    const run = (task: Record<string, unknown>) =>
      o.executeWorkflow({ id: 'b', name: 'b', tasks: [{ id: 'a', agentId: 'echo', ...task }] });
    for (const task of [{ when: BOMB }, { forEach: `range(${BOMB})` }, { input: { prompt: `{{ ${BOMB} }}` } }]) {
      const r = await run(task);
      expect(r.status, JSON.stringify(task)).toBe('failed');
      expect(r.tasks.a.error?.code, JSON.stringify(task)).toBe(LIMIT);
    }
    expect((await run({ when: 'len(join(range(1000), "-")) > 0' })).status).toBe('completed');
    await o.close();
  });

  it('deep nesting is refused with a typed error, not a RangeError', () => {
    const parens = `${'('.repeat(1000)}1${')'.repeat(1000)}`;
    const minus = `${'-'.repeat(20_000)}1`;
    const chain = Array.from({ length: 20_000 }, () => '1').join(' + ');
    const lists = `${'['.repeat(1000)}${']'.repeat(1000)}`;
    for (const src of [parens, minus, chain, lists]) expect(codeOf(() => parseExpression(src))).toBe(LIMIT);
    expect(evaluate(parseExpression(`${'('.repeat(20)}1${')'.repeat(20)}`), {})).toBe(1);
  });

  it('values built by nesting references are measured, not materialised (json, join, comparisons)', () => {
    // x is shared forty times: cheap to hold, 40x as long as text.
    const scope = { x: Array.from({ length: 50_000 }, (_, i) => i) };
    const limits = { ...DEFAULT_EXPRESSION_LIMITS, maxStringLength: 1_000_000 };
    const fan = `[${Array(40).fill('x').join(',')}]`;
    for (const src of [`json(${fan})`, `join(${fan}, ',')`, `${fan} < 1`, `string(${fan})`, `len(lower(${fan}))`]) {
      expect(
        codeOf(() => evaluate(parseExpression(src), scope, limits)),
        src,
      ).toBe(LIMIT);
    }
    expect(evaluate(parseExpression('len(json(x))'), scope, limits)).toBe(JSON.stringify(scope.x).length);
  });

  it('the limits are configurable', async () => {
    const o = makeOrchestrator({ workflow: { expressionLimits: { maxStringLength: 50, maxSteps: 240 } } });
    const run = (task: Record<string, unknown>) =>
      o.executeWorkflow({ id: 'c', name: 'c', tasks: [{ id: 'a', agentId: 'echo', ...task }] });
    const long = await run({ input: { prompt: "{{ join(range(100), ',') }}" } });
    expect(long.tasks.a.error?.code).toBe(LIMIT);
    expect(long.tasks.a.error?.message).toContain('maxStringLength');
    const steps = await run({ when: 'len(range(300)) > 0' });
    expect(steps.tasks.a.error?.code).toBe(LIMIT);
    expect(steps.tasks.a.error?.message).toContain('maxSteps');
    expect((await run({ input: { prompt: "{{ join(range(10), ',') }}" } })).status).toBe('completed');
    await o.close();
    const shallow = makeOrchestrator({ workflow: { expressionLimits: { maxDepth: 5 } } });
    expect(
      codeOf(() =>
        shallow.validateWorkflow({
          id: 'd',
          name: 'd',
          tasks: [{ id: 'a', agentId: 'echo', when: '((((((1))))))' }],
        }),
      ),
    ).toBe(ErrorCodes.WORKFLOW_INVALID);
    await shallow.close();
  });
});
