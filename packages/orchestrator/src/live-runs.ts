// The executions this orchestrator drives right now: each holds its lease while it runs, a cancel that arrives
// before its header is written is applied right after, and close() can wait for every one to give its lease up.
import { CodexError, ErrorCodes } from './errors.js';
import { LeaseKeeper } from './store/lease.js';
import { STATE_SCHEMA_VERSION, type StateStore } from './store/types.js';
import type { Execution } from './workflow/execution.js';
import type { ExecutionResult, Plan } from './workflow/types.js';

/** What LiveRuns needs from the orchestrator. */
export interface LiveRunsDeps {
  store: StateStore;
  /** The id this process's execution leases carry. */
  owner: string;
  leaseMs: number;
  /** Called once a run has ended (the model layer's per-run cleanup). */
  ended: (executionId: string) => void;
  /** Called on each lease heartbeat of a run (it reads the signals other processes recorded for it). */
  beat?: (executionId: string) => void;
}

/** The running executions of one orchestrator, by id. */
export class LiveRuns {
  private readonly running = new Map<string, Execution>();
  /** Every run until its lease is given up (close waits for these, not only for the engine). */
  private readonly runs = new Set<Promise<unknown>>();
  /** Runs whose header and lease are being written, with a cancel that arrived meanwhile (applied after). */
  private readonly starting = new Map<string, string | undefined>();

  constructor(private readonly deps: LiveRunsDeps) {}

  /** The running execution with this id, if this process drives it. */
  get(executionId: string): Execution | undefined {
    return this.running.get(executionId);
  }

  /** Every running execution. */
  values(): IterableIterator<Execution> {
    return this.running.values();
  }

  /** Refuses an id that already runs here (CDX_ERR_EXECUTION_RUNNING). */
  assertNotRunning(executionId: string | undefined): void {
    if (executionId !== undefined && this.running.has(executionId)) {
      throw new CodexError(
        ErrorCodes.EXECUTION_RUNNING,
        `Execution "${executionId}" is already running in this orchestrator`,
      );
    }
  }

  /** Cancels a running execution; false when none with this id runs here. */
  cancel(executionId: string, reason: string): boolean {
    const ex = this.running.get(executionId);
    if (!ex) return false;
    // Ending the run before its header exists would write the end first; it ends as soon as the header is in.
    if (this.starting.has(executionId)) this.starting.set(executionId, reason);
    else ex.cancel(reason);
    return true;
  }

  /** Cancels every run and waits until each has ended and given up its lease. */
  async cancelAll(reason: string): Promise<void> {
    for (const id of [...this.running.keys()]) this.cancel(id, reason);
    await Promise.allSettled([...this.runs]);
  }

  /**
   * Runs `ex` under its lease: a new run writes its header and lease in one step (an existing id is refused); a
   * resumed run (`resumed` set) takes the lease over and reloads its state first.
   */
  async drive(
    ex: Execution,
    plan: Plan,
    input: unknown,
    execOpts: ConstructorParameters<typeof Execution>[3],
  ): Promise<ExecutionResult> {
    const { store } = this.deps;
    const id = ex.executionId;
    // Checked again here, with no await before the claim below: two calls racing for one id cannot both pass.
    this.assertNotRunning(id);
    const lease = new LeaseKeeper(
      store,
      id,
      this.deps.owner,
      this.deps.leaseMs,
      (holder) => ex.cancel(`execution lease taken over by ${holder.owner}`),
      () => this.deps.beat?.(id),
    );
    // The run's final write gives the lease up with the final header where the store can (one commit).
    execOpts.lease = lease;
    this.running.set(id, ex);
    this.starting.set(id, undefined);
    const done = (async () => {
      try {
        if (execOpts.resumed) {
          await lease.acquire();
          // The state as it stands now that no one else drives the run (it may have moved on since it was read).
          const fresh = await store.loadExecution(id);
          if (fresh) execOpts.resumed = fresh;
        } else {
          await lease.create({
            executionId: id,
            workflowId: plan.def.id,
            status: 'running',
            definition: plan.def,
            input,
            inputBytes: execOpts.inputBytes,
            startedAt: Date.now(),
            schemaVersion: STATE_SCHEMA_VERSION,
          });
        }
        const cancelled = this.starting.get(id);
        this.starting.delete(id);
        if (cancelled !== undefined) ex.cancel(cancelled);
        return await ex.start();
      } finally {
        this.starting.delete(id);
        this.running.delete(id);
        try {
          this.deps.ended(id);
        } catch {
          // A custom runner's cleanup must not change the run's result.
        }
        await lease.release();
      }
    })();
    this.runs.add(done);
    try {
      return await done;
    } finally {
      this.runs.delete(done);
    }
  }
}
