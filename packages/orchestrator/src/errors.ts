// One catalog of stable error codes (like Fastify's FST_ERR_*): callers switch on `code`, never on message text.
/** The error catalog: every `CDX_ERR_*` code by name. */
export const ErrorCodes = {
  CONFIG_INVALID: 'CDX_ERR_CONFIG_INVALID',
  WORKFLOW_PARSE: 'CDX_ERR_WORKFLOW_PARSE',
  WORKFLOW_INVALID: 'CDX_ERR_WORKFLOW_INVALID',
  INPUT_TOO_LARGE: 'CDX_ERR_INPUT_TOO_LARGE',
  UNSAFE_KEY: 'CDX_ERR_UNSAFE_KEY',
  INPUT_INVALID: 'CDX_ERR_INPUT_INVALID',
  EXPRESSION: 'CDX_ERR_EXPRESSION',
  EXPRESSION_LIMIT: 'CDX_ERR_EXPRESSION_LIMIT',
  TEMPLATE: 'CDX_ERR_TEMPLATE',
  AGENT_UNKNOWN: 'CDX_ERR_AGENT_UNKNOWN',
  AGENT_INVALID: 'CDX_ERR_AGENT_INVALID',
  TASK_FAILED: 'CDX_ERR_TASK_FAILED',
  TASK_TIMEOUT: 'CDX_ERR_TASK_TIMEOUT',
  CACHE_KEY: 'CDX_ERR_CACHE_KEY',
  WORKFLOW_TIMEOUT: 'CDX_ERR_WORKFLOW_TIMEOUT',
  CANCELLED: 'CDX_ERR_CANCELLED',
  LOOP_LIMIT: 'CDX_ERR_LOOP_LIMIT',
  EXECUTION_NOT_FOUND: 'CDX_ERR_EXECUTION_NOT_FOUND',
  EXECUTION_RUNNING: 'CDX_ERR_EXECUTION_RUNNING',
  EXECUTION_EXISTS: 'CDX_ERR_EXECUTION_EXISTS',
  VALUE_NOT_SERIALIZABLE: 'CDX_ERR_VALUE_NOT_SERIALIZABLE',
  STORE: 'CDX_ERR_STORE',
  MODEL: 'CDX_ERR_MODEL',
  MODEL_NOT_FOUND: 'CDX_ERR_MODEL_NOT_FOUND',
  MODEL_RATE_LIMITED: 'CDX_ERR_MODEL_RATE_LIMITED',
  MODEL_CIRCUIT_OPEN: 'CDX_ERR_MODEL_CIRCUIT_OPEN',
  MODEL_NO_MATCH: 'CDX_ERR_MODEL_NO_MATCH',
  BUDGET_EXCEEDED: 'CDX_ERR_BUDGET_EXCEEDED',
  CONTEXT_OVERFLOW: 'CDX_ERR_CONTEXT_OVERFLOW',
  TOOL_UNKNOWN: 'CDX_ERR_TOOL_UNKNOWN',
  TOOL_MAX_STEPS: 'CDX_ERR_TOOL_MAX_STEPS',
  OUTPUT_INVALID: 'CDX_ERR_OUTPUT_INVALID',
  MCP: 'CDX_ERR_MCP',
  COLLAB: 'CDX_ERR_COLLAB',
  COLLAB_FORBIDDEN: 'CDX_ERR_COLLAB_FORBIDDEN',
  COLLAB_LOCKED: 'CDX_ERR_COLLAB_LOCKED',
  COLLAB_FULL: 'CDX_ERR_COLLAB_FULL',
  COLLAB_SESSION: 'CDX_ERR_COLLAB_SESSION',
  PROTOCOL: 'CDX_ERR_PROTOCOL',
  // HTTP API (packages/server): one error shape for the library and the server.
  VALIDATION: 'CDX_ERR_VALIDATION',
  UNAUTHORIZED: 'CDX_ERR_UNAUTHORIZED',
  FORBIDDEN: 'CDX_ERR_FORBIDDEN',
  NOT_FOUND: 'CDX_ERR_NOT_FOUND',
  METHOD_NOT_ALLOWED: 'CDX_ERR_METHOD_NOT_ALLOWED',
  CONFLICT: 'CDX_ERR_CONFLICT',
  PAYLOAD_TOO_LARGE: 'CDX_ERR_PAYLOAD_TOO_LARGE',
  RATE_LIMITED: 'CDX_ERR_RATE_LIMITED',
  SHUTTING_DOWN: 'CDX_ERR_SHUTTING_DOWN',
  INTERNAL: 'CDX_ERR_INTERNAL',
  QUEUE: 'CDX_ERR_QUEUE',
  REDIS_UNAVAILABLE: 'CDX_ERR_REDIS_UNAVAILABLE',
  // Debugging and waiting (workflow/debug).
  DEBUG_INVALID: 'CDX_ERR_DEBUG_INVALID',
  NOT_PAUSED: 'CDX_ERR_NOT_PAUSED',
  TASK_STARTED: 'CDX_ERR_TASK_STARTED',
  WAITPOINT_NOT_FOUND: 'CDX_ERR_WAITPOINT_NOT_FOUND',
  WAITING: 'CDX_ERR_WAITING',
  WAIT_TIMEOUT: 'CDX_ERR_WAIT_TIMEOUT',
  APPROVAL_REJECTED: 'CDX_ERR_APPROVAL_REJECTED',
} as const;

/** One of the stable `CDX_ERR_*` error codes. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** One problem a CodexError names: the task or path, and what is wrong there. */
export interface ErrorIssue {
  /** Where the problem is, e.g. `tasks[2].dependencies` or a task id. */
  path?: string;
  taskId?: string;
  message: string;
}

/** The error every CodexOS failure is: a stable `CDX_ERR_*` code, a message, and `issues` naming where. */
export class CodexError extends Error {
  readonly code: ErrorCode;
  readonly issues: ErrorIssue[];
  readonly retryable: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { issues?: ErrorIssue[]; cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CodexError';
    this.code = code;
    this.issues = opts.issues ?? [];
    this.retryable = opts.retryable ?? false;
  }

  toJSON(): { code: ErrorCode; message: string; issues: ErrorIssue[] } {
    return { code: this.code, message: this.message, issues: this.issues };
  }
}

/** True when `err` is a CodexError (optionally with the given code). */
export function isCodexError(err: unknown, code?: ErrorCode): err is CodexError {
  return err instanceof CodexError && (code === undefined || err.code === code);
}

/** Plain, serialisable error shape stored in state and sent in events. */
export interface ErrorInfo {
  code: string;
  message: string;
}

/** The serialisable `{ code, message, ... }` form of any thrown value, for results, events and logs. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof CodexError) return { code: err.code, message: err.message };
  if (err instanceof Error)
    return { code: (err as { code?: string }).code ?? err.name ?? 'Error', message: err.message };
  return { code: 'Error', message: String(err) };
}
