import {
  type Attributes,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { type ExecutionRecord, FAILED, type ModelCallRecord, STATUS_NAME, type TaskTable } from './execution-record.js';

// OpenTelemetry spans workflow → task → model call, written when the execution ends with the real start and
// end times from the events, so the hot path never touches the tracer. Without an installed SDK the root span
// is not recording and nothing else is built.

const TRACER = 'codexos.monitor';

export function exportSpans(
  rec: ExecutionRecord,
  tab: TaskTable,
  provider: TracerProvider | undefined,
  finishedAt: number,
): boolean {
  const tracer = (provider ?? trace.getTracerProvider()).getTracer(TRACER);
  const root = tracer.startSpan(
    `workflow ${rec.workflowId}`,
    {
      kind: SpanKind.INTERNAL,
      startTime: rec.startedAt,
      attributes: {
        'codexos.execution_id': rec.executionId,
        'codexos.workflow_id': rec.workflowId,
        'codexos.task_count': tab.n,
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
  const { dag } = tab;
  for (let i = 0; i < tab.n; i++) {
    const startedAt = tab.startedAt[i];
    if (startedAt < 0) continue;
    const taskId = dag.ids[i];
    const x = tab.extra.get(i);
    const attrs: Attributes = {
      'codexos.task_id': taskId,
      'codexos.agent_id': dag.agents[dag.agentOf[i]],
      'codexos.status': STATUS_NAME[tab.status[i]],
      'codexos.attempts': tab.attempts[i],
      'codexos.queue_wait_ms': tab.queueWait[i],
    };
    if (x?.iterations) attrs['codexos.iterations'] = x.iterations;
    if (x?.model !== undefined) attrs['gen_ai.request.model'] = x.model;
    if (x?.inputTokens) attrs['gen_ai.usage.input_tokens'] = x.inputTokens;
    if (x?.outputTokens) attrs['gen_ai.usage.output_tokens'] = x.outputTokens;
    if (x?.cost) attrs['codexos.cost_usd'] = x.cost;
    const span = tracer.startSpan(`task ${taskId}`, { startTime: startedAt, attributes: attrs }, rootCtx);
    if (tab.status[i] === FAILED)
      span.setStatus({ code: SpanStatusCode.ERROR, message: x?.error?.message ?? 'task failed' });
    const taskCtx = trace.setSpan(rootCtx, span);
    for (const c of callsByTask.get(taskId) ?? []) writeCall(tracer, c, taskCtx);
    span.end(tab.finishedAt[i] >= 0 ? tab.finishedAt[i] : finishedAt);
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
