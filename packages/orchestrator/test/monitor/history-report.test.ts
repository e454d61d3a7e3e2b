import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/events.js';
import { ExecutionMonitor, formatReport, reportJson, SqliteHistoryStore } from '../../src/monitor/index.js';
import type { StoredProfile } from '../../src/monitor/types.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { STATE_SCHEMA_VERSION } from '../../src/store/types.js';
import { pipeline, play } from './history.js';

const dir = mkdtempSync(join(tmpdir(), 'codexos-monitor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('history and report', () => {
  it('keeps profiles in SQLite so profile(executionId) works after a restart', async () => {
    const path = join(dir, 'monitor.db');
    const bus = new EventBus();
    const m1 = new ExecutionMonitor(bus, {}, { historyPath: path, sampleIntervalMs: 0 });
    const run = pipeline('persist-1', { 'predict-future': 600 });
    run.tasks[0].calls = [{ model: 'gpt-4o', cost: 0.5 }];
    await play(bus, m1, run);
    const before = await m1.profile('persist-1');
    await m1.close();

    const m2 = new ExecutionMonitor(new EventBus(), {}, { historyPath: path, sampleIntervalMs: 0 });
    const after = await m2.profile('persist-1');
    expect(after).toEqual(before);
    const report = await m2.report('persist-1');
    expect(report?.insights.map((i) => i.type)).toEqual(['bottleneck']);
    expect(report?.costs.total).toBeCloseTo(0.5);
    expect((await m2.profiles()).map((p) => p.executionId)).toEqual(['persist-1']);
    expect(await m2.profile('missing')).toBeUndefined();
    await m2.close();
  });

  it('profiles saved in one turn are written together; reads and a close see every one of them', async () => {
    const path = join(dir, 'batched.db');
    const entry = (id: string, finishedAt: number): StoredProfile =>
      ({ profile: { executionId: id, workflowId: 'wf', finishedAt }, insights: [], costs: {} }) as never;
    const a = new SqliteHistoryStore(path);
    const saved = [a.save(entry('b-1', 1)), a.save(entry('b-2', 2)), a.save(entry('b-3', 3))];
    // Another connection sees nothing yet: the three wait for one write on the next turn.
    const peek = new SqliteHistoryStore(path);
    expect(peek.list().length).toBe(0);
    // A read on the saving store writes what is pending first.
    expect(a.load('b-2')?.profile.executionId).toBe('b-2');
    expect(peek.list().map((p) => p.executionId)).toEqual(['b-3', 'b-2', 'b-1']);
    await Promise.all(saved);
    // Saved, then closed before the next turn: close writes it.
    void a.save(entry('b-4', 4));
    a.close();
    expect(peek.list().map((p) => p.executionId)).toEqual(['b-4', 'b-3', 'b-2', 'b-1']);
    peek.close();
  });

  it('a profile write that fails is reported through the promise save returned', async () => {
    const a = new SqliteHistoryStore(join(dir, 'failing.db'));
    const entry = { profile: { executionId: 'f-1', workflowId: 'wf', finishedAt: 1 }, insights: [], costs: {} };
    const first = a.save(entry as never);
    const second = a.save({ ...entry, profile: { ...entry.profile, executionId: 'f-2' } } as never);
    (a as unknown as { db: { exec(sql: string): void } }).db.exec('DROP TABLE codexos_monitor_profiles');
    await expect(first).rejects.toThrow(/no such table/);
    await expect(second).rejects.toThrow(/no such table/);
    a.close();
  });

  it('derives a profile from the StateStore history when the monitor never saw the run', async () => {
    const store = new MemoryStore();
    const t0 = 1_700_000_000_000;
    await store.saveExecution({
      executionId: 'stored-1',
      workflowId: 'wf',
      status: 'completed',
      definition: {
        id: 'wf',
        tasks: [
          { id: 'a', agentId: 'x' },
          { id: 'b', agentId: 'y', dependencies: ['a'] },
        ],
      },
      input: {},
      startedAt: t0,
      finishedAt: t0 + 300,
      schemaVersion: STATE_SCHEMA_VERSION,
    });
    await store.appendTransitions([
      { executionId: 'stored-1', taskKey: 'a', status: 'queued', attempt: 0, at: t0 },
      { executionId: 'stored-1', taskKey: 'a', status: 'running', attempt: 1, at: t0 + 5 },
      {
        executionId: 'stored-1',
        taskKey: 'a',
        status: 'completed',
        attempt: 1,
        at: t0 + 100,
        usage: { inputTokens: 10, outputTokens: 5 },
        cost: 0.01,
      },
      { executionId: 'stored-1', taskKey: 'b', status: 'queued', attempt: 0, at: t0 + 100 },
      { executionId: 'stored-1', taskKey: 'b', status: 'running', attempt: 1, at: t0 + 100 },
      { executionId: 'stored-1', taskKey: 'b', status: 'completed', attempt: 1, at: t0 + 300 },
    ]);
    const monitor = new ExecutionMonitor(new EventBus(), {}, { store, sampleIntervalMs: 0 });
    const p = await monitor.profile('stored-1');
    expect(p).toMatchObject({ source: 'store', status: 'completed', makespanMs: 300, completed: 2 });
    expect(p?.criticalPath.steps.map((s) => [s.taskId, s.durationMs])).toEqual([
      ['a', 95],
      ['b', 200],
    ]);
    expect(p?.tasks.find((t) => t.taskId === 'a')).toMatchObject({
      queueWaitMs: 5,
      cost: 0.01,
      inputTokens: 10,
      agentId: 'x',
    });
    await monitor.close();
    await store.close();
  });

  it('formats a report with the profile, critical path, costs and insights as the seed prints them', async () => {
    const bus = new EventBus();
    const monitor = new ExecutionMonitor(bus, {}, { sampleIntervalMs: 0 });
    const run = pipeline('rep-1', { 'predict-future': 600 });
    run.tasks[3].calls = [{ model: 'gpt-4o', cost: 0.25, usage: { inputTokens: 1200, outputTokens: 300 } }];
    await play(bus, monitor, run);
    const r = await monitor.report('rep-1');
    expect(r).toBeDefined();
    if (!r) return;
    const text = formatReport(r.profile, r.insights, r.costs);
    expect(text).toContain("Execution rep-1 — workflow 'data-analysis-pipeline' — completed");
    expect(text).toContain('makespan 800 ms');
    expect(text).toMatch(/Critical path: 5 tasks, 800 ms/);
    expect(text).toMatch(/\*predict-future\s+ml-predictor\s+completed/);
    expect(text).toMatch(/gpt-4o\s+1\s+1200\/300\s+\$0\.2500/);
    expect(text).toContain('💡 Insight: Bottleneck on the critical path');
    expect(text).toContain('   Recommendation: ');
    const json = JSON.parse(JSON.stringify(reportJson(r.profile, r.insights, r.costs)));
    expect(json.schemaVersion).toBe(1);
    expect(json.profile.executionId).toBe('rep-1');
    expect(json.costs.byModel[0]).toMatchObject({ key: 'gpt-4o', calls: 1, cost: 0.25 });
    await monitor.close();
  });

  it('breaks costs down by model, task, agent and workflow over a time range', async () => {
    const bus = new EventBus();
    const monitor = new ExecutionMonitor(bus, {}, { sampleIntervalMs: 0 });
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 3; i++) {
      const run = pipeline(`cost-${i}`, {}, t0 + i * 3_600_000);
      run.tasks[0].calls = [{ model: 'gpt-4o', cost: 0.1 }];
      run.tasks[2].calls = [
        { model: 'claude-3-haiku', cost: 0.01 },
        { model: 'claude-3-haiku', cost: 0.01 },
      ];
      await play(bus, monitor, run);
    }
    const all = monitor.costs();
    expect(all.total).toBeCloseTo(0.36);
    expect(all.byModel.map((l) => [l.key, l.calls])).toEqual([
      ['gpt-4o', 3],
      ['claude-3-haiku', 6],
    ]);
    expect(all.byAgent.find((l) => l.key === 'trend-analyzer')?.cost).toBeCloseTo(0.06);
    expect(all.byTask.find((l) => l.key === 'fetch-data')?.cost).toBeCloseTo(0.3);
    expect(all.byWorkflow).toHaveLength(1);
    const window = monitor.costs({ from: t0 + 3_600_000, to: t0 + 2 * 3_600_000 - 1 });
    expect(window.total).toBeCloseTo(0.12);
    expect(monitor.costs({ executionId: 'cost-2' }).calls).toBe(3);
    await monitor.close();
  });
});
