import { CodexError, ErrorCodes } from '../../errors.js';
import type { StoredTaskState } from '../../store/types.js';
import type { DebugHost } from './host.js';
import type { Parking } from './parking.js';
import type { SignalRecord, WaitDecision, WaitRecord } from './types.js';
import { Waits } from './waits.js';

/** Store key prefix of a run's waitpoint records (`$wait:<name>`). */
export const WAIT_PREFIX = '$wait:';
/** Store key prefix of signals recorded by other processes (`$signal:<name>`), applied by the run's driver. */
export const SIGNAL_PREFIX = '$signal:';
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/;

/** Thrown by `ctx.waitFor` when no decision is recorded yet: the attempt ends and the task waits, slot freed. */
export class WaitSuspended extends CodexError {
  constructor(readonly waitName: string) {
    super(ErrorCodes.WAITING, `waiting for signal "${waitName}"`, { retryable: false });
  }
}

/** A waitpoint name that names none of the run's waitpoints: a typed error, nothing changes. */
export function waitNotFound(executionId: string, name: string): CodexError {
  return new CodexError(ErrorCodes.WAITPOINT_NOT_FOUND, `no waitpoint "${name}" in execution "${executionId}"`, {
    issues: [{ path: 'name', message: `unknown waitpoint "${name}"` }],
  });
}

/** Refuses a decider whose role the waitpoint does not allow. */
export function checkRole(w: WaitRecord, role: string | undefined): void {
  if (w.roles?.length && role !== undefined && !w.roles.includes(role))
    throw new CodexError(
      ErrorCodes.FORBIDDEN,
      `role "${role}" may not decide "${w.name}" (allowed: ${w.roles.join(', ')})`,
    );
}

/**
 * Approval tasks and `ctx.waitFor` of one run: a waiting task is parked (no slot) with a `$wait:<name>` record; a
 * signal (from this process, or a `$signal:<name>` record another process left) decides it once and queues the
 * task again. Deadlines share the one timer of `Waits`.
 */
export class Waitpoints {
  readonly waits: Waits;
  /** Handlers that were waiting when the run was stored: parked again on resume without running them. */
  private readonly loaded = new Map<string, WaitRecord>();

  constructor(
    private readonly host: DebugHost,
    private readonly parking: Parking,
    private readonly changed: () => void,
  ) {
    this.waits = new Waits((w) => this.expire(w));
  }

  /** Takes the stored waitpoints on resume, then any signal recorded while nobody drove the run. */
  load(stored: Map<string, StoredTaskState>): void {
    for (const [k, s] of stored) {
      if (!k.startsWith(WAIT_PREFIX)) continue;
      const w = s.output as WaitRecord;
      if (!w?.name) continue;
      this.waits.set(w);
      if (w.kind === 'waitFor' && !w.decision) this.loaded.set(w.taskId, w);
    }
    this.applySignals(stored);
  }

  /** True when some waitpoint has no decision yet. */
  anyPending(): boolean {
    for (const w of this.waits.byName.values()) if (!w.decision) return true;
    return false;
  }

  /** Approval tasks (and handlers waiting when the run was stored) are settled or parked here, without a slot. */
  intercept(i: number): boolean {
    const t = this.host.plan.tasks[i];
    const lw = this.loaded.get(t.id);
    if (lw) {
      if (!lw.decision) {
        this.parking.park(i);
        this.announce(i, lw);
        return true;
      }
      this.loaded.delete(t.id);
    }
    if (t.def.type !== 'approval') return false;
    const w = this.waits.get(t.id);
    if (w?.decision) {
      const p = w.decision.payload as { approved?: boolean; comment?: string } | undefined;
      if (w.decision.timedOut && w.onTimeout !== 'approve' && w.onTimeout !== 'reject') {
        this.host.failWith(i, new CodexError(ErrorCodes.WAIT_TIMEOUT, `approval "${t.id}" timed out`));
      } else if (p?.approved) {
        this.host.completeWith(i, { approved: true, by: w.decision.by, comment: p.comment, at: w.decision.at });
      } else {
        const why = p?.comment ? `: ${p.comment}` : '';
        this.host.failWith(i, new CodexError(ErrorCodes.APPROVAL_REJECTED, `approval "${t.id}" was rejected${why}`));
      }
      return true;
    }
    const a = t.def.approval;
    this.suspend(i, t.id, 'approval', {
      prompt: a?.prompt,
      roles: a?.roles,
      timeoutMs: a?.timeoutMs,
      onTimeout: a?.onTimeout,
    });
    return true;
  }

