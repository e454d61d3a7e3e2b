import { CodexError, ErrorCodes, toErrorInfo } from '../../errors.js';
import type { EventBus } from '../../events.js';

// Distributed mode does much on its own, outside any task: a worker records and sends results, beats its
// heartbeat, reads the pool's plan and the flow rules, relays events, and BullMQ fetches and completes jobs; the
// orchestrator's pool reads the heartbeats on an interval. None of that has a caller to reject, so a failure goes to
// a sink the user sees (a worker's `onError`, which the CLI prints; the orchestrator's `error` event), or else to a
// process warning (stderr). Each kind of failure is reported at most once per quiet period, so a Redis outage
// reads as a few lines rather than one per task.

/** A line `codexos worker` prints for a failure of its own work (a task worker's `who` is `worker <id>`). */
export const WORKER_FAILURE_LINE = /^worker \S+ could not /;

/** Where a report goes. */
export type ErrorSink = (err: CodexError) => void;

/** A sink that writes process warnings of `type` (stderr unless the process listens for 'warning'). */
export const warningSink =
  (type: string): ErrorSink =>
  (e) =>
    process.emitWarning(e.message, type);

/**
 * The orchestrator's sink for failures around its agent pool (its own passes, its local worker processes' lines):
 * an `error` event with source `pool` while someone listens, else a process warning of `type`.
 */
export function poolSink(bus: EventBus | undefined, type: string): ErrorSink {
  const warn = warningSink(type);
  return (e) =>
    bus?.wants('error')
      ? bus.publish('error', { source: 'pool', error: toErrorInfo(e), timestamp: Date.now() })
      : warn(e);
}

/** Reports the background failures of `who` ("worker w-1", "agent pool"), each kind at most once per `quietMs`. */
export class BackgroundErrors {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly who: string,
    private readonly sink: ErrorSink,
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
    const e = new CodexError(ErrorCodes.QUEUE, `${this.who} could not ${what}: ${cause}`, {
      cause: err,
      retryable: true,
    });
    try {
      this.sink(e);
    } catch (thrown) {
      // A throwing callback must not take the process down; stderr is what is left.
      process.emitWarning(`reporting "${e.message}" threw: ${(thrown as Error)?.message}`, 'CodexOSWarning');
    }
  }
}
