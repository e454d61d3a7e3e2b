import type { Observable } from 'rxjs';
import { AgentPool } from './agents/pool.js';
import { AgentRegistry } from './agents/registry.js';
import type { AgentDefinition, AgentPoolStats } from './agents/types.js';
import { CollaborationManager } from './collab/manager.js';
import { type OrchestratorConfig, type OrchestratorConfigInput, parseConfig } from './config.js';
import { CodexError, ErrorCodes } from './errors.js';
import { EventBus, type OrchestratorEvent, type OrchestratorEventName, type OrchestratorEvents } from './events.js';
import { checkExecutionInput } from './execution-input.js';
import { LiveRuns } from './live-runs.js';
import { ModelManager } from './models/manager.js';
import { McpManager } from './models/mcp/manager.js';
import { ToolRegistry } from './models/tools/registry.js';
import type { ModelRunner, ToolDefinition } from './models/types.js';
import { ExecutionMonitor } from './monitor/execution-monitor.js';
import type { OrchestratorOptions, PoolState, PreparedWorkflow } from './orchestrator-types.js';
import { BullMQQueue } from './queue/bullmq/bullmq-queue.js';
import type { connect } from './queue/bullmq/connection.js';
import { createTaskQueue } from './queue/create-queue.js';
import type { TaskQueue } from './queue/types.js';
import { createStore } from './store/create-store.js';
import { newOwnerId } from './store/lease.js';
import type { ExecutionHeader, ExecutionQuery, StateStore, TaskTransition } from './store/types.js';
import { monitorCatalog, sharedBudgets, sharedLimiter } from './wiring.js';
import { type ActorOptions, WorkflowDebugger } from './workflow/debug/api.js';
import { Execution } from './workflow/execution.js';
import { DEFAULT_MAX_INPUT_BYTES, readWorkflowFile } from './workflow/load.js';
import { planWorkflow } from './workflow/plan.js';
import { TaskCache } from './workflow/task-cache.js';
import type { ExecuteOptions, ExecutionResult, Plan, WorkflowDefinition } from './workflow/types.js';

export type { OrchestratorOptions, PoolState, PreparedWorkflow } from './orchestrator-types.js';

/**
 * The entry point: wires the pillars together and owns the event bus. Listen with `on(...)` or `events$`.
 */
export class MultiAgentOrchestrator {
  readonly config: OrchestratorConfig;
  readonly bus = new EventBus();
  readonly store: StateStore;
  readonly agents = new AgentRegistry();
  readonly pool: AgentPool;
  readonly models: ModelRunner;
  /** MCP connections (shared by every agent; closed with the orchestrator). */
  readonly mcp: McpManager;
  /** Tools agents can name: those registered here and the MCP servers' (`server/tool`, `server/*`). */
  readonly tools: ToolRegistry;
  /** Where task attempts run (in process, or BullMQ jobs for `codexos worker` processes). */
  readonly queue: TaskQueue;
  /** Profiles, bottlenecks, costs, insights, anomalies, alerts, Prometheus metrics, OTel spans. */
  readonly monitor: ExecutionMonitor;
  /** Breakpoints, step/continue, edits and pins, approvals and signals, re-run from a task (workflow/debug). */
  readonly debugger: WorkflowDebugger;
  private readonly cache = new TaskCache();
  private readonly live: LiveRuns;
  /** The id this process's execution leases carry. */
  readonly owner: string;
  private readonly prepared = new WeakMap<PreparedWorkflow, Plan>();
  private readonly maxInputBytes: number;
  private closed = false;
  private limiterRedis?: ReturnType<typeof connect>;
  private budgetRedis?: ReturnType<typeof connect>;
  private collab?: CollaborationManager;
  private readonly collabOptions?: ConstructorParameters<typeof CollaborationManager>[1];

