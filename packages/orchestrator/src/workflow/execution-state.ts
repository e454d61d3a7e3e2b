import { createHash } from 'node:crypto';
import type { AgentPool } from '../agents/pool.js';
import type { AgentRegistry } from '../agents/registry.js';
import type { OrchestratorConfig } from '../config.js';
import { CodexError, ErrorCodes, type ErrorInfo } from '../errors.js';
import type { EventBus } from '../events.js';
import type { ModelRunner, ToolCallRecord } from '../models/types.js';
import type { TaskQueue } from '../queue/types.js';
import type { StateStore, StoredExecution, StoredTaskState, TaskStatus, TaskTransition } from '../store/types.js';
import type { DebugOptions, TaskOverride } from './debug/types.js';
import type { Scope } from './expression.js';
import type { Journal } from './journal.js';
import type { UnitResult } from './loops.js';
import { S, type TaskArrays } from './result.js';
import type { TaskCache } from './task-cache.js';
import type { ContextSource } from './task-context.js';
import type { Plan, PlannedTask, TaskResult } from './types.js';

export interface EngineServices {
  bus: EventBus;
  store: StateStore;
  agents: AgentRegistry;
  pool: AgentPool;
  models: ModelRunner;
  cache: TaskCache;
  /** Where attempts run: in process (default) or on BullMQ workers. */
  queue: TaskQueue;
  limits: OrchestratorConfig['workflow'];
}

export interface ExecutionOptions {
  executionId?: string;
  signal?: AbortSignal;
  resumed?: StoredExecution;
  /** The input as the stores encode it (store/codec.ts), when the caller already encoded it. */
  inputBytes?: Uint8Array;
  /** The lease the caller holds for this run: the run's final write gives it up where the store can. */
  lease?: { readonly owner: string; handedBack(): void };
  /** The running header was already written (with the run's lease) by the caller. */
  headerWritten?: boolean;
  /** Breakpoints and pause-on-failure (workflow/debug). */
  debug?: DebugOptions;
  /** A re-run: the parent's recorded task states to take as they were, and the link to the parent. */
  reuse?: {
    tasks: Map<string, StoredTaskState>;
    parent: { executionId: string; fromTaskId: string };
    edit?: { taskId: string; change: TaskOverride; by?: string };
  };
}

// Read once: `performance.timeOrigin` is a checked getter, and `now()` runs several times per task.
const ORIGIN = performance.timeOrigin;

/** Epoch milliseconds with sub-millisecond resolution (monotonic within the process). */
export const now = (): number => ORIGIN + performance.now();

/**
 * The per-task state of one execution, kept in typed arrays indexed by task (no per-task objects on the hot
 * path), and the views handlers and templates read from it.
 */
export abstract class ExecutionState implements ContextSource {
  readonly workflowId: string;
  readonly taskIds: string[];
  readonly outputs: unknown[];
  /** Indices whose output was set, in order: a remote queue sends only what changed since its last dispatch. */
  readonly outputLog: number[] = [];
  protected readonly n: number;
  protected readonly state: Uint8Array;
  protected readonly remaining: Int32Array;
  protected readonly liveDeps: Int32Array;
  protected readonly attempts: Int32Array;
  protected readonly readyAt: Float64Array;
  protected readonly startedAt: Float64Array;
  protected readonly finishedAt: Float64Array;
  protected readonly errors: (ErrorInfo | undefined)[];
  protected readonly extras = new Map<number, Partial<TaskResult>>();
  protected readonly skipReasons = new Map<number, string>();
  /** Loop items (forEach) and iterations (while) recorded as completed before a resume, by task and item. */
  protected readonly keptItems = new Map<number, Map<number, UnitResult>>();
  protected abstract readonly journal: Journal;
  private liveOutputs?: Record<string, unknown>;
  private liveTasks?: Record<string, unknown>;

  get budget(): { maxTokens?: number; maxCostUsd?: number } | undefined {
    return this.plan.def.budget;
  }

  constructor(
    protected readonly plan: Plan,
    protected readonly svc: EngineServices,
    readonly input: unknown,
    readonly executionId: string,
  ) {
    this.workflowId = plan.def.id;
    this.n = plan.tasks.length;
    const n = this.n;
    this.taskIds = plan.tasks.map((t) => t.id);
    this.outputs = new Array(n);
    this.state = new Uint8Array(n);
    this.remaining = new Int32Array(n);
    this.liveDeps = new Int32Array(n);
    this.attempts = new Int32Array(n);
    this.readyAt = new Float64Array(n);
    this.startedAt = new Float64Array(n);
    this.finishedAt = new Float64Array(n);
    this.errors = new Array(n);
  }

  /** On resume: tasks with a recorded completion (or skip) are taken as they were, outputs included. */
  protected restore(stored?: Map<string, StoredTaskState>): void {
    if (!stored) return;
    for (let i = 0; i < this.n; i++) {
      const rec = stored.get(this.taskIds[i]);
      if (rec?.status === 'completed') {
        this.state[i] = S.Done;
        this.setOutput(i, rec.output);
        this.attempts[i] = rec.attempts;
        this.finishedAt[i] = rec.finishedAt ?? 0;
        // Its recorded start, so the result keeps the duration of work done before the resume.
        if (rec.startedAt && rec.finishedAt) this.startedAt[i] = this.readyAt[i] = rec.startedAt;
        this.extras.set(i, { usage: rec.usage, cost: rec.cost });
      } else if (rec?.status === 'skipped') {
        this.state[i] = S.Skipped;
        this.skipReasons.set(i, 'skipped before resume');
      }
    }
    // Loop items are checkpointed under `id#k`: a resumed loop takes the finished ones as they were.
    for (const [key, rec] of stored) {
      const hash = key.lastIndexOf('#');
      if (hash < 0 || rec.status !== 'completed') continue;
      const i = this.plan.byId.get(key.slice(0, hash));
      const k = Number(key.slice(hash + 1));
      if (i === undefined || this.state[i] === S.Done || !Number.isInteger(k)) continue;
      let items = this.keptItems.get(i);
      if (!items) {
        items = new Map();
        this.keptItems.set(i, items);
      }
      items.set(k, { output: rec.output, usage: rec.usage, cost: rec.cost });
    }
  }

