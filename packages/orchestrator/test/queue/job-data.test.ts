import { describe, expect, it } from 'vitest';
import { jobIdempotencyKey, packValues, resolveJobData, unpackValues } from '../../src/queue/bullmq/job-data.js';
import { distKeys, jobIdOf } from '../../src/queue/bullmq/keys.js';
import { encodeWire, wireObject } from '../../src/queue/bullmq/wire.js';
import type { TaskJobData } from '../../src/queue/types.js';

const keys = distKeys('cdx');

describe('job data: what the orchestrator leaves out, the worker fills in', () => {
  it('a compact job gets its execution, attempt, task, agent, prompt, idempotency key and reply channel back', () => {
    const d: TaskJobData = { workflowId: 'wf', values: { deps: {} }, reply: 'o1', index: 4 };
    const r = resolveJobData(d, { id: jobIdOf('e|1', 'summarise', 4, 2), name: 'summarise' }, 'writer', keys);
    expect(r).toMatchObject({
      executionId: 'e|1',
      attempt: 2,
      taskId: 'summarise',
      agentId: 'writer',
      prompt: '',
      replyTo: 'cdx:dist:replies:o1',
    });
    const it = resolveJobData(
      { workflowId: 'wf', values: '~{}', iteration: 0 },
      { id: jobIdOf('e1', 't', 0, 1), name: 't' },
      'a',
      keys,
    );
    expect(jobIdempotencyKey(r)).toBe('e|1:summarise#4');
    expect(jobIdempotencyKey(it)).toBe('e1:t#0');
    expect(it.replyTo).toBeUndefined();
  });

  it('a job of an earlier release, which carries every field, keeps its own values', () => {
    const old: TaskJobData = {
      executionId: 'e1',
      workflowId: 'wf',
      taskId: 'own-task',
      agentId: 'own-agent',
      attempt: 1,
      prompt: 'p',
      values: '~{}',
      idempotencyKey: 'custom',
      replyTo: 'some:channel',
    };
    const resolved = resolveJobData({ ...old }, { id: 'not-ours', name: 'other' }, 'other', keys);
    expect(resolved).toEqual(old);
    expect(jobIdempotencyKey(resolved)).toBe('custom');
  });

  it('a job whose id names no execution and attempt is refused with a typed error naming it', () => {
    for (const [id, name] of [
      ['plain-id', 't'],
      ['e1|other|-|1', 't'],
      ['e1|t|-|x', 't'],
      ['|t|-|1', 't'],
    ])
      expect(() => resolveJobData({ workflowId: 'wf', values: '~{}' }, { id, name }, 'a', keys)).toThrow(
        expect.objectContaining({ code: 'CDX_ERR_QUEUE', message: expect.stringContaining(id) }),
      );
  });

  it('empty input and params objects are left out of the values and come back as empty objects', () => {
    const v = packValues({}, {}, { up: 1 });
    expect(Object.keys(v)).toEqual(['deps']);
    // Encoded (a job of an earlier release) or as they are (JSON keeps them exactly): the same values.
    expect(unpackValues(encodeWire(v, 'x'))).toEqual({ deps: { up: 1 }, input: {}, params: {} });
    expect(wireObject(v, 'x')).toBe(v);
    expect(unpackValues(structuredClone(v))).toEqual({
      deps: { up: 1 },
      input: {},
      params: {},
    });
    // Anything else travels: a non-empty object, an undefined input (v8 encoding keeps it), an object of a class.
    class Box {}
    const kept = packValues({ a: 1 }, { n: 2 }, {});
    expect(kept).toEqual({ deps: {}, input: { a: 1 }, params: { n: 2 } });
    const encoded = wireObject(packValues(undefined, {}, {}), 'x');
    expect(typeof encoded).toBe('string');
    const undef = unpackValues(encoded);
    expect(undef.input).toBeUndefined();
    expect(packValues(new Box(), {}, {}).input).toBeInstanceOf(Box);
    expect(packValues(Object.create(null), {}, {}).input).toBeDefined();
  });
});
