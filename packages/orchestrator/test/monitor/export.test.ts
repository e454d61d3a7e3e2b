import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/events.js';
import { ExecutionMonitor } from '../../src/monitor/index.js';
import { closedAfterEach, pipeline, play } from './history.js';

const { setup, track } = closedAfterEach();

/** A monitor with tracing on or off, exporting to an in-memory span exporter. */
function traced(enableTracing: boolean) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const bus = new EventBus();
  const monitor = new ExecutionMonitor(bus, { enableTracing }, { tracerProvider: provider, sampleIntervalMs: 0 });
  track(monitor);
  return { exporter, provider, bus, monitor };
}

/** Minimal Prometheus text-format parser: `name{labels} value` lines, comments kept by metric name. */
function parseProm(text: string) {
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      types.set(t[1], t[2]);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparseable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const lm of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { samples, types };
}

describe('Prometheus export', () => {
  it('exposes workflow, task, model and cost metrics in valid text format, per monitor registry', async () => {
    const { bus, monitor } = setup();
    const other = setup();
    const run = pipeline('p-1');
    run.tasks[0].calls = [
      {
        model: 'gpt-4o',
        provider: 'openai',
        latencyMs: 250,
        usage: { inputTokens: 100, outputTokens: 40 },
        cost: 0.003,
      },
      {
        model: 'gpt-4o',
        provider: 'openai',
        latencyMs: 50,
        usage: { inputTokens: 10, outputTokens: 0 },
        cost: 0,
        success: false,
        error: { code: 'E', message: 'x' },
      },
    ];
    run.rateLimits = [{ provider: 'openai', waitMs: 500, at: 10 }];
    await play(bus, monitor, run);
    const { samples, types } = parseProm(await monitor.metrics());
    const get = (name: string, labels: Record<string, string> = {}) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

    expect(types.get('codexos_workflow_executions_total')).toBe('counter');
    expect(types.get('codexos_task_duration_seconds')).toBe('histogram');
    expect(
      get('codexos_workflow_executions_total', { workflow_id: 'data-analysis-pipeline', status: 'completed' })[0].value,
    ).toBe(1);
    expect(get('codexos_tasks_total', { status: 'completed' })[0].value).toBe(6);
    expect(get('codexos_task_duration_seconds_count', { workflow_id: 'data-analysis-pipeline' })[0].value).toBe(6);
    expect(get('codexos_task_duration_seconds_sum')[0].value).toBeCloseTo(0.3, 6);
    // Buckets are cumulative and end at +Inf = count: six 50 ms tasks land in le=0.05.
    expect(get('codexos_task_duration_seconds_bucket', { le: '0.01' })[0].value).toBe(0);
    expect(get('codexos_task_duration_seconds_bucket', { le: '0.05' })[0].value).toBe(6);
    expect(get('codexos_task_duration_seconds_bucket', { le: '+Inf' })[0].value).toBe(6);
    expect(get('codexos_workflow_duration_seconds_sum')[0].value).toBeCloseTo(0.25, 6);
    expect(get('codexos_model_calls_total', { model: 'gpt-4o', status: 'success' })[0].value).toBe(1);
    expect(get('codexos_model_calls_total', { model: 'gpt-4o', status: 'error' })[0].value).toBe(1);
    expect(get('codexos_model_tokens_total', { direction: 'input' })[0].value).toBe(110);
    expect(get('codexos_model_cost_usd_total', { model: 'gpt-4o' })[0].value).toBeCloseTo(0.003);
    expect(get('codexos_model_rate_limited_total', { provider: 'openai' })[0].value).toBe(1);
    expect(get('codexos_workflow_executions_running')[0].value).toBe(0);
    expect(monitor.metricsContentType).toContain('text/plain');
    // The second monitor's registry is separate and empty of runs.
    const o = parseProm(await other.monitor.metrics());
    expect(o.samples.filter((s) => s.name === 'codexos_workflow_executions_total')).toEqual([]);
  });

  it('metrics are empty when enableMetrics is off', async () => {
    const { monitor } = setup({ enableMetrics: false });
    expect(await monitor.metrics()).toBe('');
  });
});

describe('OpenTelemetry spans', () => {
  it('writes workflow → task → model call spans with real timings (in-memory exporter)', async () => {
    const { exporter, provider, bus, monitor } = traced(true);
    const run = pipeline('tr-1', {}, 1_700_000_000_000);
    run.tasks[1].calls = [
      { model: 'claude-3-haiku', provider: 'anthropic', latencyMs: 30, timestamp: 1_700_000_000_000 + 90 },
    ];
    run.tasks[5].fail = 'render failed';
    await play(bus, monitor, run);
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1 + 6 + 1);
    const root = spans.find((s) => s.name === 'workflow data-analysis-pipeline');
    expect(root).toBeDefined();
    if (!root) return;
    expect(root.attributes['codexos.execution_id']).toBe('tr-1');
    expect(root.status.code).toBe(2); // ERROR: the workflow failed
    const tasks = spans.filter((s) => s.name.startsWith('task '));
    for (const t of tasks) {
      expect(t.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
      expect(t.spanContext().traceId).toBe(root.spanContext().traceId);
    }
    const clean = tasks.find((s) => s.name === 'task clean-data');
    const call = spans.find((s) => s.name === 'model claude-3-haiku');
    expect(call?.parentSpanContext?.spanId).toBe(clean?.spanContext().spanId);
    expect(call?.attributes['gen_ai.system']).toBe('anthropic');
    // Timings come from the events: clean-data ran 50 → 100 ms, the call 60 → 90 ms.
    const ms = (hr: [number, number]) => hr[0] * 1000 + hr[1] / 1e6 - 1_700_000_000_000;
    expect(ms(clean?.startTime as [number, number])).toBeCloseTo(50, 3);
    expect(ms(clean?.endTime as [number, number])).toBeCloseTo(100, 3);
    expect(ms(call?.startTime as [number, number])).toBeCloseTo(60, 3);
    expect(tasks.find((s) => s.name === 'task create-report')?.status.code).toBe(2);
    await provider.shutdown();
  });

  it('builds no spans when tracing is disabled', async () => {
    const { exporter, bus, monitor } = traced(false);
    await play(bus, monitor, pipeline('tr-2'));
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
