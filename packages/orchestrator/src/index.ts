// The public API of @codexos/multi-agent-orchestrator, and only it.
export { MultiAgentOrchestrator, type OrchestratorOptions, type PreparedWorkflow } from './orchestrator.js';
export { parseConfig, orchestratorConfigSchema, type OrchestratorConfig, type OrchestratorConfigInput } from './config.js';
export { CodexError, ErrorCodes, isCodexError, toErrorInfo, type ErrorCode, type ErrorInfo, type ErrorIssue } from './errors.js';
export { EventBus, type OrchestratorEvent, type OrchestratorEventName, type OrchestratorEvents, type TokenUsage } from './events.js';
export type { AgentDefinition, AgentHandler, AgentPoolStats, TaskContext } from './agents/types.js';
export { workflowSchema, workflowJsonSchema } from './workflow/schema.js';
export { planWorkflow } from './workflow/plan.js';
export { parseWorkflowText, readWorkflowFile } from './workflow/load.js';
export { parseExpression, evaluate } from './workflow/expression.js';
export type {
  ExecuteOptions,
  ExecutionResult,
  TaskResult,
  TaskDefinition,
  WorkflowDefinition,
  WorkflowDefinitionInput,
  RetryPolicy,
} from './workflow/types.js';
export type {
  StateStore,
  ExecutionHeader,
  ExecutionStatus,
  TaskStatus,
  TaskTransition,
  StoredExecution,
  StoredTaskState,
} from './store/types.js';
export { MemoryStore } from './store/memory-store.js';
export { SqliteStore } from './store/sqlite/sqlite-store.js';
export { LocalProvider } from './models/local-provider.js';
export type {
  ModelProvider,
  ModelRequest,
  ModelResponse,
  ModelRequirements,
  ModelRunner,
  ModelRunRequest,
  ModelRunResult,
} from './models/types.js';
