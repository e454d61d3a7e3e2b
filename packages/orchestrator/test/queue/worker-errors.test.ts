import { afterEach, describe, expect, it, vi } from 'vitest';
import { CodexError } from '../../src/errors.js';
import { WorkerErrors } from '../../src/queue/bullmq/worker-errors.js';

// A task worker's background failures reach the user: through onError, else as a process warning; each kind at
// most once per quiet period.

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('worker error reporter', () => {
  it('names the worker, what failed and why, as a retryable CDX_ERR_QUEUE; one report per kind per quiet period', () => {
    vi.useFakeTimers();
    const seen: CodexError[] = [];
    const errors = new WorkerErrors('w-1', (e) => seen.push(e), 1000);
    const record = errors.for('record a result in Redis');
    record(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'));
    record(new Error('WRONGTYPE again'));
    errors.report('write its heartbeat', new Error('Connection is closed.'));
    expect(seen.map((e) => e.message)).toEqual([
      'worker w-1 could not record a result in Redis: WRONGTYPE Operation against a key holding the wrong kind of value',
      'worker w-1 could not write its heartbeat: Connection is closed.',
    ]);
    expect(seen[0]).toBeInstanceOf(CodexError);
    expect(seen[0]).toMatchObject({ code: 'CDX_ERR_QUEUE', retryable: true });
    vi.advanceTimersByTime(1001);
    record('still failing');
    expect(seen).toHaveLength(3);
    expect(seen[2].message).toBe('worker w-1 could not record a result in Redis: still failing');
  });

  it('without onError, and when onError throws, the failure is a process warning', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    new WorkerErrors('w-2').report("read the pool's plan", new Error('ECONNREFUSED'));
    new WorkerErrors('w-3', () => {
      throw new Error('logger down');
    }).report('write its heartbeat', new Error('timeout'));
    expect(warn.mock.calls.map((c) => [c[0], c[1]])).toEqual([
      ["worker w-2 could not read the pool's plan: ECONNREFUSED", 'CodexOSWorkerWarning'],
      ['onError threw on "worker w-3 could not write its heartbeat: timeout": logger down', 'CodexOSWorkerWarning'],
    ]);
  });
});
