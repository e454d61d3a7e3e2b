import { afterEach } from 'vitest';
import { EventBus, type OrchestratorEvents } from '../../src/events.js';
import type { MonitoringConfigInput } from '../../src/monitor/execution-monitor.js';
import { ExecutionMonitor, type MonitorOptions } from '../../src/monitor/index.js';
import type { ExecutionResult, TaskResult } from '../../src/workflow/types.js';

// Constructed histories: event sequences with known timings published on a real EventBus, so each detector
// can be checked against a known right answer. Like the engine, a run ends with its full ExecutionResult on the
// workflow:completed/failed/cancelled event, and per-task events are only published when someone listens.

export interface PlannedTask {
  id: string;
  agentId?: string;
  deps?: string[];
  type?: 'sequential' | 'parallel';
  reads?: string[];
  /** Offsets from the execution start, ms. */
  start: number;
  end: number;
  queueWait?: number;
  fail?: string;
  retries?: number;
  calls?: Array<Partial<OrchestratorEvents['model:call']>>;
}

export interface PlannedRun {
  executionId: string;
  workflowId?: string;
  t0?: number;
  tasks: PlannedTask[];
  status?: 'completed' | 'failed' | 'cancelled';
  rateLimits?: Array<{ provider: string; waitMs: number; at: number }>;
}

export function newMonitor(config: MonitoringConfigInput = {}, options: MonitorOptions = {}) {
  const bus = new EventBus();
  const monitor = new ExecutionMonitor(bus, { enableTracing: false, ...config }, { sampleIntervalMs: 0, ...options });
  const seen = {
    insight: [] as OrchestratorEvents['insight'][],
    alert: [] as OrchestratorEvents['alert'][],
    anomaly: [] as OrchestratorEvents['anomaly'][],
  };
  bus.on('insight', (i) => seen.insight.push(i));
  bus.on('alert', (a) => seen.alert.push(a));
  bus.on('anomaly', (a) => seen.anomaly.push(a));
  return { bus, monitor, seen };
}

/**
 * For a test file: `setup` is `newMonitor`, and every monitor made by it or passed to `track` is closed after
 * each test.
 */
export function closedAfterEach() {
  let monitors: ExecutionMonitor[] = [];
  afterEach(async () => {
    await Promise.all(monitors.map((m) => m.close()));
    monitors = [];
  });
  const track = (monitor: ExecutionMonitor): ExecutionMonitor => {
    monitors.push(monitor);
    return monitor;
  };
  const setup = (...args: Parameters<typeof newMonitor>) => {
    const h = newMonitor(...args);
    track(h.monitor);
    return h;
  };
  return { setup, track };
}

type Ev = { at: number; order: number; fire: () => void };

/** An ExecutionResult as the engine builds it, from per-task results. */
export function resultOf(
  run: { executionId: string; workflowId: string; startedAt: number; finishedAt: number },
  status: ExecutionResult['status'],
  tasks: TaskResult[],
  error?: ExecutionResult['error'],
): ExecutionResult {
  const usage = { inputTokens: 0, outputTokens: 0 };
  let cost = 0;
  const byId: Record<string, TaskResult> = {};
  for (const t of tasks) {
    byId[t.taskId] = t;
    usage.inputTokens += t.usage?.inputTokens ?? 0;
    usage.outputTokens += t.usage?.outputTokens ?? 0;
    cost += t.cost ?? 0;
  }
  return {
    executionId: run.executionId,
    workflowId: run.workflowId,
    status,
    input: {},
    tasks: byId,
    output: {},
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    duration: run.finishedAt - run.startedAt,
    ...(error ? { error } : {}),
    usage,
    cost,
    resumed: false,
  };
}

