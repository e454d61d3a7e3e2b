/**
 * At most `limit()` attempts of one agent at once on a worker. BullMQ's concurrency counts jobs, and a batch job
 * holds several attempts, so the attempts themselves take a slot: the worker's concurrency stays what the user and
 * the pool set, whether tasks come alone or in batches. First come, first served.
 */
export class TaskSlots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: () => number) {}

  /** Undefined when a slot was free (taken now), else a promise that resolves once one is handed over. */
  take(): Promise<void> | undefined {
    if (this.used < this.limit() && this.waiting.length === 0) {
      this.used++;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(): void {
    this.used--;
    this.wake();
  }

  /** Hands free slots to waiting attempts (after a slot is given back or the limit was raised). */
  wake(): void {
    while (this.used < this.limit() && this.waiting.length > 0) {
      this.used++;
      this.waiting.shift()!();
    }
  }

  /** Attempts running and waiting. */
  get load(): { running: number; waiting: number } {
    return { running: this.used, waiting: this.waiting.length };
  }
}
