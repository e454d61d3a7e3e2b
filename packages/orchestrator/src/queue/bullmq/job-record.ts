import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { coalesceWrites } from './connection.js';
import type { DistKeys } from './keys.js';

// Where a job's result is kept, so that it is never lost and never made twice. A worker replies to the
// orchestrator on pub/sub; a reply can be lost (the orchestrator's subscription was down, or it died and another
// resumes the run) and a worker can die after replying. So before any reply goes out, and ahead of BullMQ's
// completion of the job (which removes it) on the same connection, the result is written to its execution's
// results hash (`keys.results`), field = job id. That hash is what an orchestrator reads for a job whose reply it
// missed, what a worker given a job again (its first worker died, or the run was resumed) returns instead of
// running it twice, and it expires a while after the execution's last result.
// A finished job itself is removed at once: BullMQ keeping it (a sorted-set entry, its return value, an age check
// per completion and a removal later) cost Redis more than the rest of the job's bookkeeping on a fan-out.

/** Where workers of earlier releases recorded a result: a field of the job's own hash (still read). */
export const RESULT_FIELD = 'codexosResult';

/**
 * The results-hash field that names the job allowed to run an attempt. Only batches and resumed runs claim: a
 * batch's attempt is also sent alone (under its own key, as a job id) by an orchestrator that resumes its run, and
 * only one of the two jobs may run it. A job added with an attempt's key as its id needs no claim otherwise:
 * BullMQ keeps one job per id.
 */
const claimField = (key: string): string => `claim:${key}`;

/** An attempt as {@link ResultLog.claim} found it: its recorded result, or the job whose claim holds. */
export interface Claim {
  recorded?: string;
  by: string;
}

/** One reply as the orchestrator reads it: `[jobId, result]`, the result already JSON. */
export const replyEntry = (jobId: string, json: string): string => `[${JSON.stringify(jobId)},${json}]`;

/**
 * The results hashes a worker writes (and the replies that follow each result), and their expiry: refreshed at
 * most once per `refreshMs` per execution, with that much added, so a result is kept at least `keepMs`.
 */
export class ResultLog {
  private readonly expiresSet = new Map<string, number>();
  /** Results waiting for this tick's write: results key -> [jobId, json, …], and its keep. */
  private pending = new Map<string, { fields: string[]; keepMs: number }>();
  private replies = new Map<string, string[]>();
  private written?: Promise<void>;
  private markWritten?: () => void;

  constructor(
    private readonly client: () => Redis,
    private readonly keys: DistKeys,
    /** Where a record (HSET, PEXPIRE) or a reply (PUBLISH) Redis refused is reported. */
    private readonly failed: { record: (err: unknown) => void; reply: (err: unknown) => void },
  ) {}

  /** Records a result and replies with it, queued on the connection now (before anything the caller sends next). */
  recordNow(executionId: string, jobId: string, json: string, keepMs: number, replyTo?: string): void {
    const c = this.client();
    const key = this.keys.results(executionId);
    c.hset(key, jobId, json).catch(this.failed.record);
    this.expire(c, key, keepMs);
    if (replyTo) this.reply(replyTo, jobId, json);
  }

  /** Sends a result (JSON) to the orchestrator that sent the job, with nothing recorded (it is, or needs not be). */
  reply(replyTo: string, jobId: string, json: string): void {
    this.client().publish(replyTo, replyEntry(jobId, json)).catch(this.failed.reply);
  }

  /**
   * Records a result with the others that come in while the promise chains running now settle: one HSET per
   * execution and one reply message per orchestrator for all of them. Resolves once that write is queued, so
   * BullMQ's completion of the job (which removes it) is sent after it.
   */
  recordBatched(executionId: string, jobId: string, json: string, keepMs: number, replyTo?: string): Promise<void> {
    const key = this.keys.results(executionId);
    const p = this.pending.get(key);
    if (p) p.fields.push(jobId, json);
    else this.pending.set(key, { fields: [jobId, json], keepMs });
    if (replyTo) {
      const entry = replyEntry(jobId, json);
      const list = this.replies.get(replyTo);
      if (list) list.push(entry);
      else this.replies.set(replyTo, [entry]);
    }
    if (!this.written) {
      this.written = new Promise((r) => (this.markWritten = r));
      process.nextTick(() => this.flush());
    }
    return this.written;
  }

  private flush(): void {
    const pending = this.pending;
    const replies = this.replies;
    const done = this.markWritten!;
    this.pending = new Map();
    this.replies = new Map();
    this.written = this.markWritten = undefined;
    const c = this.client();
    // The completions the waiting jobs send once this resolves leave in the same write.
    coalesceWrites(c, 'microtasks');
    for (const [key, { fields, keepMs }] of pending) {
      c.hset(key, ...fields).catch(this.failed.record);
      this.expire(c, key, keepMs);
    }
    for (const [ch, list] of replies)
      c.publish(ch, list.length === 1 ? list[0] : `[${list.join(',')}]`).catch(this.failed.reply);
    done();
  }

  private expire(c: Redis, key: string, keepMs: number): void {
    const refreshMs = Math.min(60_000, Math.ceil(keepMs / 10));
    const now = Date.now();
    const last = this.expiresSet.get(key);
    if (last !== undefined && now - last < refreshMs) return;
    this.expiresSet.set(key, now);
    c.pexpire(key, keepMs + refreshMs).catch(this.failed.record);
  }

  /** Forgets executions whose expiry was set long ago (run on the heartbeat: the map stays small). */
  prune(): void {
    const old = Date.now() - 60_000;
    for (const [k, at] of this.expiresSet) if (at < old) this.expiresSet.delete(k);
  }

  /**
   * Claims attempts for the job `owner`, in one write and one round trip: per attempt, its recorded result if it
   * has one, and the job whose claim holds (`owner` when it is this job's, claimed now or by its earlier run).
   */
  async claim(owner: string, items: Array<{ executionId: string; key: string }>, keepMs: number): Promise<Claim[]> {
    const c = this.client();
    coalesceWrites(c, 'microtasks');
    const rows = await Promise.all(
      items.map(({ executionId, key }) => {
        const k = this.keys.results(executionId);
        c.hsetnx(k, claimField(key), owner).catch(this.failed.record);
        this.expire(c, k, keepMs);
        return c.hmget(k, claimField(key), key);
      }),
    );
    return rows.map(([by, recorded]) => ({ by: by ?? owner, recorded: recorded ?? undefined }));
  }

  /** Moves an attempt's claim to `owner` (the job that held it ended without a result); its result if one came. */
  async takeOver(executionId: string, key: string, owner: string): Promise<string | undefined> {
    const c = this.client();
    const k = this.keys.results(executionId);
    c.hset(k, claimField(key), owner).catch(this.failed.record);
    return (await c.hget(k, key)) ?? undefined;
  }

  /** The result (JSON) recorded for a job, if any. */
  async recorded(executionId: string, jobId: string): Promise<string | undefined> {
    return (await this.client().hget(this.keys.results(executionId), jobId)) ?? undefined;
  }
}

/** How long a job's result is kept: as long as its failure would be (the orchestrator's `keepJobsSeconds`). */
export function keepMsOf(job: { opts: Pick<JobsOptions, 'removeOnFail'> }): number {
  const keep = job.opts.removeOnFail;
  const age = typeof keep === 'object' && 'age' in keep && keep.age !== undefined ? keep.age : 3600;
  return age * 1000;
}
