import { describe, expect, it } from 'vitest';
import { CodexError, ErrorCodes, parseConfig, parseWorkflowText, planWorkflow } from '../../src/index.js';
import { chain, makeOrchestrator } from './helpers.js';

const limits = parseConfig({}).workflow;

function issuesOf(fn: () => unknown): CodexError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CodexError);
    return err as CodexError;
  }
  throw new Error('expected a CodexError');
}

const wf = (tasks: unknown[], extra: Record<string, unknown> = {}) => ({ id: 'w', name: 'w', tasks, ...extra });

describe('workflow validation', () => {
  it('names an unknown dependency and the task holding it', () => {
    const e = issuesOf(() => planWorkflow(wf([{ id: 'a', agentId: 'x', dependencies: ['ghost'] }]), { limits }));
    expect(e.code).toBe(ErrorCodes.WORKFLOW_INVALID);
    expect(e.issues).toContainEqual(expect.objectContaining({ taskId: 'a', message: 'unknown dependency "ghost"' }));
    expect(e.message).toContain('task "a": unknown dependency "ghost"');
  });

  it('rejects duplicate ids', () => {
    const e = issuesOf(() =>
      planWorkflow(
        wf([
          { id: 'a', agentId: 'x' },
          { id: 'a', agentId: 'y' },
        ]),
        { limits },
      ),
    );
    expect(e.issues).toContainEqual(expect.objectContaining({ taskId: 'a', message: 'duplicate task id "a"' }));
  });

  it('prints the cycle path', () => {
    const e = issuesOf(() =>
      planWorkflow(
        wf([
          { id: 'a', agentId: 'x', dependencies: ['c'] },
          { id: 'b', agentId: 'x', dependencies: ['a'] },
          { id: 'c', agentId: 'x', dependencies: ['b'] },
          { id: 'd', agentId: 'x' },
        ]),
        { limits },
      ),
    );
    const msg = e.issues.find((i) => i.message.startsWith('dependency cycle'))!.message;
    // The path closes on itself and holds exactly the three tasks of the cycle.
    const path = msg.replace('dependency cycle: ', '').split(' -> ');
    expect(path[0]).toBe(path[path.length - 1]);
    expect(new Set(path)).toEqual(new Set(['a', 'b', 'c']));
    expect(path).toHaveLength(4);
  });

  it('rejects self-dependency', () => {
    const e = issuesOf(() => planWorkflow(wf([{ id: 'a', agentId: 'x', dependencies: ['a'] }]), { limits }));
    expect(e.issues[0]).toMatchObject({ taskId: 'a', message: 'depends on itself' });
  });

  it('enforces maxDepth and maxTasks from config', () => {
    const small = parseConfig({ workflow: { maxDepth: 3, maxTasks: 4 } }).workflow;
    const deep = issuesOf(() => planWorkflow(chain(4), { limits: small }));
    expect(deep.message).toContain('dependency depth 4 exceeds workflow.maxDepth (3)');
    const many = issuesOf(() =>
      planWorkflow(wf(Array.from({ length: 5 }, (_, i) => ({ id: `t${i}`, agentId: 'x' }))), { limits: small }),
    );
    expect(many.message).toContain('5 tasks exceed workflow.maxTasks (4)');
    expect(() => planWorkflow(chain(3), { limits: small })).not.toThrow();
  });

  it('reports unknown agents when executing', async () => {
    const o = makeOrchestrator();
    await expect(o.executeWorkflow(wf([{ id: 'a', agentId: 'nobody' }]))).rejects.toMatchObject({
      code: ErrorCodes.WORKFLOW_INVALID,
      issues: [expect.objectContaining({ taskId: 'a', message: 'unknown agent "nobody"' })],
    });
    await o.close();
  });

  it('reports schema errors with the task id and field', () => {
    const e = issuesOf(() => planWorkflow(wf([{ id: 'a', agentId: 'x', retry: { maxAttempts: 0 } }]), { limits }));
    expect(e.issues[0].taskId).toBe('a');
    expect(e.issues[0].message).toContain('retry.maxAttempts');
    const e2 = issuesOf(() => planWorkflow(wf([{ id: 'a', agentId: 'x', bogus: 1 }]), { limits }));
    expect(e2.message).toContain('bogus');
    const e3 = issuesOf(() => planWorkflow({ id: 'w', name: 'w', tasks: [] }, { limits }));
    expect(e3.message).toContain('at least one task');
  });

  it('reports bad expressions and templates referencing non-upstream tasks', () => {
    const e = issuesOf(() =>
      planWorkflow(
        wf([
          { id: 'a', agentId: 'x', when: 'input.n >' },
          { id: 'b', agentId: 'x', input: { prompt: 'use {{ outputs.c }}' } },
          { id: 'c', agentId: 'x' },
          { id: 'd', agentId: 'x', forEach: 'eval("1")' },
        ]),
        { limits },
      ),
    );
    expect(e.issues).toContainEqual(expect.objectContaining({ taskId: 'a', path: 'when' }));
    expect(e.issues).toContainEqual(
      expect.objectContaining({ taskId: 'b', message: 'references "c", which is not among its dependencies' }),
    );
    expect(e.issues.find((i) => i.taskId === 'd')!.message).toContain("Unknown function 'eval'");
  });

  it('checks fallbacks', () => {
    const e = issuesOf(() => planWorkflow(wf([{ id: 'a', agentId: 'x', onError: { fallback: 'zzz' } }]), { limits }));
    expect(e.issues[0].message).toBe('unknown fallback task "zzz"');
    const e2 = issuesOf(() =>
      planWorkflow(
        wf([
          { id: 'a', agentId: 'x', onError: { fallback: 'fb' } },
          { id: 'other', agentId: 'x' },
          { id: 'fb', agentId: 'x', dependencies: ['other'] },
        ]),
        { limits },
      ),
    );
    expect(e2.issues[0]).toMatchObject({ taskId: 'fb' });
    expect(e2.issues[0].message).toContain('"a" does not depend on');
  });
});

