import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  evaluate,
  isCodexError,
  MultiAgentOrchestrator,
  parseExpression,
  parseWorkflowText,
} from '../../packages/orchestrator/src/index.js';
import { chain, type TestServer, testServer } from '../../packages/server/test/helpers.js';
import { CASES, caseTimer, SOAK } from './helpers.js';

// Property-based hostile input: every case ends in a success or a typed CodexError (the server: a 4xx with the
// error shape), never a crash, a hang over a second or corrupted state. CI: 1000 cases each; SOAK=1: 10 000.

const o = new MultiAgentOrchestrator({ store: { type: 'memory' } });
o.registerAgent({ id: 'worker', name: 'worker', handler: async () => 'ok' });
afterAll(() => o.close());

/** JSON with BigInts as numbers (texts sent over the wire cannot carry them otherwise). */
const stringify = (v: unknown): string | undefined =>
  JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x));

/** Runs `fn`; a throw must be a CodexError. Returns what happened. */
function typedOutcome(fn: () => unknown): 'ok' | 'error' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (!isCodexError(err)) throw new Error(`untyped error: ${String((err as Error)?.stack ?? err)}`);
    return 'error';
  }
}

const protoKeys = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf');
const weirdString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  protoKeys,
  fc.constantFrom('', ' ', '\u0000', '\u202e', '💥'.repeat(10), 'a'.repeat(5000), '${{ tasks }}', '{{x}}'),
);
const weirdNumber = fc.oneof(
  fc.double(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, -0, 1e308, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53),
  fc.bigInt().map((b) => b),
);
const weirdValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    weirdString,
    weirdNumber,
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(weirdString, protoKeys), tie('v'), { maxKeys: 4 }),
  ),
})).v;

/** A plain value made hostile: a throwing getter, a Proxy that throws on every trap, deep nesting, a cycle. */
const hostileWrap = (v: unknown) =>
  fc.constantFrom('plain', 'getter', 'proxy', 'deep', 'cycle', 'protoJson').map((kind) => {
    switch (kind) {
      case 'getter':
        return Object.defineProperty({ ...(v as object) }, 'tasks', {
          enumerable: true,
          get() {
            throw new Error('hostile getter');
          },
        });
      case 'proxy':
        return new Proxy(
          {},
          {
            get: () => {
              throw new Error('hostile proxy');
            },
            ownKeys: () => {
              throw new Error('hostile proxy');
            },
            getOwnPropertyDescriptor: () => {
              throw new Error('hostile proxy');
            },
          },
        );
      case 'deep': {
        let d: unknown = v;
        for (let i = 0; i < 20_000; i++) d = { tasks: [d] };
        return d;
      }
      case 'cycle': {
        const c: Record<string, unknown> = { id: 'c', tasks: [] };
        (c.tasks as unknown[]).push(c);
        return c;
      }
      case 'protoJson':
        return JSON.parse(`{"id":"p","__proto__":{"polluted":1},"tasks":[{"id":"a","agentId":"worker","constructor":{"prototype":{"polluted":1}}}]}`);
      default:
        return v;
    }
  });

/** A valid workflow with one field replaced by something hostile. */
const mutatedWorkflow = fc
  .tuple(
    fc.integer({ min: 1, max: 4 }),
    fc.constantFrom('id', 'name', 'tasks', 'agentId', 'dependencies', 'input', 'timeout', 'retry', 'when', 'forEach', 'x'),
    weirdValue,
  )
  .map(([n, field, value]) => {
    const wf = chain('m', n) as Record<string, unknown>;
    const tasks = wf.tasks as Array<Record<string, unknown>>;
    if (field === 'id' || field === 'name' || field === 'tasks') wf[field] = value;
    else tasks[tasks.length - 1][field] = value;
    return wf;
  });

const noPollution = () => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
};

