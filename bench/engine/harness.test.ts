// The harness must refuse a broken engine: skipped tasks, dropped results or wrong outputs fail the pair.
import { describe, expect, it } from 'vitest';
import { createBare } from './engines/bare.ts';
import { treeSegments } from './engines/bullmq-flow.ts';
import { measurePair, median, percentile } from './measure.ts';
import { renderReport } from './report.ts';
import type { EngineAdapter, PairResult, Runner, Shape, TaskBody } from './types.ts';
import { chain, expectedOutput, fanOutIn, pipeline, shapeOf, taskCount } from './workloads.ts';

const FAST = { reps: 2, slowRunMs: 60_000, verySlowRunMs: 120_000 };

/** A bare DAG with a defect injected into the run. */
function broken(defect: 'skip-task' | 'drop-result' | 'run-twice'): EngineAdapter {
  return {
    async prepare(shape: Shape, body: TaskBody): Promise<Runner> {
      return async () => {
        let prev: number[] = [];
        for (const stage of shape.stages) {
          const ids = defect === 'skip-task' && stage.length > 1 ? stage.slice(1) : stage;
          const up = defect === 'drop-result' && prev.length > 1 ? prev.slice(1) : prev;
          prev = await Promise.all(ids.map(() => body(up)));
          if (defect === 'run-twice') await body(up);
        }
        return prev[0];
      };
    },
    async close() {},
  };
}

describe('workloads', () => {
  it('shapes and expected outputs', () => {
    expect(taskCount(chain(1000))).toBe(1000);
    expect(expectedOutput(chain(1000))).toBe(1000);
    expect(taskCount(fanOutIn(1000))).toBe(1002);
    expect(expectedOutput(fanOutIn(1000))).toBe(2001);
    expect(expectedOutput(pipeline(0))).toBe(8);
    expect(shapeOf('C').sleepMs).toBe(50);
    expect(taskCount(shapeOf('E'))).toBe(1);
  });

  it('median and percentile', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBe(10);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
  });
});

describe('measurePair', () => {
  it('measures the bare DAG on every workload kind', async () => {
    const bare = await createBare();
    for (const w of ['A100', 'B', 'E'] as const) {
      const r = await measurePair('bare', bare, w, FAST);
      expect(r.ok, `${w}: ${r.error}`).toBe(true);
      expect(r.reps).toBe(2);
      expect(r.value).toBeGreaterThan(0);
    }
  });

  it.each(['skip-task', 'drop-result', 'run-twice'] as const)('rejects an engine that does %s', async (defect) => {
    await expect(measurePair('broken', broken(defect), 'B', FAST)).rejects.toThrow(/expected/);
  });

  it('takes one cold run when asked', async () => {
    const r = await measurePair('bare', await createBare(), 'A100', { ...FAST, single: true });
    expect(r.reps).toBe(1);
    expect(r.warmup).toBe(false);
  });
});

describe('BullMQ flow segmentation', () => {
  it('cuts the DAG into trees at fan-outs and every 1000 levels', () => {
    expect(treeSegments(chain(10))).toEqual([[0, 9]]);
    expect(treeSegments(chain(2500))).toEqual([
      [0, 999],
      [1000, 1999],
      [2000, 2499],
    ]);
    expect(treeSegments(fanOutIn(1000))).toEqual([
      [0, 0],
      [1, 2],
    ]);
    expect(treeSegments(pipeline(50))).toEqual([
      [0, 1],
      [2, 4],
    ]);
  });
});

describe('report', () => {
  const info = { date: 'd', node: 'v20', cpus: '2', os: 'linux', durationS: 1, redis: '7' };
  const r = (engine: string, workload: PairResult['workload'], value: number, extra: Partial<PairResult> = {}): PairResult => ({
    engine,
    workload,
    ok: true,
    reps: 5,
    warmup: true,
    value,
    ...extra,
  });

  it('marks met and missed targets with the margin, and ratios against both stores', () => {
    const md = renderReport(info, [
      r('codexos-memory', 'A1000', 4),
      r('codexos-sqlite', 'A1000', 45),
      r('langgraph', 'A1000', 400),
      r('codexos-memory', 'D', 398, { p50Ms: 252, p99Ms: 254 }),
    ]);
    expect(md).toContain('memory met (4.00 ≤ 5)');
    expect(md).toContain('SQLite **missed**: 45.0 µs/task vs ≤ 30: 1.50× the target');
    expect(md).toMatch(/\| LangGraph\.js 1\.7\.3 \| 400 \| 100× \| 8\.89× \|/);
    expect(md).toContain('met (398 wf/s, p99 254 ms)');
  });

  it('shows a killed N=10 000 pair as a lower bound', () => {
    const md = renderReport(info, [
      r('codexos-memory', 'A10000', 5),
      { engine: 'mastra', workload: 'A10000', ok: false, error: 'killed', reps: 0, warmup: false, timedOutMs: 55_000 },
    ]);
    expect(md).toContain('> 5500¹');
    expect(md).toContain('> 1100×');
  });
});
