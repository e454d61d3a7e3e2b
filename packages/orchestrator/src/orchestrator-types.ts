// The option and result types of MultiAgentOrchestrator (re-exported from orchestrator.ts and the package index).
import type { AgentPoolStats } from './agents/types.js';
import type { CollaborationManager } from './collab/manager.js';
import type { ModelRunner } from './models/types.js';
import type { ExecutionMonitor } from './monitor/execution-monitor.js';
import type { DistributedPoolState } from './queue/bullmq/pool-controller.js';
import type { TaskQueue } from './queue/types.js';
import type { StateStore } from './store/types.js';
import type { WorkflowDefinition } from './workflow/types.js';

/** Constructor options beyond the config: a ready store, model providers, monitor options. */
export interface OrchestratorOptions {
  /** Use this store instead of the one `config.store` describes (e.g. a Redis store, or your own). */
  store?: StateStore;
  /** Use this model layer instead of the built-in ModelManager. */
  models?: ModelRunner;
  /** Extra monitor options (SQLite history path for cross-process reports, detector settings, tracer provider). */
  monitor?: ConstructorParameters<typeof ExecutionMonitor>[2];
  /** Options for the collaboration manager (authentication resolver, Redis for several processes, ...). */
  collaboration?: ConstructorParameters<typeof CollaborationManager>[1];
  /** Largest accepted execution input, bytes (as stored). */
  maxInputBytes?: number;
  /** Where task attempts run; by default from `config.execution` (in process unless distributed). */
  queue?: TaskQueue;
  /** Owner id this orchestrator's execution leases carry (default `host:pid:random`). */
  owner?: string;
}

/** `poolState()`: worker processes and agents across them (distributed), or local instances (in process). */
export type PoolState =
  | ({ mode: 'distributed' } & DistributedPoolState)
  | { mode: 'in-process'; at: number; agents: AgentPoolStats[] };

/** A definition validated and compiled by `prepareWorkflow`. */
export interface PreparedWorkflow {
  readonly id: string;
  readonly definition: WorkflowDefinition;
}
