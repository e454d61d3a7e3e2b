/**
 * One FIFO lane per key: a job starts when the previous job of its lane has settled (either way). Rate limiters
 * use it so waiters for one provider and model are granted in arrival order; an idle lane is forgotten.
 */
export class FifoLanes {
  private readonly lanes = new Map<string, Promise<unknown>>();

  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const prev = this.lanes.get(key) ?? Promise.resolve();
    const mine = prev.then(job);
    const tail = mine.catch(() => undefined);
    this.lanes.set(key, tail);
    void tail.then(() => {
      if (this.lanes.get(key) === tail) this.lanes.delete(key);
    });
    return mine;
  }
}
