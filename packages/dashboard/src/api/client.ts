import type {
  AgentInfo,
  ApprovalItem,
  Breakpoint,
  CostReport,
  DebugState,
  ExecutionDetail,
  ExecutionProfile,
  ExecutionRecord,
  ExecutionSummary,
  InsightItem,
  InspectData,
  LiveEvent,
  LockInfo,
  Me,
  ModelInfo,
  Page,
  TaskRecord,
  UsageTotals,
  VersionInfo,
  VersionRecord,
  WaitpointDecision,
  WorkflowDefinition,
  WorkflowRecord,
  WorkflowSummary,
} from './types.ts';

// The one place the dashboard talks HTTP to the CodexOS server: every route it uses is a method here, so a
// route change is a one-line edit. Errors come back as ApiError with the server's stable code and message.

export interface ErrorIssue {
  path?: Array<string | number> | string;
  message: string;
  line?: number;
  column?: number;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: ErrorIssue[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Query = Record<string, string | number | boolean | undefined | null>;

function qs(q?: Query): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

const enc = encodeURIComponent;

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
    private readonly fetchImpl: typeof fetch = (...a) => fetch(...a),
  ) {}

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    init: { raw?: string; contentType?: string } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    let payload: string | undefined;
    if (init.raw !== undefined) {
      payload = init.raw;
      headers['content-type'] = init.contentType ?? 'text/plain';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.baseUrl}${path}`, { method, headers, body: payload });
    } catch (err) {
      throw new ApiError(0, 'CDX_ERR_NETWORK', `Cannot reach the server: ${(err as Error).message}`);
    }
    const text = await res.text();
    let data: unknown;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    if (!res.ok) throw toApiError(res.status, data);
    return data as T;
  }

  // ---- identity -------------------------------------------------------------------------------------------
  me = async (): Promise<Me> => {
    const r = await this.request<{ user: { id: string; role: Me['role'] } }>('GET', '/api/me');
    return { userId: r.user.id, role: r.user.role };
  };

  // ---- workflows and versions -----------------------------------------------------------------------------
  listWorkflows = (q: { q?: string; cursor?: string; limit?: number } = {}) =>
    this.request<Page<WorkflowSummary>>('GET', `/api/workflows${qs(q)}`);
  getWorkflow = (id: string, version?: number) =>
    this.request<WorkflowRecord>('GET', `/api/workflows/${enc(id)}${qs({ version })}`);
  createWorkflow = (definition: WorkflowDefinition, message?: string) =>
    this.request<{ workflow: WorkflowSummary; version: VersionInfo }>('POST', '/api/workflows', {
      definition,
      message,
    });
  importWorkflow = (content: string, format: 'yaml' | 'json', message?: string) =>
    this.request<{ workflow: WorkflowSummary; version: VersionInfo }>('POST', '/api/workflows/import', {
      content,
      format,
      message,
    });
  validateWorkflow = (content: string, format: 'yaml' | 'json') =>
    this.request<{ valid: true; workflowId: string; taskCount: number }>('POST', '/api/workflows/validate', {
      content,
      format,
    });
  exportWorkflow = (id: string, format: 'yaml' | 'json') =>
    this.request<string | WorkflowDefinition>('GET', `/api/workflows/${enc(id)}/export${qs({ format })}`);
  deleteWorkflow = (id: string) => this.request<void>('DELETE', `/api/workflows/${enc(id)}`);
  listVersions = (id: string) =>
    this.request<Page<VersionInfo>>('GET', `/api/workflows/${enc(id)}/versions${qs({ limit: 200 })}`);
  getVersion = (id: string, version: number) =>
    this.request<VersionRecord>('GET', `/api/workflows/${enc(id)}/versions/${version}`);
  /** "Save version": the server snapshots the live collaboration document. */
  saveVersion = async (id: string, message: string): Promise<VersionInfo> =>
    (await this.request<{ version: VersionInfo }>('POST', `/api/workflows/${enc(id)}/snapshot`, { message })).version;
  restoreVersion = async (id: string, version: number, message?: string): Promise<VersionInfo> =>
    (
      await this.request<{ version: VersionInfo }>('POST', `/api/workflows/${enc(id)}/versions/${version}/restore`, {
        message,
      })
    ).version;

  // ---- executions -----------------------------------------------------------------------------------------
  startExecution = (workflowId: string, input: Record<string, unknown>) =>
    this.request<ExecutionSummary>('POST', '/api/executions', { workflowId, input });
  listExecutions = (q: { workflowId?: string; status?: string; cursor?: string; limit?: number } = {}) =>
    this.request<Page<ExecutionSummary>>('GET', `/api/executions${qs(q)}`);
  getExecution = async (id: string): Promise<ExecutionRecord> =>
    toRecord(await this.request<ExecutionDetail>('GET', `/api/executions/${enc(id)}`));
  cancelExecution = (id: string) => this.request<unknown>('POST', `/api/executions/${enc(id)}/cancel`, {});
  resumeExecution = (id: string) => this.request<ExecutionSummary>('POST', `/api/executions/${enc(id)}/resume`);
  executionEvents = (id: string, after?: number) =>
    this.request<Page<LiveEvent>>('GET', `/api/executions/${enc(id)}/events${qs({ after, limit: 200 })}`);
  executionProfile = (id: string) => this.request<ExecutionProfile>('GET', `/api/executions/${enc(id)}/profile`);

  // ---- debugging and approvals ----------------------------------------------------------------------------
  startDebugRun = (
    workflowId: string,
    input: Record<string, unknown>,
    debug: { breakpoints?: Breakpoint[]; pauseOnFailure?: boolean },
  ) => this.request<ExecutionSummary>('POST', '/api/debug/runs', { workflowId, input, debug });
  debugState = (id: string) => this.request<DebugState>('GET', `/api/executions/${enc(id)}/debug`);
  setBreakpoints = (id: string, breakpoints: Breakpoint[]) =>
    this.request<DebugState>('PUT', `/api/executions/${enc(id)}/debug/breakpoints`, { breakpoints });
  clearBreakpoints = (id: string) => this.request<DebugState>('DELETE', `/api/executions/${enc(id)}/debug/breakpoints`);
  pauseRun = (id: string) => this.request<DebugState>('POST', `/api/executions/${enc(id)}/debug/pause`);
  stepRun = (id: string) => this.request<DebugState>('POST', `/api/executions/${enc(id)}/debug/step`);
  continueRun = (id: string) => this.request<DebugState>('POST', `/api/executions/${enc(id)}/debug/continue`);
  abortRun = (id: string) =>
    this.request<{ executionId: string; aborted: true }>('POST', `/api/executions/${enc(id)}/debug/abort`);
  inspectTask = (id: string, taskId?: string) =>
    this.request<InspectData>('GET', `/api/executions/${enc(id)}/debug/inspect${qs({ taskId })}`);
  editTask = (id: string, taskId: string, patch: { input?: Record<string, unknown>; prompt?: string }) =>
    this.request<DebugState>('PATCH', `/api/executions/${enc(id)}/debug/tasks/${enc(taskId)}`, patch);
  pinTask = (id: string, taskId: string, output: unknown) =>
    this.request<DebugState>('PUT', `/api/executions/${enc(id)}/debug/tasks/${enc(taskId)}/pin`, { output });
  rerunFrom = (
    id: string,
    fromTaskId: string,
    opts: { input?: Record<string, unknown>; prompt?: string; agentId?: string } = {},
  ) =>
    this.request<ExecutionSummary & { parentExecutionId: string; fromTaskId: string }>(
      'POST',
      `/api/executions/${enc(id)}/rerun`,
      { fromTaskId, ...opts },
    );
  listApprovals = () => this.request<{ items: ApprovalItem[] }>('GET', '/api/approvals');
  decideApproval = (id: string, name: string, decision: 'approve' | 'reject', comment?: string) =>
    this.request<WaitpointDecision>(
      'POST',
      `/api/executions/${enc(id)}/waitpoints/${enc(name)}/${decision}`,
      comment ? { comment } : {},
    );

  // ---- agents, models, analytics ---------------------------------------------------------------------------
  listAgents = () => this.request<Page<AgentInfo>>('GET', `/api/agents${qs({ limit: 200 })}`);
  listModels = () => this.request<Page<ModelInfo>>('GET', `/api/models${qs({ limit: 200 })}`);
  modelUsage = () =>
    this.request<{ totals: UsageTotals; byModel: Record<string, UsageTotals> }>('GET', '/api/models/usage');
  modelLimits = () =>
    this.request<{
      providers: Array<{ id: string; configured?: boolean; circuit: string | null; available: boolean }>;
    }>('GET', '/api/models/limits');
  experiments = () =>
    this.request<
      Page<{
        id: string;
        arms: Array<{ model: string; calls: number; successRate: number; latencyMs: number; cost: number }>;
      }>
    >('GET', '/api/models/experiments');
  costs = (q: { from?: number; to?: number; workflowId?: string } = {}) =>
    this.request<CostReport>('GET', `/api/analytics/costs${qs(q)}`);
  insights = (q: { workflowId?: string; executionId?: string } = {}) =>
    this.request<Page<InsightItem>>('GET', `/api/analytics/insights${qs({ ...q, limit: 100 })}`);
  anomalies = () => this.request<Page<InsightItem>>('GET', `/api/analytics/anomalies${qs({ limit: 100 })}`);
  alerts = () => this.request<Page<InsightItem>>('GET', `/api/analytics/alerts${qs({ limit: 100 })}`);

  // ---- collaboration --------------------------------------------------------------------------------------
  collabState = (workflowId: string) =>
    this.request<{ session: { participants?: Array<{ userId: string; role?: string }> } | null; locks: LockInfo[] }>(
      'GET',
      `/api/workflows/${enc(workflowId)}/collab`,
    );
  lockTask = (workflowId: string, taskId: string) =>
    this.request<LockInfo>('POST', `/api/workflows/${enc(workflowId)}/locks/${enc(taskId)}`, {});
  unlockTask = (workflowId: string, taskId: string) =>
    this.request<void>('DELETE', `/api/workflows/${enc(workflowId)}/locks/${enc(taskId)}`);

  // ---- sockets --------------------------------------------------------------------------------------------
  wsUrl(path: string, q: Query = {}): string {
    const origin = this.baseUrl || window.location.origin;
    return `${origin.replace(/^http/, 'ws')}${path}${qs({ ...q, token: this.token })}`;
  }
  /** The y-websocket server URL: the provider appends `/<workflowId>?token=…`. */
  collabUrl(): string {
    return `${(this.baseUrl || window.location.origin).replace(/^http/, 'ws')}/collab`;
  }
  executionSocketUrl = (id: string, after?: number) => this.wsUrl(`/api/executions/${enc(id)}/live`, { after });
  workflowSocketUrl = (workflowId?: string) => this.wsUrl('/api/live', { workflowId });
}

/** Fold the API's task list (loop iterations as `id#i`) into one entry per task id. */
export function toRecord(d: ExecutionDetail): ExecutionRecord {
  const tasks: Record<string, TaskRecord> = {};
  for (const t of d.tasks ?? []) {
    const cur = tasks[t.taskId];
    const rec: TaskRecord = { ...t, duration: t.durationMs };
    if (!cur || t.taskKey === t.taskId) tasks[t.taskId] = cur ? { ...cur, ...rec } : rec;
    else {
      cur.iterations = ((cur.iterations as number | undefined) ?? 1) + 1;
      cur.cost = (cur.cost ?? 0) + (t.cost ?? 0);
    }
  }
  const { tasks: _t, ...rest } = d;
  return { ...rest, tasks };
}

export function toApiError(status: number, data: unknown): ApiError {
  const d = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>;
  const e = (d.error && typeof d.error === 'object' ? d.error : d) as Record<string, unknown>;
  const code = typeof e.code === 'string' ? e.code : `HTTP_${status}`;
  const fallback =
    status === 401
      ? 'Sign-in required: the token is missing or no longer valid'
      : status === 403
        ? 'You do not have permission to do this'
        : status === 404
          ? 'Not found'
          : status === 429
            ? 'Too many requests: try again shortly'
            : `Request failed (${status})`;
  const message = typeof e.message === 'string' ? e.message : typeof data === 'string' && data ? data : fallback;
  const raw = Array.isArray(e.issues) ? e.issues : Array.isArray(e.details) ? e.details : [];
  const issues = raw.map((i: unknown) => {
    const o = (i ?? {}) as Record<string, unknown>;
    return {
      path: o.path as ErrorIssue['path'],
      message: typeof o.message === 'string' ? o.message : String(i),
      line: typeof o.line === 'number' ? o.line : undefined,
      column: typeof o.column === 'number' ? o.column : undefined,
    };
  });
  return new ApiError(status, code, message, issues);
}

/** A readable one-liner for any thrown value (used by banners and toasts). */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    const first = err.issues.slice(0, 3).map((i) => (i.line ? `line ${i.line}: ${i.message}` : i.message));
    return [err.message, ...first].join(' — ');
  }
  return err instanceof Error ? err.message : String(err);
}
