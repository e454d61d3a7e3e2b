import { Semaphore } from './concurrency.js';

// Groups many small requests to the same model that arrive within a short window: the group takes one
// rate-limit reservation (N requests, summed tokens) and runs with bounded concurrency. This is real-time
// grouping; the providers' asynchronous batch APIs (50 % cheaper, results within 24 h) suit offline jobs and are
// described in docs/models.md.

/** Options of the Batcher: grouping window, largest group, concurrency and a hook run before each group. */
export interface BatcherOptions {
  windowMs: number;
  maxBatchSize: number;
  concurrency: number;
  /** Called once per flushed group before any of its calls start (e.g. to reserve rate-limit budget). */
  beforeBatch?: (key: string, size: number, tokens: number) => Promise<void>;
}

interface Pending {
  tokens: number;
  run: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/** Counters of a Batcher: groups flushed, requests grouped and the largest group. */
export interface BatchStats {
  batches: number;
  requests: number;
  largest: number;
}

/** Groups requests to the same model that arrive within a short window into one rate-limit reservation, run with bounded concurrency. */
export class Batcher {
  private readonly pending = new Map<string, Pending[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly stat: BatchStats = { batches: 0, requests: 0, largest: 0 };

  constructor(private readonly opts: BatcherOptions) {}

  get stats(): BatchStats {
    return { ...this.stat };
  }

  submit<T>(key: string, tokens: number, run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let list = this.pending.get(key);
      if (!list) {
        list = [];
        this.pending.set(key, list);
      }
      list.push({ tokens, run, resolve: resolve as (v: unknown) => void, reject });
      if (list.length >= this.opts.maxBatchSize) this.flush(key);
      else if (!this.timers.has(key))
        this.timers.set(
          key,
          setTimeout(() => this.flush(key), this.opts.windowMs),
        );
    });
  }

  /** Dispatch every pending group now. */
  flushAll(): void {
    for (const key of [...this.pending.keys()]) this.flush(key);
  }

  private flush(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
    const list = this.pending.get(key);
    this.pending.delete(key);
    if (!list?.length) return;
    this.stat.batches++;
    this.stat.requests += list.length;
    this.stat.largest = Math.max(this.stat.largest, list.length);
    void this.dispatch(key, list);
  }

  private async dispatch(key: string, list: Pending[]): Promise<void> {
    try {
      await this.opts.beforeBatch?.(
        key,
        list.length,
        list.reduce((s, p) => s + p.tokens, 0),
      );
    } catch (err) {
      for (const p of list) p.reject(err);
      return;
    }
    const sem = new Semaphore(this.opts.concurrency);
    await Promise.all(list.map((p) => sem.run(() => p.run().then(p.resolve, p.reject))));
  }
}
