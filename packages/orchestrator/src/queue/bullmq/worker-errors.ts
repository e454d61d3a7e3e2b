import { CodexError, ErrorCodes } from '../../errors.js';

// A task worker does much on its own, outside any task: it records and sends results, beats its heartbeat, reads
// the pool's plan and the flow rules, relays events, and BullMQ fetches and completes jobs. None of that has a
// caller to reject, so a failure goes to the worker's `onError` (the CLI prints it), or else to a process warning
// (stderr). Each kind of failure is reported at most once per quiet period, so a Redis outage reads as a few lines
// rather than one per task.

/** Reports a task worker's background failures, each kind at most once per `quietMs`. */
export class WorkerErrors {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly workerId: string,
    private readonly onError?: (err: CodexError) => void,
    private readonly quietMs = 10_000,
  ) {}

  /** A handler for failures of `what` ("record a result"), made once: hot paths allocate nothing per call. */
  for(what: string): (err: unknown) => void {
    return (err) => this.report(what, err);
  }

  report(what: string, err: unknown): void {
    const now = Date.now();
    const at = this.last.get(what);
    if (at !== undefined && now - at < this.quietMs) return;
    this.last.set(what, now);
    const cause = err instanceof Error ? err.message : String(err);
    const e = new CodexError(ErrorCodes.QUEUE, `worker ${this.workerId} could not ${what}: ${cause}`, {
      cause: err,
      retryable: true,
    });
    if (!this.onError) {
      process.emitWarning(e.message, 'CodexOSWorkerWarning');
      return;
    }
    try {
      this.onError(e);
    } catch (thrown) {
      // A throwing callback must not take the worker down; stderr is what is left.
      process.emitWarning(`onError threw on "${e.message}": ${(thrown as Error)?.message}`, 'CodexOSWorkerWarning');
    }
  }
}