  constructor(config: OrchestratorConfigInput = {}, options: OrchestratorOptions = {}) {
    this.config = parseConfig(config);
    // Distributed mode keeps state in Redis unless a store type is named: any orchestrator can then resume a run.
    const storeCfg =
      this.config.execution.mode === 'distributed' && !(config as { store?: { type?: string } }).store?.type
        ? { ...this.config.store, type: 'redis' as const }
        : this.config.store;
    this.store = options.store ?? createStore(storeCfg, this.config.redis);
    this.pool = new AgentPool(this.config.agents, this.bus);
    this.queue = options.queue ?? createTaskQueue(this.config, this.bus);
    // Providers come from config or *_API_KEY env vars; with none, agents use the offline `local` model.
    this.mcp = new McpManager(this.config.mcp);
    this.tools = new ToolRegistry(this.mcp);
    this.models =
      options.models ??
      new ModelManager(this.config.models, this.bus, {
        tools: this.tools,
        limiter: sharedLimiter(this.config, (redis) => {
          this.limiterRedis = redis;
        }),
        budgetLedger: sharedBudgets(this.config, (redis) => {
          this.budgetRedis = redis;
        }),
      });
    this.collabOptions = options.collaboration;
    this.monitor = new ExecutionMonitor(this.bus, this.config.monitoring, {
      store: this.store,
      catalog: monitorCatalog(this.models),
      agentCapabilities: (agentId) =>
        this.agents.has(agentId) ? this.agents.get(agentId).model?.capabilities : undefined,
      ...options.monitor,
    });
    this.maxInputBytes = options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES;
    this.owner = options.owner ?? newOwnerId();
    this.live = new LiveRuns({
      store: this.store,
      owner: this.owner,
      leaseMs: this.config.store.leaseMs,
      ended: (id) => this.models.release?.(id),
      beat: (id) => this.debugger.pollSignals(id),
    });
    this.debugger = new WorkflowDebugger({
      store: this.store,
      models: this.models,
      bus: this.bus,
      live: (id) => this.live.get(id),
      resume: (id) => this.resume(id),
      plan: (def) => this.plan(def, true),
      start: (plan, input, opts) => {
        this.assertOpen();
        this.live.assertNotRunning(opts.executionId);
        return this.run(plan, input, opts);
      },
    });
  }

  /**
   * Resumes a task waiting in `ctx.waitFor(name)` (or an approval task named `name`) with `payload`, also for a
   * run stored by a process that has since stopped. Answers false when the waitpoint was already decided.
   */
  signal(executionId: string, name: string, payload?: unknown, actor?: ActorOptions): Promise<boolean> {
    return this.debugger.signal(executionId, name, payload, actor);
  }

  /**
   * Open approvals and waitpoints, oldest first: of the runs in this process and of every stored waiting or
   * paused run (another process's, or one left by a restart).
   */
  waitingApprovals() {
    return this.debugger.waiting(this.live.values());
  }

  /**
   * Live collaborative editing of workflows (sessions, presence, conflict strategies, roles, locks, audit).
   * Created on first use; documents and the audit trail live beside the state store (SQLite) by default.
   */
  get collaboration(): CollaborationManager {
    if (!this.collab) {
      const storePath =
        this.config.store.type === 'sqlite' ? this.config.store.path.replace(/(\.db)?$/, '.collab.db') : ':memory:';
      this.collab = new CollaborationManager(this.config.collaboration, { storePath, ...this.collabOptions });
    }
    return this.collab;
  }

  get events$(): Observable<OrchestratorEvent> {
    return this.bus.events$;
  }

  on<K extends OrchestratorEventName>(event: K, listener: (payload: OrchestratorEvents[K]) => void): this {
    this.bus.on(event, listener as never);
    return this;
  }

  once<K extends OrchestratorEventName>(event: K, listener: (payload: OrchestratorEvents[K]) => void): this {
    this.bus.once(event, listener as never);
    return this;
  }

  off<K extends OrchestratorEventName>(event: K, listener?: (payload: OrchestratorEvents[K]) => void): this {
    this.bus.off(event, listener as never);
    return this;
  }

  registerAgent(agent: AgentDefinition): this {
    this.agents.register(agent);
    this.pool.add(agent);
    this.bus.publish('agent:registered', { agentId: agent.id, timestamp: Date.now() });
    return this;
  }

  /** A tool agents can name in `tools: ['name']`. */
  registerTool(tool: ToolDefinition): this {
    this.tools.register(tool);
    return this;
  }

  agentStats(agentId: string): AgentPoolStats | undefined {
    return this.pool.stats(agentId);
  }

  /**
   * The agent pool for dashboards: in distributed mode the worker processes (health, load) and per-agent
   * instances across them; in process, the local instances of each registered agent.
   */
  poolState(): PoolState {
    if (this.queue instanceof BullMQQueue) {
      const s = this.queue.poolState();
      if (s) return { mode: 'distributed', ...s };
    }
    const agents: AgentPoolStats[] = [];
    for (const a of this.agents.list()) {
      const st = this.pool.stats(a.id);
      if (st) agents.push(st);
    }
    return { mode: 'in-process', at: Date.now(), agents };
  }

