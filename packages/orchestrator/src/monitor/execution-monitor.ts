import { type OrchestratorConfigInput, parseConfig } from '../config.js';
import type { EventBus } from '../events.js';
import { AnomalyDetector } from './anomaly-detector.js';
import { CostLedger } from './cost-ledger.js';
import { deriveProfile } from './derive-profile.js';
import type { ErrorPattern } from './error-patterns.js';
import { EventIntake } from './event-intake.js';
import { FailureRate } from './failure-rate.js';
import { ModelStats } from './model-stats.js';
import { PredictiveAlerts } from './predictive-alerts.js';
import { buildProfile } from './profile-builder.js';
import { MonitorMetrics } from './prometheus.js';
import { reportJson } from './report.js';
import { ProcessResourceSource, ResourceSampler } from './resource-sampler.js';
import { RunAnalysis } from './run-analysis.js';
import { DEFAULT_DETECTOR_SETTINGS } from './settings.js';
import { SqliteHistoryStore } from './sqlite-history-store.js';
import { pushBounded } from './stats.js';
import type * as T from './types.js';

/** The `monitoring` config section as a user writes it (every field optional). */
export type MonitoringConfigInput = NonNullable<OrchestratorConfigInput['monitoring']>;

/**
 * Watches one orchestrator's event bus. It takes a run in from `workflow:started` (the DAG) and the final
 * ExecutionResult on `workflow:completed|failed|cancelled`, plus model-level events; it does not listen to
 * per-task events unless `liveTasks` is set, so the engine builds no per-task payload for it. Critical paths,
 * insights, anomalies, metrics and spans are computed once per execution, just after it ends (off the engine's
 * completion path, on the next macrotask); the full profile object only when asked for.
 *
 * `enableProfiling`: profiles, bottlenecks and insights. `enableMetrics`: Prometheus registry and resource
 * sampling. `enableTracing`: OpenTelemetry spans. Alerts and anomalies run whenever the monitor is active.
 */
export class ExecutionMonitor {
  readonly config: T.MonitoringConfig;
  readonly settings: T.DetectorSettings;
  private readonly intake: EventIntake;
  private readonly analysis: RunAnalysis;
  private readonly history: T.MonitorHistoryStore | undefined;
  private readonly ownsHistory: boolean;
  private readonly ledger = new CostLedger();
  private readonly anomaly: AnomalyDetector;
  private readonly alerting: PredictiveAlerts;
  private readonly failures: FailureRate;
  private readonly prom: MonitorMetrics | undefined;
  private readonly sampler: ResourceSampler;
  private processSource: ProcessResourceSource | undefined;
  private readonly recentAlerts: T.Alert[] = [];
  private readonly recentAnomalies: T.Anomaly[] = [];
  private activeSinceTick = false;
  private closed = false;

  constructor(
    private readonly bus: EventBus,
    config: MonitoringConfigInput | T.MonitoringConfig = {},
    private readonly options: T.MonitorOptions = {},
  ) {
    this.config = parseConfig({ monitoring: config }).monitoring;
    const settings = { ...DEFAULT_DETECTOR_SETTINGS, ...options.detectors };
    this.settings = settings;
    this.history = options.history ?? (options.historyPath ? new SqliteHistoryStore(options.historyPath) : undefined);
    this.ownsHistory = options.history === undefined && this.history !== undefined;
    this.anomaly = new AnomalyDetector(settings, (a) => this.publishAnomaly(a));
    this.alerting = new PredictiveAlerts(this.config.alertThresholds, settings, (a) => this.publishAlert(a));
    this.failures = new FailureRate(settings.failureRateWindow, settings.failureRateMinTasks, (at, pct) =>
      this.alerting.observe('taskFailureRate', at, pct),
    );
    this.prom = this.config.enableMetrics ? new MonitorMetrics(() => this.intake.running.size) : undefined;
    this.sampler = new ResourceSampler(
      options.resourceSource ?? (() => this.processReadings().read()),
      (s) => this.onSample(s),
      options.sampleIntervalMs ?? 1000,
    );
    const modelStats = new ModelStats();
    const shared = { bus, ledger: this.ledger, modelStats, anomaly: this.anomaly };
    this.analysis = new RunAnalysis({
      ...shared,
      failures: this.failures,
      config: this.config,
      settings,
      options,
      alerting: this.alerting,
      prom: this.prom,
      history: this.history,
      isClosed: () => this.closed,
    });
    this.intake = new EventIntake({
      ...shared,
      prom: this.prom,
      liveTasks: options.liveTasks ?? false,
      onWorkflowStarted: () => {
        this.activeSinceTick = true;
        if (this.config.enableMetrics || this.config.enableProfiling) this.sampler.start();
      },
      analyse: (rec) => this.analysis.analyse(rec),
    });
    // All three switches off means monitoring is off: no listeners, so the engine skips building payloads.
    if (this.config.enableMetrics || this.config.enableProfiling || this.config.enableTracing) this.intake.subscribe();
  }

