import type { Redis } from 'ioredis';
import type { TaskJobResult } from '../types.js';

// A worker replies before BullMQ writes the job's completion (one hop less per task). A worker killed in between
// leaves a job that stalls and is handed out again although the orchestrator recorded its result; so the result
// is also written on the job's own hash, and a job handed out again returns it instead of running a second time.
// Kept on the job's hash, it goes when BullMQ removes the job (removeOnComplete), with nothing to clean up.

/** The job hash field that holds the result a worker already replied with. */
export const RESULT_FIELD = 'codexosResult';

/**
 * Records a job's result on its hash and publishes it to `replyTo` (when set): two plain commands, which the caller
 * sends in one write. A job a worker is running holds its lock and cannot be removed (a cancel removes only waiting
 * jobs), so the hash exists and no stray one is made.
 */
export function recordAndReply(
  client: Redis,
  jobKey: string,
  jobId: string,
  r: TaskJobResult,
  replyTo: string | undefined,
): Promise<unknown> {
  const json = JSON.stringify(r);
  const recorded = client.hset(jobKey, RESULT_FIELD, json);
  if (!replyTo) return recorded;
  return Promise.all([recorded, client.publish(replyTo, `[${JSON.stringify(jobId)},${json}]`)]);
}

/** The result a worker recorded on a job before it was handed out again, if any. */
export async function recordedResult(client: Redis, jobKey: string): Promise<TaskJobResult | undefined> {
  const v = await client.hget(jobKey, RESULT_FIELD);
  if (v == null) return undefined;
  try {
    return JSON.parse(v) as TaskJobResult;
  } catch {
    return undefined;
  }
}
