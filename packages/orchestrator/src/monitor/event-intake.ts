import type { EventBus, OrchestratorEvents } from '../events.js';
import type { AnomalyDetector } from './anomaly-detector.js';
import type { CostLedger } from './cost-ledger.js';
import * as R from './execution-record.js';
import type { ModelStats } from './model-stats.js';
import type { MonitorMetrics } from './prometheus.js';

type E = OrchestratorEvents;

export interface EventIntakeDeps {
  bus: EventBus;
  ledger: CostLedger;
  modelStats: ModelStats;
  anomaly: AnomalyDetector;
  prom: MonitorMetrics | undefined;
  /** Also follow task:started/completed/failed/skipped, for live per-task profiles (off by default). */
  liveTasks: boolean;
  /** A workflow started (resource sampling may need to start). */
  onWorkflowStarted(): void;
  /** A finished execution's analysis; run on the next macrotask. */
  analyse(rec: R.ExecutionRecord): void;
}

/**
 * The monitor's bus listeners. By default none is per task: a run is taken in from `workflow:started` (its DAG)
 * and its final ExecutionResult (every task's timings, attempts, usage), plus the rare model-level events, so
 * the engine never builds a per-task payload for the monitor. A run's analysis is scheduled when it ends, off
 * the engine's completion path.
 */
export class EventIntake {
  readonly running = new Map<string, R.ExecutionRecord>();
  /** Analyses scheduled but not yet done, by execution id. */
  readonly pending = new Map<string, Promise<void>>();
  private readonly unsubscribe: Array<() => void> = [];

  constructor(private readonly d: EventIntakeDeps) {}

  /** Waits for every finished execution's analysis to complete. */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending.values()]);
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  subscribe(): void {
    this.on('workflow:started', (p) => {
      const rec = new R.ExecutionRecord(p.executionId, p.workflowId, p.timestamp, p.tasks ?? []);
      if (this.d.liveTasks) rec.live = new Map();
      this.running.set(p.executionId, rec);
      this.d.onWorkflowStarted();
    });
    this.on('task:retrying', (p) => {
      this.d.anomaly.onError(p.error, p.timestamp, p.executionId, p.taskId);
      const rec = this.running.get(p.executionId);
      if (rec === undefined) return;
      rec.addRetry(p.taskId);
      const t = rec.live?.get(p.taskId);
      if (t !== undefined) t.status = 'retrying';
    });
    if (this.d.liveTasks) this.subscribeLive();
    this.on('model:call', (p) => this.onModelCall(p));
    this.on('model:rate-limited', (p) => {
      this.d.prom?.onRateLimited(p);
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

  /** Per-task listeners, only with `liveTasks`: each makes the engine build a payload for every task. */
  private subscribeLive(): void {
    const live = (p: { executionId: string; taskId: string; iteration?: number }): R.TaskFacts | undefined => {
      const m = this.running.get(p.executionId)?.live;
      if (m === undefined) return undefined;
      let t = m.get(p.taskId);
      if (t === undefined) {
        t = { status: 'queued', attempts: 0 };
        m.set(p.taskId, t);
      }
      if (p.iteration !== undefined && p.iteration >= (t.iterations ?? 0)) t.iterations = p.iteration + 1;
      return t;
    };
    this.on('task:started', (p) => {
      const t = live(p);
      if (t === undefined) return;
      t.startedAt ??= p.timestamp;
      t.queueWait = (t.queueWait ?? 0) + p.queueWait;
      t.attempts = p.attempt;
      t.status = 'running';
    });
    this.on('task:completed', (p) => {
      const t = live(p);
      if (t === undefined) return;
      Object.assign(t, { status: 'completed', finishedAt: p.timestamp, duration: p.duration, attempts: p.attempts });
      if (p.cached) t.cached = true;
      if (p.model !== undefined) t.model = p.model;
      if (p.usage !== undefined) t.usage = p.usage;
      if (p.cost !== undefined) t.cost = p.cost;
    });
    this.on('task:failed', (p) => {
      const t = live(p);
      if (t === undefined) return;
      Object.assign(t, { status: 'failed', finishedAt: p.timestamp, duration: p.duration, attempts: p.attempts });
      t.error = p.error;
    });
    this.on('task:skipped', (p) => {
      const t = live(p);
      if (t !== undefined) t.status = 'skipped';
    });
  }

  private on<K extends keyof E>(type: K, fn: (p: E[K]) => void): void {
    const bus = this.d.bus;
    (bus.on as (t: string, f: (p: unknown) => void) => unknown)(type, fn as (p: unknown) => void);
    this.unsubscribe.push(() =>
      (bus.off as (t: string, f: (p: unknown) => void) => unknown)(type, fn as (p: unknown) => void),
    );
  }

  private onModelCall(p: E['model:call']): void {
    const rec = p.executionId === undefined ? undefined : this.running.get(p.executionId);
    if (rec !== undefined) R.onModelCall(rec, p);
    this.d.ledger.add({
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
    this.d.modelStats.record(p);
    this.d.prom?.onModelCall(p);
    this.d.anomaly.onModelCall(p.model, p.latencyMs, p.success, p.timestamp);
    if (!p.success && p.error) this.d.anomaly.onError(p.error, p.timestamp, p.executionId, p.taskId);
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
    // The final result is the record of every task; live facts (if followed) only stand in without one.
    rec.final = p.result.tasks;
    rec.runError = p.result.error;
    // Analysis runs on the next macrotask: the engine's completion (and its caller) are not held up by it.
    const job = new Promise<void>((resolve) => {
      setImmediate(() => {
        try {
          this.d.analyse(rec);
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
}
