import { randomUUID } from 'node:crypto';
import {
  CodexError,
  type DebugOptions,
  ErrorCodes,
  type ExecutionResult,
  type MultiAgentOrchestrator,
  type PreparedWorkflow,
  type RerunOptions,
} from '@codexos/multi-agent-orchestrator';
import type { ServerDb } from '../db.js';
import { ApiError, notFound } from '../http/errors.js';
import type { WorkflowRepo } from '../store/types.js';

// Starting, resuming and stopping runs on the server's orchestrator. A run is pinned to the stored version it
// started with (recorded beside the execution); at shutdown, runs still going after the grace period are
// cancelled, flagged `interrupted`, and resumed on the next start.

export interface RunMeta {
  executionId: string;
  workflowId: string;
  version: number;
  startedBy: string;
  startedAt: number;
  interrupted: boolean;
  models?: Record<string, string>;
}

type MetaRow = {
  execution_id: string;
  workflow_id: string;
  version: number;
  started_by: string;
  started_at: number;
  interrupted: number;
  models: string | null;
};

export class Runner {
  private readonly live = new Map<string, Promise<ExecutionResult>>();
  private readonly prepared = new Map<string, PreparedWorkflow>();
  private accepting = true;
  private readonly insertMeta;
  private readonly getMeta;
  /** Models used per task of live runs (the store keeps usage and cost, not the model). */
  private readonly models = new Map<string, Record<string, string>>();

