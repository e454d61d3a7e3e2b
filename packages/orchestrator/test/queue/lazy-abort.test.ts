import { describe, expect, it } from 'vitest';
import { LazyAbort } from '../../src/queue/bullmq/lazy-abort.js';

// A worker's per-job abort signal is made only when a handler reads it; a cancel that comes first must not be lost.

describe('a job abort signal made on first read', () => {
  it('comes out aborted, with the first reason, when the abort came before the read', () => {
    const a = new LazyAbort();
    a.abort('cancelled by the orchestrator');
    a.abort('drained');
    expect(a.signal.aborted).toBe(true);
    expect(a.signal.reason).toBe('cancelled by the orchestrator');
  });

  it('reaches a handler that read it before the abort, once', () => {
    const a = new LazyAbort();
    const heard: unknown[] = [];
    a.signal.addEventListener('abort', () => heard.push(a.signal.reason));
    expect(a.signal.aborted).toBe(false);
    a.abort('cancelled');
    a.abort('again');
    expect(heard).toEqual(['cancelled']);
  });
});
