import { describe, expect, it } from 'vitest';
import { CodexError, ErrorCodes, parseWorkflowText } from '../../src/index.js';
import { makeOrchestrator } from './helpers.js';

// Definitions and inputs come from callers: a Proxy or a throwing getter in them is a typed error, not a crash.

const trap = (what: string) =>
  new Proxy(
    {},
    {
      ownKeys() {
        throw new Error(`${what}: ownKeys trap`);
      },
      get() {
        throw new Error(`${what}: get trap`);
      },
    },
  );

const getter = (value: Record<string, unknown>, key: string) =>
  Object.defineProperty(value, key, {
    enumerable: true,
    get() {
      throw new Error(`getter ${key} threw`);
    },
  });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CodexError);
    return (err as CodexError).code;
  }
  return undefined;
}

describe('hostile definitions and inputs', () => {
  it('validateWorkflow turns a Proxy or a throwing getter into CDX_ERR_WORKFLOW_INVALID', () => {
    const o = makeOrchestrator();
    const defs: unknown[] = [
      trap('definition'),
      { id: 'w', name: 'w', tasks: trap('tasks') },
      { id: 'w', name: 'w', tasks: [{ id: 'a', agentId: 'echo', input: trap('input') }] },
      { id: 'w', name: 'w', tasks: [getter({ id: 'a' }, 'agentId')] },
      getter({ id: 'w', tasks: [{ id: 'a', agentId: 'echo' }] }, 'name'),
      { id: 'w', name: 'w', tasks: [{ id: 'a', agentId: 'echo', input: { deep: { x: getter({}, 'y') } } }] },
    ];
    for (const d of defs) expect(codeOf(() => o.validateWorkflow(d))).toBe(ErrorCodes.WORKFLOW_INVALID);
  });

  it('executeWorkflow rejects a hostile definition or input with a CodexError', async () => {
    const o = makeOrchestrator();
    const ok = { id: 'w', name: 'w', tasks: [{ id: 'a', agentId: 'echo' }] };
    await expect(o.executeWorkflow(trap('definition'))).rejects.toMatchObject({ code: ErrorCodes.WORKFLOW_INVALID });
    await expect(o.executeWorkflow(ok, { input: trap('input') })).rejects.toMatchObject({
      code: ErrorCodes.INPUT_INVALID,
    });
    await expect(o.executeWorkflow(ok, { input: { a: getter({}, 'b') } })).rejects.toMatchObject({
      code: ErrorCodes.INPUT_INVALID,
    });
    expect((await o.executeWorkflow(ok, { input: { fine: true } })).status).toBe('completed');
    await o.close();
  });

  it('what is validated is what runs: a getter cannot change a definition after validation', async () => {
    const o = makeOrchestrator();
    let reads = 0;
    const task = Object.defineProperty({ id: 'a' } as Record<string, unknown>, 'agentId', {
      enumerable: true,
      get() {
        return reads++ === 0 ? 'echo' : 'ghost';
      },
    });
    const r = await o.executeWorkflow({ id: 'w', name: 'w', tasks: [task] });
    expect(r.status).toBe('completed');
    expect(r.tasks.a.agentId).toBe('echo');
    await o.close();
  });
});

describe('YAML parsing cost', () => {
  const yamlWithKeys = (n: number) => {
    const lines = ['id: big', 'name: big', 'metadata:'];
    for (let i = 0; i < n; i++) lines.push(`  k${i}: ${i}`);
    lines.push('tasks:', '  - id: a', '    agentId: echo');
    return lines.join('\n');
  };
  // CPU time of this process, not wall-clock: other processes on a busy box do not count.
  const time = (text: string) => {
    const t0 = process.cpuUsage();
    parseWorkflowText(text, { format: 'yaml' });
    const d = process.cpuUsage(t0);
    return d.user + d.system;
  };

  it('duplicate keys are still refused, with their line', () => {
    expect(() => parseWorkflowText('id: a\nname: b\nid: c\ntasks: []\n', { source: 'dup.yaml' })).toThrow(
      expect.objectContaining({
        code: ErrorCodes.WORKFLOW_PARSE,
        message: expect.stringMatching(/dup\.yaml.*line 3.*"id"/),
      }),
    );
    expect(() => parseWorkflowText('id: a\nname: b\nm:\n  x: 1\n  y: 2\n  x: 3\ntasks: []\n')).toThrow(
      expect.objectContaining({ code: ErrorCodes.WORKFLOW_PARSE, message: expect.stringContaining('line 6') }),
    );
  });

  it('grows linearly with the number of mapping keys (100k keys vs 10k keys, as a ratio)', { timeout: 60_000 }, () => {
    const small = yamlWithKeys(10_000);
    const big = yamlWithKeys(100_000);
    time(small); // warm up
    const smallMs = Math.min(time(small), time(small), time(small));
    const bigMs = time(big);
    // Linear: about 10x. The quadratic check this replaces was about 100x (and minutes at 100k keys).
    expect(bigMs / smallMs).toBeLessThan(40);
  });
});

describe('deeply nested YAML', () => {
  // 3000 nested block sequences on one line used to overflow the YAML parser's stack, and V8 then aborted the
  // whole process (fatal OOM in its RegExp compiler): nesting is now bounded before the parser runs.
  it('is a typed error before the parser runs, on one line or by indentation or flow brackets', () => {
    for (const text of [
      `${'- '.repeat(3000)}x`,
      Array.from({ length: 400 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n'),
      `id: x\ntasks: ${'['.repeat(3000)}`,
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    ]) {
      let err: unknown;
      try {
        parseWorkflowText(text, { format: 'yaml' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CodexError);
      expect((err as CodexError).code).toBe(ErrorCodes.INPUT_TOO_LARGE);
    }
  });

  it('leaves ordinary nesting alone', () => {
    const text = `id: n\nname: n\ntasks:\n  - id: a\n    agentId: worker\n    input:\n      prompt: "use [x] and {y}"\n      deep: ${'['.repeat(20)}1${']'.repeat(20)}\n`;
    expect((parseWorkflowText(text, { format: 'yaml' }) as { id: string }).id).toBe('n');
  });
});
