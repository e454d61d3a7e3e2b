// Public API of @codexos/server.
export { type BuildServerOptions, buildServer, type CodexServer } from './app.js';
export { RoleService } from './auth/roles.js';
export { type TokenInfo, TokenService } from './auth/tokens.js';
export type { ServerContext } from './context.js';
export type { ExecutionDetail, ExecutionSummary, TaskState } from './executions/view.js';
export { LiveHub } from './live/hub.js';
export { openTokens, type RunningServer, type StartServerOptions, startServer } from './serve.js';
export type * from './types.js';
