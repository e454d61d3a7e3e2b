import type { StoredTaskState } from '../../store/types.js';
import { Breakpoints } from './breakpoints.js';
import { EditJournal } from './edits.js';
import type { DebugHost } from './host.js';
import { Parking } from './parking.js';
import { Stepper } from './stepper.js';
import type {
  Breakpoint,
  DebugOptions,
  DebugRecord,
  DebugRunState,
  DebugSnapshot,
  PauseReason,
  RunStatus,
  TaskOverride,
} from './types.js';
import { Waitpoints } from './waitpoints.js';
import type { Waits } from './waits.js';

/** Store key of a run's debug record (breakpoints, pause, edits, pins). */
export const DEBUG_KEY = '$debug';

/**
 * The debugger of one execution: the scheduler's gate (breakpoints, steps, pins, waitpoints) and the commands
 * people give it. Each concern is its own object (breakpoints, the pause/step state machine, the edit journal,
 * waitpoints); this one wires them to the scheduler and keeps the stored record and the run's status current.
 * Every change is written to the store (`$debug`, `$wait:<name>`): a paused or waiting run survives a restart.
 */
export class DebugController {
  private readonly rec: DebugRecord;
  private readonly bps: Breakpoints;
  private readonly stepper: Stepper;
  private readonly edits: EditJournal;
  private readonly parking: Parking;
  private readonly wp: Waitpoints;
  private readonly heldFailures: number[] = [];
  private status: RunStatus;
  private disposed = false;
  private polling = false;

  constructor(
    private readonly host: DebugHost,
    opts: DebugOptions | undefined,
  ) {
    this.rec = {
      v: 1,
      breakpoints: [],
      pauseOnFailure: !!opts?.pauseOnFailure,
      paused: null,
      passed: [],
      edits: [],
      overrides: {},
      pins: {},
    };
    this.status = host.initialStatus;
    this.bps = new Breakpoints(host);
    if (opts?.breakpoints) this.rec.breakpoints = this.bps.validate(opts.breakpoints);
    this.stepper = new Stepper(host, this.rec, () => {
      this.persist();
      this.refreshStatus();
    });
    this.edits = new EditJournal(host, this.rec, (i) => this.heldFailures.includes(i));
    this.parking = new Parking(host, (i) => this.stepper.left(i));
    this.wp = new Waitpoints(host, this.parking, () => this.refreshStatus());
  }

  /** The run's waitpoints (approvals inbox, deadlines). */
  get waits(): Waits {
    return this.wp.waits;
  }

  /** Checks breakpoints against the plan (unknown task, bad condition): a typed error, nothing changes. */
  validate(bps: Breakpoint[]): Breakpoint[] {
    return this.bps.validate(bps);
  }

  /** Takes the stored records on resume (and the reused state of a re-run). */
  load(stored: Map<string, StoredTaskState> | undefined, parent?: DebugRecord['parent']): void {
    if (parent) this.rec.parent = parent;
    if (!stored || parent) return;
    const d = stored.get(DEBUG_KEY)?.output as DebugRecord | undefined;
    if (d && d.v === 1) Object.assign(this.rec, d, { breakpoints: this.bps.validate(d.breakpoints) });
    this.wp.load(stored);
  }

  persist(): void {
    this.host.writeMeta(DEBUG_KEY, this.rec);
  }

  get record(): DebugRecord {
    return this.rec;
  }

  get runState(): DebugRunState {
    return this.stepper.state;
  }

  snapshot(): DebugSnapshot {
    return {
      executionId: this.host.executionId,
      state: this.runState,
      paused: this.rec.paused,
      breakpoints: this.rec.breakpoints,
      pauseOnFailure: this.rec.pauseOnFailure,
      edits: this.rec.edits,
      pins: Object.keys(this.rec.pins),
      next: this.host.readyTasks().map((i) => this.host.plan.tasks[i].id),
      waiting: this.wp.waits.pending(),
      parent: this.rec.parent,
    };
  }

  // ---- the scheduler's gate ----

  /** May ready task `i` start now? A before-breakpoint or a pause holds it (and the queue behind it). */
  admit(i: number): boolean {
    if (this.rec.paused) return false;
    const t = this.host.plan.tasks[i];
    if (!this.rec.passed.includes(t.id) && this.bps.hits(this.rec.breakpoints, t, 'before')) {
      this.rec.passed.push(t.id);
      this.stepper.pause('breakpoint', t.id, 'before');
      return false;
    }
    return this.stepper.admit(i);
  }

