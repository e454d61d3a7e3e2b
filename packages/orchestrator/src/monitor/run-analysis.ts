import type { EventBus } from '../events.js';
import type { AnomalyDetector } from './anomaly-detector.js';
import type { CostLedger } from './cost-ledger.js';
import * as R from './execution-record.js';
import type { FailureRate } from './failure-rate.js';
import type { ModelStats } from './model-stats.js';
import type { PredictiveAlerts } from './predictive-alerts.js';
import { buildProfile, type RunSummary, summarise } from './profile-builder.js';
import type { MonitorMetrics } from './prometheus.js';
import { detectBatching } from './recommendations/batching.js';
import { bottleneckInsights } from './recommendations/bottleneck-insights.js';
import { detectCaching } from './recommendations/caching.js';
import { detectModelOptimization } from './recommendations/model-optimization.js';
import { detectParallelization } from './recommendations/parallelization.js';
import type { InsightDraft } from './recommendations/types.js';
import { pushBounded } from './stats.js';
import { exportSpans } from './tracing.js';
import type {
  DetectorSettings,
  ExecutionProfile,
  Insight,
  MonitorHistoryStore,
  MonitoringConfig,
  MonitorOptions,
} from './types.js';

/** A finished run kept in memory; its full profile is built on first demand. */
export interface FinishedRun {
  rec: R.ExecutionRecord;
  sum: RunSummary;
  insights: Insight[];
  profile?: ExecutionProfile;
}

export interface RunAnalysisDeps {
  bus: EventBus;
  config: MonitoringConfig;
  settings: DetectorSettings;
  options: MonitorOptions;
  ledger: CostLedger;
  modelStats: ModelStats;
  anomaly: AnomalyDetector;
  alerting: PredictiveAlerts;
  failures: FailureRate;
  prom: MonitorMetrics | undefined;
  /** Durable history (SQLite or custom): full profiles are written at run end only when one is configured. */
  history: MonitorHistoryStore | undefined;
  isClosed(): boolean;
}

/**
 * End-of-execution analysis, once per run: summary, metrics, alerts and anomalies, insights, spans; then the
 * run is kept (bounded by runs and by tasks) and written to the history store when there is one.
 */
export class RunAnalysis {
  private readonly recent = new Map<string, FinishedRun>();
  private recentTasks = 0;
  private readonly maxRecent: number;
  private readonly maxRecentTasks: number;
  private readonly reportedModelSwaps = new Set<string>();
  private readonly recentInsights: Insight[] = [];

  constructor(private readonly d: RunAnalysisDeps) {
    this.maxRecent = d.options.maxProfiles ?? 200;
    this.maxRecentTasks = d.options.maxProfileTasks ?? 50_000;
  }

  analyse(rec: R.ExecutionRecord): void {
    const { config, settings, options, prom } = this.d;
    if (this.d.isClosed()) return;
    const at = rec.finishedAt;
    R.settleTaskUsage(rec);
    const sum = summarise(rec, settings);
    prom?.onExecutionEnd(rec, sum);
    if (sum.status !== 'cancelled') this.d.alerting.observe('executionDuration', at, sum.makespanMs, rec.workflowId);
    this.d.anomaly.onExecutionEnd(rec, sum, at);
    this.d.failures.check(at);

    const insights: Insight[] = [];
    if (config.enableProfiling) {
      const drafts: InsightDraft[] = [
        ...bottleneckInsights(sum.bottlenecks),
        ...detectParallelization(rec, settings),
        ...detectCaching(rec, this.d.modelStats, settings),
        ...detectModelOptimization(rec, settings, {
          stats: this.d.modelStats,
          catalog: options.catalog,
          agentCapabilities: options.agentCapabilities,
          reported: this.reportedModelSwaps,
        }),
        ...detectBatching(rec, settings),
      ];
      for (const draft of drafts) {
        const insight: Insight = { ...draft, executionId: rec.executionId, workflowId: rec.workflowId, timestamp: at };
        insights.push(insight);
        pushBounded(this.recentInsights, insight);
        prom?.onInsight(insight.type);
        this.d.bus.publish('insight', insight);
      }
    }
    if (config.enableTracing) exportSpans(rec, options.tracerProvider, at);
    if (!config.enableProfiling) return;
    const run: FinishedRun = { rec, sum, insights };
    this.remember(run);
    const history = this.d.history;
    if (history !== undefined) {
      try {
        const entry = {
          profile: this.profileOf(run),
          insights,
          costs: this.d.ledger.breakdown({ executionId: rec.executionId }),
        };
        void Promise.resolve(history.save(entry)).catch((err) => warnStore(err));
      } catch (err) {
        warnStore(err);
      }
    }
  }

  run(executionId: string): FinishedRun | undefined {
    return this.recent.get(executionId);
  }

  /** Runs held in memory, most recent first. */
  newestFirst(): FinishedRun[] {
    return [...this.recent.values()].reverse();
  }

  profileOf(run: FinishedRun): ExecutionProfile {
    run.profile ??= buildProfile(run.rec, this.d.settings, 'events', run.sum);
    return run.profile;
  }

  insights(query: { executionId?: string; workflowId?: string } = {}): Insight[] {
    return this.recentInsights.filter(
      (i) =>
        (query.executionId === undefined || i.executionId === query.executionId) &&
        (query.workflowId === undefined || i.workflowId === query.workflowId),
    );
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
}

function warnStore(err: unknown): void {
  process.emitWarning(
    `monitor history write failed: ${(err as Error)?.message ?? String(err)}`,
    'CodexOSMonitorWarning',
  );
}
