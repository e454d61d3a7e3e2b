import { EventEmitter } from 'eventemitter3';
import { Observable, Subject } from 'rxjs';
import type { ErrorInfo } from './errors.js';
import type { ExecutionResult } from './workflow/types.js';

// Every event the orchestrator emits, by name. The workflow:completed/failed/cancelled events carry the whole
// ExecutionResult (per-task timings, attempts, usage), so observers can analyse a run once at its end instead of
// listening to every task event. Payloads are plain data (serialisable) so the server can forward
// them over WebSockets unchanged. Secrets never appear in them.
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** True when the provider reported no usage and the figures were estimated. */
  estimated?: boolean;
}

interface ExecRef {
  executionId: string;
  workflowId: string;
  timestamp: number;
}

interface TaskRef extends ExecRef {
  taskId: string;
  agentId: string;
  /** Loop iteration index for tasks expanded by `forEach` / `while`. */
  iteration?: number;
}

interface ToolRef {
  executionId?: string;
  taskId?: string;
  agentId?: string;
  iteration?: number;
  tool: string;
  callId: string;
  step: number;
  timestamp: number;
}

export interface OrchestratorEvents {
  'workflow:started': ExecRef & {
    taskCount: number;
    resumed: boolean;
    /** The DAG as declared, so observers (monitor, dashboard) can compute critical paths. */
    tasks: Array<{
      id: string;
      agentId: string;
      type?: string;
      dependencies: string[];
      /** Upstream tasks whose outputs reach this task (its templates' references, else all dependencies). */
      reads?: string[];
    }>;
  };
  'workflow:completed': ExecRef & { duration: number; usage?: TokenUsage; cost?: number; result: ExecutionResult };
  'workflow:failed': ExecRef & { duration: number; error: ErrorInfo; result: ExecutionResult };
  'workflow:cancelled': ExecRef & { duration: number; reason: string; result: ExecutionResult };
  'task:queued': TaskRef;
  'task:started': TaskRef & { attempt: number; queueWait: number };
  'task:completed': TaskRef & {
    duration: number;
    attempts: number;
    output: unknown;
    usage?: TokenUsage;
    cost?: number;
    model?: string;
    cached?: boolean;
  };
  'task:failed': TaskRef & { duration: number; attempts: number; error: ErrorInfo; handled: boolean };
  'task:retrying': TaskRef & { attempt: number; delayMs: number; error: ErrorInfo };
  'task:skipped': TaskRef & { reason: string };
  /** Streamed model text of a running task, batched per tick; `seq` orders a task's deltas. */
  'task:delta': TaskRef & { delta: string; seq: number };
  'tool:called': ToolRef & { arguments: unknown };
  'tool:completed': ToolRef & { durationMs: number; result: unknown };
  'tool:failed': ToolRef & { durationMs: number; error: ErrorInfo; invalid: boolean };
  'agent:registered': { agentId: string; timestamp: number };
  'agent:scaled': { agentId: string; from: number; to: number; utilisation: number; timestamp: number };
  'agent:unhealthy': { agentId: string; instanceId: string; reason: string; timestamp: number };
  'model:selected': {
    agentId?: string;
    taskId?: string;
    executionId?: string;
    provider: string;
    model: string;
    reason: string;
    timestamp: number;
  };
  'model:fallback': {
    from: string;
    to: string;
    error: ErrorInfo;
    taskId?: string;
    executionId?: string;
    timestamp: number;
  };
  'model:rate-limited': { provider: string; model?: string; waitMs: number; timestamp: number };
  'model:call': {
    executionId?: string;
    taskId?: string;
    agentId?: string;
    provider: string;
    model: string;
    latencyMs: number;
    usage: TokenUsage;
    cost: number;
    success: boolean;
    error?: ErrorInfo;
    /** Hash of (model, prompt, params): equal keys are cacheable repeats. */
    requestKey?: string;
    timestamp: number;
  };
  insight: {
    type: 'parallelization' | 'caching' | 'model-optimization' | 'batching' | 'bottleneck';
    title: string;
    description: string;
    recommendation: string;
    evidence: Record<string, unknown>;
    severity: 'info' | 'warning' | 'critical';
    executionId?: string;
    workflowId?: string;
    timestamp: number;
  };
  alert: {
    metric: string;
    value: number;
    threshold: number;
    kind: 'threshold' | 'predictive';
    message: string;
    severity: 'warning' | 'critical';
    timestamp: number;
    etaMs?: number;
  };
  anomaly: {
    metric: string;
    subject: string;
    value: number;
    expected: number;
    score: number;
    message: string;
    timestamp: number;
  };
}

export type OrchestratorEventName = keyof OrchestratorEvents;
export type OrchestratorEvent = {
  [K in OrchestratorEventName]: { type: K; payload: OrchestratorEvents[K] };
}[OrchestratorEventName];

type Listeners = { [K in OrchestratorEventName]: (payload: OrchestratorEvents[K]) => void };

/**
 * EventEmitter3 for `on(...)` plus an RxJS stream of every event. The Subject is only fed while someone
 * subscribes, so an idle observable costs nothing on the hot path.
 */
export class EventBus extends EventEmitter<Listeners> {
  private readonly subject = new Subject<OrchestratorEvent>();
  private observers = 0;
  readonly events$: Observable<OrchestratorEvent>;

  constructor() {
    super();
    this.events$ = new Observable<OrchestratorEvent>((sub) => {
      this.observers++;
      const inner = this.subject.subscribe(sub);
      return () => {
        this.observers--;
        inner.unsubscribe();
      };
    });
  }

  publish<K extends OrchestratorEventName>(type: K, payload: OrchestratorEvents[K]): void {
    if (this.observers > 0) this.subject.next({ type, payload } as OrchestratorEvent);
    // A throwing listener must not break the engine that emitted the event.
    try {
      (this.emit as (t: string, p: unknown) => boolean)(type, payload);
    } catch (err) {
      process.emitWarning(
        `listener for '${type}' threw: ${(err as Error)?.message ?? String(err)}`,
        'CodexOSListenerWarning',
      );
    }
  }

  /** True when anyone listens to `type`: lets hot paths skip building payloads nobody reads. */
  wants(type: OrchestratorEventName): boolean {
    return this.observers > 0 || this.listenerCount(type) > 0;
  }
}
