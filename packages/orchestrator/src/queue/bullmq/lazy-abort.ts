/**
 * A job's abort signal, made only when the handler reads `ctx.signal` (most never do): an AbortController per job
 * costs more than the rest of the job's bookkeeping. An abort before that is kept and the signal comes out aborted.
 */
export class LazyAbort {
  private ctrl?: AbortController;
  private reason?: unknown;
  private aborted = false;

  get signal(): AbortSignal {
    if (!this.ctrl) {
      this.ctrl = new AbortController();
      if (this.aborted) this.ctrl.abort(this.reason);
    }
    return this.ctrl.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.ctrl?.abort(reason);
  }
}
