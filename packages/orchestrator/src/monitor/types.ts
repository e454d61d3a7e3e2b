import type { TracerProvider } from '@opentelemetry/api';
import type { OrchestratorConfig } from '../config.js';
import type { ErrorInfo } from '../errors.js';
import type { OrchestratorEvents } from '../events.js';
import type { MaybePromise, StateStore } from '../store/types.js';

// Types of the monitoring pillar. Profiles, reports and cost breakdowns are plain data (JSON-serialisable) so
// they can be stored, served over HTTP and printed by the CLI unchanged.

/** The `monitoring` section of the orchestrator config, after defaults are applied. */
export type MonitoringConfig = OrchestratorConfig['monitoring'];
/** Limits (task failure rate, execution duration, memory, CPU) beyond which the monitor emits an `alert` event. */
export type AlertThresholds = MonitoringConfig['alertThresholds'];

/** Payload of the `insight` event: an optimisation suggestion found after an execution. */
export type Insight = OrchestratorEvents['insight'];
/** Payload of the `alert` event: a metric crossed its threshold, or is predicted to cross it soon. */
export type Alert = OrchestratorEvents['alert'];
/** Payload of the `anomaly` event: a metric far from its expected value. */
export type Anomaly = OrchestratorEvents['anomaly'];

/** Version of the stored ExecutionProfile layout; a profile written by a newer version is refused. */
export const PROFILE_SCHEMA_VERSION = 1;

export type TaskProfileStatus = 'queued' | 'running' | 'retrying' | 'completed' | 'failed' | 'skipped';

/** Timing, model usage, cost and outcome of one task within an execution profile. */
export interface TaskProfile {
  /** Same as taskId today (loop iterations fold into their task); kept distinct for per-iteration profiles. */
  taskKey: string;
  taskId: string;
  agentId: string;
  /** Loop iterations run (forEach / while). */
  iterations?: number;
  type?: string;
  status: TaskProfileStatus;
  /** Epoch ms (or whatever clock the engine stamps events with); queuedAt = first start − queue wait. */
  queuedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  /** Sum of queue waits over all attempts. */
  queueWaitMs: number;
  /** Run time reported by the engine (or finish − last start when it reported none). */
  runTimeMs: number;
  /** First start → finish, including retry back-off. */
  elapsedMs: number;
  attempts: number;
  retries: number;
  modelCalls: number;
  /** Sum of model call latencies. */
  modelLatencyMs: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  model?: string;
  cached?: boolean;
  error?: ErrorInfo;
  onCriticalPath: boolean;
}

/** One task on an execution's critical path, with its offsets and the wait before it started. */
export interface CriticalPathStep {
  taskKey: string;
  taskId: string;
  agentId: string;
  /** Offsets from the execution start, ms. */
  startMs: number;
  endMs: number;
  durationMs: number;
  /** Time between the gating predecessor's finish (or execution start) and this task's start. */
  waitMs: number;
}

/** The chain of dependent tasks that determined an execution's duration, and how much of it was overhead. */
export interface CriticalPath {
  steps: CriticalPathStep[];
  /** Execution start → finish of the last task on the path. */
  durationMs: number;
  /** Sum of task durations on the path. */
  workMs: number;
  /** durationMs − workMs: scheduling, queueing and dispatch time on the path. */
  overheadMs: number;
}

/** How many tasks ran at once compared with what the DAG allowed. */
export interface Parallelism {
  /** Average number of tasks running at once (total task time / makespan). */
  achievedAvg: number;
  achievedPeak: number;
  /** Total work / longest dependency chain of work: the DAG's own parallelism with these durations. */
  possibleAvg: number;
  /** Widest level of the DAG. */
  possiblePeak: number;
  /** achievedAvg / possibleAvg, capped at 1. */
  efficiency: number;
}

