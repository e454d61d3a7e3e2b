import type { MultiAgentOrchestrator } from '@codexos/multi-agent-orchestrator';
import type { AccessAudit } from './auth/audit.js';
import type { RoleService } from './auth/roles.js';
import type { TokenService } from './auth/tokens.js';
import type { ServerDb } from './db.js';
import type { Runner } from './executions/runner.js';
import type { LiveHub } from './live/hub.js';
import type { RemoteRuns } from './live/remote.js';
import type { ServerStore, WorkflowRepo } from './store/types.js';
import type { AuthContext, ServerOptions } from './types.js';

/** What every feature plugin is given: the orchestrator and the server's services. */
export interface ServerContext {
  o: MultiAgentOrchestrator;
  /** SQLite tables of this process (the server store's tables when it is on SQLite). */
  db: ServerDb;
  /** Workflows, users, tokens, roles, run pins and the audit: SQLite, or Redis when executions are in Redis. */
  store: ServerStore;
  tokens: TokenService;
  roles: RoleService;
  audit: AccessAudit;
  repo: WorkflowRepo;
  runner: Runner;
  hub: LiveHub;
  /** Events of runs other processes drive, when the orchestrator is on Redis. */
  remote?: RemoteRuns;
  options: ServerOptions;
  startedAt: number;
  state: { ready: boolean; draining: boolean };
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext;
  }
}
