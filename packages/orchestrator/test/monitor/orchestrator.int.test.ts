import { afterEach, describe, expect, it } from 'vitest';
import type { OrchestratorEvents } from '../../src/events.js';
import { ExecutionMonitor, formatReport } from '../../src/monitor/index.js';
import { MultiAgentOrchestrator } from '../../src/orchestrator.js';

// A real workflow through the real engine, watched by a monitor on the orchestrator's own bus (the way the
// orchestrator will construct it).

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const pipeline = {
  id: 'data-analysis-pipeline',
  name: 'Comprehensive Data Analysis',
  version: '1.0.0',
  tasks: [
    {
      id: 'fetch-data',
      name: 'Fetch',
      agentId: 'data-fetcher',
      type: 'sequential',
      input: { prompt: 'Fetch sales data' },
    },
    {
      id: 'clean-data',
      name: 'Clean',
      agentId: 'data-cleaner',
      type: 'sequential',
      dependencies: ['fetch-data'],
      input: { prompt: 'Clean' },
    },
    {
      id: 'analyze-trends',
      name: 'Trends',
      agentId: 'trend-analyzer',
      type: 'parallel',
      dependencies: ['clean-data'],
      input: { prompt: 'Trends' },
    },
    {
      id: 'predict-future',
      name: 'Predict',
      agentId: 'ml-predictor',
      type: 'parallel',
      dependencies: ['clean-data'],
      input: { prompt: 'Predict' },
    },
    {
      id: 'generate-insights',
      name: 'Insights',
      agentId: 'insight-generator',
      type: 'sequential',
      dependencies: ['analyze-trends', 'predict-future'],
      input: { prompt: 'Synthesize' },
    },
    {
      id: 'create-report',
      name: 'Report',
      agentId: 'report-generator',
      type: 'sequential',
      dependencies: ['generate-insights'],
      input: { prompt: 'Report' },
    },
  ],
};

let orchestrator: MultiAgentOrchestrator | undefined;
let monitor: ExecutionMonitor | undefined;
afterEach(async () => {
  await monitor?.close();
  await orchestrator?.close();
});