  /** Pinned tasks and approval tasks are settled here without an agent slot; answers true when it took `i`. */
  intercept(i: number): boolean {
    if (this.edits.isPinned(i)) {
      this.host.completeWith(i, this.edits.pinned(i));
      return true;
    }
    return this.wp.intercept(i);
  }

  /** Tasks released by the journal (settled). Checks after-breakpoints; ends a step once its tasks are done. */
  settled(released: number[]): void {
    for (const i of released) {
      this.stepper.left(i);
      const t = this.host.plan.tasks[i];
      if (!this.rec.paused && this.bps.hits(this.rec.breakpoints, t, 'after'))
        this.stepper.pause('breakpoint', t.id, 'after');
    }
    this.stepper.endStepIfDone();
  }

  /** True while the run is paused (a breakpoint, a failure, a step's end, a person). */
  isPaused(): boolean {
    return this.rec.paused !== null;
  }

  /** The run's last tasks settled: does an after-breakpoint on one of them hold the end? */
  holdsEnd(released: number[]): boolean {
    if (this.rec.paused) return false;
    return released.some((i) => this.bps.hits(this.rec.breakpoints, this.host.plan.tasks[i], 'after'));
  }

  /** A failure that would end the run: with pauseOnFailure the task is held and the run pauses. */
  onFailure(i: number): boolean {
    if (!this.rec.pauseOnFailure) return false;
    this.heldFailures.push(i);
    this.parking.park(i);
    this.stepper.pause('failure', this.host.plan.tasks[i].id);
    return true;
  }

  // ---- commands ----

  pause(reason: PauseReason, taskId?: string, when?: 'before' | 'after', by?: string): void {
    this.stepper.pause(reason, taskId, when, by);
  }

  private resume(by: string | undefined, step: boolean): void {
    this.stepper.resume(by, step);
    for (const i of this.heldFailures.splice(0)) this.parking.unpark(i);
    this.stepper.beginStep();
    this.host.pump();
  }

  continue(by?: string): void {
    this.resume(by, false);
  }

  step(by?: string): void {
    this.resume(by, true);
  }

  setBreakpoints(bps: Breakpoint[], by?: string): void {
    const next = this.bps.validate(bps);
    this.edits.record({ at: Date.now(), by, kind: 'breakpoints', old: this.rec.breakpoints, new: next });
    this.rec.breakpoints = next;
    this.persist();
  }

  /** Edits a task that has not started: its input (merged over the definition's) and/or prompt, for this run. */
  editTask(taskId: string, change: TaskOverride, by?: string): void {
    this.edits.editTask(taskId, change, by);
    this.persist();
  }

  pin(taskId: string, output: unknown, by?: string): void {
    this.edits.pin(taskId, output, by);
    this.persist();
  }

  override(i: number): TaskOverride | undefined {
    return this.edits.override(i);
  }

  isPinned(i: number): boolean {
    return this.edits.isPinned(i);
  }

  // ---- waitpoints ----

  /** `ctx.waitFor`: the recorded decision, or suspends the task until one is signalled. */
  waitFor(i: number, name: string, timeoutMs?: number): unknown {
    return this.wp.waitFor(i, name, timeoutMs);
  }

  /** A task whose handler suspended in `ctx.waitFor` (its attempt ended, its slot is free). */
  handlerSuspended(i: number, name: string): void {
    this.wp.handlerSuspended(i, name);
    this.stepper.endStepIfDone();
  }

  /** Records a decision; answers false when one was already recorded (a second approval changes nothing). */
  signal(name: string, payload: unknown, by?: string, role?: string): boolean {
    return this.wp.signal(name, payload, by, role);
  }

  /**
   * Picks up signals other processes recorded in the store for this run (called on the lease heartbeat and on a
   * Redis notification). Only a run with an open waitpoint reads the store.
   */
  async pollSignals(): Promise<number> {
    if (this.disposed || this.polling || !this.wp.anyPending()) return 0;
    this.polling = true;
    try {
      const stored = await this.host.loadStored();
      return stored && !this.disposed ? this.wp.applySignals(stored) : 0;
    } finally {
      this.polling = false;
    }
  }

  /** Deadlines already passed when the run is loaded (a restart) fire now; the status is written if it moved. */
  start(): void {
    this.wp.start();
    this.refreshStatus();
  }

  dispose(): void {
    this.disposed = true;
    this.wp.dispose();
  }

  /** `paused` while paused, `waiting` while a waitpoint is open, else `running`; written when it changes. */
  private refreshStatus(): void {
    if (this.disposed) return;
    const s: RunStatus = this.rec.paused ? 'paused' : this.wp?.anyPending() ? 'waiting' : 'running';
    if (s === this.status) return;
    this.status = s;
    this.host.saveStatus(s);
  }
}
