import { randomUUID } from 'node:crypto';
import { CodexError, ErrorCodes } from '../../errors.js';
import type { EventBus } from '../../events.js';
import type { ModelRunner } from '../../models/types.js';
import { ownerIsDead } from '../../store/lease.js';
import type { StateStore, StoredExecution } from '../../store/types.js';
import type { Execution } from '../execution.js';
import type { ExecutionOptions } from '../execution-state.js';
import { renderDeep, renderTemplate } from '../template.js';
import type { ExecutionResult, Plan } from '../types.js';
import { DEBUG_KEY, type DebugController } from './controller.js';
import { type RerunOptions, rerunDefinition, rerunSet, reusedTasks } from './rerun.js';
import { SignalChannel } from './signal-channel.js';
import type {
  ApprovalDecision,
  Breakpoint,
  DebugRecord,
  DebugRunState,
  DebugSnapshot,
  SignalRecord,
  TaskInspection,
  TaskOverride,
  WaitingItem,
  WaitRecord,
} from './types.js';
import { checkRole, SIGNAL_PREFIX, WAIT_PREFIX, waitNotFound } from './waitpoints.js';

/** What the debugger needs from the orchestrator. */
export interface DebugDeps {
  store: StateStore;
  models: ModelRunner;
  bus: EventBus;
  live(executionId: string): Execution | undefined;
  /** Resumes a stored run in this process (the run's promise). */
  resume(executionId: string): Promise<ExecutionResult>;
  plan(definition: unknown): Plan;
  start(plan: Plan, input: unknown, opts: ExecutionOptions): Promise<ExecutionResult>;
}

/** Who acts through the debugger (recorded with each change) and with which role (checked by approvals). */
export interface ActorOptions {
  /** Who made the change (recorded with it). */
  by?: string;
  /** The caller's role, checked against an approval's allowed roles. */
  role?: string;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const noop = (): void => {};
/** Statuses of runs that may hold open waitpoints. */
const WAITING_STATUSES = ['waiting', 'paused'] as const;

/**
 * Step-through debugging and durable waitpoints over running executions: `orchestrator.debugger`. A run that is
 * stored but not in this process (a restart) is resumed here first, and keeps its paused state and waitpoints.
 */
export class WorkflowDebugger {
  private readonly background = new Set<Promise<unknown>>();
  private readonly channel: SignalChannel;

  constructor(private readonly d: DebugDeps) {
    this.channel = new SignalChannel(d.store, (id) => this.pollSignals(id));
    // A process listens for other processes' signals once one of its runs waits.
    d.bus.on('task:waiting', () => this.channel.listen());
  }

  /**
   * Applies the signals other processes recorded for a run this process drives (on its lease heartbeat, and at
   * once on a Redis notification). A failed read is retried on the next heartbeat.
   */
  pollSignals(executionId: string): void {
    const dbg = this.d.live(executionId)?.dbg;
    if (dbg) dbg.pollSignals().then(noop, noop);
  }

  /** Stops listening for other processes' signals. */
  close(): void {
    this.channel.close();
  }

  /** The controller of a live run; a stored interrupted run is resumed in this process first. */
  private async controller(executionId: string): Promise<DebugController> {
    const ex = await this.attach(executionId);
    return ex.debugger();
  }

  private async attach(executionId: string): Promise<Execution> {
    const live = this.d.live(executionId);
    if (live) return this.started(live);
    const stored = await this.load(executionId);
    const status = stored.header.status;
    if (TERMINAL.has(status)) throw notRunning(executionId, status);
    // `running` held by another process: that process drives it (resume refuses with EXECUTION_RUNNING).
    const run = this.d.resume(executionId);
    const kept = run.then(noop, noop).finally(() => this.background.delete(kept));
    this.background.add(kept);
    for (let k = 0; k < 1000; k++) {
      const ex = this.d.live(executionId);
      if (ex) return this.started(ex);
      const settled = await Promise.race([
        run.then(
          () => true,
          (e) => Promise.reject(e),
        ),
        tick().then(() => false),
      ]);
      if (settled) break;
    }
    const ex = this.d.live(executionId);
    if (ex) return this.started(ex);
    throw notRunning(executionId, (await this.load(executionId)).header.status);
  }

