import type { ErrorInfo } from '../errors.js';
import type { DagIndex } from './dag-index.js';
import { ErrorPatterns } from './error-patterns.js';
import { COMPLETED, type ExecutionRecord, type TaskTable } from './execution-record.js';
import type { RunSummary } from './profile-builder.js';
import { type BaselineRule, EwmaBaseline, RobustBaseline, round } from './stats.js';
import type { Anomaly, DetectorSettings, ResourceSample } from './types.js';

// Each series is compared with its own history: median/MAD for one-point-per-run or per-sample series,
// EWMA for high-volume ones (per task, per model call). A series needs `anomalyWarmup` points first.

const MAX_TASK_ANOMALIES_PER_RUN = 10;

export class AnomalyDetector {
  private readonly workflowDuration = new Map<string, RobustBaseline>();
  private readonly workflowErrorRate = new Map<string, RobustBaseline>();
  private readonly taskDuration = new Map<string, Map<string, EwmaBaseline>>();
  /** The same baselines lined up with a compiled DAG's task indexes: no map lookup per task per run. */
  private readonly aligned = new WeakMap<DagIndex, { workflowId: string; slots: EwmaBaseline[] }>();
  private readonly modelLatency = new Map<string, EwmaBaseline>();
  private readonly rss = new RobustBaseline(120);
  private readonly cpu = new RobustBaseline(120);
  private readonly loopDelay = new RobustBaseline(120);
  readonly errors = new ErrorPatterns();

  constructor(
    private readonly s: DetectorSettings,
    private readonly emit: (a: Anomaly) => void,
  ) {}

  private durationRule(): BaselineRule {
    return {
      warmup: this.s.anomalyWarmup,
      minScore: this.s.anomalyMinScore,
      minRatio: this.s.anomalyMinRatio,
      minDelta: this.s.anomalyMinDeltaMs,
    };
  }

  private report(
    metric: string,
    subject: string,
    value: number,
    expected: number,
    score: number,
    message: string,
    at: number,
  ): void {
    this.emit({
      metric,
      subject,
      value: round(value, 3),
      expected: round(expected, 3),
      score: round(score, 2),
      message,
      timestamp: at,
    });
  }

  /** Durations and error rate of a finished run (and of each of its tasks) against their history. */
  onExecutionEnd(rec: ExecutionRecord, tab: TaskTable, profile: RunSummary, at: number): void {
    const wf = rec.workflowId;
    if (profile.status !== 'cancelled') {
      const base = getOr(this.workflowDuration, wf, () => new RobustBaseline());
      const v = base.check(profile.makespanMs, this.durationRule());
      if (v.anomalous)
        this.report(
          'workflow.duration',
          wf,
          profile.makespanMs,
          v.expected,
          v.score,
          `Workflow '${wf}' run ${rec.executionId} took ${round(profile.makespanMs)} ms; usually ${round(v.expected)} ms`,
          at,
        );
    }
    const total = profile.completed + profile.failed;
    if (total > 0) {
      const rate = profile.failed / total;
      const base = getOr(this.workflowErrorRate, wf, () => new RobustBaseline());
      const v = base.check(rate, {
        warmup: this.s.anomalyWarmup,
        minScore: this.s.anomalyMinScore,
        minRatio: 1,
        minDelta: 0.1,
      });
      if (v.anomalous)
        this.report(
          'workflow.error-rate',
          wf,
          rate,
          v.expected,
          v.score,
          `Workflow '${wf}' run ${rec.executionId}: ${profile.failed} of ${total} tasks failed (${round(rate * 100, 1)} %); usually ${round(v.expected * 100, 1)} %`,
          at,
        );
    }
    const slots = this.baselinesFor(wf, tab.dag);
    const rule = this.durationRule();
    const ids = tab.dag.ids;
    const extras = tab.extra.size > 0;
    let flagged = 0;
    for (let i = 0; i < tab.n; i++) {
      if (tab.status[i] !== COMPLETED || (extras && tab.extra.get(i)?.cached)) continue;
      const run = tab.runTime[i];
      // test() keeps the verdict in the baseline's fields: no object per task.
      if (!slots[i].test(run, rule)) continue;
      if (flagged++ < MAX_TASK_ANOMALIES_PER_RUN) {
        const base = slots[i];
        this.report(
          'task.duration',
          `${wf}/${ids[i]}`,
          run,
          base.lastExpected,
          base.lastScore,
          `Task '${ids[i]}' of '${wf}' took ${round(run)} ms; usually ${round(base.lastExpected)} ms`,
          at,
        );
      }
    }
  }

