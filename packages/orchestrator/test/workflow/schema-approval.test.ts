import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { CodexError, parseConfig, planWorkflow, workflowJsonSchema } from '../../src/index.js';

// The published JSON Schema and the engine's own validation agree on approval tasks: no agentId needed there,
// an unknown onTimeout refused naming the field.

const approvalFlow = (approval: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: 'wf',
  name: 'wf',
  tasks: [
    { id: 'gate', type: 'approval', approval, ...extra },
    { id: 'after', agentId: 'a', dependencies: ['gate'] },
  ],
});

describe('workflow JSON Schema: approval tasks', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const validate = ajv.compile(workflowJsonSchema());
  const limits = parseConfig({}).workflow;

  it('accepts an approval task without agentId (schema and engine)', () => {
    const def = approvalFlow({ prompt: 'ship it?', onTimeout: 'reject', timeoutMs: 1000 });
    expect(validate(def), JSON.stringify(validate.errors)).toBe(true);
    const plan = planWorkflow(def, { limits });
    expect(plan.tasks.map((t) => t.id)).toEqual(['gate', 'after']);
  });

  it('still requires agentId on every other task', () => {
    const def = { id: 'wf', name: 'wf', tasks: [{ id: 'x' }] };
    expect(validate(def)).toBe(false);
    expect(validate.errors?.some((e) => e.instancePath === '/tasks/0' && e.params.missingProperty === 'agentId')).toBe(
      true,
    );
  });

  it('refuses approval settings on a task that is not an approval', () => {
    const def = { id: 'wf', name: 'wf', tasks: [{ id: 'x', agentId: 'a', approval: { prompt: 'p' } }] };
    expect(validate(def)).toBe(false);
    expect(validate.errors?.some((e) => e.instancePath === '/tasks/0' && e.keyword === 'not')).toBe(true);
    expect(validate({ ...def, tasks: [{ id: 'x', type: 'approval', approval: { prompt: 'p' } }] })).toBe(true);
  });

  it('rejects a bad onTimeout naming the field (schema and engine)', () => {
    const def = approvalFlow({ onTimeout: 'maybe', timeoutMs: 1000 });
    expect(validate(def)).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toContain('/tasks/0/approval/onTimeout');
    let err: unknown;
    try {
      planWorkflow(def, { limits });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CodexError);
    expect((err as CodexError).code).toBe('CDX_ERR_WORKFLOW_INVALID');
    expect((err as CodexError).issues).toContainEqual(
      expect.objectContaining({ path: 'tasks.0.approval.onTimeout', taskId: 'gate' }),
    );
    expect((err as CodexError).message).toContain('approval.onTimeout');
  });
});
