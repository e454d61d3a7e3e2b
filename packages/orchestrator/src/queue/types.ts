import type { AgentDefinition, TaskContext } from '../agents/types.js';
import type { TokenUsage } from '../events.js';
import type { Budget, ModelRequirements, OutputSpec, ToolCallRecord } from '../models/types.js';

// The TaskQueue contract: the scheduler decides what is ready, a TaskQueue decides where one attempt of a task
// runs (in this process, or as a BullMQ job on a `codexos worker`). Retries, timeouts, conditions, loops and
// fallbacks stay in the scheduler, so they behave the same whichever queue runs the attempt.

/** The model call a model-backed task makes, as plain data a worker can make in its own process. */
export interface RemoteModelCall {
  requirements: ModelRequirements;
  system?: string;
  prompt: string;
  /** Upstream outputs rendered as text (as the orchestrator renders them for a local call). */
  context: string;
  output?: OutputSpec;
  maxSteps?: number;
  budget?: Budget;
  /** The worker takes the agent's tools and zod output schema from its own registration of the agent. */
  ownDefinition?: boolean;
}

/** What the scheduler hands a queue for one attempt: the handler's context plus a way to attribute usage. */
export interface DispatchContext extends TaskContext {
  /** Adds model usage measured elsewhere (e.g. on a remote worker) to this attempt. */
  recordUsage(r: { usage: TokenUsage; cost: number; model: string }): void;
  /** Keeps tool calls made elsewhere (on a remote worker) on this attempt's result. */
  recordToolCalls?(records: ToolCallRecord[]): void;
  /** The call `callModel()` would make with no arguments, as data (for a model-backed task run on a worker). */
  modelCall?(): RemoteModelCall;
  /**
   * Calls `fn` once if the attempt is aborted from now on, without making the AbortSignal `signal` would (an
   * AbortController and its listener per task add up for a queue that only forwards the abort). False, and `fn`
   * never called, when the attempt is aborted already: `signal.reason` says why.
   */
  onAbort?(fn: (reason: unknown) => void): boolean;
  /**
   * The outputs set since position `from` of the run's output log, so a remote queue sends each output once
   * instead of comparing every output on every dispatch. `log` identifies the log: a new one starts at 0.
   */
  outputChanges?(from: number): OutputChanges;
  /** True when this process resumed the run: an attempt may have run already under the orchestrator before. */
  readonly resumed?: boolean;
}

/** Outputs set since a position of a run's output log (see DispatchContext.outputChanges). */
export interface OutputChanges {
  /** Identity of the log the positions refer to (a resumed run has a new one). */
  log: object;
  /** The log's end: the `from` of the next call. */
  to: number;
  /** Task id → output, for every output set in between (a later set of one task wins). */
  set: Record<string, unknown>;
}

/** Where task attempts run: in the orchestrator's process or on remote workers through a queue. */
export interface TaskQueue {
  readonly kind: string;
  /**
   * Connects whatever the queue needs. Undefined when nothing is needed (the in-process queue), else a promise
   * that rejects with a CodexError naming the problem (e.g. the Redis host:port that cannot be reached).
   */
  ready(): Promise<void> | undefined;
  /**
   * Runs one attempt of a task and returns the handler's value (or a promise of it). A rejection carries the
   * handler's error (code and `retryable` kept). Aborting `ctx.signal` cancels the attempt wherever it runs.
   */
  run(ctx: DispatchContext, agent: AgentDefinition): unknown;
  close(): Promise<void>;
}

/**
 * Where a worker finds the execution's outputs as of a dispatch: a log in Redis, up to `len` entries. The log's
 * key is `<prefix>:dist:out:<executionId>:<gen>` (`key`, the whole name, in jobs of earlier releases).
 */
export interface OutputsRef {
  gen?: string;
  key?: string;
  len: number;
  /** The log's last entry (wire-encoded: JSON or base64 v8): a worker that is one behind needs no read. */
  delta?: string;
  /**
   * Set instead of `delta` when the log's last entry sets exactly the job's `deps` (a chain's next step, a join):
   * the job carries those outputs once, in its values.
   */
  deps?: true;
  /** The entries just before `delta` (oldest first, a few small ones): a worker that far behind needs no read. */
  prev?: string[];
}