/** Publishes one run in timestamp order and waits for the monitor's end-of-run analysis. */
export async function play(bus: EventBus, monitor: ExecutionMonitor, run: PlannedRun): Promise<void> {
  const t0 = run.t0 ?? 1_700_000_000_000;
  const wf = run.workflowId ?? 'wf';
  const ex = run.executionId;
  const evs: Ev[] = [];
  let order = 0;
  const at = (ms: number, fire: () => void) => evs.push({ at: t0 + ms, order: order++, fire });
  // Per-task events as the engine sends them: built only when someone listens.
  const task = <K extends 'task:queued' | 'task:started' | 'task:completed' | 'task:failed'>(
    type: K,
    payload: () => OrchestratorEvents[K],
  ) => {
    if (bus.wants(type)) bus.publish(type, payload());
  };
  at(0, () =>
    bus.publish('workflow:started', {
      executionId: ex,
      workflowId: wf,
      timestamp: t0,
      taskCount: run.tasks.length,
      resumed: false,
      tasks: run.tasks.map((t) => ({
        id: t.id,
        agentId: t.agentId ?? 'agent',
        type: t.type,
        dependencies: t.deps ?? [],
        ...(t.reads ? { reads: t.reads } : {}),
      })),
    }),
  );
  let end = 0;
  const results: TaskResult[] = [];
  for (const t of run.tasks) {
    const ref = (ms: number) => ({
      executionId: ex,
      workflowId: wf,
      taskId: t.id,
      agentId: t.agentId ?? 'agent',
      timestamp: t0 + ms,
    });
    const qw = t.queueWait ?? 0;
    const attempts = 1 + (t.retries ?? 0);
    at(t.start - qw, () => task('task:queued', () => ref(t.start - qw)));
    at(t.start, () => task('task:started', () => ({ ...ref(t.start), attempt: 1, queueWait: qw })));
    for (let r = 0; r < (t.retries ?? 0); r++) {
      at(t.start + 1, () =>
        bus.publish('task:retrying', {
          ...ref(t.start + 1),
          attempt: r + 1,
          delayMs: 0,
          error: { code: 'E', message: `flaky attempt ${r}` },
        }),
      );
    }
    for (const [n, c] of (t.calls ?? []).entries()) {
      const ts = c.timestamp ?? t0 + t.start + (n + 1) * ((t.end - t.start) / ((t.calls?.length ?? 1) + 1));
      evs.push({
        at: ts,
        order: order++,
        fire: () =>
          bus.publish('model:call', {
            executionId: ex,
            taskId: t.id,
            agentId: t.agentId ?? 'agent',
            provider: 'openai',
            model: 'gpt-4o',
            latencyMs: 100,
            usage: { inputTokens: 100, outputTokens: 50 },
            cost: 0.001,
            success: true,
            ...c,
            timestamp: ts,
          }),
      });
    }
    const error = t.fail ? { code: 'CDX_ERR_TASK_FAILED', message: t.fail } : undefined;
    results.push({
      taskId: t.id,
      agentId: t.agentId ?? 'agent',
      status: error ? 'failed' : 'completed',
      attempts,
      startedAt: t0 + t.start,
      finishedAt: t0 + t.end,
      duration: t.end - t.start,
      queueWait: qw,
      ...(error ? { error } : { output: 'ok' }),
    });
    if (error) {
      at(t.end, () =>
        task('task:failed', () => ({
          ...ref(t.end),
          duration: t.end - t.start,
          attempts,
          error,
          handled: false,
        })),
      );
    } else {
      at(t.end, () =>
        task('task:completed', () => ({
          ...ref(t.end),
          duration: t.end - t.start,
          attempts,
          output: 'ok',
        })),
      );
    }
    end = Math.max(end, t.end);
  }
  for (const rl of run.rateLimits ?? [])
    at(rl.at, () =>
      bus.publish('model:rate-limited', { provider: rl.provider, waitMs: rl.waitMs, timestamp: t0 + rl.at }),
    );
  const status = run.status ?? (run.tasks.some((t) => t.fail) ? 'failed' : 'completed');
  at(end, () => {
    const base = { executionId: ex, workflowId: wf, timestamp: t0 + end, duration: end };
    const span = { executionId: ex, workflowId: wf, startedAt: t0, finishedAt: t0 + end };
    if (status === 'completed') {
      const result = resultOf(span, status, results);
      bus.publish('workflow:completed', { ...base, usage: result.usage, cost: result.cost, result });
    } else if (status === 'failed') {
      const error = { code: 'CDX_ERR_TASK_FAILED', message: 'failed' };
      bus.publish('workflow:failed', { ...base, error, result: resultOf(span, status, results, error) });
    } else {
      const error = { code: 'CDX_ERR_CANCELLED', message: 'test' };
      bus.publish('workflow:cancelled', { ...base, reason: 'test', result: resultOf(span, status, results, error) });
    }
  });
  evs.sort((a, b) => a.at - b.at || a.order - b.order);
  for (const e of evs) e.fire();
  await monitor.idle();
}

/** The seed's data-analysis pipeline with the given per-task durations (ms). */
export function pipeline(executionId: string, d: Partial<Record<string, number>> = {}, t0?: number): PlannedRun {
  const dur = (id: string) => d[id] ?? 50;
  const fetch = {
    id: 'fetch-data',
    agentId: 'data-fetcher',
    type: 'sequential' as const,
    start: 0,
    end: dur('fetch-data'),
  };
  const clean = {
    id: 'clean-data',
    agentId: 'data-cleaner',
    type: 'sequential' as const,
    deps: ['fetch-data'],
    start: fetch.end,
    end: fetch.end + dur('clean-data'),
  };
  const trends = {
    id: 'analyze-trends',
    agentId: 'trend-analyzer',
    type: 'parallel' as const,
    deps: ['clean-data'],
    start: clean.end,
    end: clean.end + dur('analyze-trends'),
  };
  const predict = {
    id: 'predict-future',
    agentId: 'ml-predictor',
    type: 'parallel' as const,
    deps: ['clean-data'],
    start: clean.end,
    end: clean.end + dur('predict-future'),
  };
  const insightsStart = Math.max(trends.end, predict.end);
  const insights = {
    id: 'generate-insights',
    agentId: 'insight-generator',
    type: 'sequential' as const,
    deps: ['analyze-trends', 'predict-future'],
    start: insightsStart,
    end: insightsStart + dur('generate-insights'),
  };
  const report = {
    id: 'create-report',
    agentId: 'report-generator',
    type: 'sequential' as const,
    deps: ['generate-insights'],
    start: insights.end,
    end: insights.end + dur('create-report'),
  };
  return {
    executionId,
    workflowId: 'data-analysis-pipeline',
    t0,
    tasks: [fetch, clean, trends, predict, insights, report],
  };
}
