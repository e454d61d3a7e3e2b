import { describe, expect, it } from 'vitest';
import type { DebugState, LiveEvent } from '../src/api/types.ts';
import { canAct, canDecide } from '../src/approvals/access.ts';
import {
  debugMarks,
  describeBreakpoint,
  mergeDebug,
  parseBreakpoints,
  sameBreakpoint,
  toggleBreakpoint,
} from '../src/runs/debug.ts';
import { applyEvents, emptyRun } from '../src/runs/live.ts';

const ev = (seq: number, type: string, payload: Record<string, unknown>): LiveEvent => ({
  seq,
  type,
  at: 1000 + seq,
  payload: { executionId: 'e1', ...payload },
});

const rest = (over: Partial<DebugState> = {}): DebugState => ({
  executionId: 'e1',
  state: 'running',
  paused: null,
  breakpoints: [{ taskId: 'b' }],
  pauseOnFailure: false,
  edits: [],
  pins: [],
  next: [],
  waiting: [],
  ...over,
});

describe('live debug state', () => {
  it('pause, step, pause again, continue: each event moves the state and counts once', () => {
    let run = applyEvents(emptyRun('e1'), [ev(1, 'workflow:started', {}), ev(2, 'task:completed', { taskId: 'a' })]);
    expect(run.debug).toBeUndefined();
    run = applyEvents(run, [ev(3, 'execution:paused', { reason: 'breakpoint', taskId: 'b', when: 'before' })]);
    expect(run.debug).toMatchObject({ state: 'paused', paused: { reason: 'breakpoint', taskId: 'b' }, pauses: 1 });
    run = applyEvents(run, [ev(4, 'execution:resumed', { by: 'ada', step: true })]);
    expect(run.debug).toMatchObject({ state: 'stepping', paused: null, resumes: 1 });
    run = applyEvents(run, [
      ev(5, 'task:completed', { taskId: 'b' }),
      ev(6, 'execution:paused', { reason: 'step', taskId: 'c' }),
    ]);
    expect(run.debug).toMatchObject({ state: 'paused', paused: { reason: 'step', taskId: 'c' }, pauses: 2 });
    // A replayed frame (after a reconnect) changes nothing.
    const again = applyEvents(run, [ev(6, 'execution:paused', { reason: 'step', taskId: 'c' })]);
    expect(again).toBe(run);
    run = applyEvents(run, [ev(7, 'execution:resumed', { step: false }), ev(8, 'workflow:completed', {})]);
    expect(run.debug).toMatchObject({ state: 'ended', paused: null, resumes: 2 });
    expect(run.status).toBe('completed');
  });

  it('a waiting task is listed until it finishes', () => {
    let run = applyEvents(emptyRun('e1'), [
      ev(1, 'task:waiting', { taskId: 'review', name: 'review', kind: 'approval', prompt: 'Ship?', roles: ['editor'] }),
    ]);
    expect(run.debug?.waiting).toEqual([
      {
        name: 'review',
        taskId: 'review',
        kind: 'approval',
        since: 1001,
        prompt: 'Ship?',
        roles: ['editor'],
        timeoutAt: undefined,
      },
    ]);
    run = applyEvents(run, [ev(2, 'task:completed', { taskId: 'other' })]);
    expect(run.debug?.waiting.length).toBe(1);
    run = applyEvents(run, [ev(3, 'task:completed', { taskId: 'review' })]);
    expect(run.debug?.waiting).toEqual([]);
  });
});

describe('debug view', () => {
  it('live pause wins over a stale fetch; a finished run is never shown paused', () => {
    const live = applyEvents(emptyRun('e1'), [ev(1, 'execution:paused', { reason: 'breakpoint', taskId: 'b' })]).debug;
    const v = mergeDebug(rest(), live, 'running');
    expect(v).toMatchObject({ state: 'paused', paused: { taskId: 'b' }, breakpoints: [{ taskId: 'b' }] });
    expect(mergeDebug(rest({ state: 'paused', paused: { at: 1, reason: 'manual' } }), undefined, 'running').state).toBe(
      'paused',
    );
    const done = mergeDebug(rest({ state: 'paused', paused: { at: 1, reason: 'manual' } }), live, 'completed');
    expect([done.state, done.paused]).toEqual(['completed', null]);
    // The live stream says the run ended before the page's run status does: a REST state fetched while it was
    // still paused does not make it look paused (the debugger would ask to inspect a task of a finished run).
    const ended = applyEvents(emptyRun('e1'), [
      ev(1, 'execution:paused', { reason: 'breakpoint', taskId: 'b' }),
      ev(2, 'execution:resumed', {}),
      ev(3, 'workflow:completed', {}),
    ]).debug;
    const stale = mergeDebug(rest({ state: 'paused', paused: null, next: ['c'] }), ended, 'running');
    expect([stale.state, stale.paused]).toEqual(['completed', null]);
  });

  it('marks the paused task and breakpoints on the graph; toggles and parses breakpoints', () => {
    const v = mergeDebug(
      rest({ breakpoints: [{ taskId: 'b' }, { taskId: 'd' }] }),
      applyEvents(emptyRun('e1'), [ev(1, 'execution:paused', { reason: 'breakpoint', taskId: 'b' })]).debug,
      'running',
    );
    expect([...debugMarks(v)]).toEqual([
      ['b', 'paused breakpoint'],
      ['d', 'breakpoint'],
    ]);
    expect(toggleBreakpoint([{ taskId: 'b' }], 'c')).toEqual([{ taskId: 'b' }, { taskId: 'c' }]);
    expect(toggleBreakpoint([{ taskId: 'b', when: 'after' }, { taskId: 'c' }], 'b')).toEqual([{ taskId: 'c' }]);
    expect(parseBreakpoints('a, b  zz,a', new Set(['a', 'b']))).toEqual({
      breakpoints: [{ taskId: 'a' }, { taskId: 'b' }],
      unknown: ['zz'],
    });
  });
});

describe('breakpoint editing', () => {
  it('reads as a person says it and replaces one on the same task and side only', () => {
    expect(describeBreakpoint({ taskId: 'load' })).toBe('before load');
    expect(describeBreakpoint({ taskId: 'use', when: 'after', condition: "outputs['load'].rows > 2" })).toBe(
      "after use if outputs['load'].rows > 2",
    );
    expect(sameBreakpoint({ taskId: 'a' }, { taskId: 'a', when: 'before', condition: 'x' })).toBe(true);
    expect(sameBreakpoint({ taskId: 'a' }, { taskId: 'a', when: 'after' })).toBe(false);
    expect(sameBreakpoint({ taskId: 'a' }, { taskId: 'b' })).toBe(false);
  });
});

describe('approval access', () => {
  it('editors and owners decide, viewers and strangers do not, named roles narrow it', () => {
    expect([
      canDecide({}, 'editor'),
      canDecide({}, 'owner'),
      canDecide({}, 'viewer'),
      canDecide({}, undefined),
    ]).toEqual([true, true, false, false]);
    expect(canDecide({ roles: ['owner'] }, 'editor')).toBe(false);
    expect(canDecide({ roles: ['owner'] }, 'viewer', 'admin')).toBe(true);
    expect([canAct('viewer'), canAct('editor'), canAct(undefined, 'admin')]).toEqual([false, true, true]);
  });
});