  /** Waits until the run has read its stored state (its debug records included). */
  private async started(ex: Execution): Promise<Execution> {
    for (let k = 0; k < 1000 && !ex.seeded; k++) await tick();
    return ex;
  }

  private async load(executionId: string): Promise<StoredExecution> {
    const stored = await this.d.store.loadExecution(executionId);
    if (!stored)
      throw new CodexError(ErrorCodes.EXECUTION_NOT_FOUND, `No stored execution "${executionId}"`, {
        issues: [{ message: 'unknown execution' }],
      });
    return stored;
  }

  /** The debug state of a run: live when it runs here, else as stored (a paused run stays paused). */
  async state(executionId: string): Promise<DebugSnapshot> {
    const live = this.d.live(executionId);
    if (live) return (await this.started(live)).debugger().snapshot();
    const stored = await this.load(executionId);
    const rec = stored.tasks.get(DEBUG_KEY)?.output as DebugRecord | undefined;
    return {
      executionId,
      state: TERMINAL.has(stored.header.status)
        ? (stored.header.status as DebugRunState)
        : rec?.paused
          ? 'paused'
          : 'running',
      paused: rec?.paused ?? null,
      breakpoints: rec?.breakpoints ?? [],
      pauseOnFailure: rec?.pauseOnFailure ?? false,
      edits: rec?.edits ?? [],
      pins: Object.keys(rec?.pins ?? {}),
      next: [],
      waiting: storedWaits(stored).filter((w) => !w.decision),
      parent: rec?.parent,
    };
  }

  async setBreakpoints(executionId: string, breakpoints: Breakpoint[], a: ActorOptions = {}): Promise<DebugSnapshot> {
    const c = await this.controller(executionId);
    c.setBreakpoints(breakpoints, a.by);
    return c.snapshot();
  }

  async pause(executionId: string, a: ActorOptions = {}): Promise<DebugSnapshot> {
    const c = await this.controller(executionId);
    c.pause('manual', undefined, undefined, a.by);
    return c.snapshot();
  }

  async step(executionId: string, a: ActorOptions = {}): Promise<DebugSnapshot> {
    const c = await this.controller(executionId);
    c.step(a.by);
    return c.snapshot();
  }

  async continue(executionId: string, a: ActorOptions = {}): Promise<DebugSnapshot> {
    const c = await this.controller(executionId);
    c.continue(a.by);
    return c.snapshot();
  }

  /** Ends a run (paused, waiting or running) as cancelled. */
  async abort(executionId: string, a: ActorOptions = {}): Promise<void> {
    const ex = await this.attach(executionId);
    ex.cancel(`aborted${a.by ? ` by ${a.by}` : ''}`);
  }

  async edit(executionId: string, taskId: string, change: TaskOverride, a: ActorOptions = {}): Promise<DebugSnapshot> {
    const c = await this.controller(executionId);
    c.editTask(taskId, change, a.by);
    return c.snapshot();
  }

  async pin(executionId: string, taskId: string, output: unknown, a: ActorOptions = {}): Promise<DebugSnapshot> {
    const c = await this.controller(executionId);
    c.pin(taskId, output, a.by);
    return c.snapshot();
  }

