// Collects items (live events) and hands them over in one batch per animation frame: a run that sends hundreds
// of socket frames a second is folded into the view at most once per painted frame. A background tab gets no
// animation frames, so a timer flushes the batch when no frame comes.

type Schedule = (fn: () => void) => () => void;

const frame: Schedule = (fn) => {
  if (typeof requestAnimationFrame !== 'function') {
    const t = setTimeout(fn, 0);
    return () => clearTimeout(t);
  }
  const id = requestAnimationFrame(fn);
  return () => cancelAnimationFrame(id);
};

/** Batches items per animation frame (or per `schedule` tick, injected in tests). */
export class FrameBatcher<T> {
  private items: T[] = [];
  private cancel: Array<() => void> = [];
  /** Number of batches handed to the handler. */
  flushes = 0;

  constructor(
    private readonly handler: (items: T[]) => void,
    private readonly schedule: Schedule = frame,
    private readonly fallbackMs = 250,
  ) {}

  push(items: T[]): void {
    for (const i of items) this.items.push(i);
    if (this.cancel.length || !this.items.length) return;
    const run = () => this.flush();
    this.cancel = [this.schedule(run)];
    if (this.fallbackMs > 0) {
      const t = setTimeout(run, this.fallbackMs);
      this.cancel.push(() => clearTimeout(t));
    }
  }

  /** Hand over what is pending now (also called before the stream's end is processed). */
  flush(): void {
    for (const c of this.cancel) c();
    this.cancel = [];
    if (!this.items.length) return;
    const batch = this.items;
    this.items = [];
    this.flushes++;
    this.handler(batch);
  }

  /** Drop what is pending (the view is going away). */
  dispose(): void {
    for (const c of this.cancel) c();
    this.cancel = [];
    this.items = [];
  }
}