  private baselinesFor(wf: string, dag: DagIndex): EwmaBaseline[] {
    const hit = this.aligned.get(dag);
    if (hit !== undefined && hit.workflowId === wf) return hit.slots;
    const perTask = getOr(this.taskDuration, wf, () => new Map<string, EwmaBaseline>());
    const slots = dag.ids.map((id) => getOr(perTask, id, () => new EwmaBaseline()));
    this.aligned.set(dag, { workflowId: wf, slots });
    return slots;
  }

  /** Per-call latency spikes, per model. */
  onModelCall(model: string, latencyMs: number, success: boolean, at: number): void {
    if (!success) return;
    const base = getOr(this.modelLatency, model, () => new EwmaBaseline());
    const v = base.check(latencyMs, this.durationRule());
    if (v.anomalous)
      this.report(
        'model.latency',
        model,
        latencyMs,
        v.expected,
        v.score,
        `${model} answered in ${round(latencyMs)} ms; usually ${round(v.expected)} ms`,
        at,
      );
  }

  onError(err: ErrorInfo, at: number, executionId?: string, taskId?: string): void {
    const p = this.errors.record(err, at, this.s.errorPatternMinCount, executionId, taskId);
    if (p === undefined) return;
    this.report(
      'error.pattern',
      `${p.code}: ${p.pattern}`,
      p.count,
      0,
      p.count,
      `Recurring error (${p.count}× in ${p.executions.length} run(s) since ${new Date(p.firstSeen).toISOString()}): ${p.code}: ${p.pattern}`,
      at,
    );
  }

  onSample(s: ResourceSample): void {
    const rule: BaselineRule = {
      warmup: Math.max(this.s.anomalyWarmup, 10),
      minScore: this.s.anomalyMinScore,
      minRatio: 1.2,
      minDelta: 0,
    };
    const rss = this.rss.check(s.rssBytes, { ...rule, minDelta: 32 * 1024 * 1024 });
    if (rss.anomalous)
      this.report(
        'process.rss',
        'process',
        s.rssBytes,
        rss.expected,
        rss.score,
        `Resident memory ${mb(s.rssBytes)} MB; usually ${mb(rss.expected)} MB`,
        s.timestamp,
      );
    const cpu = this.cpu.check(s.cpuPercent, { ...rule, minDelta: 20 });
    if (cpu.anomalous)
      this.report(
        'process.cpu',
        'process',
        s.cpuPercent,
        cpu.expected,
        cpu.score,
        `CPU ${round(s.cpuPercent, 1)} %; usually ${round(cpu.expected, 1)} %`,
        s.timestamp,
      );
    const loop = this.loopDelay.check(s.eventLoopDelayP99Ms, { ...rule, minDelta: 50 });
    if (loop.anomalous)
      this.report(
        'process.event-loop-delay',
        'process',
        s.eventLoopDelayP99Ms,
        loop.expected,
        loop.score,
        `Event-loop delay p99 ${round(s.eventLoopDelayP99Ms)} ms; usually ${round(loop.expected)} ms`,
        s.timestamp,
      );
  }
}

function mb(b: number): number {
  return round(b / 1048576, 1);
}

function getOr<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) {
    v = make();
    m.set(k, v);
  }
  return v;
}
