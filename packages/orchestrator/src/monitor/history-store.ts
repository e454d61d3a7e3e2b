import type { ExecutionProfile, MonitorHistoryStore, StoredProfile } from './types.js';

/** Default history: the most recent `capacity` finished executions, in memory. */
export class MemoryHistoryStore implements MonitorHistoryStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, StoredProfile>();
  constructor(private readonly capacity = 200) {}

  save(entry: StoredProfile): void {
    const id = entry.profile.executionId;
    this.entries.delete(id);
    this.entries.set(id, entry);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  load(executionId: string): StoredProfile | undefined {
    return this.entries.get(executionId);
  }

  list(query: { workflowId?: string; limit?: number } = {}): ExecutionProfile[] {
    const out: ExecutionProfile[] = [];
    for (const e of [...this.entries.values()].reverse()) {
      if (query.workflowId !== undefined && e.profile.workflowId !== query.workflowId) continue;
      out.push(e.profile);
      if (query.limit !== undefined && out.length >= query.limit) break;
    }
    return out;
  }

  close(): void {
    this.entries.clear();
  }
}
