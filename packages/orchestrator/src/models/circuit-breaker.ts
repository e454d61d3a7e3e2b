// One breaker per provider: opens when the failure ratio over the last `windowSize` outcomes reaches
// `failureRate` (after `minCalls`), lets a single probe through after `cooldownMs`, and closes on its success.
// A ratio rather than a run of failures keeps it closed under scattered faults that retries absorb.
/** State of a circuit breaker: `closed` (calls pass), `open` (refused) or `half-open` (one probe allowed). */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Options of a CircuitBreaker: outcome window, minimum calls, failure ratio that opens it and cooldown. */
export interface CircuitBreakerOptions {
  windowSize: number;
  minCalls: number;
  failureRate: number;
  cooldownMs: number;
  now?: () => number;
  onStateChange?: (state: CircuitState, from: CircuitState) => void;
}

/**
 * Leave to make one call. Only the first of its methods counts; later ones do nothing. A call that ends
 * without a provider outcome (the caller cancelled, the caller's own callback threw) calls `cancel()`, which
 * records nothing and hands a half-open probe slot back so the next call can probe.
 */
export interface Permit {
  success(): void;
  failure(): void;
  cancel(): void;
}

const noop = (): void => undefined;

/** Per-provider circuit breaker: opens when the recent failure ratio is too high and probes after a cooldown. */
export class CircuitBreaker {
  private outcomes: boolean[] = [];
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private current: CircuitState = 'closed';
  /** Bumped on every state change, so late outcomes of older calls are not counted. */
  private gen = 0;
  private readonly now: () => number;

  constructor(private readonly opts: CircuitBreakerOptions) {
    this.now = opts.now ?? Date.now;
  }

  get state(): CircuitState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.opts.cooldownMs) this.transition('half-open');
    return this.current;
  }

  /** A permit if a call may go out now (in half-open, one probe at a time), else undefined. */
  acquire(): Permit | undefined {
    const s = this.state;
    if (s === 'open' || (s === 'half-open' && this.probing)) return undefined;
    const probe = s === 'half-open';
    if (probe) this.probing = true;
    const gen = this.gen;
    let settled = false;
    const settle = (fn: () => void) => () => {
      if (settled) return;
      settled = true;
      // A probe's permit always gives the probe slot back, whatever the outcome.
      if (probe) this.probing = false;
      // A failure of a call started before the circuit last changed state must not cut a new probe short or
      // reopen a circuit that has closed since; a late success is still fresh evidence that the provider answers.
      if (gen === this.gen || fn === this.success) fn();
    };
    return {
      success: settle(this.success),
      failure: settle(this.failure),
      cancel: settle(noop),
    };
  }

  /** True if a call may go out now; in half-open only one probe at a time. Prefer `acquire()`. */
  tryPass(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  /** Milliseconds until an open circuit lets a probe through. */
  retryInMs(): number {
    return this.current === 'open' ? Math.max(0, this.openedAt + this.opts.cooldownMs - this.now()) : 0;
  }

  readonly success = (): void => {
    if (this.current === 'half-open') {
      this.probing = false;
      this.reset();
      this.transition('closed');
      return;
    }
    this.push(true);
  };

  readonly failure = (): void => {
    if (this.current === 'half-open') {
      this.probing = false;
      this.open();
      return;
    }
    if (this.current === 'open') return;
    this.push(false);
    if (this.outcomes.length >= this.opts.minCalls && this.failures / this.outcomes.length >= this.opts.failureRate)
      this.open();
  };

  private push(ok: boolean): void {
    this.outcomes.push(ok);
    if (!ok) this.failures++;
    if (this.outcomes.length > this.opts.windowSize && this.outcomes.shift() === false) this.failures--;
  }

  private open(): void {
    this.openedAt = this.now();
    this.reset();
    this.transition('open');
  }

  private reset(): void {
    this.outcomes = [];
    this.failures = 0;
  }

  private transition(to: CircuitState): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.gen++;
    this.opts.onStateChange?.(to, from);
  }
}
