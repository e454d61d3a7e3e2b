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

  /**
   * `isFinal` (given for stores with `endExecution`): true when settling these tasks ends the run. Their batch is
   * then not written on its own: it is the run's last, written with the final header in one step.
   */
  constructor(
    private readonly store: StateStore,
    private readonly onWritten: (released: number[]) => void,
    private readonly onError: (err: CodexError) => void,
    private readonly isFinal?: (released: number[]) => boolean,
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
    this.released = [];
    if (released.length && this.isFinal?.(released)) {
      // Kept for drain(): the run ends in this turn and writes it with its final header.
      return this.onWritten(released);
    }
    this.pending = [];
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

  /** Stops releasing; once the write in flight is done, hands over what is still buffered (the run's end writes it). */
  async drain(): Promise<TaskTransition[]> {
    this.stopped = true;
    if (this.writing) await this.writing.catch(() => undefined);
    const rest = this.pending;
    this.pending = [];
    return rest;
  }
}

function storeError(err: unknown): CodexError {
  return new CodexError(ErrorCodes.STORE, `state store write failed: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
  });
}
