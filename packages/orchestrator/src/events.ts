import { EventEmitter } from 'eventemitter3';
import { Observable, type Observer, type Operator, Subject, Subscriber, type Subscription } from 'rxjs';
import { type ErrorInfo, toErrorInfo } from './errors.js';
import type { ExecutionResult } from './workflow/types.js';

// Every event the orchestrator emits, by name. The workflow:completed/failed/cancelled events carry the whole
// ExecutionResult (per-task timings, attempts, usage), so observers can analyse a run once at its end instead of
// listening to every task event. Payloads are plain data (serialisable) so the server can forward
// them over WebSockets unchanged. Secrets never appear in them.
/** Input and output token counts. */
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

/** Every orchestrator event name with its payload type. */
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
  /** A breakpoint, a finished step, a failure (pauseOnFailure) or a pause command held the run. */
  'execution:paused': ExecRef & { reason: string; taskId?: string; when?: 'before' | 'after' };
  'execution:resumed': ExecRef & { by?: string; step: boolean; from: unknown };
  /** A task waits for a signal (an approval task, or `ctx.waitFor`) without holding a slot. */
  'task:waiting': TaskRef & {
    name: string;
    kind: 'approval' | 'waitFor';
    prompt?: string;
    roles?: string[];
    timeoutAt?: number;
  };
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
  'agent:recovered': { agentId: string; instanceId: string; timestamp: number };
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
  /** A user callback threw: an `on()` listener, or an `events$` subscriber (or an operator piped from it). */
  error: {
    /**
     * `listener`/`subscriber`: a callback threw while `event` was delivered. `pool`: the distributed agent pool's
     * periodic pass failed (Redis refused a read or write; it runs again on the next interval), or a local worker
     * process it started reported a failure of its own work (a result record, a heartbeat).
     */
    source: 'listener' | 'subscriber' | 'pool';
    /** The event being delivered when it threw. */
    event?: string;
    error: ErrorInfo;
    timestamp: number;
  };
}

/** The name of an orchestrator event (`workflow:started`, `task:completed`, ...). */
export type OrchestratorEventName = keyof OrchestratorEvents;
/** Any orchestrator event as `{ type, payload }` (what `events$` emits). */
export type OrchestratorEvent = {
  [K in OrchestratorEventName]: { type: K; payload: OrchestratorEvents[K] };
}[OrchestratorEventName];

type Listeners = { [K in OrchestratorEventName]: (payload: OrchestratorEvents[K]) => void };
type AnyFn = (...args: any[]) => void;
type Names = EventEmitter.EventNames<Listeners>;
type Listener<T extends Names> = EventEmitter.EventListener<Listeners, T>;
type Report = (source: OrchestratorEvents['error']['source'], err: unknown) => void;

/**
 * An Observable whose subscribers are guarded: a throwing `next`/`error`/`complete`, or an error from a piped
 * operator that nobody handles, is reported instead of reaching RxJS's unhandled-error path (a rethrow on a timer,
 * which ends a Node process). `lift` keeps the guard on everything piped from it.
 */
class GuardedObservable<T> extends Observable<T> {
  constructor(
    private readonly report: Report,
    subscribe?: (this: Observable<T>, subscriber: Subscriber<T>) => (() => void) | undefined,
  ) {
    super(subscribe);
  }

  override lift<R>(operator?: Operator<T, R>): Observable<R> {
    const o = new GuardedObservable<R>(this.report);
    o.source = this;
    o.operator = operator;
    return o;
  }

  override subscribe(
    observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null,
    error?: ((e: any) => void) | null,
    complete?: (() => void) | null,
  ): Subscription {
    // Operators subscribe with their own Subscriber: those are internal and pass through untouched.
    if (observerOrNext instanceof Subscriber) return super.subscribe(observerOrNext);
    const o: Partial<Observer<T>> =
      typeof observerOrNext === 'function' || observerOrNext == null
        ? { next: observerOrNext ?? undefined, error: error ?? undefined, complete: complete ?? undefined }
        : observerOrNext;
    const guard =
      (fn: AnyFn) =>
      (v?: unknown): void => {
        try {
          fn.call(o, v);
        } catch (err) {
          this.report('subscriber', err);
        }
      };
    return super.subscribe({
      next: o.next ? guard(o.next) : undefined,
      // No error handler: report it rather than let RxJS rethrow it.
      error: o.error ? guard(o.error) : (err: unknown) => this.report('subscriber', err),
      complete: o.complete ? guard(o.complete) : undefined,
    });
  }
}

