import type { Redis } from 'ioredis';
import type { TaskJobResult } from '../types.js';

// A worker replies before BullMQ writes the job's completion (one hop less per task), and BullMQ drops a completed
// job at once. So the result is also written to its own key, kept as long as the job's id stays reserved
// (BullMQ's deduplication window, `execution.keepJobsSeconds`): an orchestrator that missed the reply or resumed
// the run reads it there, and a job handed out again after its worker died (stalled) returns it instead of
// running twice.

/** How long a result is kept when the job does not say (jobs of earlier releases). */
const DEFAULT_KEEP_MS = 3_600_000;

/** Records a job's result and publishes it to `replyTo` (when set), both in one write. */
export function recordAndReply(
  client: Redis,
  resultKey: string,
  keepMs: number | undefined,
  jobId: string,
  r: TaskJobResult,
  replyTo: string | undefined,
): Promise<unknown> {
  const json = JSON.stringify(r);
  const p = client.pipeline().set(resultKey, json, 'PX', keepMs ?? DEFAULT_KEEP_MS);
  if (replyTo) p.publish(replyTo, `[${JSON.stringify(jobId)},${json}]`);
  return p.exec();
}

/** Reads a result a worker recorded (undefined when none, or not a result). */
export function parseRecorded(v: string | null): TaskJobResult | undefined {
  if (v == null) return undefined;
  try {
    const r = JSON.parse(v) as TaskJobResult;
    return r && typeof r === 'object' && typeof r.ok === 'boolean' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** The result a worker recorded for a job before it was handed out again, if any. */
export async function recordedResult(client: Redis, resultKey: string): Promise<TaskJobResult | undefined> {
  return parseRecorded(await client.get(resultKey));
}
