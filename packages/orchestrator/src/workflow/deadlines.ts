// Task timeouts without a timer per task: deadlines sit in a binary min-heap and one timer is armed for the
// earliest. Cancelling is lazy (a flag), so the hot path costs one heap push and no timer churn.

/** Anything with a deadline: the queue writes `at` and `cancelled` on the item itself (no wrapper object). */
export interface Deadline {
  at: number;
  cancelled: boolean;
}

export class DeadlineQueue<T extends Deadline> {
  private heap: T[] = [];
  private live = 0;
  private timer?: NodeJS.Timeout;
  private armedAt = Number.POSITIVE_INFINITY;

  constructor(private readonly onExpire: (payload: T) => void) {}

  add(delayMs: number, d: T): T {
    d.at = performance.now() + delayMs;
    d.cancelled = false;
    this.push(d);
    this.live++;
    if (d.at < this.armedAt) this.arm(d.at);
    return d;
  }

  cancel(d: T): void {
    if (d.cancelled) return;
    d.cancelled = true;
    this.live--;
    // Cancelled entries stay in the heap until the armed timer passes them; the owner disposes at the end.
    if (this.live === 0 && this.heap.length > 4096) this.dispose();
  }

  /** Items still waiting for their deadline (neither expired nor cancelled). */
  pending(): T[] {
    return this.heap.filter((d) => !d.cancelled);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    this.heap = [];
    this.live = 0;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedAt = at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - performance.now()));
  }

  private expire(): void {
    this.timer = undefined;
    this.armedAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    while (this.heap.length && this.heap[0].at <= now + 1) {
      const d = this.pop()!;
      if (d.cancelled) continue;
      d.cancelled = true;
      this.live--;
      this.onExpire(d);
    }
    while (this.heap.length && this.heap[0].cancelled) this.pop();
    if (this.heap.length) this.arm(this.heap[0].at);
  }

  private push(d: T): void {
    const h = this.heap;
    h.push(d);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].at <= d.at) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = d;
  }

  private pop(): T | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let mv = last.at;
        if (l < h.length && h[l].at < mv) {
          m = l;
          mv = h[l].at;
        }
        if (r < h.length && h[r].at < mv) m = r;
        if (m === i) break;
        h[i] = h[m];
        i = m;
      }
      h[i] = last;
    }
    return top;
  }
}
