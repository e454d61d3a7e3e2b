import type { EventBus } from '../events.js';
import type { AnomalyDetector } from './anomaly-detector.js';
import type { CostLedger } from './cost-ledger.js';
import { DagCache } from './dag-index.js';
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

/** A finished run kept in memory (its task table, not its result); its full profile is built on first demand. */
export interface FinishedRun {
  rec: R.ExecutionRecord;
  tab: R.TaskTable;
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
 * End-of-execution analysis, once per run: the task table (from the final result), summary, metrics, alerts and
 * anomalies, insights, spans; then the run is kept (bounded by runs and by tasks) and written to the history
 * store when there is one. A few linear passes over the table; the profile object is built only on demand.
 */
export class RunAnalysis {
  private readonly recent = new Map<string, FinishedRun>();
  private recentTasks = 0;
  private readonly maxRecent: number;
  private readonly maxRecentTasks: number;
  private readonly reportedModelSwaps = new Set<string>();
  private readonly recentInsights: Insight[] = [];
  private readonly dags = new DagCache();

  constructor(private readonly d: RunAnalysisDeps) {
    this.maxRecent = d.options.maxProfiles ?? 200;
    this.maxRecentTasks = d.options.maxProfileTasks ?? 50_000;
  }

  /** The run's task table: from its final result once it ended, else from live facts (if followed). */
  tableOf(rec: R.ExecutionRecord): R.TaskTable {
    if (rec.table !== undefined) return rec.table;
    const dag = this.dags.get(rec.workflowId, rec.dag);
    return R.buildTable(dag, rec.final ?? rec.live, rec);
  }

  analyse(rec: R.ExecutionRecord): void {
    const { config, settings, options, prom } = this.d;
    if (this.d.isClosed()) return;
    const at = rec.finishedAt;
    const tab = this.tableOf(rec);
    // The table holds what is needed: drop the result (task outputs) and the live facts.
    rec.table = tab;
    rec.final = undefined;
    rec.live = undefined;
    this.taskOutcomes(rec, tab);
    const sum = summarise(rec, tab, settings);
    prom?.onExecutionEnd(rec, tab, sum);
    if (sum.status !== 'cancelled') this.d.alerting.observe('executionDuration', at, sum.makespanMs, rec.workflowId);
    this.d.anomaly.onExecutionEnd(rec, tab, sum, at);
    this.d.failures.check(at);

    const insights: Insight[] = [];
    if (config.enableProfiling) {
      const drafts: InsightDraft[] = [
        ...bottleneckInsights(sum.bottlenecks),
        ...detectParallelization(tab, settings),
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
    if (config.enableTracing) exportSpans(rec, tab, options.tracerProvider, at);
    if (!config.enableProfiling) return;
    const run: FinishedRun = { rec, tab, sum, insights };
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

  /**
   * Task outcomes into the failure rate, task errors into the error patterns (tasks cut off by the run's end
   * count in neither), and work priced by the task itself (no model call seen) into the cost ledger.
   */
  private taskOutcomes(rec: R.ExecutionRecord, tab: R.TaskTable): void {
    const { failures, anomaly, ledger } = this.d;
    const { status } = tab;
    for (let i = 0; i < tab.n; i++) {
      if (status[i] === R.COMPLETED) failures.record(0);
      else if (status[i] === R.FAILED && !tab.extra.get(i)?.cutOff) failures.record(1);
    }
    for (const [i, x] of tab.extra) {
      const taskId = tab.dag.ids[i];
      const when = tab.finishedAt[i] >= 0 ? tab.finishedAt[i] : rec.finishedAt;
      if (status[i] === R.FAILED && x.error !== undefined && !x.cutOff)
        anomaly.onError(x.error, when, rec.executionId, taskId);
      if (x.cost > 0 && x.modelCalls === 0 && status[i] === R.COMPLETED)
        ledger.add({
          timestamp: when,
          executionId: rec.executionId,
          workflowId: rec.workflowId,
          taskId,
          agentId: tab.dag.agents[tab.dag.agentOf[i]],
          model: x.model ?? '(task)',
          cost: x.cost,
          inputTokens: x.inputTokens,
          outputTokens: x.outputTokens,
        });
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
    run.profile ??= buildProfile(run.rec, run.tab, this.d.settings, 'events', run.sum);
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
    this.recentTasks += run.tab.n;
    while (this.recent.size > this.maxRecent || (this.recentTasks > this.maxRecentTasks && this.recent.size > 1)) {
      const [id, old] = this.recent.entries().next().value as [string, FinishedRun];
      this.recent.delete(id);
      this.recentTasks -= old.tab.n;
    }
  }
}

function warnStore(err: unknown): void {
  process.emitWarning(
    `monitor history write failed: ${(err as Error)?.message ?? String(err)}`,
    'CodexOSMonitorWarning',
  );
}
