import type { AgentDefinition } from '../../agents/types.js';
import type { CodexError } from '../../errors.js';
import type { EventBus } from '../../events.js';
import type { ModelRunner } from '../../models/types.js';
import type { FlowRule } from '../config.js';
import type { RedisTarget } from './connection.js';

// What a `codexos worker` is started with and what it reports on each heartbeat (read by the orchestrators' pool).

/** Options of a distributed task worker: Redis target, agents it serves, concurrency, flow limits, models and heartbeat/lock timings. */
export interface TaskWorkerOptions {
  target: RedisTarget;
  agents: AgentDefinition[];
  /** Most tasks of one agent this process runs at once (the pool assigns up to this). */
  concurrency?: number;
  /** Per-key limits (the orchestrator's `execution.flow`); per-agent limits are set on the queues themselves. */
  flow?: Record<string, FlowRule>;
  models?: ModelRunner;
  /**
   * Also serve the tasks of model-backed agents (no code handler) that orchestrators send to workers: `true` for
   * every such agent, or a list of agent ids. Their calls go through `models`.
   */
  modelAgents?: boolean | string[];
  /** Events raised on this worker (e.g. the model layer's) are relayed to the orchestrators over pub/sub. */
  bus?: EventBus;
  workerId?: string;
  /** Heartbeat and health-check period (the `agents.healthCheckInterval`). */
  heartbeatMs?: number;
  /** BullMQ job lock: a worker that stops renewing it for this long has its job handed to another worker. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  connectTimeoutMs?: number;
  /**
   * Failures of what the worker does on its own (recording and sending results, heartbeats, the pool's plan, BullMQ's
   * fetching): a `CDX_ERR_QUEUE` naming what failed and why, each kind at most once per 10 s. Without it they are
   * process warnings (stderr). Task failures are not reported here: they go to the orchestrator as results.
   */
  onError?: (err: CodexError) => void;
}

/** What a worker reports on every heartbeat (readable by the orchestrator's pool). */
export interface WorkerHeartbeat {
  workerId: string;
  pid: number;
  host: string;
  at: number;
  agents: Record<string, { concurrency: number; max: number; active: number; completed: number; failed: number }>;
  healthy: boolean;
  reason?: string;
  /** Model-backed agents it runs with its own definition (tools, zod output schema): orchestrators send it their calls. */
  own?: string[];
}