/** What a bottleneck is about: a task dominating the critical path, an agent's queue, or provider throttling. */
export type BottleneckKind = 'critical-task' | 'agent-queue' | 'provider-throttle';

/** A detected bottleneck of one execution: its kind, subject, message and the figures behind it. */
export interface Bottleneck {
  kind: BottleneckKind;
  /** Task id, agent id or provider id. */
  subject: string;
  message: string;
  evidence: Record<string, number | string>;
}

/** Process CPU, memory, event-loop and network figures sampled while an execution ran. */
export interface ResourceSummary {
  samples: number;
  cpuPercentAvg: number;
  cpuPercentPeak: number;
  rssPeakBytes: number;
  heapUsedPeakBytes: number;
  eventLoopDelayP99Ms: number;
  /** Provider traffic during the run, shared evenly among executions running at the time. */
  networkBytesIn: number;
  networkBytesOut: number;
}

/** Per-agent totals within an execution profile: tasks, queue wait, run time and cost. */
export interface AgentProfile {
  agentId: string;
  tasks: number;
  queueWaitMs: number;
  runTimeMs: number;
  cost: number;
}

/** Full performance profile of one execution: per-task timings, critical path, parallelism, totals and bottlenecks. */
export interface ExecutionProfile {
  schemaVersion: number;
  executionId: string;
  workflowId: string;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  startedAt: number;
  finishedAt?: number;
  makespanMs: number;
  taskCount: number;
  completed: number;
  failed: number;
  skipped: number;
  retries: number;
  tasks: TaskProfile[];
  criticalPath: CriticalPath;
  parallelism: Parallelism;
  totals: {
    queueWaitMs: number;
    runTimeMs: number;
    modelCalls: number;
    modelLatencyMs: number;
    inputTokens: number;
    outputTokens: number;
    cost: number;
  };
  byAgent: AgentProfile[];
  bottlenecks: Bottleneck[];
  resources?: ResourceSummary;
  /** `events` when built live from the event stream, `store` when derived from StateStore history. */
  source: 'events' | 'store';
}

/** Cost, calls and tokens for one key (model or task) of a cost breakdown. */
export interface CostLine {
  key: string;
  cost: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
}

/** Filter of a cost breakdown: time range, execution and/or workflow. */
export interface CostQuery {
  /** Inclusive range over entry timestamps. */
  from?: number;
  to?: number;
  executionId?: string;
  workflowId?: string;
}

/** Model spend in USD over a query's range, in total and by model, task, agent and workflow. */
export interface CostBreakdown {
  currency: 'USD';
  from?: number;
  to?: number;
  total: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  byModel: CostLine[];
  byTask: CostLine[];
  byAgent: CostLine[];
  byWorkflow: CostLine[];
}

/** One raw resource reading; the sampler turns successive readings into a ResourceSample. */
export interface ResourceSample {
  timestamp: number;
  /** Process CPU over the last interval, % of one core. */
  cpuPercent: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  eventLoopDelayMeanMs: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  /** Bytes to/from model providers since the previous sample. */
  networkBytesIn: number;
  networkBytesOut: number;
  /** Per remote host, since the previous sample. */
  networkByHost: Record<string, { in: number; out: number }>;
}

/** Hook over where resource readings come from (tests and embedders can supply their own). */
export type ResourceSource = () => ResourceSample;

/** What the monitor needs to know of a model: its capabilities and prices per million tokens. */
export interface CatalogEntry {
  capabilities: string[];
  inputPricePerM: number;
  outputPricePerM: number;
}
/** Model catalog lookup supplied by the model layer; the monitor never depends on its internals. */
export type CatalogLookup = (model: string) => CatalogEntry | undefined;

/** What the monitor keeps per finished execution. */
export interface StoredProfile {
  profile: ExecutionProfile;
  insights: Insight[];
  costs: CostBreakdown;
}