describe('hostile workflow objects and texts', () => {
  it(`workflow objects (${CASES} cases): valid or a typed error, no pollution`, () => {
    const timer = caseTimer();
    const seen = { ok: 0, error: 0 };
    fc.assert(
      fc.property(fc.oneof(mutatedWorkflow, weirdValue).chain(hostileWrap), (wf) => {
        seen[timer.time(() => typedOutcome(() => o.validateWorkflow(wf)))]++;
      }),
      { numRuns: CASES },
    );
    console.info(`hostile input, workflow objects: ${JSON.stringify(seen)}, slowest ${timer.stats.maxMs} ms`);
    noPollution();
    timer.assertUnder(1000);
    expect(seen.error).toBeGreaterThan(CASES / 4);
    expect(seen.ok).toBeGreaterThan(0);
  });

  const bombs = [
    // YAML alias bomb ("billion laughs").
    ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefghij'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghij'[i]}`).join(',')}]`), 'id: bomb', 'tasks: []'].join('\n'),
    `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    `${'- '.repeat(5000)}x`,
    `{"id":"n","tasks":[{"id":"a","agentId":"worker","timeout":1e999}]}`,
    `{"id":"p","__proto__":{"polluted":true},"tasks":[]}`,
    'id: p\n__proto__: {polluted: true}\ntasks: []',
    '!!js/function "function(){ return process }"',
    'id: t\ntasks: !!binary aGVsbG8=',
    '\uFEFF{"id":"bom","tasks":[]}',
  ];
  const texts = fc.oneof(
    fc.constantFrom(...bombs),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.json({ depthSize: 'medium' }),
    mutatedWorkflow.map((w) => stringify(w) ?? ''),
    fc.tuple(mutatedWorkflow, fc.nat(200)).map(([w, cut]) => (stringify(w) ?? '').slice(0, cut)),
  );

  it(`JSON and YAML texts incl. alias bombs (${CASES} cases): parsed and validated or a typed error`, () => {
    const timer = caseTimer();
    const seen = { ok: 0, error: 0 };
    fc.assert(
      fc.property(texts, fc.constantFrom('json', 'yaml', undefined), (text, format) => {
        const outcome = timer.time(() =>
          typedOutcome(() => o.validateWorkflow(parseWorkflowText(text, format ? { format } : {}))),
        );
        seen[outcome]++;
      }),
      { numRuns: CASES, examples: bombs.flatMap((b) => [[b, 'yaml'], [b, 'json']] as [string, 'yaml' | 'json'][]) },
    );
    console.info(`hostile input, JSON and YAML texts: ${JSON.stringify(seen)}, slowest ${timer.stats.maxMs} ms`);
    noPollution();
    timer.assertUnder(1000);
    expect(seen.error).toBeGreaterThan(CASES / 2);
  });
});

describe('hostile expressions', () => {
  const atoms = fc.constantFrom(
    'x', 'tasks', 'tasks.a', 'input', 'globalThis', 'process', 'require', 'constructor', '__proto__', 'this',
    'Function', 'eval', 'import', 'range(0, 1000000)', 'range(0,100000)', '"ab"', '1e308', '-0', '[1,2,3]', 'len',
    'json(input)', 'keys(input)', 'split("a,b", ",")', 'x.constructor', 'x["__proto__"]', 'x["constructor"]',
  );
  const ops = fc.constantFrom('+', '-', '*', '/', '%', '&&', '||', '??', '==', '<', 'in', '.', '[', '(');
  const expr: fc.Arbitrary<string> = fc.letrec((tie) => ({
    e: fc.oneof(
      { depthSize: 'small' },
      atoms,
      fc.tuple(tie('e'), ops, tie('e')).map(([a, op, b]) =>
        op === '.' ? `${a}.${b}` : op === '[' ? `${a}[${b}]` : op === '(' ? `${a}(${b})` : `(${a} ${op} ${b})`,
      ),
      fc.tuple(fc.constantFrom('join', 'string', 'json', 'split', 'range', 'keys', 'len', 'upper', 'max'), fc.array(tie('e'), { maxLength: 3 })).map(
        ([f, args]) => `${f}(${args.join(', ')})`,
      ),
    ),
  })).e;
  const hostile = fc.oneof(
    expr,
    fc.string({ unit: 'binary', maxLength: 100 }),
    fc.nat(5000).map((n) => `${'('.repeat(n)}1${')'.repeat(n)}`),
    fc.nat(5000).map((n) => `${'!'.repeat(n)}x`),
    fc.constantFrom(
      'join(range(0, 1000000), join(range(0, 1000000), "x"))',
      'json(range(0, 1000000))',
      'string(range(0,1000000)) + string(range(0,1000000))',
      'split(join(range(0, 100000), ","), "")',
      'x.constructor.constructor("return process")()',
      'tasks["__proto__"]["polluted"]',
    ),
  );
  const SENTINEL = 'GLOBAL-SENTINEL-7f3a';

  it(`parse + evaluate (${CASES} cases): a value or a typed error, never a global, a function or a hang`, () => {
    (globalThis as Record<string, unknown>).__cdxSentinel = SENTINEL;
    const timer = caseTimer();
    const seen = { ok: 0, error: 0 };
    const limits = { maxDepth: 100, maxSteps: 200_000, maxStringLength: 1_000_000, maxListLength: 100_000, maxAllocation: 16 * 1024 * 1024 };
    fc.assert(
      fc.property(hostile, (src) => {
        let value: unknown;
        seen[
          timer.time(() =>
            typedOutcome(() => {
              value = evaluate(parseExpression(src, limits), { x: 'abc', input: { a: 1 }, tasks: { a: { output: 'o' } } }, limits);
            }),
          )
        ]++;
        expect(typeof value).not.toBe('function');
        if (value && typeof value === 'object') {
          expect(value).not.toBe(globalThis);
          expect(value).not.toBe(process);
          expect(JSON.stringify(value) ?? '').not.toContain(SENTINEL);
        }
      }),
      { numRuns: CASES },
    );
    delete (globalThis as Record<string, unknown>).__cdxSentinel;
    console.info(`hostile input, expressions: ${JSON.stringify(seen)}, slowest ${timer.stats.maxMs} ms`);
    noPollution();
    timer.assertUnder(1000);
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen.error).toBeGreaterThan(0);
  });
});

describe('hostile API bodies and query strings', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await testServer({ rateLimit: 1_000_000 });
    await s.app.inject({ method: 'POST', url: '/api/workflows', headers: s.auth(s.ada), payload: { definition: chain('w', 2) } });
  });
  afterAll(() => s.close());

  const routes: Array<[string, string]> = [
    ['POST', '/api/workflows'],
    ['POST', '/api/workflows/import'],
    ['POST', '/api/workflows/validate'],
    ['PUT', '/api/workflows/w'],
    ['POST', '/api/executions'],
    ['GET', '/api/executions'],
    ['GET', '/api/workflows'],
    ['GET', '/api/workflows/w/diff'],
    ['GET', '/api/workflows/w/export'],
    ['GET', '/api/workflows/w/audit'],
    ['POST', '/api/workflows/w/locks/t0'],
    ['PUT', '/api/workflows/w/roles/bob'],
    ['GET', '/api/analytics/costs'],
    ['POST', '/api/tokens'],
  ];
  const queryKey = fc.constantFrom('limit', 'cursor', 'q', 'from', 'to', 'version', 'format', 'wait', 'status', 'workflowId', '__proto__', 'after');
  const queryVal = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('-1', '1e309', 'NaN', '99999999999999999999', '[]', '%00', '%ZZ'));
  const body = fc.oneof(
    weirdValue.map((v) => stringify(v) ?? 'null'),
    mutatedWorkflow.map((w) => stringify({ definition: w }) ?? 'null'),
    mutatedWorkflow.map((w) => stringify({ content: stringify(w), format: 'json' }) ?? 'null'),
    fc.string({ unit: 'binary', maxLength: 100 }),
    fc.constantFrom('{"__proto__":{"polluted":1},"definition":{}}', '{"constructor":{"prototype":{"polluted":1}}}', '{'.repeat(10000)),
  );

  it(`random bodies and query strings on write and read routes (${CASES} cases): 2xx or a 4xx with the error shape`, async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.array(fc.tuple(queryKey, queryVal), { maxLength: 4 }),
        body,
        fc.constantFrom(s.ada, s.bob, s.admin),
        async ([method, url], query, payload, token) => {
          const qs = query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
          const res = await s.app.inject({
            method: method as 'GET',
            url: `${url}${qs ? `?${qs}` : ''}`,
            headers: { ...s.auth(token), 'content-type': 'application/json' },
            ...(method === 'GET' ? {} : { payload }),
          });
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          expect(res.statusCode, `${method} ${url}?${qs} ${payload.slice(0, 200)}`).toBeLessThan(500);
          if (res.statusCode >= 400) {
            const err = res.json().error;
            expect(err.code).toMatch(/^CDX_ERR_/);
            expect(typeof err.message).toBe('string');
          }
        },
      ),
      { numRuns: CASES },
    );
    console.info(`hostile input, API bodies and query strings: statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    noPollution();
    expect([...statuses.keys()].some((k) => k >= 200 && k < 300)).toBe(true);
    // The server is intact: the workflow still reads, runs, and the tokens still work.
    const fresh = await s.app.inject({ method: 'POST', url: '/api/workflows', headers: s.auth(s.ada), payload: { definition: chain('final', 3) } });
    expect(fresh.statusCode).toBe(201);
    const run = await s.app.inject({ method: 'POST', url: '/api/executions?wait=true', headers: s.auth(s.ada), payload: { workflowId: 'final' } });
    expect(run.json().status).toBe('completed');
  });
});
