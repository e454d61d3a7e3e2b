import { CodexError, ErrorCodes, toErrorInfo } from '../../errors.js';
import type { EventBus } from '../../events.js';
import { toolResultText } from '../providers/tool-args.js';
import type { Redactor } from '../redact.js';
import { check, describeProblems, type NormalisedSchema, normaliseSchema } from '../schema.js';
import { correctionPrompt, parseStructured } from '../structured-output.js';
import type { ChatMessage, ModelRunRequest, ModelRunResult, ToolCall, ToolCallRecord } from '../types.js';
import { type ResolvedTool, toSpec } from './registry.js';

/** Model calls a tool-using agent may make per task when its request sets no `maxSteps`. */
export const DEFAULT_MAX_STEPS = 8;

export interface LoopDeps {
  /** One model call (selection, retries, fallback included). */
  step: (req: ModelRunRequest) => Promise<ModelRunResult>;
  bus?: EventBus;
  redactor?: Redactor;
}

const NEVER = new AbortController().signal;

/**
 * The agent loop: call the model with the tools; run the calls it asks for (in parallel, arguments validated
 * first: an invalid call is answered with the validation error), feed the results back, and repeat until a final
 * answer or `maxSteps`. With an output schema the final answer is parsed and validated; an invalid one is sent
 * back once with the problems named, then the run fails with CDX_ERR_OUTPUT_INVALID. Tokens and cost are summed.
 */
export async function runAgentLoop(
  deps: LoopDeps,
  req: ModelRunRequest,
  tools: ResolvedTool[],
): Promise<ModelRunResult> {
  const maxSteps = req.maxSteps ?? DEFAULT_MAX_STEPS;
  const byWire = new Map(tools.map((t) => [t.wireName, t]));
  const specs = tools.length ? tools.map(toSpec) : undefined;
  const output: NormalisedSchema | undefined = req.output
    ? normaliseSchema(req.output.schema, `output schema of task "${req.taskId ?? '?'}"`)
    : undefined;
  const responseSchema = output ? { name: safeName(req.output?.name ?? 'output'), schema: output.json } : undefined;
  const messages: ChatMessage[] = [...(req.messages ?? [])];
  const records: ToolCallRecord[] = [];
  const usage = { inputTokens: 0, outputTokens: 0 };
  let cost = 0;
  let steps = 0;
  let modelCalls = 0;
  let corrected = false;
  let pinned = req.requirements;
  for (;;) {
    const r = await deps.step({
      ...req,
      requirements: pinned,
      messages,
      toolSpecs: specs,
      responseSchema,
      tools: undefined,
      output: undefined,
    });
    modelCalls++;
    usage.inputTokens += r.usage.inputTokens;
    usage.outputTokens += r.usage.outputTokens;
    cost += r.cost;
    // A conversation with tool-call ids stays on the model that started it.
    pinned = { ...req.requirements, model: r.model };
    const calls = r.toolCalls?.filter((c) => c.name) ?? [];
    if (calls.length) {
      steps++;
      if (steps > maxSteps || !specs) {
        throw new CodexError(
          ErrorCodes.TOOL_MAX_STEPS,
          specs
            ? `task "${req.taskId ?? '?'}": no final answer after ${maxSteps} tool steps (maxSteps ${maxSteps}); last asked for ${calls.map((c) => c.name).join(', ')}`
            : `task "${req.taskId ?? '?'}": the model asked for tools (${calls.map((c) => c.name).join(', ')}) but the agent has none`,
          { retryable: false },
        );
      }
      messages.push({ role: 'assistant', content: r.text, toolCalls: calls });
      const results = await Promise.all(calls.map((c) => runTool(deps, req, byWire, c, steps)));
      for (const { record, message } of results) {
        records.push(record);
        req.onToolCall?.(record);
        messages.push(message);
      }
      req.signal?.throwIfAborted();
      continue;
    }
    const done = (extra: Partial<ModelRunResult>): ModelRunResult => ({
      ...r,
      usage,
      cost,
      toolCalls: undefined,
      tools: records.length ? records : undefined,
      steps: modelCalls,
      ...extra,
    });
    if (!output) return done({});
    const parsed = parseStructured(r.text, output);
    if (parsed.ok) return done({ output: parsed.value });
    if (!corrected) {
      corrected = true;
      messages.push(
        { role: 'assistant', content: r.text },
        { role: 'user', content: correctionPrompt(parsed.problems) },
      );
      continue;
    }
    const first = parsed.problems[0];
    throw new CodexError(
      ErrorCodes.OUTPUT_INVALID,
      `task "${req.taskId ?? '?'}": the model's answer does not match the output schema at ${first?.path ?? '(root)'} after one correction: ${describeProblems(parsed.problems)}`,
      { issues: parsed.problems.map((p) => ({ path: p.path, taskId: req.taskId, message: p.message })) },
    );
  }
}