/**
 * The values a handler reads; values JSON would change travel in the stores' encoding, so Date, Map, BigInt arrive
 * intact. `input` and `params` are left out when they are empty objects.
 */
export interface TaskJobValues {
  input?: unknown;
  params?: Record<string, unknown>;
  deps: Record<string, unknown>;
  item?: unknown;
}

/**
 * One attempt as it travels to a remote worker (JSON; the handler's values inside, encoded). What a worker can
 * work out itself is left out, so a job costs Redis and both processes less: the task id is the job's name, the
 * agent is the one whose queue holds the job, the idempotency key is the default one.
 */
export interface TaskJobData {
  /** Left out when it leads the job's id (always, from this release on: see `jobIdOf`). */
  executionId?: string;
  workflowId: string;
  /** Left out when it is the job's name (always, from this release on). */
  taskId?: string;
  /** Left out when it is the agent whose queue holds the job. */
  agentId?: string;
  /** Left out when it ends the job's id (always, from this release on). */
  attempt?: number;
  /** Left out when empty. */
  prompt?: string;
  /**
   * {@link TaskJobValues}: as they are when JSON keeps them exactly (part of the job's JSON), else v8-encoded,
   * base64 (or, from earlier releases, JSON text after `~`).
   */
  values: TaskJobValues | string;
  /** `ctx.outputs`: every output of the execution so far, as in process. */
  outputs?: OutputsRef;
  index?: number;
  iteration?: number;
  /**
   * Stable per task (and loop item) across retries and resumes, as in process. Left out when it is the default,
   * `<executionId>:<taskId>` with `#<index or iteration>` for a loop item.
   */
  idempotencyKey?: string;
  /** Flow-control key (from the agent's `key` expression over the task input), when one is configured. */
  flowKey?: string;
  /** Set for a model-backed agent's task: the worker makes this call instead of running a handler. */
  model?: RemoteModelCall;
  /** The orchestrator that sent the job: the worker publishes the result on `<prefix>:dist:replies:<reply>`. */
  reply?: string;
  /**
   * Set when nothing else became ready with this job (a chain's next step): the orchestrator waits on this result
   * alone, so the worker sends it at once in a write of its own instead of with BullMQ's completion or other results.
   */
  solo?: true;
  /**
   * Set for the jobs of a run this orchestrator resumed: an attempt of it may have run already under the
   * orchestrator before (its job finished and gone), so the worker looks for its recorded result before running it.
   */
  resumed?: true;
  /** Earlier releases: the whole reply channel. */
  replyTo?: string;
}

/**
 * Several ready attempts of one agent in one BullMQ job (named `~batch`: no task id starts with `~`): a fan-out's tasks
 * cost Redis one add, one fetch and one completion per batch instead of per task. Each entry names its execution,
 * task and attempt (a batch's id names none of them); a worker records and replies each attempt's result on its
 * own, as it finishes, under the attempt's key (`jobIdOf`), and claims each attempt before running it.
 */
export interface TaskBatchData {
  tasks: Array<TaskJobData & { executionId: string; taskId: string; attempt: number }>;
}

/** What a worker sends back: a handler's error travels as data so its code and `retryable` flag survive. */
export type TaskJobResult =
  /** `output`: the handler's value as JSON text after `~` when JSON keeps it exactly, else in the stores' encoding (v8 structured clone, base64), so Date, Map, Set and BigInt survive. */
  | {
      ok: true;
      output: string;
      usage?: TokenUsage;
      cost?: number;
      model?: string;
      /** Tool calls of a model-backed agent run with the worker's own definition. */
      toolCalls?: ToolCallRecord[];
      /** The worker that ran the attempt (sent by earlier releases only). */
      worker?: string;
    }
  | { ok: false; error: { code?: string; message: string; retryable?: boolean; name?: string }; worker?: string };