describe('monitor on a real orchestrator', () => {
  it('profiles a real run of the seed pipeline, finds the planted slow task and exports metrics', async () => {
    orchestrator = new MultiAgentOrchestrator(
      { store: { type: 'memory' }, monitoring: { enableTracing: false } },
      // Each agent has one task here, so nothing truly queues; the wider queue margin keeps a starved event loop
      // on a busy machine from reading as an agent-queue bottleneck.
      { monitor: { sampleIntervalMs: 50, detectors: { agentQueueMinMeanMs: 250 } } },
    );
    monitor = orchestrator.monitor;
    const durations: Record<string, number> = { 'ml-predictor': 300 };
    for (const id of [
      'data-fetcher',
      'data-cleaner',
      'trend-analyzer',
      'ml-predictor',
      'insight-generator',
      'report-generator',
    ]) {
      orchestrator.registerAgent({
        id,
        handler: async (ctx) => {
          await sleep(durations[id] ?? 20);
          return `${ctx.taskId} done`;
        },
      });
    }
    const insights: OrchestratorEvents['insight'][] = [];
    orchestrator.on('insight', (i) => insights.push(i));

    const result = await orchestrator.executeWorkflow(pipeline);
    expect(result.status).toBe('completed');
    const p = await monitor.profile(result.executionId);
    expect(p).toBeDefined();
    if (!p) return;
    expect(p.source).toBe('events');
    expect(p.completed).toBe(6);
    expect(p.criticalPath.steps.map((s) => s.taskId)).toEqual([
      'fetch-data',
      'clean-data',
      'predict-future',
      'generate-insights',
      'create-report',
    ]);
    expect(p.parallelism.achievedPeak).toBe(2);
    const predict = p.tasks.find((t) => t.taskId === 'predict-future');
    expect(predict?.runTimeMs).toBeGreaterThanOrEqual(295);
    expect(p.bottlenecks.map((b) => [b.kind, b.subject])).toEqual([['critical-task', 'predict-future']]);
    expect(insights.map((i) => i.evidence.taskId)).toEqual(['predict-future']);

    const metrics = await monitor.metrics();
    expect(metrics).toMatch(/codexos_tasks_total\{workflow_id="data-analysis-pipeline",status="completed"\} 6/);
    expect(metrics).toMatch(
      /codexos_workflow_executions_total\{workflow_id="data-analysis-pipeline",status="completed"\} 1/,
    );

    const report = await monitor.report(result.executionId);
    expect(report).toBeDefined();
    if (report)
      expect(formatReport(report.profile, report.insights, report.costs)).toContain(
        '💡 Insight: Bottleneck on the critical path',
      );

    // A monitor that never saw the run derives the same critical path from the store's history.
    const cold = new ExecutionMonitor(
      orchestrator.bus,
      { enableMetrics: false, enableProfiling: false, enableTracing: false },
      { store: orchestrator.store },
    );
    const derived = await cold.profile(result.executionId);
    await cold.close();
    expect(derived?.source).toBe('store');
    expect(derived?.criticalPath.steps.map((s) => s.taskId)).toEqual(p.criticalPath.steps.map((s) => s.taskId));
    expect(derived?.completed).toBe(6);
  });

  it('with monitoring switched off the monitor adds no listeners', async () => {
    orchestrator = new MultiAgentOrchestrator({
      store: { type: 'memory' },
      monitoring: { enableMetrics: false, enableProfiling: false, enableTracing: false },
    });
    monitor = orchestrator.monitor;
    expect(orchestrator.bus.wants('task:started')).toBe(false);
    expect(orchestrator.bus.wants('task:completed')).toBe(false);
  });

  it('by default the monitor listens to no per-task event; liveTasks opts in', async () => {
    orchestrator = new MultiAgentOrchestrator({ store: { type: 'memory' } });
    monitor = orchestrator.monitor;
    for (const e of ['task:queued', 'task:started', 'task:completed', 'task:failed', 'task:skipped'] as const)
      expect(orchestrator.bus.wants(e)).toBe(false);
    expect(orchestrator.bus.wants('workflow:started')).toBe(true);
    expect(orchestrator.bus.wants('workflow:completed')).toBe(true);
    const live = new ExecutionMonitor(orchestrator.bus, {}, { liveTasks: true, sampleIntervalMs: 0 });
    expect(orchestrator.bus.wants('task:started')).toBe(true);
    await live.close();
    expect(orchestrator.bus.wants('task:started')).toBe(false);
  });

  it('profiles a failed real run from its result: failure, cut-off and never-started tasks, one error', async () => {
    orchestrator = new MultiAgentOrchestrator(
      { store: { type: 'memory' }, monitoring: { enableTracing: false } },
      { monitor: { sampleIntervalMs: 0 } },
    );
    monitor = orchestrator.monitor;
    orchestrator.registerAgent({ id: 'ok', handler: async () => 'fine' });
    orchestrator.registerAgent({
      id: 'slow',
      handler: (ctx) =>
        new Promise((resolve) => {
          const t = setTimeout(() => resolve('late'), 5_000);
          ctx.signal?.addEventListener('abort', () => clearTimeout(t));
        }),
    });
    orchestrator.registerAgent({
      id: 'bad',
      handler: async () => {
        await sleep(20);
        throw new Error('disk quota exceeded on /var/tmp/x1');
      },
    });
    const result = await orchestrator.executeWorkflow({
      id: 'breaks',
      name: 'breaks',
      version: '1',
      tasks: [
        { id: 'first', name: 'first', agentId: 'ok' },
        { id: 'hang', name: 'hang', agentId: 'slow', dependencies: ['first'] },
        { id: 'boom', name: 'boom', agentId: 'bad', dependencies: ['first'], retry: { maxAttempts: 1 } },
        { id: 'after', name: 'after', agentId: 'ok', dependencies: ['boom'] },
      ],
    });
    expect(result.status).toBe('failed');
    const p = await monitor.profile(result.executionId);
    expect(p?.status).toBe('failed');
    const status = Object.fromEntries((p?.tasks ?? []).map((t) => [t.taskId, t.status]));
    expect(status).toEqual({ first: 'completed', hang: 'failed', boom: 'failed', after: 'skipped' });
    expect(p?.completed).toBe(1);
    expect(p?.failed).toBe(2);
    expect(p?.skipped).toBe(1);
    expect(p?.tasks.find((t) => t.taskId === 'boom')?.error?.message).toContain('disk quota exceeded');
    // Only the task's own error is a pattern occurrence; the task cut off by the run's end is not one.
    const patterns = monitor.errorPatterns();
    expect(patterns.map((x) => x.count)).toEqual([1]);
    expect(patterns[0].pattern).toContain('disk quota exceeded');
  });
});
