import { type OrchestratorConfigInput, parseConfig } from '../config.js';
import type { EventBus, OrchestratorEvents } from '../events.js';
import { AnomalyDetector } from './anomaly-detector.js';
import { CostLedger } from './cost-ledger.js';
import { deriveProfile } from './derive-profile.js';
import type { ErrorPattern } from './error-patterns.js';
import * as R from './execution-record.js';
import { ModelStats } from './model-stats.js';
import { PredictiveAlerts } from './predictive-alerts.js';
import { buildProfile, type RunSummary, summarise } from './profile-builder.js';
import { MonitorMetrics } from './prometheus.js';
import { detectBatching } from './recommendations/batching.js';
import { bottleneckInsights } from './recommendations/bottleneck-insights.js';
import { detectCaching } from './recommendations/caching.js';
import { detectModelOptimization } from './recommendations/model-optimization.js';
import { detectParallelization } from './recommendations/parallelization.js';
import type { InsightDraft } from './recommendations/types.js';
import { reportJson } from './report.js';
import { ProcessResourceSource, ResourceSampler } from './resource-sampler.js';
import { DEFAULT_DETECTOR_SETTINGS } from './settings.js';
import { SqliteHistoryStore } from './sqlite-history-store.js';
import { exportSpans } from './tracing.js';
import type {
  Alert,
  Anomaly,
  CostBreakdown,
  CostQuery,
  DetectorSettings,
  ExecutionProfile,
  Insight,
  MonitorHistoryStore,
  MonitoringConfig,
  MonitorOptions,
  MonitorReport,
  ResourceSample,
} from './types.js';

type E = OrchestratorEvents;
export type MonitoringConfigInput = NonNullable<OrchestratorConfigInput['monitoring']>;

const RECENT = 500;

/**
 * Watches one orchestrator's event bus. Per-event handlers only update aggregates (O(1), allocation-light);
 * profiles, critical paths, insights, anomalies and spans are computed once per execution, just after it ends
 * (off the engine's completion path, on the next macrotask).
 *
 * `enableProfiling`: profiles, bottlenecks and insights. `enableMetrics`: Prometheus registry and resource
 * sampling. `enableTracing`: OpenTelemetry spans. Alerts and anomalies run whenever the monitor is active.
 */