async function runTool(
  deps: LoopDeps,
  req: ModelRunRequest,
  byWire: Map<string, ResolvedTool>,
  call: ToolCall,
  step: number,
): Promise<{ record: ToolCallRecord; message: ChatMessage }> {
  const tool = byWire.get(call.name);
  const ref = {
    executionId: req.executionId,
    taskId: req.taskId,
    agentId: req.agentId,
    iteration: req.iteration,
    tool: tool?.name ?? call.name,
    callId: call.id,
    step,
  };
  const bus = deps.bus;
  const t0 = performance.now();
  const answer = (status: ToolCallRecord['status'], text: string, result?: unknown, error?: unknown) => {
    const durationMs = performance.now() - t0;
    const info = error === undefined ? undefined : redacted(deps, toErrorInfo(error));
    const record: ToolCallRecord = { step, id: call.id, tool: ref.tool, arguments: call.arguments, status, durationMs };
    if (status === 'completed') {
      record.result = result;
      if (bus?.wants('tool:completed'))
        bus.publish('tool:completed', { ...ref, durationMs, result, timestamp: Date.now() });
    } else {
      record.error = info;
      if (bus?.wants('tool:failed'))
        bus.publish('tool:failed', {
          ...ref,
          durationMs,
          error: info!,
          invalid: status === 'invalid',
          timestamp: Date.now(),
        });
    }
    const message: ChatMessage = {
      role: 'tool',
      toolCallId: call.id,
      toolName: call.name,
      content: status === 'completed' ? text : (info?.message ?? text),
      isError: status !== 'completed' || undefined,
    };
    return { record, message };
  };
  if (bus?.wants('tool:called'))
    bus.publish('tool:called', { ...ref, arguments: call.arguments, timestamp: Date.now() });
  if (!tool) {
    const names = [...byWire.keys()].join(', ');
    return answer(
      'invalid',
      '',
      undefined,
      new CodexError(ErrorCodes.TOOL_UNKNOWN, `Unknown tool "${call.name}"; available tools: ${names}`),
    );
  }
  if (typeof call.arguments === 'string') {
    return answer(
      'invalid',
      '',
      undefined,
      new CodexError(ErrorCodes.TOOL_UNKNOWN, `Arguments for tool "${call.name}" are not valid JSON`),
    );
  }
  const v = check(tool.schema, call.arguments ?? {});
  if (!v.ok) {
    const msg = `Invalid arguments for tool "${call.name}": ${describeProblems(v.problems)}. Call it again with arguments matching its schema.`;
    return answer('invalid', '', undefined, Object.assign(new Error(msg), { code: 'CDX_ERR_TOOL_ARGUMENTS' }));
  }
  const signal = req.signal ?? NEVER;
  // Recorded the moment the signal fires, so a task that ends on that abort already has the record.
  let abortRecord: ToolCallRecord | undefined;
  const onAbort = () => {
    abortRecord = answer('failed', '', undefined, signal.reason).record;
    req.onToolCall?.(abortRecord);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    signal.throwIfAborted();
    const result = await abortable(
      Promise.resolve(
        tool.handler(v.value, {
          signal,
          idempotencyKey: req.idempotencyKey ?? `${req.executionId ?? 'run'}:${req.taskId ?? req.agentId}`,
          toolCallId: call.id,
          step,
          executionId: req.executionId,
          taskId: req.taskId,
          agentId: req.agentId,
        }),
      ),
      signal,
    );
    return answer('completed', toolResultText(result), result);
  } catch (err) {
    // A task timeout or cancellation ends the loop; any other tool error is the model's to handle.
    if (signal.aborted) {
      if (!abortRecord) req.onToolCall?.(answer('failed', '', undefined, signal.reason ?? err).record);
      throw signal.reason ?? err;
    }
    return answer('failed', '', undefined, err);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** A handler that ignores its signal is abandoned when the signal fires. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal === NEVER) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function redacted(deps: LoopDeps, info: { code: string; message: string }) {
  return deps.redactor ? { code: info.code, message: deps.redactor.redact(info.message) } : info;
}

function safeName(n: string): string {
  return n.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'output';
}
