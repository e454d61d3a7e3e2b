// Completion waiters keyed by job id, registered before the job is added so a fast completion is never missed.
export class Waiters {
  private readonly pending = new Map<string, { resolve(v: number): void; reject(e: Error): void }>();

  wait(jobId: string): Promise<number> {
    return new Promise((resolve, reject) => this.pending.set(jobId, { resolve, reject }));
  }

  resolve(jobId: string, value: number): void {
    const w = this.pending.get(jobId);
    if (!w) return;
    this.pending.delete(jobId);
    w.resolve(value);
  }

  reject(jobId: string, err: Error): void {
    const w = this.pending.get(jobId);
    if (!w) return;
    this.pending.delete(jobId);
    w.reject(err);
  }
}

/** QueueEvents delivers return values as JSON strings. */
export function parseReturn(v: unknown): number {
  return typeof v === 'string' ? (JSON.parse(v) as number) : (v as number);
}
