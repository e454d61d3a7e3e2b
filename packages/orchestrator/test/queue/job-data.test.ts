import { describe, expect, it } from 'vitest';
import { jobIdempotencyKey, packValues, resolveJobData, unpackValues } from '../../src/queue/bullmq/job-data.js';
import { distKeys } from '../../src/queue/bullmq/keys.js';
import { decodeWire, encodeWire } from '../../src/queue/bullmq/wire.js';
import type { TaskJobData } from '../../src/queue/types.js';

const keys = distKeys('cdx');

describe('job data: what the orchestrator leaves out, the worker fills in', () => {
  it('a compact job gets its task, agent, prompt, idempotency key and reply channel back', () => {
    const d: TaskJobData = {
      executionId: 'e1',
      workflowId: 'wf',
      attempt: 2,
      values: '~{"deps":{}}',
      reply: 'o1',
      index: 4,
    };
    const r = resolveJobData(d, 'summarise', 'writer', keys);
    expect(r).toMatchObject({
      taskId: 'summarise',
      agentId: 'writer',
      prompt: '',
      replyTo: 'cdx:dist:replies:o1',
    });
    const it = resolveJobData(
      { executionId: 'e1', workflowId: 'wf', attempt: 1, values: '~{}', iteration: 0 },
      't',
      'a',
      keys,
    );
    expect(jobIdempotencyKey(r)).toBe('e1:summarise#4');
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
    const resolved = resolveJobData({ ...old }, 'other', 'other', keys);
    expect(resolved).toEqual(old);
    expect(jobIdempotencyKey(resolved)).toBe('custom');
  });

  it('empty input and params objects are left out of the values and come back as empty objects', () => {
    const v = packValues({}, {}, { up: 1 });
    expect(Object.keys(v)).toEqual(['deps']);
    expect(unpackValues(decodeWire(encodeWire(v, 'x')) as typeof v)).toEqual({
      deps: { up: 1 },
      input: {},
      params: {},
    });
    // Anything else travels: a non-empty object, an undefined input (v8 encoding keeps it), an object of a class.
    class Box {}
    const kept = packValues({ a: 1 }, { n: 2 }, {});
    expect(kept).toEqual({ deps: {}, input: { a: 1 }, params: { n: 2 } });
    const undef = unpackValues(
      decodeWire(encodeWire(packValues(undefined, {}, {}), 'x')) as ReturnType<typeof packValues>,
    );
    expect(undef.input).toBeUndefined();
    expect(packValues(new Box(), {}, {}).input).toBeInstanceOf(Box);
    expect(packValues(Object.create(null), {}, {}).input).toBeDefined();
  });
});
