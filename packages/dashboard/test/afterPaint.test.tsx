// @vitest-environment happy-dom
import { act, cleanup, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { afterPaint, useAfterPaint } from '../src/runs/afterPaint.ts';

// Animation frames are driven by hand: `frame()` runs the callbacks of one frame, as the browser does before it
// paints; timers are fake, so a task queued from a frame callback runs only when the test lets time pass.
let frames: Array<() => void> = [];
const frame = () => {
  const due = frames;
  frames = [];
  for (const f of due) f();
};

beforeEach(() => {
  vi.useFakeTimers();
  frames = [];
  vi.stubGlobal('requestAnimationFrame', (fn: () => void) => frames.push(fn));
  vi.stubGlobal('cancelAnimationFrame', (id: number) => {
    frames[id - 1] = () => {};
  });
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('after the next paint', () => {
  it('runs once the frame after the call has been painted: not in its callbacks, in the task queued from them', () => {
    const calls: string[] = [];
    afterPaint(() => calls.push('ran'));
    expect(calls).toEqual([]);
    frame();
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(calls).toEqual(['ran']);
    vi.advanceTimersByTime(1000);
    expect(calls).toEqual(['ran']);
  });

  it('runs after the fallback delay when no frame comes (a background tab), and only once', () => {
    const calls: string[] = [];
    afterPaint(() => calls.push('ran'), 250);
    vi.advanceTimersByTime(249);
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual(['ran']);
    frame();
    vi.advanceTimersByTime(1000);
    expect(calls).toEqual(['ran']);
  });

  it('does not run once cancelled', () => {
    const calls: string[] = [];
    const cancel = afterPaint(() => calls.push('ran'));
    frame();
    cancel();
    vi.advanceTimersByTime(1000);
    expect(calls).toEqual([]);
  });

  it('a value shown after paint changes one painted frame after the value itself', () => {
    function Shown({ value }: { value: string }) {
      return <span data-testid="shown">{useAfterPaint(value)}</span>;
    }
    const { rerender } = render(<Shown value="running" />);
    expect(screen.getByTestId('shown').textContent).toBe('running');
    rerender(<Shown value="completed" />);
    expect(screen.getByTestId('shown').textContent).toBe('running');
    act(() => frame());
    expect(screen.getByTestId('shown').textContent).toBe('running');
    act(() => vi.advanceTimersByTime(0));
    expect(screen.getByTestId('shown').textContent).toBe('completed');
  });
});
