// The public API of @codexos/multi-agent-orchestrator, and only it.

export type { AgentDefinition, AgentHandler, AgentPoolStats, TaskContext } from './agents/types.js';
export * from './collab/index.js';
export {
  type OrchestratorConfig,
  type OrchestratorConfigInput,
  orchestratorConfigSchema,
  parseConfig,
} from './config.js';
export {
  CodexError,
  type ErrorCode,
  ErrorCodes,
  type ErrorInfo,
  type ErrorIssue,
  isCodexError,
  toErrorInfo,
} from './errors.js';
export {
  EventBus,
  type OrchestratorEvent,
  type OrchestratorEventName,
  type OrchestratorEvents,
  type TokenUsage,
} from './events.js';
export * from './models/index.js';
export * from './monitor/index.js';
export {
  MultiAgentOrchestrator,
  type OrchestratorOptions,
  type PoolState,
  type PreparedWorkflow,
} from './orchestrator.js';
export * from './queue/index.js';
export { decodeValue, encodeValue } from './store/codec.js';
export { createStore } from './store/create-store.js';
export { MemoryStore } from './store/memory-store.js';
export {
  type RedisConnection,
  type RedisKeys,
  RedisStore,
  type RedisStoreOptions,
  redisKeys,
} from './store/redis/index.js';
export { SqliteStore } from './store/sqlite/sqlite-store.js';
export type {
  ExecutionHeader,
  ExecutionStatus,
  Lease,
  StateStore,
  StoredExecution,
  StoredTaskState,
  TaskStatus,
  TaskTransition,
} from './store/types.js';
export * from './workflow/debug/index.js';
export { DEFAULT_EXPRESSION_LIMITS, type ExpressionLimits, evaluate, parseExpression } from './workflow/expression.js';
export { parseWorkflowText, readWorkflowFile } from './workflow/load.js';
export { planWorkflow } from './workflow/plan.js';
export { workflowJsonSchema, workflowSchema } from './workflow/schema.js';
export type {
  ExecuteOptions,
  ExecutionResult,
  RetryPolicy,
  TaskDefinition,
  TaskResult,
  WorkflowDefinition,
  WorkflowDefinitionInput,
} from './workflow/types.js';
