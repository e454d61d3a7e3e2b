/**
 * Outputs of `cache: true` tasks, in process: least-recently-used entries go first once `max` is reached, and
 * values are copied in and out, so a run that mutates its output cannot change what the next run receives.
 */
export class TaskCache {
  private readonly entries = new Map<string, unknown>();

  constructor(private readonly max = 1000) {}

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get(key: string): unknown {
    const v = this.entries.get(key);
    // Refresh recency: Map iteration order is insertion order.
    this.entries.delete(key);
    this.entries.set(key, v);
    return structuredClone(v);
  }

  set(key: string, value: unknown): void {
    let copy: unknown;
    try {
      copy = structuredClone(value);
    } catch {
      return; // Not cloneable (functions, sockets): such outputs are simply not cached.
    }
    this.entries.delete(key);
    this.entries.set(key, copy);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  get size(): number {
    return this.entries.size;
  }
}