  /** What a task would run with now: rendered prompt, input, upstream outputs, selected model, estimated cost. */
  async inspect(executionId: string, taskId?: string): Promise<TaskInspection> {
    const ex = await this.attach(executionId);
    const c = ex.debugger();
    const x = ex.internals;
    const id = taskId ?? c.snapshot().next[0] ?? c.record.paused?.taskId;
    const i = id === undefined ? undefined : x.plan.byId.get(id);
    if (i === undefined)
      throw new CodexError(ErrorCodes.DEBUG_INVALID, id ? `unknown task "${id}"` : 'no task is ready to inspect');
    const t = x.plan.tasks[i];
    const scope = x.scope(t);
    const lim = x.svc.limits.expressionLimits;
    const ov = c.override(i);
    let prompt = ov?.prompt ?? (typeof t.prompt === 'string' ? t.prompt : '');
    let input = (t.def.input ?? {}) as Record<string, unknown>;
    try {
      if (ov?.prompt === undefined && typeof t.prompt !== 'string') prompt = renderTemplate(t.prompt, scope, lim);
      if (t.templatedParams) input = renderDeep(t.def.input, scope, lim) as Record<string, unknown>;
    } catch (err) {
      prompt ||= `(cannot render yet: ${(err as Error).message})`;
    }
    if (ov?.input) input = { ...input, ...ov.input };
    const upstream: Record<string, unknown> = {};
    for (const dep of t.deps) upstream[x.plan.tasks[dep].id] = ex.outputs[dep];
    const pinned = Object.hasOwn(c.record.pins, t.id);
    const out: TaskInspection = {
      taskId: t.id,
      agentId: t.def.agentId,
      status: c.snapshot().next.includes(t.id)
        ? 'ready'
        : String(['waiting', 'queued', 'running', 'completed', 'failed', 'skipped'][x.state[i]]),
      prompt,
      input,
      upstream,
      edited: !!ov,
      pinned,
    };
    if (pinned) out.pinnedOutput = c.record.pins[t.id];
    this.estimate(out, ex, t, prompt);
    return out;
  }

  private estimate(out: TaskInspection, ex: Execution, t: Plan['tasks'][number], prompt: string): void {
    const x = ex.internals;
    const agent = x.svc.agents.has(t.def.agentId) ? x.svc.agents.get(t.def.agentId) : undefined;
    const m = this.d.models as { select?: (r: unknown, ref?: unknown) => { model: Model; reason: string } };
    if (!agent || agent.handler || typeof m.select !== 'function') return;
    try {
      const sel = m.select(
        { ...agent.model, ...t.def.model },
        { agentId: agent.id, taskId: t.id, executionId: ex.executionId },
      );
      out.model = { id: sel.model.id, provider: sel.model.provider, reason: sel.reason };
      // About four characters a token; the answer at the task's token cap (or 500).
      const inTok = Math.ceil((prompt.length + ex.upstreamText(t).length + (agent.instructions?.length ?? 0)) / 4);
      const outTok = t.def.model?.maxTokens ?? agent.model?.maxTokens ?? 500;
      out.estimatedCostUsd = (inTok * sel.model.inputPricePerMTok + outTok * sel.model.outputPricePerMTok) / 1e6;
    } catch {
      // No model meets the requirements: the inspection says nothing about a model.
    }
  }

  /**
   * Resumes a waiting task with `payload` (after a restart too). An unknown execution or waitpoint is a typed
   * error and nothing changes; a second signal for the same waitpoint changes nothing and answers false. A run
   * another live process drives gets the signal through the store (`$signal:<name>`): that process applies it.
   */
  async signal(executionId: string, name: string, payload: unknown, a: ActorOptions = {}): Promise<boolean> {
    if (!this.d.live(executionId)) {
      const stored = await this.load(executionId);
      const w = stored.tasks.get(WAIT_PREFIX + name)?.output as WaitRecord | undefined;
      if (!w) throw waitNotFound(executionId, name);
      if (w.decision || stored.tasks.has(SIGNAL_PREFIX + name)) return false;
      if (TERMINAL.has(stored.header.status)) throw notRunning(executionId, stored.header.status);
      checkRole(w, a.role);
      const owner = this.driver(stored);
      if (owner) {
        const rec: SignalRecord = { name, payload, at: Date.now(), by: a.by };
        await this.d.store.appendTransitions([
          { executionId, taskKey: SIGNAL_PREFIX + name, status: 'completed', attempt: 0, at: rec.at, output: rec },
        ]);
        // The driver also reads signals on its heartbeat: a lost notification only delays the decision.
        await this.channel.notify(executionId).catch(noop);
        return true;
      }
    }
    const c = await this.controller(executionId);
    return c.signal(name, payload, a.by, a.role);
  }

  /** The owner of the live lease of a stored run another process drives, or undefined when none does. */
  async drivenBy(executionId: string): Promise<string | undefined> {
    if (this.d.live(executionId)) return undefined;
    return this.driver(await this.load(executionId));
  }

