// Task outcomes for the failure-rate alert: a ring of 0/1 with a running sum, so recording is O(1).
export class FailureRate {
  private readonly outcomes: Uint8Array;
  private idx = 0;
  private count = 0;
  private sum = 0;
  private sinceCheck = 0;

  constructor(
    window: number,
    private readonly minTasks: number,
    private readonly observe: (at: number, percent: number) => void,
  ) {
    this.outcomes = new Uint8Array(window);
  }

  record(failed: 0 | 1): void {
    const n = this.outcomes.length;
    if (this.count === n) this.sum -= this.outcomes[this.idx];
    else this.count++;
    this.outcomes[this.idx] = failed;
    this.sum += failed;
    this.idx = (this.idx + 1) % n;
    this.sinceCheck++;
  }

  /** Reports the rate when outcomes arrived since the last check and the window holds enough of them. */
  check(at: number): void {
    if (this.sinceCheck === 0 || this.count < this.minTasks) return;
    this.sinceCheck = 0;
    this.observe(at, (this.sum / this.count) * 100);
  }
}
