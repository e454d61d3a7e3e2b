import type { EventBus, OrchestratorEvents } from '../events.js';
import type { AnomalyDetector } from './anomaly-detector.js';
import type { CostLedger } from './cost-ledger.js';
import * as R from './execution-record.js';
import type { FailureRate } from './failure-rate.js';
import type { ModelStats } from './model-stats.js';
import type { MonitorMetrics } from './prometheus.js';

type E = OrchestratorEvents;

export interface EventIntakeDeps {
  bus: EventBus;
  ledger: CostLedger;
  modelStats: ModelStats;
  anomaly: AnomalyDetector;
  failures: FailureRate;
  prom: MonitorMetrics | undefined;
  /** A workflow started (resource sampling may need to start). */
  onWorkflowStarted(): void;
  /** A finished execution's analysis; run on the next macrotask. */
  analyse(rec: R.ExecutionRecord): void;
}

/**
 * The monitor's bus listeners: per-event handlers only update aggregates (O(1), allocation-light); a run's
 * analysis is scheduled when it ends, off the engine's completion path.
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
      const tasks = p.tasks as R.DagTask[];
      this.running.set(p.executionId, new R.ExecutionRecord(p.executionId, p.workflowId, p.timestamp, tasks ?? []));
      this.d.onWorkflowStarted();
    });
    this.on('task:started', (p) => {
      const rec = this.running.get(p.executionId);
      if (rec !== undefined) R.onStarted(rec, p);
    });
    this.on('task:completed', (p) => {
      this.d.failures.record(0);
      const rec = this.running.get(p.executionId);
      if (rec === undefined) return;
      R.onCompleted(rec, p);
      // Work priced by the task itself (no model call seen) still belongs in the cost ledger.
      if (p.cost !== undefined && p.cost > 0 && rec.task(p).modelCalls === 0) {
        this.d.ledger.add({
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
      this.d.failures.record(1);
      this.d.anomaly.onError(p.error, p.timestamp, p.executionId, p.taskId);
      const rec = this.running.get(p.executionId);
      if (rec !== undefined) R.onFailed(rec, p);
    });
    this.on('task:retrying', (p) => {
      this.d.anomaly.onError(p.error, p.timestamp, p.executionId, p.taskId);
      const rec = this.running.get(p.executionId);
      if (rec !== undefined) R.onRetrying(rec, p);
    });
    this.on('task:skipped', (p) => {
      const rec = this.running.get(p.executionId);
      if (rec !== undefined) R.onSkipped(rec, p);
    });
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