  /** `ctx.waitFor`: the recorded decision, or suspends the task until one is signalled. */
  waitFor(i: number, name: string, timeoutMs?: number): unknown {
    if (!NAME.test(name)) throw new CodexError(ErrorCodes.DEBUG_INVALID, `invalid waitpoint name "${name}"`);
    const w = this.waits.get(name);
    if (w?.decision) {
      if (w.decision.timedOut) throw new CodexError(ErrorCodes.WAIT_TIMEOUT, `waitpoint "${name}" timed out`);
      return w.decision.payload;
    }
    this.suspend(i, name, 'waitFor', { timeoutMs });
    throw new WaitSuspended(name);
  }

  /** A task whose handler suspended in `ctx.waitFor` (its attempt ended, its slot is free). */
  handlerSuspended(i: number, name: string): void {
    this.parking.park(i);
    // Signalled while the attempt was still ending: run it again now.
    const w = this.waits.get(name);
    if (w?.decision) this.parking.unpark(i);
    else if (w) this.announce(i, w);
  }

  /** Records a decision; answers false when one was already recorded (a second approval changes nothing). */
  signal(name: string, payload: unknown, by?: string, role?: string): boolean {
    const w = this.waits.get(name);
    if (!w) throw waitNotFound(this.host.executionId, name);
    if (w.decision) return false;
    checkRole(w, role);
    this.decide(w, { payload, at: Date.now(), by });
    return true;
  }

  /** Applies the signals other processes recorded (`$signal:<name>`); each decides its waitpoint at most once. */
  applySignals(stored: Map<string, StoredTaskState>): number {
    let n = 0;
    for (const [k, s] of stored) {
      if (!k.startsWith(SIGNAL_PREFIX)) continue;
      const sig = s.output as SignalRecord | undefined;
      const w = sig && this.waits.get(sig.name);
      if (!w || w.decision) continue;
      this.decide(w, { payload: sig.payload, at: sig.at, by: sig.by });
      n++;
    }
    return n;
  }

  private suspend(
    i: number,
    name: string,
    kind: WaitRecord['kind'],
    o: { prompt?: string; roles?: string[]; timeoutMs?: number; onTimeout?: WaitRecord['onTimeout'] },
  ): void {
    const t = this.host.plan.tasks[i];
    let w = this.waits.get(name);
    if (!w) {
      w = { name, taskId: t.id, kind, since: Date.now(), prompt: o.prompt, roles: o.roles, onTimeout: o.onTimeout };
      if (o.timeoutMs) w.timeoutAt = w.since + o.timeoutMs;
      this.host.writeMeta(WAIT_PREFIX + name, w);
      this.waits.set(w);
      this.changed();
    }
    // A handler's waitpoint is announced once its attempt has ended and its slot is free (handlerSuspended).
    if (kind !== 'approval') return;
    this.parking.park(i);
    this.announce(i, w);
  }

  private announce(i: number, w: WaitRecord): void {
    const t = this.host.plan.tasks[i];
    this.host.bus.publish('task:waiting', {
      executionId: this.host.executionId,
      workflowId: this.host.workflowId,
      taskId: t.id,
      agentId: t.def.agentId,
      timestamp: Date.now(),
      name: w.name,
      kind: w.kind,
      prompt: w.prompt,
      roles: w.roles,
      timeoutAt: w.timeoutAt,
    });
  }

  private expire(w: WaitRecord): void {
    const payload =
      w.onTimeout === 'approve'
        ? { approved: true, comment: 'timed out' }
        : w.onTimeout === 'reject'
          ? { approved: false, comment: 'timed out' }
          : undefined;
    this.decide(w, { payload, at: Date.now(), timedOut: true });
  }

  private decide(w: WaitRecord, d: WaitDecision): void {
    w.decision = d;
    this.host.writeMeta(WAIT_PREFIX + w.name, w);
    this.changed();
    const i = this.host.plan.byId.get(w.taskId);
    if (i !== undefined) this.parking.unpark(i);
  }

  /** Deadlines already passed when the run is loaded (a restart) fire now. */
  start(): void {
    this.waits.arm();
  }

  dispose(): void {
    this.waits.dispose();
  }
}
