import { Counter, Gauge, Histogram, type Metric, Registry } from 'prom-client';
import type { OrchestratorEvents } from '../events.js';
import { COMPLETED, type ExecutionRecord, FAILED, type TaskTable } from './execution-record.js';
import type { RunSummary } from './profile-builder.js';
import type { ResourceSample } from './types.js';

// Prometheus export. One Registry per monitor (never prom-client's global one), so several orchestrators in
// a process do not collide. Per-task histograms are pre-aggregated in plain arrays at execution end and
// exposed through a small custom metric: prom-client's own observe() hashes labels on every call.

// Finished runs wait for the next scrape in a backlog that holds their whole task tables (about 2 KB a run): keep
// it small so memory plateaus at a few hundred KB whether or not anyone scrapes; folding is per task either way.
const MAX_PENDING_TASKS = 2048;
const TASK_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];

interface Slot {
  labels: Record<string, string>;
  counts: Float64Array;
  sum: number;
  count: number;
}

/** A histogram whose observations are plain array increments; prom-client only renders it. */
export class AggregatedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly slots = new Map<string, Slot>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelName: string,
    readonly buckets: number[],
    /** Runs before every collection (the monitor folds pending runs in here). */
    private readonly beforeCollect: () => void = () => {},
  ) {}

  slot(labelValue: string): Slot {
    let s = this.slots.get(labelValue);
    if (s === undefined) {
      s = { labels: { [this.labelName]: labelValue }, counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
      this.slots.set(labelValue, s);
    }
    return s;
  }

  observe(s: Slot, v: number): void {
    const b = this.buckets;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]) {
        s.counts[i]++;
        break;
      }
    }
    s.sum += v;
    s.count++;
  }

  reset(): void {
    this.slots.clear();
  }

  get() {
    this.beforeCollect();
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const s of this.slots.values()) {
      let acc = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        acc += s.counts[i];
        values.push({ labels: { ...s.labels, le: this.buckets[i] }, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class MonitorMetrics {
  readonly registry = new Registry();
  private readonly workflows: Counter<'workflow_id' | 'status'>;
  private readonly workflowDuration: Histogram<'workflow_id'>;
  private readonly tasks: Counter<'workflow_id' | 'status'>;
  private readonly retries: Counter<'workflow_id'>;
  private readonly taskDuration: AggregatedHistogram;
  private readonly queueWait: AggregatedHistogram;
  private readonly workflowCost: Counter<'workflow_id'>;
  private readonly modelCalls: Counter<'provider' | 'model' | 'status'>;
  private readonly modelLatency: Histogram<'provider' | 'model'>;
  private readonly modelTokens: Counter<'provider' | 'model' | 'direction'>;
  private readonly modelCost: Counter<'provider' | 'model'>;
  private readonly rateLimited: Counter<'provider'>;
  private readonly rateLimitWait: Counter<'provider'>;
  private readonly insights: Counter<'type'>;
  private readonly alerts: Counter<'metric' | 'kind'>;
  private readonly anomalies: Counter<'metric'>;
  private readonly cpu: Gauge;
  private readonly rss: Gauge;
  private readonly heap: Gauge;
  private readonly loopP99: Gauge;
  private readonly network: Counter<'host' | 'direction'>;
  /** Finished runs whose tasks are not yet in the histograms. */
  private readonly pending: Array<{ workflowId: string; tab: TaskTable }> = [];
  private pendingTasks = 0;

  constructor(runningExecutions: () => number) {
    const r = [this.registry];
    this.workflows = new Counter({
      name: 'codexos_workflow_executions_total',
      help: 'Finished workflow executions',
      labelNames: ['workflow_id', 'status'],
      registers: r,
    });
    this.workflowDuration = new Histogram({
      name: 'codexos_workflow_duration_seconds',
      help: 'Workflow execution makespan',
      labelNames: ['workflow_id'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
      registers: r,
    });
    new Gauge({
      name: 'codexos_workflow_executions_running',
      help: 'Workflow executions in progress',
      registers: r,
      collect() {
        this.set(runningExecutions());
      },
    });
    this.tasks = new Counter({
      name: 'codexos_tasks_total',
      help: 'Finished tasks by final status',
      labelNames: ['workflow_id', 'status'],
      registers: r,
    });
    this.retries = new Counter({
      name: 'codexos_task_retries_total',
      help: 'Task retry attempts',
      labelNames: ['workflow_id'],
      registers: r,
    });
    this.taskDuration = new AggregatedHistogram(
      'codexos_task_duration_seconds',
      'Task run time',
      'workflow_id',
      TASK_BUCKETS,
      () => this.foldPending(),
    );
    this.queueWait = new AggregatedHistogram(
      'codexos_task_queue_wait_seconds',
      'Time tasks waited for an agent',
      'workflow_id',
      TASK_BUCKETS,
      () => this.foldPending(),
    );
    this.registry.registerMetric(this.taskDuration as unknown as Metric);
    this.registry.registerMetric(this.queueWait as unknown as Metric);
    this.workflowCost = new Counter({
      name: 'codexos_workflow_cost_usd_total',
      help: 'Cost of finished executions (USD)',
      labelNames: ['workflow_id'],
      registers: r,
    });
    this.modelCalls = new Counter({
      name: 'codexos_model_calls_total',
      help: 'Model calls',
      labelNames: ['provider', 'model', 'status'],
      registers: r,
    });
    this.modelLatency = new Histogram({
      name: 'codexos_model_latency_seconds',
      help: 'Model call latency',
      labelNames: ['provider', 'model'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: r,
    });
    this.modelTokens = new Counter({
      name: 'codexos_model_tokens_total',
      help: 'Tokens by direction',
      labelNames: ['provider', 'model', 'direction'],
      registers: r,
    });
    this.modelCost = new Counter({
      name: 'codexos_model_cost_usd_total',
      help: 'Model cost (USD)',
      labelNames: ['provider', 'model'],
      registers: r,
    });
    this.rateLimited = new Counter({
      name: 'codexos_model_rate_limited_total',
      help: 'Requests delayed by rate limits',
      labelNames: ['provider'],
      registers: r,
    });
    this.rateLimitWait = new Counter({
      name: 'codexos_model_rate_limit_wait_seconds_total',
      help: 'Time spent waiting for rate limits',
      labelNames: ['provider'],
      registers: r,
    });
    this.insights = new Counter({
      name: 'codexos_insights_total',
      help: 'Recommendations emitted',
      labelNames: ['type'],
      registers: r,
    });
    this.alerts = new Counter({
      name: 'codexos_alerts_total',
      help: 'Alerts emitted',
      labelNames: ['metric', 'kind'],
      registers: r,
    });
    this.anomalies = new Counter({
      name: 'codexos_anomalies_total',
      help: 'Anomalies detected',
      labelNames: ['metric'],
      registers: r,
    });
    this.cpu = new Gauge({
      name: 'codexos_process_cpu_percent',
      help: 'Process CPU over the last sample interval (% of one core)',
      registers: r,
    });
    this.rss = new Gauge({ name: 'codexos_process_resident_memory_bytes', help: 'Resident set size', registers: r });
    this.heap = new Gauge({ name: 'codexos_process_heap_used_bytes', help: 'V8 heap in use', registers: r });
    this.loopP99 = new Gauge({
      name: 'codexos_event_loop_delay_p99_seconds',
      help: 'Event-loop delay p99 over the last interval',
      registers: r,
    });
    this.network = new Counter({
      name: 'codexos_provider_network_bytes_total',
      help: 'Bytes exchanged with model providers',
      labelNames: ['host', 'direction'],
      registers: r,
    });
  }

  /** Tasks waiting in the scrape backlog (bounded by MAX_PENDING_TASKS). */
  get backlogTasks(): number {
    return this.pendingTasks;
  }

  onExecutionEnd(rec: ExecutionRecord, tab: TaskTable, profile: RunSummary): void {
    const wf = rec.workflowId;
    this.workflows.inc({ workflow_id: wf, status: profile.status });
    this.workflowDuration.observe({ workflow_id: wf }, profile.makespanMs / 1000);
    if (profile.completed) this.tasks.inc({ workflow_id: wf, status: 'completed' }, profile.completed);
    if (profile.failed) this.tasks.inc({ workflow_id: wf, status: 'failed' }, profile.failed);
    if (profile.skipped) this.tasks.inc({ workflow_id: wf, status: 'skipped' }, profile.skipped);
    if (profile.retries) this.retries.inc({ workflow_id: wf }, profile.retries);
    if (profile.totals.cost > 0) this.workflowCost.inc({ workflow_id: wf }, profile.totals.cost);
    // Task histograms are only visible when scraped: fold the run's table in then (bounded backlog).
    this.pending.push({ workflowId: wf, tab });
    this.pendingTasks += tab.n;
    if (this.pendingTasks > MAX_PENDING_TASKS) this.foldPending();
  }

  private foldPending(): void {
    for (const { workflowId, tab } of this.pending.splice(0)) this.observeTasks(workflowId, tab);
    this.pendingTasks = 0;
  }

  /** Task run time and queue wait histograms: array increments per finished task. */
  observeTasks(workflowId: string, tab: TaskTable): void {
    const d = this.taskDuration.slot(workflowId);
    const q = this.queueWait.slot(workflowId);
    for (let i = 0; i < tab.n; i++) {
      const st = tab.status[i];
      if (st !== COMPLETED && st !== FAILED) continue;
      this.taskDuration.observe(d, tab.runTime[i] / 1000);
      this.queueWait.observe(q, tab.queueWait[i] / 1000);
    }
  }

  onModelCall(p: OrchestratorEvents['model:call']): void {
    const l = { provider: p.provider, model: p.model };
    this.modelCalls.inc({ ...l, status: p.success ? 'success' : 'error' });
    this.modelLatency.observe(l, p.latencyMs / 1000);
    if (p.usage.inputTokens) this.modelTokens.inc({ ...l, direction: 'input' }, p.usage.inputTokens);
    if (p.usage.outputTokens) this.modelTokens.inc({ ...l, direction: 'output' }, p.usage.outputTokens);
    if (p.cost > 0) this.modelCost.inc(l, p.cost);
  }

  onRateLimited(p: OrchestratorEvents['model:rate-limited']): void {
    this.rateLimited.inc({ provider: p.provider });
    if (p.waitMs > 0) this.rateLimitWait.inc({ provider: p.provider }, p.waitMs / 1000);
  }

  onInsight(type: string): void {
    this.insights.inc({ type });
  }

  onAlert(metric: string, kind: string): void {
    this.alerts.inc({ metric, kind });
  }

  onAnomaly(metric: string): void {
    this.anomalies.inc({ metric });
  }

  onSample(s: ResourceSample): void {
    this.cpu.set(s.cpuPercent);
    this.rss.set(s.rssBytes);
    this.heap.set(s.heapUsedBytes);
    this.loopP99.set(s.eventLoopDelayP99Ms / 1000);
    for (const [host, v] of Object.entries(s.networkByHost)) {
      if (v.in) this.network.inc({ host, direction: 'in' }, v.in);
      if (v.out) this.network.inc({ host, direction: 'out' }, v.out);
    }
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
