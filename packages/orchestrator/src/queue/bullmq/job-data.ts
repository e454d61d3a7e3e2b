import { CodexError, ErrorCodes } from '../../errors.js';
import { idempotencyKeyOf } from '../../workflow/task-context.js';
import type {
  DispatchContext,
  OutputsRef,
  RemoteModelCall,
  TaskBatchData,
  TaskJobData,
  TaskJobValues,
} from '../types.js';
import { type DistKeys, jobIdOf, parseJobId } from './keys.js';
import { decodeWire, wireObject } from './wire.js';

// A job carries only what a worker cannot work out (see TaskJobData): every byte of it is written by the
// orchestrator, stored and handed out by Redis, and parsed by the worker, once per task. The orchestrator leaves
// out what the worker fills back in here.

/** The BullMQ job name of a {@link TaskBatchData} job: no task id starts with `~` (workflow schema). */
export const BATCH_JOB = '~batch';

/**
 * An attempt's job data as the orchestrator sends it, leaving out what the worker fills back in: the task is the
 * job's name, the execution and attempt are in its id and the agent is its queue's (see TaskJobData). `outputs`
 * publishes the run's outputs for it (given the deps the job carries). Throws a typed error for a value that cannot
 * travel.
 */
export function jobDataOf(
  ctx: DispatchContext,
  model: RemoteModelCall | undefined,
  reply: string,
  outputs: (deps: Record<string, unknown>) => OutputsRef,
): TaskJobData {
  const values = packValues(ctx.input, ctx.params, ctx.deps);
  if (ctx.item !== undefined) values.item = ctx.item;
  const data: TaskJobData = {
    workflowId: ctx.workflowId,
    values: wireObject(values, `input of task "${ctx.taskId}"`),
    outputs: outputs(values.deps),
    reply,
  };
  if (ctx.prompt) data.prompt = ctx.prompt;
  if (model) data.model = model;
  if (ctx.resumed) data.resumed = true;
  if (ctx.index !== undefined) data.index = ctx.index;
  if (ctx.iteration !== undefined) data.iteration = ctx.iteration;
  const key = ctx.idempotencyKey;
  if (key !== undefined && key !== idempotencyKeyOf(ctx.executionId, ctx.taskId, ctx.index ?? ctx.iteration))
    data.idempotencyKey = key;
  return data;
}

/** A job's data as a worker uses it: what the orchestrator left out filled back in. */
export interface WorkerJobData extends TaskJobData {
  executionId: string;
  attempt: number;
  taskId: string;
  agentId: string;
  prompt: string;
}

/**
 * Fills in what the orchestrator left out of a job's data: the task (the job's name), the execution and attempt
 * (its id), the agent (its queue's), the prompt and the reply channel; the idempotency key is worked out when read
 * ({@link jobIdempotencyKey}). In place: BullMQ parses a job's data afresh for each attempt. Jobs of earlier
 * releases, which carry every field, pass through unchanged.
 */
export function resolveJobData(
  d: TaskJobData,
  job: { id?: string; name: string },
  agentId: string,
  keys: DistKeys,
): WorkerJobData {
  d.taskId ??= job.name;
  if (d.executionId === undefined || d.attempt === undefined) {
    const named = parseJobId(job.id ?? '', d.taskId);
    if (!named) throw new CodexError(ErrorCodes.QUEUE, `job ${job.id} names no execution and attempt`);
    d.executionId ??= named.executionId;
    d.attempt ??= named.attempt;
  }
  d.agentId ??= agentId;
  d.prompt ??= '';
  if (d.reply !== undefined) d.replyTo ??= keys.replies(d.reply);
  return d as WorkerJobData;
}

/** A batch's attempts as a worker runs them: each with its key (its results field, its cancel name). */
export function resolveBatch(
  b: TaskBatchData,
  agentId: string,
  keys: DistKeys,
): Array<{ key: string; d: WorkerJobData }> {
  return b.tasks.map((t) => {
    const key = jobIdOf(t.executionId, t.taskId, t.index ?? t.iteration, t.attempt);
    return { key, d: resolveJobData(t, { id: key, name: t.taskId }, agentId, keys) };
  });
}

/** The job's idempotency key: the one it carries, else the default (see TaskJobData.idempotencyKey). */
export function jobIdempotencyKey(d: WorkerJobData): string {
  return d.idempotencyKey ?? idempotencyKeyOf(d.executionId, d.taskId, d.index ?? d.iteration);
}

/** A handler's values as a job carries them: an empty `input` or `params` object is left out. */
export function packValues(
  input: unknown,
  params: Record<string, unknown>,
  deps: Record<string, unknown>,
): TaskJobValues {
  const v: TaskJobValues = { deps };
  if (!isEmptyObject(input)) v.input = input;
  if (!isEmptyObject(params)) v.params = params;
  return v;
}

/** The values a job carries (decoded when they travel encoded) with what {@link packValues} left out put back. */
export function unpackValues(
  values: TaskJobValues | string,
): Required<Pick<TaskJobValues, 'input' | 'params'>> & TaskJobValues {
  const v = typeof values === 'string' ? (decodeWire(values) as TaskJobValues) : values;
  if (!('input' in v)) v.input = {};
  if (!('params' in v)) v.params = {};
  return v as Required<Pick<TaskJobValues, 'input' | 'params'>> & TaskJobValues;
}

function isEmptyObject(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return false;
  for (const _ in v) return false;
  return Object.getOwnPropertyNames(v).length === 0;
}