describe('workflow files and untrusted input', () => {
  it('gives a line number for bad YAML and a message for bad JSON', () => {
    const y = issuesOf(() => parseWorkflowText('id: x\ntasks:\n  - id: a\n   agentId: b', { source: 'wf.yaml' }));
    expect(y.code).toBe(ErrorCodes.WORKFLOW_PARSE);
    expect(y.message).toMatch(/wf\.yaml is not valid YAML \(line \d+, column \d+\)/);
    const j = issuesOf(() => parseWorkflowText('{"id": "x", "tasks": [}', { format: 'json', source: 'wf.json' }));
    expect(j.code).toBe(ErrorCodes.WORKFLOW_PARSE);
    expect(j.message).toContain('wf.json is not valid JSON');
    const arr = issuesOf(() => parseWorkflowText('[1,2]', { format: 'json' }));
    expect(arr.message).toContain('must be an object');
  });

  it('rejects prototype-pollution keys in files, definitions and inputs', async () => {
    const e = issuesOf(() =>
      parseWorkflowText(
        '{"id":"x","name":"x","tasks":[{"id":"a","agentId":"b","input":{"__proto__":{"polluted":true}}}]}',
      ),
    );
    expect(e.code).toBe(ErrorCodes.UNSAFE_KEY);
    expect(e.message).toContain('$.tasks[0].input');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const y = issuesOf(() => parseWorkflowText('id: x\nconstructor:\n  prototype: 1\n'));
    expect(y.code).toBe(ErrorCodes.UNSAFE_KEY);
    const o = makeOrchestrator();
    const input = JSON.parse('{"a":{"__proto__":{"x":1}}}');
    await expect(o.executeWorkflow(chain(1), { input })).rejects.toMatchObject({ code: ErrorCodes.UNSAFE_KEY });
    await o.close();
  });

  it('rejects huge files, huge inputs and alias bombs with clear errors', async () => {
    const big = `id: x\nname: x\ndescription: "${'a'.repeat(6 * 1024 * 1024)}"\n`;
    expect(issuesOf(() => parseWorkflowText(big)).code).toBe(ErrorCodes.INPUT_TOO_LARGE);
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`,
      ),
    ].join('\n');
    expect(issuesOf(() => parseWorkflowText(bomb)).code).toBe(ErrorCodes.WORKFLOW_PARSE);
    const o = makeOrchestrator();
    await expect(o.executeWorkflow(chain(1), { input: { blob: 'x'.repeat(11 * 1024 * 1024) } })).rejects.toMatchObject({
      code: ErrorCodes.INPUT_TOO_LARGE,
    });
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 100; i++) {
      const next: Record<string, unknown> = {};
      deep.n = next;
      deep = next;
    }
    await expect(o.executeWorkflow(chain(1), { input: root })).rejects.toMatchObject({
      code: ErrorCodes.INPUT_TOO_LARGE,
    });
    // The orchestrator survives bad input and still runs good work.
    expect((await o.executeWorkflow(chain(2))).status).toBe('completed');
    await o.close();
  });
});
