import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { CodexError, ErrorCodes } from '../errors.js';
import type { ExecutionHeader, ExecutionStatus, Lease, StateStore } from './types.js';

// Execution ownership: one process drives a run at a time. The owner takes a lease when it creates or resumes
// the run and renews it on a heartbeat; a lease that was not renewed in time means its process died, and the
// run reads as `interrupted` (resumable) instead of `running`.

/** Default lease length; the owner renews it every third of that. */
export const DEFAULT_LEASE_MS = 15_000;

/** An owner id that names the process for people: `host:pid:random`. */
export function newOwnerId(): string {
  return `${HOST}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

const HOST = hostname();

/**
 * True when `owner` names a process on this machine that no longer exists (killed): its lease need not be waited
 * out. Conservative: another host's owner, or a pid that answers (even one reused), counts as alive.
 */
export function ownerIsDead(owner: string): boolean {
  const parts = owner.split(':');
  if (parts.length < 3) return false;
  const pid = Number(parts[parts.length - 2]);
  if (parts.slice(0, -2).join(':') !== HOST || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** What a stored status means now: `running` without a live lease (or whose owner is dead) is `interrupted`. */
export function effectiveStatus(status: ExecutionStatus, lease: Lease | undefined, now = Date.now()): ExecutionStatus {
  if (status !== 'running' && status !== 'pending') return status;
  if (!lease || lease.expiresAt <= now || ownerIsDead(lease.owner)) return 'interrupted';
  return status;
}

export function isLive(lease: Lease | undefined, now = Date.now()): lease is Lease {
  return lease !== undefined && lease.expiresAt > now;
}

export function describeLease(l: Lease, now = Date.now()): string {
  return `${l.owner} (lease valid for another ${Math.max(0, Math.round((l.expiresAt - now) / 1000))} s)`;
}

/**
 * Holds one execution's lease for the process driving it: created with the run (or taken on resume), renewed
 * every third of its length, given up when the run ends. If another process took it over (ours had expired, e.g.
 * the event loop was blocked), `onLost` is told so the run stops instead of running twice.
 */
export class LeaseKeeper {
  private timer?: NodeJS.Timeout;
  private handed = false;

  constructor(
    private readonly store: StateStore,
    readonly executionId: string,
    readonly owner: string,
    private readonly ttlMs: number,
    private readonly onLost: (holder: Lease) => void,
    /** Runs after each renewal (the run reads signals other processes recorded). */
    private readonly onBeat?: () => void,
  ) {}

  private lease(): Lease {
    return { owner: this.owner, expiresAt: Date.now() + this.ttlMs };
  }

  async create(header: ExecutionHeader): Promise<void> {
    await this.store.createExecution(header, this.lease());
    this.beat();
  }

  /** Takes the lease of a stored run; refuses with EXECUTION_RUNNING naming the live owner. */
  async acquire(): Promise<void> {
    let held = await this.store.acquireLease(this.executionId, this.lease());
    // A killed process on this machine cannot renew: take its lease now rather than waiting it out.
    if (held && ownerIsDead(held.owner))
      held = await this.store.acquireLease(this.executionId, this.lease(), held.owner);
    if (held) {
      throw new CodexError(
        ErrorCodes.EXECUTION_RUNNING,
        `Execution "${this.executionId}" is being run by ${describeLease(held)}; resume it once that process has stopped`,
        { issues: [{ path: 'owner', message: held.owner }] },
      );
    }
    this.beat();
  }

  /** The run's final write gave the lease up (StateStore.endExecution): stop renewing; `release` has nothing to do. */
  handedBack(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.handed = true;
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.handed) return;
    try {
      await this.store.releaseLease(this.executionId, this.owner);
    } catch {
      // The store is unreachable: the lease expires by itself and the run then reads as interrupted.
    }
  }

  private beat(): void {
    this.timer = setInterval(
      () => {
        this.renew().then(
          () => {
            if (this.timer) this.onBeat?.();
          },
          () => undefined,
        );
      },
      Math.max(10, Math.floor(this.ttlMs / 3)),
    );
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    let held: Lease | undefined;
    try {
      held = await this.store.acquireLease(this.executionId, this.lease());
    } catch {
      return; // a failed renewal is retried on the next beat; the lease lasts three beats
    }
    if (!held || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.onLost(held);
  }
}