/** Where finished profiles live: bounded memory by default, optional SQLite. */
export interface MonitorHistoryStore {
  readonly kind: string;
  save(entry: StoredProfile): MaybePromise<void>;
  load(executionId: string): MaybePromise<StoredProfile | undefined>;
  list(query?: { workflowId?: string; limit?: number }): MaybePromise<ExecutionProfile[]>;
  close(): MaybePromise<void>;
}

/** Tuning of the detectors. Defaults are in `DEFAULT_DETECTOR_SETTINGS`. */
export interface DetectorSettings {
  /** A critical-path task is a bottleneck when it takes this share of the makespan. */
  criticalShare: number;
  /** Agents are flagged when queue wait ≥ run time and the mean wait is at least this (ms). */
  agentQueueMinMeanMs: number;
  /** Providers are flagged when rate-limit waits reach this share of the makespan. */
  throttleShare: number;
  /** Parallelisation is suggested when it would save at least this (ms) and 10 % of the path. */
  parallelMinSavingMs: number;
  /** Caching: the same request key seen in at least this many executions. */
  cacheMinExecutions: number;
  /** Model optimisation: samples per model, cost ratio, success and latency tolerances. */
  modelMinSamples: number;
  modelMaxCostRatio: number;
  modelMaxSuccessDrop: number;
  modelMaxLatencyRatio: number;
  /** Batching: at least this many small calls to one model within the window. */
  batchMinCalls: number;
  batchWindowMs: number;
  batchSmallTokens: number;
  /** Anomalies: observations before a baseline is trusted, and the robust z-score that counts as anomalous. */
  anomalyWarmup: number;
  anomalyMinScore: number;
  /** Duration anomalies must also exceed the baseline by this ratio and this many ms. */
  anomalyMinRatio: number;
  anomalyMinDeltaMs: number;
  /** An error pattern is reported when it has occurred this many times (then at each doubling). */
  errorPatternMinCount: number;
  /** Predictive alerts: points needed, fit quality, and how far ahead (ms) a crossing is announced. */
  trendMinPoints: number;
  trendMinR2: number;
  trendHorizonMs: number;
  /** Task failure rate is computed over the last N task outcomes, once at least `failureRateMinTasks` exist. */
  failureRateWindow: number;
  failureRateMinTasks: number;
}

/** Options of the ExecutionMonitor: state and history stores, retention, resource sampling and detector settings. */
export interface MonitorOptions {
  /** Execution state store: lets `profile()` derive a profile for executions no longer in memory. */
  store?: StateStore;
  /** Durable history of full profiles (default: none; recent runs are kept in memory regardless). */
  history?: MonitorHistoryStore;
  /** Shortcut: keep history in this SQLite file (see SqliteHistoryStore). */
  historyPath?: string;
  /** Finished runs kept in memory for `profile()` (default 200 runs and at most 50 000 tasks in all). */
  maxProfiles?: number;
  maxProfileTasks?: number;
  catalog?: CatalogLookup;
  /** Capabilities an agent requires, when known: narrows model-optimisation suggestions. */
  agentCapabilities?: (agentId: string) => string[] | undefined;
  /** OTel tracer provider; default is the global one (a no-op unless an SDK is installed). */
  tracerProvider?: TracerProvider;
  /** Resource sampling period, ms (default 1000). 0 disables the timer; `sampleNow()` still works. */
  sampleIntervalMs?: number;
  resourceSource?: ResourceSource;
  /**
   * Follow task:started/completed/failed/skipped while runs go, so `profile(id)` of a running execution has
   * per-task rows. Off by default: each per-task listener makes the engine build a payload for every task;
   * finished runs are profiled from their final result either way.
   */
  liveTasks?: boolean;
  detectors?: Partial<DetectorSettings>;
}

/** The JSON shape of `codexos report <executionId> --json`. */
export interface MonitorReport {
  schemaVersion: number;
  profile: ExecutionProfile;
  insights: Insight[];
  costs: CostBreakdown;
}
