import { CodexError, ErrorCodes } from '../../errors.js';
import { decodeValue, encodeValue, outputBytesOf } from '../codec.js';
import { effectiveStatus } from '../lease.js';
import { type ExecutionHeader, type Lease, STATE_SCHEMA_VERSION, type TaskTransition } from '../types.js';

// In and out of Redis. A header is a hash (plain fields readable with HGETALL, structured ones as JSON; the input
// as `v8:` + base64 of store/codec.ts); a transition is one JSON list entry without its executionId (the key names
// it), its output as base64 of the codec's bytes in `ob`. Entries and inputs written as plain JSON by older
// versions still read.

const V8_PREFIX = 'v8:';

export function encodeHeader(h: ExecutionHeader): { set: Record<string, string>; unset: string[] } {
  const set: Record<string, string> = {
    workflowId: h.workflowId,
    status: h.status,
    startedAt: String(h.startedAt),
    schemaVersion: String(h.schemaVersion),
    definition: JSON.stringify(h.definition),
  };
  const unset: string[] = [];
  if (h.input === undefined) unset.push('input');
  else {
    // The orchestrator's bytes when it encoded the input (once per run), else encoded here.
    const b = h.inputBytes ?? encodeValue(h.input, `input of execution "${h.executionId}"`);
    set.input = V8_PREFIX + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
  }
  const optional = { error: h.error, finishedAt: h.finishedAt };
  for (const [k, v] of Object.entries(optional)) {
    if (v === undefined) unset.push(k);
    else set[k] = JSON.stringify(v);
  }
  return { set, unset };
}

/** A lease as stored (JSON), or undefined when absent or past its time. */
export function decodeLease(s: string | null | undefined, now = Date.now()): Lease | undefined {
  if (!s) return undefined;
  const l = JSON.parse(s) as Lease;
  return l.expiresAt > now ? { owner: l.owner, expiresAt: l.expiresAt } : undefined;
}

export function decodeHeader(
  executionId: string,
  f: Record<string, string>,
  leaseJson?: string | null,
): ExecutionHeader {
  const schemaVersion = Number(f.schemaVersion);
  if (!(schemaVersion <= STATE_SCHEMA_VERSION)) {
    throw new CodexError(
      ErrorCodes.STORE,
      `execution ${executionId} was stored with schema version ${f.schemaVersion}; this CodexOS reads up to ${STATE_SCHEMA_VERSION}`,
    );
  }
  const lease = decodeLease(leaseJson);
  const h: ExecutionHeader = {
    executionId,
    workflowId: f.workflowId,
    status: effectiveStatus(f.status as ExecutionHeader['status'], lease),
    definition: JSON.parse(f.definition),
    input: decodeInput(f.input),
    startedAt: Number(f.startedAt),
    schemaVersion,
  };
  if (f.finishedAt !== undefined) h.finishedAt = JSON.parse(f.finishedAt);
  if (f.error !== undefined) h.error = JSON.parse(f.error);
  if (lease) h.lease = lease;
  return h;
}

function decodeInput(s: string | undefined): unknown {
  if (s === undefined) return undefined;
  if (s.startsWith(V8_PREFIX)) return decodeValue(Buffer.from(s.slice(V8_PREFIX.length), 'base64'));
  return JSON.parse(s);
}

export function encodeTransition(t: TaskTransition): string {
  const bytes = outputBytesOf(t);
  return JSON.stringify({
    taskKey: t.taskKey,
    status: t.status,
    attempt: t.attempt,
    at: t.at,
    ob: bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') : undefined,
    error: t.error,
    usage: t.usage,
    cost: t.cost,
  });
}

export function decodeTransition(executionId: string, s: string): TaskTransition {
  const t = JSON.parse(s) as Omit<TaskTransition, 'executionId'> & { ob?: string };
  return {
    executionId,
    taskKey: t.taskKey,
    status: t.status,
    attempt: t.attempt,
    at: t.at,
    output: t.ob === undefined ? t.output : decodeValue(Buffer.from(t.ob, 'base64')),
    error: t.error,
    usage: t.usage,
    cost: t.cost,
  };
}
