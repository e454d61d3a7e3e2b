import { CodexError, ErrorCodes } from '../../errors.js';
import { type ExecutionHeader, STATE_SCHEMA_VERSION, type TaskTransition } from '../types.js';

// JSON in and out of Redis. A header is a hash (plain fields readable with HGETALL, structured ones as JSON);
// a transition is one JSON list entry without its executionId (the key names it).

export function encodeHeader(h: ExecutionHeader): { set: Record<string, string>; unset: string[] } {
  const set: Record<string, string> = {
    workflowId: h.workflowId,
    status: h.status,
    startedAt: String(h.startedAt),
    schemaVersion: String(h.schemaVersion),
    definition: JSON.stringify(h.definition),
  };
  const unset: string[] = [];
  const optional = { input: h.input, error: h.error, finishedAt: h.finishedAt };
  for (const [k, v] of Object.entries(optional)) {
    if (v === undefined) unset.push(k);
    else set[k] = JSON.stringify(v);
  }
  return { set, unset };
}

export function decodeHeader(executionId: string, f: Record<string, string>): ExecutionHeader {
  const schemaVersion = Number(f.schemaVersion);
  if (!(schemaVersion <= STATE_SCHEMA_VERSION)) {
    throw new CodexError(
      ErrorCodes.STORE,
      `execution ${executionId} was stored with schema version ${f.schemaVersion}; this CodexOS reads up to ${STATE_SCHEMA_VERSION}`,
    );
  }
  const h: ExecutionHeader = {
    executionId,
    workflowId: f.workflowId,
    status: f.status as ExecutionHeader['status'],
    definition: JSON.parse(f.definition),
    input: f.input === undefined ? undefined : JSON.parse(f.input),
    startedAt: Number(f.startedAt),
    schemaVersion,
  };
  if (f.finishedAt !== undefined) h.finishedAt = JSON.parse(f.finishedAt);
  if (f.error !== undefined) h.error = JSON.parse(f.error);
  return h;
}

export function encodeTransition(t: TaskTransition): string {
  return JSON.stringify({
    taskKey: t.taskKey,
    status: t.status,
    attempt: t.attempt,
    at: t.at,
    output: t.output,
    error: t.error,
    usage: t.usage,
    cost: t.cost,
  });
}

export function decodeTransition(executionId: string, s: string): TaskTransition {
  const t = JSON.parse(s) as Omit<TaskTransition, 'executionId'>;
  return {
    executionId,
    taskKey: t.taskKey,
    status: t.status,
    attempt: t.attempt,
    at: t.at,
    output: t.output,
    error: t.error,
    usage: t.usage,
    cost: t.cost,
  };
}