  private driver(stored: StoredExecution): string | undefined {
    const lease = stored.header.lease;
    return lease && lease.expiresAt > Date.now() && !ownerIsDead(lease.owner) ? lease.owner : undefined;
  }

  approve(executionId: string, name: string, a: ActorOptions & { comment?: string } = {}): Promise<boolean> {
    const d: ApprovalDecision = { approved: true, by: a.by, comment: a.comment };
    return this.signal(executionId, name, d, a);
  }

  reject(executionId: string, name: string, a: ActorOptions & { comment?: string } = {}): Promise<boolean> {
    const d: ApprovalDecision = { approved: false, by: a.by, comment: a.comment };
    return this.signal(executionId, name, d, a);
  }

  /**
   * The approvals inbox: open waitpoints of the runs in this process and of every stored `waiting` or `paused`
   * run (driven by another process, or left by one that stopped), oldest first. A waitpoint whose signal is
   * recorded but not yet applied is not listed.
   */
  async waiting(runs: Iterable<Execution>): Promise<WaitingItem[]> {
    const out: WaitingItem[] = [];
    const seen = new Set<string>();
    for (const ex of runs) {
      seen.add(ex.executionId);
      if (!ex.dbg) continue;
      for (const w of ex.dbg.waits.pending())
        out.push({ ...w, executionId: ex.executionId, workflowId: ex.workflowId });
    }
    for (const status of WAITING_STATUSES) {
      for (const h of await this.d.store.listExecutions({ status })) {
        if (seen.has(h.executionId)) continue;
        seen.add(h.executionId);
        const stored = await this.d.store.loadExecution(h.executionId);
        if (!stored) continue;
        for (const w of storedWaits(stored))
          if (!w.decision && !stored.tasks.has(SIGNAL_PREFIX + w.name))
            out.push({ ...w, executionId: h.executionId, workflowId: h.workflowId });
      }
    }
    return out.sort((p, q) => p.since - q.since);
  }

  /**
   * A new execution from a finished one: the chosen task and everything downstream of it run again; every other
   * task's recorded output is reused (none of those run). Linked to its parent.
   */
  async rerunFrom(
    executionId: string,
    taskId: string,
    o: RerunOptions = {},
  ): Promise<{ executionId: string; done: Promise<ExecutionResult> }> {
    const parent = await this.load(executionId);
    if (!TERMINAL.has(parent.header.status) && parent.header.status !== 'interrupted')
      throw notRunning(executionId, parent.header.status, 'finished');
    const plan = this.d.plan(rerunDefinition(parent, taskId, o));
    const from = plan.byId.get(taskId);
    if (from === undefined)
      throw new CodexError(ErrorCodes.DEBUG_INVALID, `unknown task "${taskId}"`, {
        issues: [{ taskId, message: 'unknown task' }],
      });
    const tasks = reusedTasks(parent, plan, rerunSet(plan, from));
    const id = o.executionId ?? randomUUID();
    const opts: ExecutionOptions = {
      executionId: id,
      debug: o.debug,
      reuse: {
        tasks,
        parent: { executionId, fromTaskId: taskId },
        edit: o.input || o.prompt ? { taskId, change: { input: o.input, prompt: o.prompt }, by: o.by } : undefined,
      },
    };
    const done = this.d.start(plan, parent.header.input, opts);
    return { executionId: id, done };
  }
}

type Model = { id: string; provider: string; inputPricePerMTok: number; outputPricePerMTok: number };

const tick = () => new Promise<void>((r) => setImmediate(r));

function storedWaits(stored: StoredExecution): WaitRecord[] {
  const out: WaitRecord[] = [];
  for (const [k, s] of stored.tasks) if (k.startsWith(WAIT_PREFIX) && s.output) out.push(s.output as WaitRecord);
  return out;
}

function notRunning(executionId: string, state: string, want = 'paused'): CodexError {
  const e = new CodexError(ErrorCodes.NOT_PAUSED, `execution "${executionId}" is ${state}, not ${want}`, {
    issues: [{ message: `state: ${state}` }],
  });
  (e as CodexError & { state?: string }).state = state;
  return e;
}
