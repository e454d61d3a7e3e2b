import type { MultiAgentOrchestrator } from '@codexos/multi-agent-orchestrator';
import type { AccessAudit } from './auth/audit.js';
import type { RoleService } from './auth/roles.js';
import type { TokenService } from './auth/tokens.js';
import type { ServerDb } from './db.js';
import type { Runner } from './executions/runner.js';
import type { LiveHub } from './live/hub.js';
import type { AuthContext, ServerOptions } from './types.js';
import type { WorkflowRepo } from './workflows/repo.js';

/** What every feature plugin is given: the orchestrator and the server's services. */
export interface ServerContext {
  o: MultiAgentOrchestrator;
  db: ServerDb;
  tokens: TokenService;
  roles: RoleService;
  audit: AccessAudit;
  repo: WorkflowRepo;
  runner: Runner;
  hub: LiveHub;
  options: ServerOptions;
  startedAt: number;
  state: { ready: boolean; draining: boolean };
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext;
  }
}
