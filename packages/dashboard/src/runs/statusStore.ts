// Task statuses of a run, kept apart from the graph's nodes: each node subscribes to its own task's status, so a
// status change re-renders that node alone, and the graph (React Flow's nodes, edges and store) is not rebuilt.

/** A per-task status store: `set` publishes a new snapshot and wakes only the listeners of tasks that changed. */
export class StatusStore {
  private statuses: ReadonlyMap<string, string> = new Map<string, string>();
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly allListeners = new Set<(changed: string[]) => void>();
  /** How many snapshots changed at least one status (one per animation frame while a run streams). */
  updates = 0;

  get(taskId: string): string | undefined {
    return this.statuses.get(taskId);
  }

  subscribe(taskId: string, fn: () => void): () => void {
    const set = this.listeners.get(taskId) ?? new Set<() => void>();
    this.listeners.set(taskId, set);
    set.add(fn);
    return () => {
      set.delete(fn);
      if (!set.size) this.listeners.delete(taskId);
    };
  }

  /** Be told of every snapshot that changed statuses, with the ids that changed (a layer drawing all tasks). */
  subscribeAll(fn: (changed: string[]) => void): () => void {
    this.allListeners.add(fn);
    return () => {
      this.allListeners.delete(fn);
    };
  }

  /**
   * Replace the statuses; returns the ids whose status changed (their listeners were called). The map is kept as
   * it is (no copy on each frame of a streaming run): the caller hands over a new map for every change.
   */
  set(next: ReadonlyMap<string, string>): string[] {
    const changed: string[] = [];
    for (const [id, s] of next) if (this.statuses.get(id) !== s) changed.push(id);
    for (const id of this.statuses.keys()) if (!next.has(id)) changed.push(id);
    if (!changed.length) return changed;
    this.statuses = next;
    this.updates++;
    for (const id of changed) for (const fn of this.listeners.get(id) ?? []) fn();
    for (const fn of this.allListeners) fn(changed);
    return changed;
  }
}
