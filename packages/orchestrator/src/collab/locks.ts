import { CodexError, ErrorCodes } from '../errors.js';
import type { TaskLock } from './types.js';

// Task locks per workflow: one holder, an expiry, released when the holder leaves. Expiry is checked lazily on
// every read and by the manager's sweep, so an expired lock never blocks anyone.

export class LockTable {
  private readonly locks = new Map<string, Map<string, TaskLock>>();
  constructor(
    private readonly onExpire: (lock: TaskLock) => void,
    private readonly now: () => number = Date.now,
  ) {}

  acquire(workflowId: string, taskId: string, holder: string, ttlMs: number): TaskLock {
    const cur = this.get(workflowId, taskId);
    if (cur && cur.holder !== holder) {
      throw new CodexError(
        ErrorCodes.COLLAB_LOCKED,
        `Task '${taskId}' is locked by ${cur.holder} until ${new Date(cur.expiresAt).toISOString()}`,
      );
    }
    const t = this.now();
    const lock: TaskLock = { workflowId, taskId, holder, acquiredAt: cur?.acquiredAt ?? t, expiresAt: t + ttlMs };
    let wf = this.locks.get(workflowId);
    if (!wf) {
      wf = new Map();
      this.locks.set(workflowId, wf);
    }
    wf.set(taskId, lock);
    return lock;
  }

  release(workflowId: string, taskId: string, holder?: string): TaskLock | undefined {
    const cur = this.get(workflowId, taskId);
    if (!cur) return undefined;
    if (holder !== undefined && cur.holder !== holder) {
      throw new CodexError(ErrorCodes.COLLAB_LOCKED, `Task '${taskId}' is locked by ${cur.holder}, not ${holder}`);
    }
    this.locks.get(workflowId)?.delete(taskId);
    return cur;
  }

  releaseAll(workflowId: string, holder?: string): TaskLock[] {
    const wf = this.locks.get(workflowId);
    if (!wf) return [];
    const out: TaskLock[] = [];
    for (const [id, l] of wf)
      if (holder === undefined || l.holder === holder) {
        wf.delete(id);
        out.push(l);
      }
    return out;
  }

  get(workflowId: string, taskId: string): TaskLock | undefined {
    const l = this.locks.get(workflowId)?.get(taskId);
    if (l && l.expiresAt <= this.now()) {
      this.locks.get(workflowId)?.delete(taskId);
      this.onExpire(l);
      return undefined;
    }
    return l;
  }

  /** Locks held by someone other than `userId` (expired ones dropped). */
  heldByOthers(workflowId: string, userId: string): TaskLock[] {
    const wf = this.locks.get(workflowId);
    if (!wf || wf.size === 0) return [];
    return [...wf.keys()]
      .map((id) => this.get(workflowId, id))
      .filter((l): l is TaskLock => !!l && l.holder !== userId);
  }

  list(workflowId: string): TaskLock[] {
    const wf = this.locks.get(workflowId);
    return wf ? [...wf.keys()].map((id) => this.get(workflowId, id)).filter((l): l is TaskLock => !!l) : [];
  }

  sweep(): void {
    for (const [wf, m] of this.locks) for (const id of [...m.keys()]) this.get(wf, id);
  }
}