  // ---- resources, alerts, anomalies ----------------------------------------------------------------------

  private processReadings(): ProcessResourceSource {
    this.processSource ??= new ProcessResourceSource();
    return this.processSource;
  }

  private onSample(s: T.ResourceSample): void {
    this.prom?.onSample(s);
    this.anomaly.onSample(s);
    this.alerting.observe('memoryUsage', s.timestamp, s.rssBytes);
    this.alerting.observe('cpuUsage', s.timestamp, s.cpuPercent);
    this.failures.check(s.timestamp);
    const running = this.intake.running;
    const n = running.size;
    const now = Date.now();
    for (const rec of running.values()) {
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

  private publishAlert(a: T.Alert): void {
    pushBounded(this.recentAlerts, a);
    this.prom?.onAlert(a.metric, a.kind);
    this.bus.publish('alert', a);
  }

  private publishAnomaly(a: T.Anomaly): void {
    pushBounded(this.recentAnomalies, a);
    this.prom?.onAnomaly(a.metric);
    this.bus.publish('anomaly', a);
  }

  // ---- public API ----------------------------------------------------------------------------------------

  /** Waits for every finished execution's analysis to complete. */
  async idle(): Promise<void> {
    await this.intake.idle();
  }

  /**
   * The profile of an execution: live (status `running`; per-task rows only with `liveTasks`) while it runs,
   * then the stored one; for executions no
   * longer held, derived from the StateStore's history when a store was given.
   */
  async profile(executionId: string): Promise<T.ExecutionProfile | undefined> {
    await this.intake.pending.get(executionId);
    const live = this.intake.running.get(executionId);
    if (live !== undefined) return buildProfile(live, this.analysis.tableOf(live), this.settings);
    const run = this.analysis.run(executionId);
    if (run !== undefined) return this.analysis.profileOf(run);
    const stored = await this.history?.load(executionId);
    if (stored !== undefined) return stored.profile;
    if (this.options.store === undefined) return undefined;
    return deriveProfile(this.options.store, executionId, this.settings);
  }

  /** Profile, insights and costs of one execution: the data behind `codexos report`. */
  async report(executionId: string): Promise<T.MonitorReport | undefined> {
    await this.intake.pending.get(executionId);
    const run = this.analysis.run(executionId);
    if (run !== undefined) return reportJson(this.analysis.profileOf(run), run.insights, this.costs({ executionId }));
    const stored = this.intake.running.has(executionId) ? undefined : await this.history?.load(executionId);
    if (stored !== undefined) return reportJson(stored.profile, stored.insights, stored.costs);
    const profile = await this.profile(executionId);
    if (profile === undefined) return undefined;
    return reportJson(profile, this.insights({ executionId }), this.costs({ executionId }));
  }

  /** Recent profiles (most recent first). */
  async profiles(query: { workflowId?: string; limit?: number } = {}): Promise<T.ExecutionProfile[]> {
    const limit = query.limit ?? 100;
    const out: T.ExecutionProfile[] = [];
    for (const run of this.analysis.newestFirst()) {
      if (out.length >= limit) return out;
      if (query.workflowId === undefined || run.rec.workflowId === query.workflowId) {
        out.push(this.analysis.profileOf(run));
      }
    }
    if (this.history === undefined) return out;
    const seen = new Set(out.map((p) => p.executionId));
    for (const p of await this.history.list({ ...query, limit })) {
      if (out.length >= limit) break;
      if (!seen.has(p.executionId)) out.push(p);
    }
    return out;
  }

  insights(query: { executionId?: string; workflowId?: string } = {}): T.Insight[] {
    return this.analysis.insights(query);
  }

  alerts(): T.Alert[] {
    return this.recentAlerts.slice();
  }

  anomalies(): T.Anomaly[] {
    return this.recentAnomalies.slice();
  }

  errorPatterns(): ErrorPattern[] {
    return this.anomaly.errors.list();
  }

  /** Cost by model, task, agent and workflow over a time range (and/or one execution or workflow). */
  costs(query: T.CostQuery = {}): T.CostBreakdown {
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

  resources(): { latest?: T.ResourceSample; recent: T.ResourceSample[] } {
    return { latest: this.sampler.latest(), recent: this.sampler.recent() };
  }

  /** Takes one resource sample now (the timer does this every `sampleIntervalMs` while work runs). */
  sampleNow(): T.ResourceSample {
    return this.sampler.sampleNow();
  }

  get runningExecutions(): number {
    return this.intake.running.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.intake.stop();
    await this.idle();
    this.closed = true;
    this.sampler.stop();
    this.processSource?.close();
    if (this.ownsHistory) await this.history?.close();
  }
}
