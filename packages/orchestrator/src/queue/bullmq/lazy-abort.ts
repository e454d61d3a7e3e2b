/**
 * A job's abort signal, made only when the handler reads `ctx.signal` (most never do): an AbortController per job
 * costs more than the rest of the job's bookkeeping. An abort before that is kept and the signal comes out aborted.
 */
export class LazyAbort {
  private ctrl?: AbortController;
  private why?: unknown;
  private done = false;

  get aborted(): boolean {
    return this.done;
  }

  get reason(): unknown {
    return this.why;
  }

  get signal(): AbortSignal {
    if (!this.ctrl) {
      this.ctrl = new AbortController();
      if (this.done) this.ctrl.abort(this.why);
    }
    return this.ctrl.signal;
  }

  abort(reason: unknown): void {
    if (this.done) return;
    this.done = true;
    this.why = reason;
    this.ctrl?.abort(reason);
  }
}
