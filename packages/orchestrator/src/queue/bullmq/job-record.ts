import type { Redis } from 'ioredis';

// Where a job's result is kept, so that it is never lost and never made twice. A worker replies to the
// orchestrator on pub/sub; a reply can be lost (the orchestrator's subscription was down) and a worker can die
// after replying, so the result is also on the job itself, in Redis, before any reply goes out:
// - a job the orchestrator waits on alone (a chain's step) is replied to as its handler returns, before BullMQ
//   writes its completion (one hop less per task). The result is recorded on the job's hash in the same write,
//   ahead of the reply, and a job handed out again after its worker died returns it instead of running twice;
// - the results of a fan-out's jobs are BullMQ's return values, written with their completions, and the replies
//   follow once BullMQ has written them: no extra command per job, and a job whose completion is written is never
//   handed out again.
// Either way it is what an orchestrator reads for a job whose reply it missed (field first, then return value),
// and it goes when BullMQ removes the job (removeOnComplete), with nothing to clean up.

/** The job hash field that holds the result a worker replied with ahead of BullMQ's completion. */
export const RESULT_FIELD = 'codexosResult';

/** One reply as the orchestrator reads it: `[jobId, result]`, the result already JSON. */
export const replyEntry = (jobId: string, json: string): string => `[${JSON.stringify(jobId)},${json}]`;

/**
 * Records a result on its job and replies with it now, in one write of their own (the stream may be held
 * already: the write then leaves with it). The job is still running, so its hash exists.
 */
export function recordAndReply(c: Redis, jobKey: string, jobId: string, json: string, replyTo: string): void {
  const s = c.stream;
  s?.cork();
  c.hset(jobKey, RESULT_FIELD, json).catch(() => 0);
  if (replyTo) c.publish(replyTo, replyEntry(jobId, json)).catch(() => 0);
  s?.uncork();
}

/**
 * The replies of jobs whose completions BullMQ has written, one message per orchestrator for those that come in
 * while the promise chains running now settle: `[jobId, result]` for one, `[[jobId, result], …]` for several.
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
