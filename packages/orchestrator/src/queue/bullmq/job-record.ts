import type { Redis } from 'ioredis';

// A worker replies before BullMQ writes the job's completion (one hop less per task). A worker killed in between
// leaves a job that stalls and is handed out again although the orchestrator recorded its result; so the result
// is also written on the job's own hash, and a job handed out again returns it instead of running a second time.
// Kept on the job's hash, it goes when BullMQ removes the job (removeOnComplete), with nothing to clean up. It is
// also what an orchestrator reads for a job whose reply it missed: BullMQ's return value is left empty.

/** The job hash field that holds the result a worker already replied with. */
export const RESULT_FIELD = 'codexosResult';

/**
 * Records a job's result on its hash. A job a worker is running holds its lock and cannot be removed (a cancel
 * removes only waiting jobs), so the hash exists and no stray one is made.
 */
export function recordResult(client: Redis, jobKey: string, json: string): Promise<unknown> {
  return client.hset(jobKey, RESULT_FIELD, json);
}

/** One reply as the orchestrator reads it: `[jobId, result]`, the result already JSON. */
export const replyEntry = (jobId: string, json: string): string => `[${JSON.stringify(jobId)},${json}]`;

/**
 * Replies of the jobs that finish while the promise chains running now settle, one PUBLISH per orchestrator:
 * `[jobId, result]` for one, `[[jobId, result], …]` for several (a fan-out finishes many jobs per read).
 */
export class ReplyBatcher {
  private pending = new Map<string, string[]>();
  private scheduled = false;

  constructor(private readonly client: () => Redis) {}

  add(replyTo: string, jobId: string, json: string): void {
    const entry = replyEntry(jobId, json);
    const list = this.pending.get(replyTo);
    if (list) list.push(entry);
    else this.pending.set(replyTo, [entry]);
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = new Map();
    const c = this.client();
    for (const [ch, list] of all) c.publish(ch, list.length === 1 ? list[0] : `[${list.join(',')}]`).catch(() => 0);
  }
}

/** The result (JSON) a worker recorded on a job before it was handed out again, if any. */
export async function recordedResult(client: Redis, jobKey: string): Promise<string | undefined> {
  return (await client.hget(jobKey, RESULT_FIELD)) ?? undefined;
}
