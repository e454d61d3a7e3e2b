import { useEffect, useState } from 'react';

// Work that would hold back a frame showing something the user is waiting for (the last statuses of a run) is run
// once that frame has been painted: the next animation frame's callbacks run before its paint, a task queued from
// there runs after it.

/**
 * Run `fn` after the next frame has been painted; returns a cancel. A page with no animation frames (a background
 * tab, a test DOM) runs it after `fallbackMs`.
 */
export function afterPaint(fn: () => void, fallbackMs = 250): () => void {
  let done = false;
  let t: ReturnType<typeof setTimeout> | undefined;
  let id: number | undefined;
  const cancel = () => {
    done = true;
    if (id !== undefined) cancelAnimationFrame(id);
    clearTimeout(t);
    clearTimeout(fallback);
  };
  const run = () => {
    if (done) return;
    cancel();
    fn();
  };
  const fallback = setTimeout(run, fallbackMs);
  if (typeof requestAnimationFrame === 'function')
    id = requestAnimationFrame(() => {
      t = setTimeout(run, 0);
    });
  return cancel;
}

/** `value` as it was when the last frame was painted: a change shows one painted frame later. */
export function useAfterPaint<T>(value: T): T {
  const [shown, setShown] = useState(value);
  useEffect(() => {
    if (Object.is(shown, value)) return;
    return afterPaint(() => setShown(() => value));
  }, [value, shown]);
  return shown;
}
