import {
  type Attributes,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import type { ExecutionRecord, ModelCallRecord } from './execution-record.js';

// OpenTelemetry spans workflow → task → model call, written when the execution ends with the real start and
// end times from the events, so the hot path never touches the tracer. Without an installed SDK the root span
// is not recording and nothing else is built.

const TRACER = 'codexos.monitor';

export function exportSpans(rec: ExecutionRecord, provider: TracerProvider | undefined, finishedAt: number): boolean {
  const tracer = (provider ?? trace.getTracerProvider()).getTracer(TRACER);
  const root = tracer.startSpan(
    `workflow ${rec.workflowId}`,
    {
      kind: SpanKind.INTERNAL,
      startTime: rec.startedAt,
      attributes: {
        'codexos.execution_id': rec.executionId,
        'codexos.workflow_id': rec.workflowId,
        'codexos.task_count': rec.dag.length || rec.tasks.size,
        'codexos.status': rec.status,
      },
    },
    ROOT_CONTEXT,
  );
  if (!root.isRecording()) {
    root.end(finishedAt);
    return false;
  }
  if (rec.status === 'failed') root.setStatus({ code: SpanStatusCode.ERROR, message: 'workflow failed' });

  const callsByTask = new Map<string, ModelCallRecord[]>();
  for (const c of rec.calls) {
    const k = c.taskId ?? '';
    let l = callsByTask.get(k);
    if (l === undefined) {
      l = [];
      callsByTask.set(k, l);
    }
    l.push(c);
  }
  const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
  for (const t of rec.tasks.values()) {
    if (t.startedAt < 0) continue;
    const attrs: Attributes = {
      'codexos.task_id': t.taskId,
      'codexos.agent_id': t.agentId,
      'codexos.status': t.status,
      'codexos.attempts': t.attempts,
      'codexos.queue_wait_ms': t.queueWait,
    };
    if (t.iterations > 0) attrs['codexos.iterations'] = t.iterations;
    if (t.model !== undefined) attrs['gen_ai.request.model'] = t.model;
    if (t.inputTokens) attrs['gen_ai.usage.input_tokens'] = t.inputTokens;
    if (t.outputTokens) attrs['gen_ai.usage.output_tokens'] = t.outputTokens;
    if (t.cost) attrs['codexos.cost_usd'] = t.cost;
    const span = tracer.startSpan(`task ${t.key}`, { startTime: t.startedAt, attributes: attrs }, rootCtx);
    if (t.status === 'failed')
      span.setStatus({ code: SpanStatusCode.ERROR, message: t.error?.message ?? 'task failed' });
    const taskCtx = trace.setSpan(rootCtx, span);
    for (const c of callsByTask.get(t.taskId) ?? []) writeCall(tracer, c, taskCtx);
    span.end(t.finishedAt >= 0 ? t.finishedAt : finishedAt);
  }
  for (const c of callsByTask.get('') ?? []) writeCall(tracer, c, rootCtx);
  root.end(finishedAt);
  return true;
}

function writeCall(
  tracer: ReturnType<TracerProvider['getTracer']>,
  c: ModelCallRecord,
  ctx: typeof ROOT_CONTEXT,
): void {
  const span = tracer.startSpan(
    `model ${c.model}`,
    {
      kind: SpanKind.CLIENT,
      startTime: c.timestamp - c.latencyMs,
      attributes: {
        'gen_ai.system': c.provider,
        'gen_ai.request.model': c.model,
        'gen_ai.usage.input_tokens': c.inputTokens,
        'gen_ai.usage.output_tokens': c.outputTokens,
        'codexos.cost_usd': c.cost,
        'codexos.latency_ms': c.latencyMs,
      },
    },
    ctx,
  );
  if (!c.success) span.setStatus({ code: SpanStatusCode.ERROR, message: 'model call failed' });
  span.end(c.timestamp);
}
