import { describe, expect, it } from 'vitest';
import type { ResourceSample } from '../../src/monitor/index.js';
import { normaliseMessage } from '../../src/monitor/index.js';
import { closedAfterEach, pipeline, play } from './history.js';

const { setup } = closedAfterEach();

const T0 = 1_700_000_000_000;
const MB = 1024 * 1024;

function sample(t: number, rss: number, cpu = 20): ResourceSample {
  return {
    timestamp: t,
    cpuPercent: cpu,
    rssBytes: rss,
    heapUsedBytes: rss / 2,
    heapTotalBytes: rss / 2,
    eventLoopDelayMeanMs: 1,
    eventLoopDelayP99Ms: 2,
    eventLoopDelayMaxMs: 3,
    networkBytesIn: 0,
    networkBytesOut: 0,
    networkByHost: {},
  };
}

/** A monitor fed by a scripted resource series instead of the process. */
function scripted(series: ResourceSample[]) {
  let i = 0;
  return setup(
    { alertThresholds: { memoryUsage: 512 * MB, cpuUsage: 80 } },
    { resourceSource: () => series[Math.min(i++, series.length - 1)] },
  );
}

describe('anomaly detection', () => {
  it('flags a model latency spike after a stable history, and not during warm-up or stable calls', async () => {
    const { bus, monitor, seen } = setup();
    for (let i = 0; i < 20; i++) {
      await play(bus, monitor, {
        executionId: `lat-${i}`,
        t0: T0 + i * 10_000,
        tasks: [
          {
            id: 't',
            start: 0,
            end: 1000,
            calls: [{ model: 'gpt-4o', latencyMs: 300 + (i % 4) * 10, requestKey: `r${i}` }],
          },
        ],
      });
    }
    expect(seen.anomaly).toEqual([]);
    await play(bus, monitor, {
      executionId: 'spike',
      t0: T0 + 300_000,
      tasks: [{ id: 't', start: 0, end: 3000, calls: [{ model: 'gpt-4o', latencyMs: 2500, requestKey: 'rs' }] }],
    });
    const lat = seen.anomaly.filter((a) => a.metric === 'model.latency');
    expect(lat).toHaveLength(1);
    expect(lat[0]).toMatchObject({ subject: 'gpt-4o', value: 2500 });
    expect(lat[0].expected).toBeGreaterThan(290);
    expect(lat[0].expected).toBeLessThan(340);
    expect(lat[0].score).toBeGreaterThan(3.5);
  });

  it('flags a workflow (and task) duration far above its own history; a new workflow is in warm-up', async () => {
    const { bus, monitor, seen } = setup();
    // Warm-up: an extreme first runs of a new workflow raise nothing.
    await play(bus, monitor, pipeline('w-0', { 'clean-data': 5000 }, T0));
    expect(seen.anomaly).toEqual([]);
    for (let i = 1; i <= 8; i++)
      await play(bus, monitor, pipeline(`w-${i}`, { 'clean-data': 50 + (i % 2) * 4 }, T0 + i * 10_000));
    expect(seen.anomaly).toEqual([]);
    await play(bus, monitor, pipeline('w-slow', { 'clean-data': 900 }, T0 + 200_000));
    const metrics = seen.anomaly.map((a) => `${a.metric} ${a.subject}`).sort();
    expect(metrics).toEqual([
      'task.duration data-analysis-pipeline/clean-data',
      'workflow.duration data-analysis-pipeline',
    ]);
    const wf = seen.anomaly.find((a) => a.metric === 'workflow.duration');
    expect(wf?.value).toBe(1100); // 4 × 50 ms + 900 ms on the critical path
  });

  it('groups recurring errors by normalised message and reports them once the pattern recurs', async () => {
    const { bus, monitor, seen } = setup();
    for (let i = 0; i < 3; i++) {
      await play(bus, monitor, {
        executionId: `err-${i}`,
        t0: T0 + i * 10_000,
        tasks: [
          {
            id: 'fetch',
            start: 0,
            end: 100,
            fail: `connect ETIMEDOUT 10.0.0.${i}:443 after ${3000 + i * 7} ms (request "req-${i}abc")`,
          },
        ],
      });
    }
    const patterns = monitor.errorPatterns();
    expect(patterns).toHaveLength(1);
    expect(patterns[0].count).toBe(3);
    expect(patterns[0].executions).toEqual(['err-0', 'err-1', 'err-2']);
    const a = seen.anomaly.filter((x) => x.metric === 'error.pattern');
    expect(a).toHaveLength(1);
    expect(a[0].subject).toContain('connect ETIMEDOUT <ip>:<n> after <n> ms (request <str>)');
    expect(normaliseMessage('id 3f2a9c1e77 failed at https://api.example.com/v1?x=1')).toBe('id <hex> failed at <url>');
  });

  it('flags abnormal resident memory against the sampled history', () => {
    const series = [
      ...Array.from({ length: 15 }, (_, i) => sample(T0 + i * 1000, (200 + (i % 3)) * MB)),
      sample(T0 + 15_000, 420 * MB),
    ];
    const { monitor, seen } = scripted(series);
    for (let i = 0; i < series.length; i++) monitor.sampleNow();
    const rss = seen.anomaly.filter((a) => a.metric === 'process.rss');
    expect(rss).toHaveLength(1);
    expect(rss[0].value).toBe(420 * MB);
  });
});

