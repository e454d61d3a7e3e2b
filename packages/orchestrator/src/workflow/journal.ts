import { CodexError, ErrorCodes } from '../errors.js';
import type { StateStore, TaskTransition } from '../store/types.js';

// The flush is a promise job rather than queueMicrotask: the same microtask queue, without the AsyncResource
// Node creates per queueMicrotask call (a measurable share of a no-op task's cost).
const RESOLVED = Promise.resolve();

/**
 * The batched transition log of one execution. Transitions recorded during a tick are written in one
 * `appendTransitions` call (one SQLite transaction / one Redis pipeline) on the next microtask; the tasks settled
 * in that tick are handed to `onWritten` only after the write, so dependents never start before an output is stored.
 */
export class Journal {
  private pending: TaskTransition[] = [];
  private released: number[] = [];
  private scheduled = false;
  private writing: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly store: StateStore,
    private readonly onWritten: (released: number[]) => void,
    private readonly onError: (err: CodexError) => void,
  ) {}

  record(t: TaskTransition): void {
    this.pending.push(t);
  }

  /** Marks task `i` settled: its dependents are released once this tick's batch is written. */
  release(i: number): void {
    this.released.push(i);
    if (this.scheduled) return;
    this.scheduled = true;
    RESOLVED.then(this.flush, this.failed);
  }

  /** Asks for what is buffered to be written soon without settling any task (a loop item's checkpoint). */
  flushSoon(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    RESOLVED.then(this.flush, this.failed);
  }

  // RESOLVED never rejects and `flush` catches the store's throws (its callbacks are the run's guarded steps):
  // this handler only closes the chain.
  private readonly failed = (err: unknown): void => this.onError(storeError(err));

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.stopped) return;
    const batch = this.pending;
    const released = this.released;
    this.pending = [];
    this.released = [];
    let written: void | Promise<void>;
    try {
      written = batch.length ? this.store.appendTransitions(batch) : undefined;
    } catch (err) {
      return this.onError(storeError(err));
    }
    if (!(written instanceof Promise)) return released.length ? this.onWritten(released) : undefined;
    const p = written.then(
      () => (released.length ? this.onWritten(released) : undefined),
      (err) => this.onError(storeError(err)),
    );
    this.writing = p.finally(() => {
      if (this.writing === p) this.writing = undefined;
    });
  };

  /** Stops releasing and writes whatever is still buffered (used when the execution ends). */
  async drain(): Promise<void> {
    this.stopped = true;
    if (this.writing) await this.writing.catch(() => undefined);
    const rest = this.pending;
    this.pending = [];
    if (rest.length) await this.store.appendTransitions(rest);
  }
}

function storeError(err: unknown): CodexError {
  return new CodexError(ErrorCodes.STORE, `state store write failed: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
  });
}
