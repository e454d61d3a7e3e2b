import { afterEach, describe, expect, it, vi } from 'vitest';
import { CodexError } from '../../src/errors.js';
import { BackgroundErrors, warningSink } from '../../src/queue/bullmq/background-errors.js';

// Background failures of distributed mode reach the user: through a sink (a worker's onError, the orchestrator's
// error event), else as a process warning; each kind at most once per quiet period.

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('background error reporter', () => {
  it('names who, what failed and why, as a retryable CDX_ERR_QUEUE; one report per kind per quiet period', () => {
    vi.useFakeTimers();
    const seen: CodexError[] = [];
    const errors = new BackgroundErrors('worker w-1', (e) => seen.push(e), 1000);
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

  it('the warning sink, and a sink that throws, end as process warnings', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    new BackgroundErrors('worker w-2', warningSink('CodexOSWorkerWarning')).report(
      "read the pool's plan",
      new Error('ECONNREFUSED'),
    );
    new BackgroundErrors('worker w-3', () => {
      throw new Error('logger down');
    }).report('write its heartbeat', new Error('timeout'));
    expect(warn.mock.calls.map((c) => [c[0], c[1]])).toEqual([
      ["worker w-2 could not read the pool's plan: ECONNREFUSED", 'CodexOSWorkerWarning'],
      ['reporting "worker w-3 could not write its heartbeat: timeout" threw: logger down', 'CodexOSWarning'],
    ]);
  });
});