describe('alerts', () => {
  it('a rising memory series raises a predictive alert before the threshold, then a threshold alert', () => {
    // 300 MB rising 10 MB/s: crosses 512 MB after ~21 s.
    const series = Array.from({ length: 30 }, (_, i) => sample(T0 + i * 1000, (300 + i * 10) * MB));
    const { monitor, seen } = scripted(series);
    const raised: Array<{ i: number; kind: string; value: number; eta?: number }> = [];
    for (let i = 0; i < series.length; i++) {
      const before = seen.alert.length;
      monitor.sampleNow();
      for (const a of seen.alert.slice(before))
        if (a.metric === 'memoryUsage') raised.push({ i, kind: a.kind, value: a.value, eta: a.etaMs });
    }
    expect(raised.map((r) => r.kind)).toEqual(['predictive', 'threshold']);
    const [pred, thr] = raised;
    expect(pred.value).toBeLessThan(512 * MB);
    expect(pred.i).toBeLessThan(thr.i);
    expect(pred.eta).toBeGreaterThan(0);
    // ETA matches the straight line: (512 − value) / 10 MB per s.
    expect(pred.eta as number).toBeCloseTo(((512 * MB - pred.value) / (10 * MB)) * 1000, -2);
    expect(thr.value).toBeGreaterThanOrEqual(512 * MB);
  });

  it('a flat or noisy series below the threshold raises nothing', () => {
    const series = Array.from({ length: 40 }, (_, i) =>
      sample(T0 + i * 1000, (300 + ((i * 37) % 11)) * MB, 30 + ((i * 13) % 7)),
    );
    const { monitor, seen } = scripted(series);
    for (let i = 0; i < series.length; i++) monitor.sampleNow();
    expect(seen.alert).toEqual([]);
  });

  it('task failure rate above alertThresholds.taskFailureRate raises a threshold alert', async () => {
    const { bus, monitor, seen } = setup({ alertThresholds: { taskFailureRate: 10 } });
    const tasks = Array.from({ length: 20 }, (_, i) => ({
      id: `t${i}`,
      start: 0,
      end: 10,
      ...(i < 4 ? { fail: 'bad input' } : {}),
    }));
    await play(bus, monitor, { executionId: 'fr', tasks, status: 'failed' });
    const fr = seen.alert.filter((a) => a.metric === 'taskFailureRate');
    expect(fr).toHaveLength(1);
    expect(fr[0]).toMatchObject({ kind: 'threshold', value: 20, threshold: 10, severity: 'critical' });
  });

  it('an execution longer than alertThresholds.executionDuration raises a threshold alert', async () => {
    const { bus, monitor, seen } = setup({ alertThresholds: { executionDuration: 1000 } });
    await play(bus, monitor, { executionId: 'long', tasks: [{ id: 'a', start: 0, end: 1500 }] });
    const d = seen.alert.filter((a) => a.metric === 'executionDuration');
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ kind: 'threshold', value: 1500, threshold: 1000 });
  });
});