  constructor(
    private readonly o: MultiAgentOrchestrator,
    private readonly db: ServerDb,
    private readonly repo: WorkflowRepo,
    private readonly autoAgents: boolean,
  ) {
    this.insertMeta = db.prepare(
      'INSERT INTO srv_executions (execution_id, workflow_id, version, started_by, started_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.getMeta = db.prepare('SELECT * FROM srv_executions WHERE execution_id = ?');
    o.on('task:completed', (t) => {
      if (!t.model) return;
      const m = this.models.get(t.executionId);
      if (m) m[t.iteration === undefined ? t.taskId : `${t.taskId}#${t.iteration}`] = t.model;
    });
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  get runningCount(): number {
    return this.live.size;
  }

  meta(executionId: string): RunMeta | undefined {
    const r = this.getMeta.get(executionId) as MetaRow | undefined;
    return r && toMeta(r, this.models.get(executionId));
  }

  isLive(executionId: string): boolean {
    return this.live.has(executionId);
  }

  private assertAccepting(): void {
    if (!this.accepting) throw new ApiError(503, ErrorCodes.SHUTTING_DOWN, 'the server is shutting down');
  }

  private prepare(workflowId: string, version: number, definition: Record<string, unknown>): PreparedWorkflow {
    const key = `${workflowId}@${version}`;
    let p = this.prepared.get(key);
    if (!p) {
      this.ensureAgents(definition);
      p = this.o.prepareWorkflow(definition);
      if (this.prepared.size >= 200) this.prepared.delete(this.prepared.keys().next().value as string);
      this.prepared.set(key, p);
    }
    return p;
  }

  /** Registers a model-backed agent for each agent id the definition names that nobody registered. */
  ensureAgents(definition: unknown): void {
    if (!this.autoAgents) return;
    const tasks = (definition as { tasks?: Array<{ agentId?: unknown }> })?.tasks;
    if (!Array.isArray(tasks)) return;
    for (const t of tasks) {
      const id = t?.agentId;
      if (typeof id === 'string' && !this.o.agents.has(id))
        this.o.registerAgent({ id, name: id, instructions: `You are the ${id} agent.` });
    }
  }

  /** Starts a run of a stored version; resolves once the run is recorded (not when it ends). */
  async start(
    workflowId: string,
    version: number | undefined,
    input: unknown,
    userId: string,
    debug?: DebugOptions,
  ): Promise<{ meta: RunMeta; done: Promise<ExecutionResult> }> {
    this.assertAccepting();
    const stored = await this.repo.version(workflowId, version);
    this.assertAccepting();
    if (!stored?.definition)
      throw notFound(version ? `version ${version} of workflow ${workflowId}` : `workflow ${workflowId}`);
    const prepared = this.prepare(workflowId, stored.version, stored.definition);
    const executionId = randomUUID();
    const startedAt = Date.now();
    this.insertMeta.run(executionId, workflowId, stored.version, userId, startedAt);
    this.models.set(executionId, {});
    const done = this.track(executionId, this.o.executeWorkflow(prepared, { input: input ?? {}, executionId, debug }));
    const meta: RunMeta = {
      executionId,
      workflowId,
      version: stored.version,
      startedBy: userId,
      startedAt,
      interrupted: false,
    };
    return { meta, done };
  }

  resume(executionId: string): Promise<ExecutionResult> {
    this.assertAccepting();
    if (this.live.has(executionId))
      throw new CodexError(ErrorCodes.EXECUTION_RUNNING, `Execution "${executionId}" is already running`);
    const meta = this.meta(executionId);
    if (!this.models.has(executionId)) this.models.set(executionId, meta?.models ?? {});
    this.db.prepare('UPDATE srv_executions SET interrupted = 0 WHERE execution_id = ?').run(executionId);
    // Tracked at once (a second resume is refused above), agents registered from the stored version first.
    const resumed = (async () => {
      if (meta) this.ensureAgents((await this.repo.version(meta.workflowId, meta.version))?.definition);
      return this.o.resume(executionId);
    })();
    return this.track(executionId, resumed);
  }

  /** A new run from a finished one, re-running `taskId` and its dependents (recorded like any run). */
  async rerunFrom(parentId: string, taskId: string, opts: RerunOptions, userId: string): Promise<RunMeta> {
    this.assertAccepting();
    const parent = this.meta(parentId);
    if (parent) {
      const def = (await this.repo.version(parent.workflowId, parent.version))?.definition;
      if (def) this.ensureAgents(def);
    }
    const executionId = randomUUID();
    const { done } = await this.o.debugger.rerunFrom(parentId, taskId, { ...opts, executionId, by: userId });
    const startedAt = Date.now();
    const workflowId = parent?.workflowId ?? (await this.o.getExecution(parentId))?.header.workflowId ?? '';
    this.insertMeta.run(executionId, workflowId, parent?.version ?? 1, userId, startedAt);
    this.models.set(executionId, {});
    void this.track(executionId, done);
    return { executionId, workflowId, version: parent?.version ?? 1, startedBy: userId, startedAt, interrupted: false };
  }

  private track(executionId: string, p: Promise<ExecutionResult>): Promise<ExecutionResult> {
    const done = p.finally(() => {
      this.live.delete(executionId);
      const m = this.models.get(executionId);
      if (m && Object.keys(m).length)
        this.db
          .prepare('UPDATE srv_executions SET models = ? WHERE execution_id = ?')
          .run(JSON.stringify(m), executionId);
      this.models.delete(executionId);
    });
    this.live.set(executionId, done);
    // Callers that do not wait must not see an unhandled rejection.
    done.catch(() => {});
    return done;
  }

  cancel(executionId: string, reason: string): boolean {
    return this.o.cancel(executionId, reason);
  }

  /** Runs left running or interrupted by an earlier process: resumed now. Returns their ids. */
  async resumeInterrupted(): Promise<string[]> {
    const rows = this.db.prepare('SELECT execution_id FROM srv_executions WHERE interrupted = 1').all() as Array<{
      execution_id: string;
    }>;
    const ids = new Set(rows.map((r) => r.execution_id));
    // A process that died without draining leaves its runs `running` (or `interrupted` once their lease expired).
    // Paused and waiting runs keep their status when their process stops: those without a live lease are taken up.
    for (const status of ['running', 'interrupted', 'paused', 'waiting'] as const)
      for (const h of await this.o.listExecutions({ status }))
        if (this.getMeta.get(h.executionId) && (status === 'running' || status === 'interrupted' || !h.lease))
          ids.add(h.executionId);
    const resumed: string[] = [];
    for (const id of ids) {
      try {
        void this.resume(id);
        resumed.push(id);
      } catch {
        // A run that cannot be resumed stays as it was; the API shows its stored state.
      }
    }
    return resumed;
  }

  /** Stops accepting; waits up to `graceMs` for live runs, then cancels the rest and flags them for resume. */
  async drain(graceMs: number): Promise<string[]> {
    this.accepting = false;
    const pending = [...this.live.values()];
    if (pending.length) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(pending),
        new Promise((r) => {
          timer = setTimeout(r, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    const rest = [...this.live.keys()];
    const flag = this.db.prepare('UPDATE srv_executions SET interrupted = 1 WHERE execution_id = ?');
    for (const id of rest) flag.run(id);
    for (const id of rest) this.o.cancel(id, 'server shutting down');
    await Promise.allSettled([...this.live.values()]);
    return rest;
  }
}

function toMeta(r: MetaRow, live?: Record<string, string>): RunMeta {
  return {
    executionId: r.execution_id,
    workflowId: r.workflow_id,
    version: r.version,
    startedBy: r.started_by,
    startedAt: r.started_at,
    interrupted: r.interrupted === 1,
    models: live ?? (r.models ? JSON.parse(r.models) : undefined),
  };
}