export class ExecutionMonitor {
  readonly config: MonitoringConfig;
  readonly settings: DetectorSettings;
  private readonly running = new Map<string, R.ExecutionRecord>();
  private readonly pending = new Map<string, Promise<void>>();
  /** Finished runs kept in memory; full profiles are built from them on demand. */
  private readonly recent = new Map<string, FinishedRun>();
  private recentTasks = 0;
  private readonly maxRecent: number;
  private readonly maxRecentTasks: number;
  /** Durable history (SQLite or custom): full profiles are written at run end only when one is configured. */
  private readonly history: MonitorHistoryStore | undefined;
  private readonly ownsHistory: boolean;
  private readonly ledger = new CostLedger();
  private readonly modelStats = new ModelStats();
  private readonly reportedModelSwaps = new Set<string>();
  private readonly anomaly: AnomalyDetector;
  private readonly alerting: PredictiveAlerts;
  private readonly prom: MonitorMetrics | undefined;
  private readonly sampler: ResourceSampler;
  private processSource: ProcessResourceSource | undefined;
  private readonly recentInsights: Insight[] = [];
  private readonly recentAlerts: Alert[] = [];
  private readonly recentAnomalies: Anomaly[] = [];
  // Task outcomes for the failure rate: a ring of 0/1 with a running sum.
  private readonly outcomes: Uint8Array;
  private outcomeIdx = 0;
  private outcomeCount = 0;
  private outcomeSum = 0;
  private outcomesSinceCheck = 0;
  private activeSinceTick = false;
  private readonly unsubscribe: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly bus: EventBus,
    config: MonitoringConfigInput | MonitoringConfig = {},
    private readonly options: MonitorOptions = {},
  ) {
    this.config = parseConfig({ monitoring: config }).monitoring;
    this.settings = { ...DEFAULT_DETECTOR_SETTINGS, ...options.detectors };
    this.history = options.history ?? (options.historyPath ? new SqliteHistoryStore(options.historyPath) : undefined);
    this.ownsHistory = options.history === undefined && this.history !== undefined;
    this.maxRecent = options.maxProfiles ?? 200;
    this.maxRecentTasks = options.maxProfileTasks ?? 50_000;
    this.outcomes = new Uint8Array(this.settings.failureRateWindow);
    this.anomaly = new AnomalyDetector(this.settings, (a) => this.publishAnomaly(a));
    this.alerting = new PredictiveAlerts(this.config.alertThresholds, this.settings, (a) => this.publishAlert(a));
    this.prom = this.config.enableMetrics ? new MonitorMetrics(() => this.running.size) : undefined;
    this.sampler = new ResourceSampler(
      options.resourceSource ?? (() => this.processReadings().read()),
      (s) => this.onSample(s),
      options.sampleIntervalMs ?? 1000,
    );
    // All three switches off means monitoring is off: no listeners, so the engine skips building payloads.
    if (this.config.enableMetrics || this.config.enableProfiling || this.config.enableTracing) this.subscribe();
  }

  // ---- subscriptions -------------------------------------------------------------------------------------

  private on<K extends keyof E>(type: K, fn: (p: E[K]) => void): void {
    (this.bus.on as (t: string, f: (p: unknown) => void) => unknown)(type, fn as (p: unknown) => void);
    this.unsubscribe.push(() =>
      (this.bus.off as (t: string, f: (p: unknown) => void) => unknown)(type, fn as (p: unknown) => void),
    );
  }

  private subscribe(): void {
    this.on('workflow:started', (p) => {
      const tasks = p.tasks as R.DagTask[];
      this.running.set(p.executionId, new R.ExecutionRecord(p.executionId, p.workflowId, p.timestamp, tasks ?? []));
      this.activeSinceTick = true;
      if (this.config.enableMetrics || this.config.enableProfiling) this.sampler.start();
    });
    this.on('task:started', (p) => {
      const rec = this.running.get(p.executionId);
      if (rec !== undefined) R.onStarted(rec, p);
    });
    this.on('task:completed', (p) => {
      this.outcome(0);
      const rec = this.running.get(p.executionId);
      if (rec === undefined) return;
      R.onCompleted(rec, p);
      // Work priced by the task itself (no model call seen) still belongs in the cost ledger.
      if (p.cost !== undefined && p.cost > 0 && rec.task(p).modelCalls === 0) {
        this.ledger.add({
          timestamp: p.timestamp,
          executionId: p.executionId,
          workflowId: p.workflowId,
          taskId: p.taskId,
          agentId: p.agentId,
          model: p.model ?? '(task)',
          cost: p.cost,
          inputTokens: p.usage?.inputTokens ?? 0,
          outputTokens: p.usage?.outputTokens ?? 0,
        });
      }
    });
    this.on('task:failed', (p) => {
      this.outcome(1);
      this.anomaly.onError(p.error, p.timestamp, p.executionId, p.taskId);
      const rec = this.running.get(p.executionId);
      if (rec !== undefined) R.onFailed(rec, p);
    });
    this.on('task:retrying', (p) => {
      this.anomaly.onError(p.error, p.timestamp, p.executionId, p.taskId);
      const rec = this.running.get(p.executionId);
      if (rec !== undefined) R.onRetrying(rec, p);
    });
    this.on('task:skipped', (p) => {
      const rec = this.running.get(p.executionId);
      if (rec !== undefined) R.onSkipped(rec, p);
    });
    this.on('model:call', (p) => this.onModelCall(p));
    this.on('model:rate-limited', (p) => {
      this.prom?.onRateLimited(p);
      for (const rec of this.running.values()) {
        const rl = rec.rateLimits.get(p.provider) ?? { count: 0, waitMs: 0 };
        rl.count++;
        rl.waitMs += p.waitMs;
        rec.rateLimits.set(p.provider, rl);
      }
    });
    this.on('workflow:completed', (p) => this.finish(p, 'completed'));
    this.on('workflow:failed', (p) => this.finish(p, 'failed'));
    this.on('workflow:cancelled', (p) => this.finish(p, 'cancelled'));
  }

  private outcome(failed: 0 | 1): void {
    const n = this.outcomes.length;
    if (this.outcomeCount === n) this.outcomeSum -= this.outcomes[this.outcomeIdx];
    else this.outcomeCount++;
    this.outcomes[this.outcomeIdx] = failed;
    this.outcomeSum += failed;
    this.outcomeIdx = (this.outcomeIdx + 1) % n;
    this.outcomesSinceCheck++;
  }

  private onModelCall(p: E['model:call']): void {
    const rec = p.executionId === undefined ? undefined : this.running.get(p.executionId);
    if (rec !== undefined) R.onModelCall(rec, p);
    this.ledger.add({
      timestamp: p.timestamp,
      executionId: p.executionId,
      workflowId: rec?.workflowId,
      taskId: p.taskId,
      agentId: p.agentId,
      model: p.model,
      cost: p.cost,
      inputTokens: p.usage.inputTokens,
      outputTokens: p.usage.outputTokens,
    });
    this.modelStats.record(p);
    this.prom?.onModelCall(p);
    this.anomaly.onModelCall(p.model, p.latencyMs, p.success, p.timestamp);
    if (!p.success && p.error) this.anomaly.onError(p.error, p.timestamp, p.executionId, p.taskId);
  }

  private finish(
    p: E['workflow:completed'] | E['workflow:failed'] | E['workflow:cancelled'],
    status: 'completed' | 'failed' | 'cancelled',
  ): void {
    const rec = this.running.get(p.executionId);
    if (rec === undefined) return;
    this.running.delete(p.executionId);
    rec.status = status;
    rec.finishedAt = p.timestamp;
    rec.reportedDuration = p.duration;
    // Analysis runs on the next macrotask: the engine's completion (and its caller) are not held up by it.
    const job = new Promise<void>((resolve) => {
      setImmediate(() => {
        try {
          this.analyse(rec);
        } catch (err) {
          process.emitWarning(
            `monitor analysis of ${rec.executionId} failed: ${(err as Error).message}`,
            'CodexOSMonitorWarning',
          );
        } finally {
          this.pending.delete(rec.executionId);
          resolve();
        }
      });
    });
    this.pending.set(rec.executionId, job);
  }

  // ---- end-of-execution analysis -------------------------------------------------------------------------

  private analyse(rec: R.ExecutionRecord): void {
    if (this.closed) return;
    const at = rec.finishedAt;
    R.settleTaskUsage(rec);
    const sum = summarise(rec, this.settings);
    this.prom?.onExecutionEnd(rec, sum);
    if (sum.status !== 'cancelled') this.alerting.observe('executionDuration', at, sum.makespanMs, rec.workflowId);
    this.anomaly.onExecutionEnd(rec, sum, at);
    this.checkFailureRate(at);

    const insights: Insight[] = [];
    if (this.config.enableProfiling) {
      const drafts: InsightDraft[] = [
        ...bottleneckInsights(sum.bottlenecks),
        ...detectParallelization(rec, this.settings),
        ...detectCaching(rec, this.modelStats, this.settings),
        ...detectModelOptimization(rec, this.settings, {
          stats: this.modelStats,
          catalog: this.options.catalog,
          agentCapabilities: this.options.agentCapabilities,
          reported: this.reportedModelSwaps,
        }),
        ...detectBatching(rec, this.settings),
      ];
      for (const d of drafts) {
        const insight: Insight = { ...d, executionId: rec.executionId, workflowId: rec.workflowId, timestamp: at };
        insights.push(insight);
        pushBounded(this.recentInsights, insight);
        this.prom?.onInsight(insight.type);
        this.bus.publish('insight', insight);
      }
    }
    if (this.config.enableTracing) exportSpans(rec, this.options.tracerProvider, at);
    if (!this.config.enableProfiling) return;
    const run: FinishedRun = { rec, sum, insights };
    this.remember(run);
    if (this.history !== undefined) {
      try {
        const entry = {
          profile: this.profileOf(run),
          insights,
          costs: this.ledger.breakdown({ executionId: rec.executionId }),
        };
        void Promise.resolve(this.history.save(entry)).catch((err) => this.warnStore(err));
      } catch (err) {
        this.warnStore(err);
      }
    }
  }

  private remember(run: FinishedRun): void {
    this.recent.set(run.rec.executionId, run);
    this.recentTasks += run.rec.tasks.size;
    while (this.recent.size > this.maxRecent || (this.recentTasks > this.maxRecentTasks && this.recent.size > 1)) {
      const [id, old] = this.recent.entries().next().value as [string, FinishedRun];
      this.recent.delete(id);
      this.recentTasks -= old.rec.tasks.size;
    }
  }

  private profileOf(run: FinishedRun): ExecutionProfile {
    run.profile ??= buildProfile(run.rec, this.settings, 'events', run.sum);
    return run.profile;
  }

  private warnStore(err: unknown): void {
    process.emitWarning(
      `monitor history write failed: ${(err as Error)?.message ?? String(err)}`,
      'CodexOSMonitorWarning',
    );
  }

  private checkFailureRate(at: number): void {
    if (this.outcomesSinceCheck === 0 || this.outcomeCount < this.settings.failureRateMinTasks) return;
    this.outcomesSinceCheck = 0;
    this.alerting.observe('taskFailureRate', at, (this.outcomeSum / this.outcomeCount) * 100);
  }

  // ---- resources -----------------------------------------------------------------------------------------

  private processReadings(): ProcessResourceSource {
    this.processSource ??= new ProcessResourceSource();
    return this.processSource;
  }

  private onSample(s: ResourceSample): void {
    this.prom?.onSample(s);
    this.anomaly.onSample(s);
    this.alerting.observe('memoryUsage', s.timestamp, s.rssBytes);
    this.alerting.observe('cpuUsage', s.timestamp, s.cpuPercent);
    this.checkFailureRate(s.timestamp);
    const n = this.running.size;
    const now = Date.now();
    for (const rec of this.running.values()) {
      const r = rec.resources;
      r.samples++;
      r.cpuSum += s.cpuPercent;
      if (s.cpuPercent > r.cpuPeak) r.cpuPeak = s.cpuPercent;
      if (s.rssBytes > r.rssPeak) r.rssPeak = s.rssBytes;
      if (s.heapUsedBytes > r.heapPeak) r.heapPeak = s.heapUsedBytes;
      if (s.eventLoopDelayP99Ms > r.loopP99) r.loopP99 = s.eventLoopDelayP99Ms;
      r.netIn += s.networkBytesIn / n;
      r.netOut += s.networkBytesOut / n;
      rec.durationAlerted = this.alerting.elapsed(
        rec.executionId,
        s.timestamp,
        now - rec.startedAt,
        rec.durationAlerted,
      ).level;
    }
    // Sample only while work runs: stop after a full idle interval.
    if (n === 0 && !this.activeSinceTick) this.sampler.stop();
    this.activeSinceTick = false;
  }

  private publishAlert(a: Alert): void {
    pushBounded(this.recentAlerts, a);
    this.prom?.onAlert(a.metric, a.kind);
    this.bus.publish('alert', a);
  }

  private publishAnomaly(a: Anomaly): void {
    pushBounded(this.recentAnomalies, a);
    this.prom?.onAnomaly(a.metric);
    this.bus.publish('anomaly', a);
  }

  // ---- public API ----------------------------------------------------------------------------------------

  /** Waits for every finished execution's analysis to complete. */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending.values()]);
  }

  /**
   * The profile of an execution: live (status `running`) while it runs, then the stored one; for executions no
   * longer held, derived from the StateStore's history when a store was given.
   */
  async profile(executionId: string): Promise<ExecutionProfile | undefined> {
    await this.pending.get(executionId);
    const live = this.running.get(executionId);
    if (live !== undefined) return buildProfile(live, this.settings);
    const run = this.recent.get(executionId);
    if (run !== undefined) return this.profileOf(run);
    const stored = await this.history?.load(executionId);
    if (stored !== undefined) return stored.profile;
    if (this.options.store === undefined) return undefined;
    return deriveProfile(this.options.store, executionId, this.settings);
  }

  /** Profile, insights and costs of one execution: the data behind `codexos report`. */
  async report(executionId: string): Promise<MonitorReport | undefined> {
    await this.pending.get(executionId);
    const run = this.recent.get(executionId);
    if (run !== undefined) return reportJson(this.profileOf(run), run.insights, this.costs({ executionId }));
    const stored = this.running.has(executionId) ? undefined : await this.history?.load(executionId);
    if (stored !== undefined) return reportJson(stored.profile, stored.insights, stored.costs);
    const profile = await this.profile(executionId);
    if (profile === undefined) return undefined;
    return reportJson(profile, this.insights({ executionId }), this.costs({ executionId }));
  }

  /** Recent profiles (most recent first). */
  async profiles(query: { workflowId?: string; limit?: number } = {}): Promise<ExecutionProfile[]> {
    const limit = query.limit ?? 100;
    const out: ExecutionProfile[] = [];
    for (const run of [...this.recent.values()].reverse()) {
      if (out.length >= limit) return out;
      if (query.workflowId === undefined || run.rec.workflowId === query.workflowId) out.push(this.profileOf(run));
    }
    if (this.history === undefined) return out;
    const seen = new Set(out.map((p) => p.executionId));
    for (const p of await this.history.list({ ...query, limit })) {
      if (out.length >= limit) break;
      if (!seen.has(p.executionId)) out.push(p);
    }
    return out;
  }

  insights(query: { executionId?: string; workflowId?: string } = {}): Insight[] {
    return this.recentInsights.filter(
      (i) =>
        (query.executionId === undefined || i.executionId === query.executionId) &&
        (query.workflowId === undefined || i.workflowId === query.workflowId),
    );
  }

  alerts(): Alert[] {
    return this.recentAlerts.slice();
  }

  anomalies(): Anomaly[] {
    return this.recentAnomalies.slice();
  }

  errorPatterns(): ErrorPattern[] {
    return this.anomaly.errors.list();
  }

  /** Cost by model, task, agent and workflow over a time range (and/or one execution or workflow). */
  costs(query: CostQuery = {}): CostBreakdown {
    return this.ledger.breakdown(query);
  }

  /** Prometheus text exposition (empty when `enableMetrics` is off). */
  async metrics(): Promise<string> {
    return this.prom ? this.prom.text() : '';
  }

  get metricsContentType(): string {
    return this.prom?.contentType ?? 'text/plain; version=0.0.4; charset=utf-8';
  }

  /** The per-monitor prom-client Registry, e.g. to merge with an application's own. */
  get registry() {
    return this.prom?.registry;
  }

  resources(): { latest?: ResourceSample; recent: ResourceSample[] } {
    return { latest: this.sampler.latest(), recent: this.sampler.recent() };
  }

  /** Takes one resource sample now (the timer does this every `sampleIntervalMs` while work runs). */
  sampleNow(): ResourceSample {
    return this.sampler.sampleNow();
  }

  get runningExecutions(): number {
    return this.running.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const off of this.unsubscribe.splice(0)) off();
    await this.idle();
    this.closed = true;
    this.sampler.stop();
    this.processSource?.close();
    if (this.ownsHistory) await this.history?.close();
  }
}

interface FinishedRun {
  rec: R.ExecutionRecord;
  sum: RunSummary;
  insights: Insight[];
  profile?: ExecutionProfile;
}

function pushBounded<T>(arr: T[], v: T): void {
  arr.push(v);
  if (arr.length > RECENT) arr.splice(0, arr.length - RECENT);
}
