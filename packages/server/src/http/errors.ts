import { CodexError, type ErrorCode, ErrorCodes, type ErrorIssue } from '@codexos/multi-agent-orchestrator';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

// One error shape for every failure: { error: { code, message, path?, issues?, requestId } }, codes from the
// library's catalog. Library errors map to HTTP statuses here; anything unexpected is a 500 with a request id.

export class ApiError extends CodexError {
  constructor(
    readonly statusCode: number,
    code: ErrorCode,
    message: string,
    opts: { issues?: ErrorIssue[]; path?: string; headers?: Record<string, string> } = {},
  ) {
    super(code, message, { issues: opts.issues });
    this.path = opts.path ?? opts.issues?.[0]?.path;
    this.headers = opts.headers;
  }
  readonly path?: string;
  readonly headers?: Record<string, string>;
}

export const notFound = (what: string) => new ApiError(404, ErrorCodes.NOT_FOUND, `${what} not found`);
export const forbidden = (message: string) => new ApiError(403, ErrorCodes.FORBIDDEN, message);
export const conflict = (message: string) => new ApiError(409, ErrorCodes.CONFLICT, message);
export const badRequest = (message: string, path?: string) =>
  new ApiError(400, ErrorCodes.VALIDATION, message, { path, issues: path ? [{ path, message }] : undefined });

const STATUS: Partial<Record<string, number>> = {
  [ErrorCodes.VALIDATION]: 400,
  [ErrorCodes.WORKFLOW_INVALID]: 400,
  [ErrorCodes.WORKFLOW_PARSE]: 400,
  [ErrorCodes.UNSAFE_KEY]: 400,
  [ErrorCodes.INPUT_TOO_LARGE]: 413,
  [ErrorCodes.CONFIG_INVALID]: 400,
  [ErrorCodes.EXPRESSION]: 400,
  [ErrorCodes.TEMPLATE]: 400,
  [ErrorCodes.AGENT_UNKNOWN]: 400,
  [ErrorCodes.AGENT_INVALID]: 400,
  [ErrorCodes.UNAUTHORIZED]: 401,
  [ErrorCodes.FORBIDDEN]: 403,
  [ErrorCodes.COLLAB_FORBIDDEN]: 403,
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.EXECUTION_NOT_FOUND]: 404,
  [ErrorCodes.COLLAB_SESSION]: 404,
  [ErrorCodes.CONFLICT]: 409,
  [ErrorCodes.EXECUTION_RUNNING]: 409,
  [ErrorCodes.EXECUTION_EXISTS]: 409,
  [ErrorCodes.VALUE_NOT_SERIALIZABLE]: 400,
  [ErrorCodes.COLLAB_LOCKED]: 409,
  [ErrorCodes.COLLAB_FULL]: 409,
  [ErrorCodes.RATE_LIMITED]: 429,
  [ErrorCodes.SHUTTING_DOWN]: 503,
  [ErrorCodes.CANCELLED]: 503,
  [ErrorCodes.DEBUG_INVALID]: 400,
  [ErrorCodes.NOT_PAUSED]: 409,
  [ErrorCodes.TASK_STARTED]: 409,
  [ErrorCodes.WAITPOINT_NOT_FOUND]: 404,
};

export interface ErrorBody {
  error: { code: string; message: string; path?: string; issues?: ErrorIssue[]; requestId: string };
}

export function errorBody(
  requestId: string,
  code: string,
  message: string,
  issues?: ErrorIssue[],
  path?: string,
): ErrorBody {
  const error: ErrorBody['error'] = { code, message, requestId };
  const p = path ?? issues?.find((i) => i.path)?.path;
  if (p) error.path = p;
  if (issues?.length) error.issues = issues;
  return { error };
}

/** Status and body for any thrown value. */
export function toHttpError(
  err: unknown,
  requestId: string,
): { status: number; body: ErrorBody; headers?: Record<string, string> } {
  if (err instanceof ApiError)
    return {
      status: err.statusCode,
      body: errorBody(requestId, err.code, err.message, err.issues, err.path),
      headers: err.headers,
    };
  if (err instanceof CodexError) {
    const status = STATUS[err.code] ?? 500;
    if (status === 500) return internal(requestId);
    return { status, body: errorBody(requestId, err.code, err.message, err.issues) };
  }
  const fe = err as FastifyError & { validation?: unknown };
  if (fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe?.statusCode === 413)
    return { status: 413, body: errorBody(requestId, ErrorCodes.PAYLOAD_TOO_LARGE, 'request body is too large') };
  if (fe?.statusCode === 429)
    return { status: 429, body: errorBody(requestId, ErrorCodes.RATE_LIMITED, fe.message || 'rate limit exceeded') };
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own client errors: bad JSON, unsupported media type, empty body.
    const code = fe.statusCode === 404 ? ErrorCodes.NOT_FOUND : ErrorCodes.VALIDATION;
    return { status: fe.statusCode === 415 ? 415 : fe.statusCode, body: errorBody(requestId, code, fe.message) };
  }
  return internal(requestId);
}

function internal(requestId: string) {
  return {
    status: 500,
    body: errorBody(requestId, ErrorCodes.INTERNAL, `internal error; quote request id ${requestId} when reporting it`),
  };
}

export function sendError(reply: FastifyReply, req: FastifyRequest, err: unknown): FastifyReply {
  const { status, body, headers } = toHttpError(err, String(req.id));
  if (status >= 500) req.log.error({ err, requestId: req.id }, 'request failed');
  if (headers) reply.headers(headers);
  return reply.code(status).type('application/json').send(body);
}

/** Registers the error and not-found handlers (405 for a known path with another method). */
export function installErrorHandlers(app: FastifyInstance, knownPaths: () => Map<string, Set<string>>): void {
  app.setErrorHandler((err, req, reply) => sendError(reply, req, err));
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    for (const [pattern, methods] of knownPaths()) {
      if (!methods.has(req.method) && matchPath(pattern, path)) {
        reply.header('allow', [...methods].join(', '));
        return reply
          .code(405)
          .send(errorBody(String(req.id), ErrorCodes.METHOD_NOT_ALLOWED, `${req.method} is not allowed on ${path}`));
      }
    }
    return reply.code(404).send(errorBody(String(req.id), ErrorCodes.NOT_FOUND, `no route ${req.method} ${path}`));
  });
}

function matchPath(pattern: string, path: string): boolean {
  const a = pattern.split('/');
  const b = path.split('/');
  const wildcard = a.at(-1) === '*';
  if (wildcard ? b.length < a.length - 1 : a.length !== b.length) return false;
  return a.every((seg, i) => seg.startsWith(':') || seg === '*' || seg === b[i]);
}
