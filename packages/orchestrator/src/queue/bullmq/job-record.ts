import type { Redis } from 'ioredis';

// A worker replies as its handler returns, for a lone job before BullMQ writes the job's completion (one hop less
// per task). A worker killed in between leaves a job that stalls and is handed out again although the orchestrator
// recorded its result; so the result is also written on the job's own hash, in the same write and ahead of the
// reply, and a job handed out again returns it instead of running a second time. (A lone job is still running, so
// its hash exists; a batch is recorded once its jobs may have finished, hence the script's check.)
// Kept on the job's hash, it goes when BullMQ removes the job (removeOnComplete), with nothing to clean up. It is
// also what an orchestrator reads for a job whose reply it missed: BullMQ's return value is left empty.

/** The job hash field that holds the result a worker already replied with. */
export const RESULT_FIELD = 'codexosResult';

/** One reply as the orchestrator reads it: `[jobId, result]`, the result already JSON. */
export const replyEntry = (jobId: string, json: string): string => `[${JSON.stringify(jobId)},${json}]`;

// Records the results of a batch on their jobs' hashes in one script call. A job whose hash is gone (removed after
// it finished) gets no stray one. The reply is a plain PUBLISH in the same write, after the record: published from
// a script, Redis 7.0 delivers the message a good 100 µs later and spends more CPU on it.
const RECORD = `
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('HSET', KEYS[i], '${RESULT_FIELD}', ARGV[i]) end
end
return #KEYS`;

type ScriptClient = Redis & { codexosRecord(numKeys: number, ...args: string[]): Promise<number> };

interface Batch {
  keys: string[];
  results: string[];
  entries: string[];
}

/**
 * Sends results as jobs finish: each recorded on its job and published to the orchestrator that sent it. A lone
 * job's result goes at once (ahead of BullMQ's completion of the job: the orchestrator waits on it to send the next
 * task); the results of jobs that finish while the promise chains running now settle go together: one script call
 * records them, one message per orchestrator carries them, `[jobId, result]` for one and `[[jobId, result], …]`
 * for several.
 */
export class ResultSender {
  private pending = new Map<string, Batch>();
  private scheduled = false;
  private readonly defined = new WeakSet<Redis>();

  constructor(private readonly client: () => Redis) {}

  /** `replyTo`: the orchestrator's reply channel ('' when the job names none: recorded only). */
  send(jobKey: string, jobId: string, json: string, replyTo: string, now: boolean): void {
    if (now) return this.flushOne(replyTo, { keys: [jobKey], results: [json], entries: [replyEntry(jobId, json)] });
    let b = this.pending.get(replyTo);
    if (!b) {
      b = { keys: [], results: [], entries: [] };
      this.pending.set(replyTo, b);
    }
    b.keys.push(jobKey);
    b.results.push(json);
    b.entries.push(replyEntry(jobId, json));
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = new Map();
    for (const [replyTo, b] of all) this.flushOne(replyTo, b);
  }

  private flushOne(replyTo: string, b: Batch): void {
    const c = this.client();
    // The record and the reply in one write (the stream may be held already: the write then leaves with it).
    const s = c.stream;
    s?.cork();
    // One job: a plain HSET costs Redis less than a script call.
    if (b.keys.length === 1) c.hset(b.keys[0], RESULT_FIELD, b.results[0]).catch(() => 0);
    else
      this.scriptClient(c)
        .codexosRecord(b.keys.length, ...b.keys, ...b.results)
        .catch(() => 0);
    if (replyTo) c.publish(replyTo, b.entries.length === 1 ? b.entries[0] : `[${b.entries.join(',')}]`).catch(() => 0);
    s?.uncork();
  }

  private scriptClient(c: Redis): ScriptClient {
    if (!this.defined.has(c)) {
      c.defineCommand('codexosRecord', { lua: RECORD });
      this.defined.add(c);
    }
    return c as ScriptClient;
  }
}

/** The result (JSON) a worker recorded on a job before it was handed out again, if any. */
export async function recordedResult(client: Redis, jobKey: string): Promise<string | undefined> {
  return (await client.hget(jobKey, RESULT_FIELD)) ?? undefined;
}