/**
 * EventEmitter3 for `on(...)` plus an RxJS stream of every event. The Subject is only fed while someone
 * subscribes, so an idle observable costs nothing on the hot path. Every user callback is guarded: one that throws
 * is reported as an `error` event and the others still get the event.
 */
export class EventBus extends EventEmitter<Listeners> {
  private readonly subject = new Subject<OrchestratorEvent>();
  private observers = 0;
  readonly events$: Observable<OrchestratorEvent>;
  /** The event being delivered, named in `error` events. */
  private delivering?: string;
  private readonly guards = new Map<string, WeakMap<AnyFn, AnyFn>>();

  constructor() {
    super();
    const report: Report = (source, err) => this.callbackThrew(source, err);
    this.events$ = new GuardedObservable<OrchestratorEvent>(report, (sub) => {
      this.observers++;
      const inner = this.subject.subscribe(sub);
      return () => {
        this.observers--;
        inner.unsubscribe();
      };
    });
  }

  publish<K extends OrchestratorEventName>(type: K, payload: OrchestratorEvents[K]): void {
    const outer = this.delivering;
    this.delivering = type;
    try {
      if (this.observers > 0) this.subject.next({ type, payload } as OrchestratorEvent);
      (this.emit as (t: string, p: unknown) => boolean)(type, payload);
    } finally {
      this.delivering = outer;
    }
  }

  override on<T extends Names>(event: T, fn: Listener<T>, context?: unknown): this {
    return super.on(event, this.guarded(event, fn as AnyFn) as Listener<T>, context);
  }

  override addListener<T extends Names>(event: T, fn: Listener<T>, context?: unknown): this {
    return this.on(event, fn, context);
  }

  override once<T extends Names>(event: T, fn: Listener<T>, context?: unknown): this {
    return super.once(event, this.guarded(event, fn as AnyFn) as Listener<T>, context);
  }

  override off<T extends Names>(event: T, fn?: Listener<T>, context?: unknown, once?: boolean): this {
    const g = fn && this.guards.get(event)?.get(fn as AnyFn);
    return super.off(event, (g ?? fn) as Listener<T> | undefined, context, once);
  }

  override removeListener<T extends Names>(event: T, fn?: Listener<T>, context?: unknown, once?: boolean): this {
    return this.off(event, fn, context, once);
  }

  /** One wrapper per (event, listener), so `off(event, listener)` finds it again. */
  private guarded(event: string, fn: AnyFn): AnyFn {
    let byFn = this.guards.get(event);
    if (!byFn) {
      byFn = new WeakMap();
      this.guards.set(event, byFn);
    }
    let g = byFn.get(fn);
    if (!g) {
      const bus = this;
      g = function (this: unknown, payload: unknown) {
        try {
          fn.call(this, payload);
        } catch (err) {
          bus.callbackThrew('listener', err);
        }
      };
      byFn.set(fn, g);
    }
    return g;
  }

  private callbackThrew(source: OrchestratorEvents['error']['source'], err: unknown): void {
    const event = this.delivering;
    // Nobody watches `error` events, or the callback threw on one (reporting it again could loop): a process
    // warning is what is left.
    if (event === 'error' || !this.wants('error')) {
      process.emitWarning(
        `${source} for '${event}' threw: ${(err as Error)?.message ?? String(err)}`,
        'CodexOSListenerWarning',
      );
      return;
    }
    this.publish('error', { source, event, error: toErrorInfo(err), timestamp: Date.now() });
  }

  /** True when anyone listens to `type`: lets hot paths skip building payloads nobody reads. */
  wants(type: OrchestratorEventName): boolean {
    return this.observers > 0 || this.listenerCount(type) > 0;
  }
}
