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
import { ApiError, notFound } from '../http/errors.js';
import type { RunPin, RunRepo, WorkflowRepo } from '../store/types.js';
import type { WorkflowVersion } from '../types.js';

// Starting, resuming and stopping runs on the server's orchestrator. A run is pinned to the stored version it
// started with (a pin in the server store, so every server on that store sees it); at shutdown, runs still going
// after the grace period are cancelled, flagged `interrupted`, and resumed on the next start.

/** A run's pin as the API shows it (the models of a live run come from this process). */
export type RunMeta = RunPin;

export class Runner {
  private readonly live = new Map<string, Promise<ExecutionResult>>();
  private readonly prepared = new Map<string, PreparedWorkflow>();
  private accepting = true;
  /** Models used per task of live runs (the store keeps usage and cost, not the model). */
  private readonly models = new Map<string, Record<string, string>>();

  constructor(
    private readonly o: MultiAgentOrchestrator,
    private readonly runs: RunRepo,
    private readonly repo: WorkflowRepo,
    private readonly autoAgents: boolean,
    /** Where failures of background writes go (the server's log). */
    private readonly onError: (err: unknown, what: string) => void = () => {},
  ) {
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

  /** The run's pin (from whichever server started it), with the models so far when this process drives it. */
  async meta(executionId: string): Promise<RunMeta | undefined> {
    const pin = await this.runs.get(executionId);
    const live = this.models.get(executionId);
    return pin && live ? { ...pin, models: live } : pin;
  }

  /** Pins of several runs (list pages). */
  async metas(executionIds: string[]): Promise<Map<string, RunMeta>> {
    const pins = await this.runs.getMany(executionIds);
    for (const [id, pin] of pins) {
      const live = this.models.get(id);
      if (live) pins.set(id, { ...pin, models: live });
    }
    return pins;
  }

  isLive(executionId: string): boolean {
    return this.live.has(executionId);
  }

  private assertAccepting(): void {
    if (!this.accepting) throw new ApiError(503, ErrorCodes.SHUTTING_DOWN, 'the server is shutting down');
  }

  // Keyed by the version's creation time too: a workflow deleted and created again restarts at version 1.
  private prepare(workflowId: string, stored: WorkflowVersion, definition: Record<string, unknown>): PreparedWorkflow {
    const key = `${workflowId}@${stored.version}@${stored.createdAt}`;
    let p = this.prepared.get(key);
    if (!p) {
      this.ensureAgents(definition);
      p = this.o.prepareWorkflow(definition);
      if (this.prepared.size >= 200) this.prepared.delete(this.prepared.keys().next().value as string);
      this.prepared.set(key, p);
    }
    return p;
  }

  /** Drops the prepared versions of a deleted workflow (its id may be created again from version 1). */
  forgetWorkflow(workflowId: string): void {
    for (const key of this.prepared.keys()) if (key.startsWith(`${workflowId}@`)) this.prepared.delete(key);
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

  /**
   * Starts a run of a stored version; resolves once the run is recorded (not when it ends). The returned meta
   * gets the run's models when it ends.
   */
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
    const prepared = this.prepare(workflowId, stored, stored.definition);
    const executionId = randomUUID();
    const meta: RunMeta = {
      executionId,
      workflowId,
      version: stored.version,
      startedBy: userId,
      startedAt: Date.now(),
      interrupted: false,
    };
    await this.runs.pin(meta);
    this.assertAccepting();
    this.models.set(executionId, {});
    const done = this.track(
      executionId,
      this.o.executeWorkflow(prepared, { input: input ?? {}, executionId, debug }),
      meta,
    );
    return { meta, done };
  }

  resume(executionId: string): Promise<ExecutionResult> {
    this.assertAccepting();
    if (this.live.has(executionId))
      throw new CodexError(ErrorCodes.EXECUTION_RUNNING, `Execution "${executionId}" is already running`);
    const models: Record<string, string> = {};
    this.models.set(executionId, models);
    // Tracked at once (a second resume is refused above); the pin (whichever server wrote it) says which stored
    // version's agents to register before the run continues.
    const resumed = (async () => {
      const pin = await this.runs.get(executionId);
      if (pin) {
        Object.assign(models, pin.models, { ...models });
        if (pin.interrupted) await this.runs.setInterrupted([executionId], false);
        this.ensureAgents((await this.repo.version(pin.workflowId, pin.version))?.definition);
      }
      return this.o.resume(executionId);
    })();
    return this.track(executionId, resumed);
  }

  /** A new run from a finished one, re-running `taskId` and its dependents (recorded like any run). */
  async rerunFrom(parentId: string, taskId: string, opts: RerunOptions, userId: string): Promise<RunMeta> {
    this.assertAccepting();
    const parent = await this.runs.get(parentId);
    if (parent) {
      const def = (await this.repo.version(parent.workflowId, parent.version))?.definition;
      if (def) this.ensureAgents(def);
    }
    const executionId = randomUUID();
    const { done } = await this.o.debugger.rerunFrom(parentId, taskId, { ...opts, executionId, by: userId });
    const workflowId = parent?.workflowId ?? (await this.o.getExecution(parentId))?.header.workflowId ?? '';
    const meta: RunMeta = {
      executionId,
      workflowId,
      version: parent?.version ?? 1,
      startedBy: userId,
      startedAt: Date.now(),
      interrupted: false,
    };
    this.models.set(executionId, {});
    void this.track(executionId, done, meta);
    await this.runs.pin(meta);
    return meta;
  }

  private track(executionId: string, p: Promise<ExecutionResult>, meta?: RunMeta): Promise<ExecutionResult> {
    const done = p.finally(async () => {
      this.live.delete(executionId);
      const m = this.models.get(executionId);
      this.models.delete(executionId);
      if (m && Object.keys(m).length) {
        if (meta) meta.models = m;
        // The run's own result stands when this write fails: only the models shown per task are lost.
        await this.runs.setModels(executionId, m).catch((err) => this.onError(err, 'recording the models of a run'));
      }
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
    const ids = new Set(await this.runs.interrupted());
    // A process that died without draining leaves its runs `running` (or `interrupted` once their lease expired).
    // Paused and waiting runs keep their status when their process stops: those without a live lease are taken up.
    for (const status of ['running', 'interrupted', 'paused', 'waiting'] as const) {
      const headers = (await this.o.listExecutions({ status })).filter(
        (h) => status === 'running' || status === 'interrupted' || !h.lease,
      );
      const pinned = await this.runs.getMany(headers.map((h) => h.executionId));
      for (const h of headers) if (pinned.has(h.executionId)) ids.add(h.executionId);
    }
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
    await this.runs.setInterrupted(rest, true);
    for (const id of rest) this.o.cancel(id, 'server shutting down');
    await Promise.allSettled([...this.live.values()]);
    return rest;
  }
}