  /** The store key of loop item / iteration `k` of task `i`. */
  protected itemKey(i: number, k: number): string {
    return `${this.taskIds[i]}#${k}`;
  }

  protected record(i: number, status: TaskStatus, attempt: number, extra?: Partial<TaskTransition>): void {
    const t: TaskTransition = {
      executionId: this.executionId,
      taskKey: this.taskIds[i],
      status,
      attempt,
      at: Date.now(),
    };
    if (extra) Object.assign(t, extra);
    this.journal.record(t);
  }

  protected snapshot(): TaskArrays {
    return {
      state: this.state,
      outputs: this.outputs,
      attempts: this.attempts,
      readyAt: this.readyAt,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      errors: this.errors,
      extras: this.extras,
      skipReasons: this.skipReasons,
    };
  }

  protected ref(i: number) {
    return {
      executionId: this.executionId,
      workflowId: this.workflowId,
      taskId: this.taskIds[i],
      agentId: this.plan.tasks[i].def.agentId,
      timestamp: Date.now(),
    };
  }

  /** Template/condition scope. Its `outputs` and `tasks` are built once per run and kept current, not per task. */
  protected scope(t: PlannedTask): Scope {
    this.liveOutputs ??= this.outputsById();
    this.liveTasks ??= this.taskViews();
    return {
      input: this.input,
      outputs: this.liveOutputs,
      tasks: this.liveTasks,
      workflow: { id: this.workflowId },
      task: { id: t.id },
    };
  }

  /** Sets a task's output (and the live template view of it, once one exists). */
  protected setOutput(i: number, v: unknown): void {
    this.outputs[i] = v;
    this.outputLog.push(i);
    if (this.liveOutputs) this.liveOutputs[this.taskIds[i]] = v;
  }

  outputsById(): Record<string, unknown> {
    const o: Record<string, unknown> = Object.create(null);
    for (let i = 0; i < this.n; i++)
      if (this.state[i] === S.Done || this.outputs[i] !== undefined) o[this.taskIds[i]] = this.outputs[i];
    return o;
  }

  /** `tasks.<id>.{output,status,error}` as own accessors over the run's arrays, so they never go stale. */
  private taskViews(): Record<string, unknown> {
    const o: Record<string, unknown> = Object.create(null);
    const names = ['waiting', 'queued', 'running', 'completed', 'failed', 'skipped'];
    const self = this;
    for (let i = 0; i < this.n; i++) {
      o[this.taskIds[i]] = {
        get output() {
          return self.outputs[i];
        },
        get status() {
          return names[self.state[i]];
        },
        get error() {
          return self.errors[i];
        },
      };
    }
    return o;
  }

  /** The outputs a model-backed task gets as context: those its prompt names, else all its dependencies'. */
  upstreamText(t: PlannedTask): string {
    return t.reads
      .filter((d) => this.outputs[d] !== undefined)
      .map(
        (d) =>
          `## ${this.taskIds[d]}\n${typeof this.outputs[d] === 'string' ? this.outputs[d] : JSON.stringify(this.outputs[d])}`,
      )
      .join('\n\n');
  }

  get models(): ModelRunner {
    return this.svc.models;
  }

  get bus(): EventBus {
    return this.svc.bus;
  }

  /** Keeps a tool call on the task's result (every attempt's, every loop item's). */
  recordToolCall(i: number, rec: ToolCallRecord): void {
    const x = this.extras.get(i) ?? {};
    if (!x.toolCalls) x.toolCalls = [];
    x.toolCalls.push(rec);
    this.extras.set(i, x);
  }

  /** Throws CACHE_KEY when what the task reads cannot be encoded (a circular output, say). */
  protected cacheKey(t: PlannedTask, prompt: string, params: unknown, item: unknown): string {
    const deps = t.deps.map((d) => this.outputs[d]);
    let text: string;
    try {
      text = JSON.stringify(
        [this.workflowId, t.id, t.def.agentId, prompt, params, deps, item ?? null, this.input],
        keyPart,
      );
    } catch (err) {
      throw new CodexError(
        ErrorCodes.CACHE_KEY,
        `task "${t.id}": no cache key can be computed from its prompt, parameters, upstream outputs and input (${(err as Error)?.message ?? String(err)})`,
        { cause: err },
      );
    }
    return createHash('sha256').update(text).digest('hex');
  }
}

// JSON for cache keys: BigInt, Map and Set are encoded (JSON would throw, or turn every Map into `{}` and so make
// different outputs share a key).
function keyPart(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return ['\u0000bigint', v.toString()];
  if (v instanceof Map) return ['\u0000map', [...v]];
  if (v instanceof Set) return ['\u0000set', [...v]];
  return v;
}