  /** Validates a definition (shape, graph, expressions, limits, agents) and returns it normalised. */
  validateWorkflow(definition: unknown, opts: { checkAgents?: boolean } = {}): WorkflowDefinition {
    return this.plan(definition, opts.checkAgents ?? true).def;
  }

  async loadWorkflow(path: string): Promise<WorkflowDefinition> {
    return this.validateWorkflow(await readWorkflowFile(path), { checkAgents: false });
  }

  /**
   * Validates and compiles a definition once; pass the result to `executeWorkflow` as often as you like to skip
   * re-validation (like compiling a graph once and invoking it many times).
   */
  prepareWorkflow(definition: unknown): PreparedWorkflow {
    const plan = this.plan(definition, true);
    const prepared = Object.freeze({ id: plan.def.id, definition: plan.def });
    this.prepared.set(prepared, plan);
    return prepared;
  }

  async executeWorkflow(definition: unknown, options: ExecuteOptions = {}): Promise<ExecutionResult> {
    this.assertOpen();
    const plan = this.prepared.get(definition as PreparedWorkflow) ?? this.plan(definition, true);
    const input = options.input ?? {};
    // The stores write these bytes as they are: the input is encoded once per run.
    const inputBytes = checkExecutionInput(input, this.maxInputBytes);
    this.live.assertNotRunning(options.executionId);
    return this.run(plan, input, {
      executionId: options.executionId,
      signal: options.signal,
      debug: options.debug,
      inputBytes,
    });
  }

  /** Continues a stored execution: tasks with a recorded completion keep their output; the rest run. */
  async resume(executionId: string, options: { signal?: AbortSignal } = {}): Promise<ExecutionResult> {
    this.assertOpen();
    const stored = await this.store.loadExecution(executionId);
    if (!stored)
      throw new CodexError(
        ErrorCodes.EXECUTION_NOT_FOUND,
        `No stored execution "${executionId}" in the ${this.store.kind} store`,
      );
    this.live.assertNotRunning(executionId);
    const plan = this.plan(stored.header.definition, true);
    return this.run(plan, stored.header.input, { signal: options.signal, resumed: stored });
  }

  /** Cancels a running execution; resolves its result with status `cancelled`. */
  cancel(executionId: string, reason = 'cancelled by caller'): boolean {
    return this.live.cancel(executionId, reason);
  }

  getExecution(executionId: string) {
    return this.store.loadExecution(executionId);
  }

  listExecutions(query?: ExecutionQuery): ExecutionHeader[] | Promise<ExecutionHeader[]> {
    return this.store.listExecutions(query);
  }

  history(executionId: string): TaskTransition[] | Promise<TaskTransition[]> {
    return this.store.history(executionId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.live.cancelAll('orchestrator closed');
    this.debugger.close();
    this.pool.close();
    await this.monitor.close();
    await this.collab?.close();
    await (this.models as { close?: () => unknown }).close?.();
    await this.mcp.close();
    await this.queue.close();
    await this.store.close();
    this.limiterRedis?.disconnect();
    this.budgetRedis?.disconnect();
  }

  private plan(definition: unknown, checkAgents: boolean): Plan {
    return planWorkflow(definition, {
      limits: this.config.workflow,
      hasAgent: checkAgents ? (id) => this.agents.has(id) : undefined,
    });
  }

  private async run(
    plan: Plan,
    input: unknown,
    opts: ConstructorParameters<typeof Execution>[3],
  ): Promise<ExecutionResult> {
    const connecting = this.queue.ready();
    if (connecting) await connecting;
    const execOpts = { ...opts, headerWritten: !opts.resumed };
    const ex = new Execution(
      plan,
      {
        bus: this.bus,
        store: this.store,
        agents: this.agents,
        pool: this.pool,
        models: this.models,
        cache: this.cache,
        queue: this.queue,
        limits: this.config.workflow,
      },
      input,
      execOpts,
    );
    return this.live.drive(ex, plan, input, execOpts);
  }

  private assertOpen(): void {
    if (this.closed) throw new CodexError(ErrorCodes.CANCELLED, 'orchestrator is closed');
  }
}
