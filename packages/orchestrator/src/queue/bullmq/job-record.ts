import type { Redis } from 'ioredis';
import type { TaskJobResult } from '../types.js';

// A worker replies before BullMQ writes the job's completion (one hop less per task). A worker killed in between
// leaves a job that stalls and is handed out again although the orchestrator recorded its result; so the result
// is also written on the job's own hash, and a job handed out again returns it instead of running a second time.
// Kept on the job's hash, it goes when BullMQ removes the job (removeOnComplete), with nothing to clean up.

/** The job hash field that holds the result a worker already replied with. */
export const RESULT_FIELD = 'codexosResult';

// One script, one write: the result on the job's hash (when the job still exists: a cancelled job was removed and
// must not come back as a stray hash), then the reply on the orchestrator's channel.
const RECORD_AND_REPLY = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return 1`;

type WithRecord = Redis & {
  codexosRecordAndReply(jobKey: string, field: string, result: string, channel: string, msg: string): Promise<number>;
};

/** Records a job's result on its hash and publishes it to `replyTo` (when set), in one script call. */
export function recordAndReply(
  client: Redis,
  jobKey: string,
  jobId: string,
  r: TaskJobResult,
  replyTo: string | undefined,
): Promise<number> {
  const c = client as WithRecord;
  if (!c.codexosRecordAndReply) c.defineCommand('codexosRecordAndReply', { numberOfKeys: 1, lua: RECORD_AND_REPLY });
  const json = JSON.stringify(r);
  return c.codexosRecordAndReply(
    jobKey,
    RESULT_FIELD,
    json,
    replyTo ?? '',
    replyTo ? `[${JSON.stringify(jobId)},${json}]` : '',
  );
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
