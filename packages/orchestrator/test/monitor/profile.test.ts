import { describe, expect, it } from 'vitest';
import { closedAfterEach, pipeline, play, resultOf } from './history.js';

const { setup } = closedAfterEach();

describe('execution profile', () => {
  it('profiles the seed pipeline: makespan, critical path, parallelism, per-task figures', async () => {
    const { bus, monitor } = setup();
    const run = pipeline('ex-1', { 'analyze-trends': 80 });
    run.tasks[2].queueWait = 3;
    run.tasks[2].calls = [
      { latencyMs: 70, usage: { inputTokens: 1000, outputTokens: 200 }, cost: 0.02, model: 'gpt-4o' },
    ];
    await play(bus, monitor, run);
    const p = await monitor.profile('ex-1');
    expect(p).toBeDefined();
    if (!p) return;
    expect(p.status).toBe('completed');
    expect(p.makespanMs).toBe(280);
    expect(p.taskCount).toBe(6);
    expect(p.completed).toBe(6);
    // analyze-trends (80 ms) gates generate-insights, not predict-future (50 ms).
    expect(p.criticalPath.steps.map((s) => s.taskId)).toEqual([
      'fetch-data',
      'clean-data',
      'analyze-trends',
      'generate-insights',
      'create-report',
    ]);
    expect(p.criticalPath.durationMs).toBe(280);
    expect(p.criticalPath.workMs).toBe(280);
    expect(p.parallelism.achievedPeak).toBe(2);
    expect(p.parallelism.possiblePeak).toBe(2);
    expect(p.parallelism.achievedAvg).toBeCloseTo(330 / 280, 5);
    expect(p.parallelism.efficiency).toBeCloseTo(1, 5);
    const trends = p.tasks.find((t) => t.taskId === 'analyze-trends');
    expect(trends).toMatchObject({
      queueWaitMs: 3,
      runTimeMs: 80,
      modelCalls: 1,
      modelLatencyMs: 70,
      inputTokens: 1000,
      outputTokens: 200,
      cost: 0.02,
      model: 'gpt-4o',
      onCriticalPath: true,
    });
    expect(p.tasks.find((t) => t.taskId === 'predict-future')?.onCriticalPath).toBe(false);
    expect(p.totals.cost).toBeCloseTo(0.02);
    expect(p.byAgent.find((a) => a.agentId === 'trend-analyzer')?.queueWaitMs).toBe(3);
  });

  it('finds a planted slow task on the critical path and reports it as a bottleneck insight', async () => {
    const { bus, monitor, seen } = setup();
    await play(bus, monitor, pipeline('ex-slow', { 'predict-future': 600 }));
    const p = await monitor.profile('ex-slow');
    expect(p?.criticalPath.steps.map((s) => s.taskId)).toContain('predict-future');
    expect(p?.criticalPath.steps.map((s) => s.taskId)).not.toContain('analyze-trends');
    const b = p?.bottlenecks.find((x) => x.kind === 'critical-task');
    expect(b?.subject).toBe('predict-future');
    expect(b?.evidence.durationMs).toBe(600);
    expect(b?.evidence.makespanMs).toBe(800);
    expect(seen.insight.filter((i) => i.type === 'bottleneck').map((i) => i.evidence.taskId)).toEqual([
      'predict-future',
    ]);
    const i = seen.insight[0];
    expect(i.title).toBeTruthy();
    expect(i.description).toContain('predict-future');
    expect(i.recommendation).toContain('predict-future');
    expect(i.executionId).toBe('ex-slow');
  });

  it('flags an agent whose queue wait dominates and a provider throttled by rate limits', async () => {
    const { bus, monitor, seen } = setup();
    const run = pipeline('ex-q');
    run.tasks[2].queueWait = 120; // analyze-trends waited far longer than its 50 ms of work
    run.rateLimits = [
      { provider: 'anthropic', waitMs: 40, at: 60 },
      { provider: 'anthropic', waitMs: 40, at: 120 },
    ];
    await play(bus, monitor, run);
    const p = await monitor.profile('ex-q');
    const agent = p?.bottlenecks.find((b) => b.kind === 'agent-queue');
    expect(agent?.subject).toBe('trend-analyzer');
    expect(agent?.evidence.queueWaitMs).toBe(120);
    const thr = p?.bottlenecks.find((b) => b.kind === 'provider-throttle');
    expect(thr?.subject).toBe('anthropic');
    expect(thr?.evidence.rateLimitedCount).toBe(2);
    expect(thr?.evidence.waitMs).toBe(80);
    expect(seen.insight.map((i) => i.evidence.kind).sort()).toEqual(['agent-queue', 'provider-throttle']);
  });

  it('stays silent on a healthy run: no bottleneck, no insight, no anomaly, no alert', async () => {
    const { bus, monitor, seen } = setup();
    for (let i = 0; i < 8; i++)
      await play(bus, monitor, pipeline(`ok-${i}`, { 'fetch-data': 50 + (i % 3) }, 1_700_000_000_000 + i * 10_000));
    const p = await monitor.profile('ok-7');
    expect(p?.bottlenecks).toEqual([]);
    expect(seen.insight).toEqual([]);
    expect(seen.anomaly).toEqual([]);
    expect(seen.alert).toEqual([]);
  });

  it('counts failures, retries and skips; a live profile is available while running (liveTasks)', async () => {
    const { bus, monitor } = setup({}, { liveTasks: true });
    bus.publish('workflow:started', {
      executionId: 'live',
      workflowId: 'w',
      timestamp: 1000,
      taskCount: 2,
      resumed: false,
      tasks: [
        { id: 'a', agentId: 'x', dependencies: [] },
        { id: 'b', agentId: 'x', dependencies: ['a'] },
      ],
    });
    bus.publish('task:started', {
      executionId: 'live',
      workflowId: 'w',
      taskId: 'a',
      agentId: 'x',
      timestamp: 1000,
      attempt: 1,
      queueWait: 0,
    });
    const live = await monitor.profile('live');
    expect(live?.status).toBe('running');
    expect(live?.tasks[0].status).toBe('running');
    bus.publish('task:retrying', {
      executionId: 'live',
      workflowId: 'w',
      taskId: 'a',
      agentId: 'x',
      timestamp: 1010,
      attempt: 1,
      delayMs: 5,
      error: { code: 'E', message: 'boom' },
    });
    bus.publish('task:failed', {
      executionId: 'live',
      workflowId: 'w',
      taskId: 'a',
      agentId: 'x',
      timestamp: 1030,
      duration: 10,
      attempts: 2,
      error: { code: 'E', message: 'boom' },
      handled: false,
    });
    bus.publish('task:skipped', {
      executionId: 'live',
      workflowId: 'w',
      taskId: 'b',
      agentId: 'x',
      timestamp: 1030,
      reason: 'upstream failed',
    });
    const runError = { code: 'CDX_ERR_TASK_FAILED', message: 'task "a" failed after 2 attempt(s): boom' };
    bus.publish('workflow:failed', {
      executionId: 'live',
      workflowId: 'w',
      timestamp: 1031,
      duration: 31,
      error: runError,
      result: resultOf(
        { executionId: 'live', workflowId: 'w', startedAt: 1000, finishedAt: 1031 },
        'failed',
        [
          {
            taskId: 'a',
            agentId: 'x',
            status: 'failed',
            attempts: 2,
            startedAt: 1000,
            finishedAt: 1030,
            duration: 30,
            queueWait: 0,
            error: { code: 'E', message: 'boom' },
          },
          { taskId: 'b', agentId: 'x', status: 'skipped', attempts: 0, skippedReason: 'upstream failed' },
        ],
        runError,
      ),
    });
    const p = await monitor.profile('live');
    expect(p).toMatchObject({ status: 'failed', failed: 1, skipped: 1, retries: 1, completed: 0, makespanMs: 31 });
    expect(p?.tasks.find((t) => t.taskId === 'a')?.error?.message).toBe('boom');
  });
});
