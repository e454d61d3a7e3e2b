import type { MultiAgentOrchestrator } from '@codexos/multi-agent-orchestrator';

export type ServerRole = 'admin' | 'member';
export type WorkflowRole = 'owner' | 'editor' | 'viewer';

export interface User {
  id: string;
  role: ServerRole;
}

/** What the auth plugin puts on every authenticated request. */
export interface AuthContext {
  user: User;
  tokenId: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface WorkflowSummary {
  id: string;
  name: string;
  description?: string;
  version: number;
  taskCount: number;
  createdAt: number;
  updatedAt: number;
  createdBy: string;
}

export interface WorkflowVersion {
  workflowId: string;
  version: number;
  author: string;
  createdAt: number;
  message: string;
  definition?: Record<string, unknown>;
}

export interface LiveEvent {
  seq: number;
  type: string;
  executionId: string;
  workflowId: string;
  at: number;
  payload: unknown;
}

export interface ServerOptions {
  orchestrator: MultiAgentOrchestrator;
  /** Where the server's tables live when the state store is not SQLite (default `:memory:`). */
  dbPath?: string;
  /** Origins allowed by CORS; none by default (same-origin only). */
  corsOrigins?: string[];
  /** Largest request body, bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Requests per minute per token (per IP without one). Default 600. */
  rateLimit?: number;
  /** Serve /metrics without a token. */
  publicMetrics?: boolean;
  /** Directory of the built dashboard, served at `/` when it exists. */
  dashboardDir?: string;
  /** Register a model-backed agent for agent ids a workflow names that are not registered (default true). */
  autoAgents?: boolean;
  /** Log requests (pino through Fastify). Default false. */
  logger?: boolean;
  /** Grace period for running tasks at shutdown, ms (default 10 000). */
  shutdownGraceMs?: number;
}
