import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CodexError, ErrorCodes } from '../../errors.js';
import type { DispatchContext, OutputsRef } from '../types.js';
import type { DistKeys } from './keys.js';
import { decodeWire, encodeWire } from './wire.js';

// A handler's `ctx.outputs` holds every output of its execution so far, as in process. Sending that whole map in
// every job would cost O(tasks²) for a long chain, so the orchestrator appends only what changed since its last
// dispatch to a Redis list per execution (one delta per dispatch, also carried inline by the job that caused it),
// and each worker keeps a replica it brings up to date from the list: every output travels to a worker once.

interface Delta {
  set: Record<string, unknown>;
  del?: string[];
}

/** Executions whose last-sent outputs each side remembers; one evicted starts over from a full snapshot. */
const MAX_TRACKED = 1024;
/**
 * The log's last entries every job carries inline (at most this many, this many characters in all): a worker a
 * few entries behind (the other workers took the last jobs of the run) catches up without a read from Redis.
 */
const TAIL_ENTRIES = 8;
const TAIL_CHARS = 4096;

function touch<K, V>(m: Map<K, V>, k: K, v: V): void {
  m.delete(k);
  m.set(k, v);
  if (m.size > MAX_TRACKED) m.delete(m.keys().next().value as K);
}

interface SentRun {
  sent: Map<string, unknown>;
  len: number;
  key: string;
  /** When the log's expiry was last pushed back (ms). */
  expiresSetAt: number;
  /** The log's last entries (oldest first) and their length in characters. */
  tail: string[];
  tailChars: number;
  /**
   * Whether the log is in Redis. Until the tail stops holding all of it, every job carries the whole log inline
   * and no worker reads it there, so nothing is written: a short workflow's log never reaches Redis.
   */
  stored: boolean;
  /** The run's output log and how far into it this execution's deltas have gone (when the context offers one). */
  log?: object;
  pos: number;
  /** The ref of the log's current end, shared by every job dispatched until the next delta (jobs only read it). */
  ref?: OutputsRef;
  /** The last delta's outputs, when it deleted none; and the ref for a job whose deps are exactly those. */
  lastSet?: Record<string, unknown>;
  depsRef?: OutputsRef;
}

/** The orchestrator side: turns each dispatch's new outputs into a delta on the execution's output log. */
export class OutputsPublisher {
  // One log per orchestrator process and execution: a resuming orchestrator starts a log of its own.
  private readonly gen = randomUUID().slice(0, 8);
  private readonly runs = new Map<string, SentRun>();

  constructor(
    private readonly redis: () => Redis,
    private readonly keys: DistKeys,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * Records what changed since the last dispatch of this execution; the returned ref goes into the job. When that
   * last change sets exactly the job's `deps`, the ref leaves it out (see OutputsRef.deps).
   */
  publish(
    ctx: Pick<DispatchContext, 'executionId' | 'outputs' | 'outputChanges'>,
    deps?: Record<string, unknown>,
  ): OutputsRef {
    const { executionId } = ctx;
    let run = this.runs.get(executionId);
    if (!run)
      run = {
        sent: new Map(),
        len: 0,
        key: this.keys.outputsLog(executionId, this.gen),
        pos: 0,
        expiresSetAt: 0,
        tail: [],
        tailChars: 0,
        stored: false,
      };
    touch(this.runs, executionId, run);
    // The run's output log gives what changed since the last dispatch without looking at every output; a log
    // not seen before (first dispatch, or a resumed run) is diffed in full once, deletions included.
    const changes = run.log ? ctx.outputChanges?.(run.pos) : undefined;
    let set: Record<string, unknown>;
    let del: string[] | undefined;
    if (changes && changes.log === run.log) {
      set = changes.set;
      run.pos = changes.to;
    } else {
      const all = ctx.outputs;
      const head = ctx.outputChanges?.(Number.MAX_SAFE_INTEGER);
      run.log = head?.log;
      run.pos = head?.to ?? 0;
      ({ set, del } = diff(run.sent, all));
    }
    let any = del !== undefined;
    for (const id in set) {
      if (Object.is(run.sent.get(id), set[id]) && run.sent.has(id)) delete set[id];
      else any = true;
    }
    if (!any) {
      run.ref ??= refOf(run, this.gen);
      return this.forDeps(run, deps);
    }
    const delta: Delta = del ? { set, del } : { set };
    const b64 = encodeWire(delta, `outputs of execution "${executionId}"`);
    for (const id in set) run.sent.set(id, set[id]);
    if (del) for (const id of del) run.sent.delete(id);
    run.len++;
    run.tail.push(b64);
    run.tailChars += b64.length;
    if (run.stored || tailOverflows(run)) {
      // Sent on the connection the job's add uses next, so the delta is in Redis before any worker sees the job;
      // the first time, the whole log so far (the tail still holds all of it).
      const r = this.redis();
      if (run.stored) r.rpush(run.key, b64).catch(() => 0);
      else r.rpush(run.key, ...run.tail).catch(() => 0);
      run.stored = true;
      // The expiry is pushed back when a tenth of it has passed, not on every dispatch: the log lives at least
      // 90 % of the TTL after its last delta, for one command less per task.
      const now = Date.now();
      if (now - run.expiresSetAt >= this.ttlSeconds * 100) {
        run.expiresSetAt = now;
        r.expire(run.key, this.ttlSeconds).catch(() => 0);
      }
    }
    while (tailOverflows(run)) run.tailChars -= run.tail.shift()!.length;
    run.ref = refOf(run, this.gen);
    run.lastSet = del ? undefined : set;
    run.depsRef = undefined;
    return this.forDeps(run, deps);
  }

  private forDeps(run: SentRun, deps: Record<string, unknown> | undefined): OutputsRef {
    const ref = run.ref!;
    if (!deps || !run.lastSet || !ref.delta || !sameEntries(run.lastSet, deps)) return ref;
    if (!run.depsRef) {
      const { delta: _, ...rest } = ref;
      run.depsRef = { ...rest, deps: true };
    }
    return run.depsRef;
  }
}

/** The tail holds more than a job carries inline (too many entries, or too many characters beyond the last). */
function tailOverflows(run: SentRun): boolean {
  return run.tail.length > TAIL_ENTRIES || (run.tail.length > 1 && run.tailChars > TAIL_CHARS);
}

/** The same keys with the same values (Object.is). */
function sameEntries(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  let n = 0;
  for (const k in a) {
    if (!Object.hasOwn(b, k) || !Object.is(a[k], b[k])) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

/** The ref a job carries: the log (the worker knows its key from `gen`), its end, its last entry and, when small, the few before it. */
function refOf(run: SentRun, gen: string): OutputsRef {
  const n = run.tail.length;
  if (n === 0) return { gen, len: run.len };
  const ref: OutputsRef = { gen, len: run.len, delta: run.tail[n - 1] };
  if (n > 1) ref.prev = run.tail.slice(0, n - 1);
  return ref;
}

/** What differs between the outputs last sent and all outputs now. */
function diff(
  sent: Map<string, unknown>,
  outputs: Record<string, unknown>,
): { set: Record<string, unknown>; del?: string[] } {
  const set: Record<string, unknown> = Object.create(null);
  let kept = 0;
  for (const id in outputs) {
    const v = outputs[id];
    if (sent.has(id)) {
      kept++;
      if (Object.is(sent.get(id), v)) continue;
    }
    set[id] = v;
  }
  // Fewer of the sent ids still present than were sent: some output was reset (a rerun); say so.
  if (kept < sent.size) return { set, del: [...sent.keys()].filter((id) => !Object.hasOwn(outputs, id)) };
  return { set };
}

interface Replica {
  len: number;
  values: Record<string, unknown>;
  catching?: Promise<void>;
}

/** The worker side: a replica of each execution's outputs, brought up to the position a job names. */
export class OutputsReplica {
  private readonly runs = new Map<string, Replica>();

  constructor(
    private readonly redis: () => Redis,
    private readonly keys: DistKeys,
  ) {}

  /**
   * The execution's outputs as of (at least) the job's dispatch; read by the handler through `ctx.outputs`. Always
   * a promise, also when the job itself brings the replica up to date: measured on a chain of tasks, running the
   * handler in the same tick made each task about a tenth slower end to end.
   */
  async at(
    executionId: string,
    ref: OutputsRef | undefined,
    deps: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    if (!ref || ref.len === 0) return Object.create(null);
    const key = ref.key ?? this.keys.outputsLog(executionId, ref.gen ?? '');
    let rep = this.runs.get(key);
    if (!rep) rep = { len: 0, values: Object.create(null) };
    touch(this.runs, key, rep);
    while (rep.len < ref.len) {
      if (rep.catching) {
        await rep.catching;
        continue;
      }
      if (this.fromJob(rep, ref, deps)) break;
      rep.catching = this.catchUp(rep, key, ref.len);
      try {
        await rep.catching;
      } finally {
        rep.catching = undefined;
      }
    }
    return rep.values;
  }

  /**
   * Brings the replica up to `ref` from the entries the job carries (`prev`, then `delta` or the job's deps), when
   * that is enough.
   */
  private fromJob(rep: Replica, ref: OutputsRef, deps: Record<string, unknown>): boolean {
    const last: string | Delta | undefined = ref.delta ?? (ref.deps ? { set: deps } : undefined);
    if (last === undefined) return false;
    const first = ref.len - 1 - (ref.prev?.length ?? 0);
    if (rep.len < first) return false;
    for (let i = rep.len; i < ref.len; i++) this.apply(rep, i === ref.len - 1 ? last : ref.prev![i - first]);
    return true;
  }

  private async catchUp(rep: Replica, key: string, len: number): Promise<void> {
    const from = rep.len;
    const got = await this.redis().lrange(key, from, len - 1);
    if (got.length < len - from)
      throw new CodexError(
        ErrorCodes.QUEUE,
        `outputs of earlier tasks are missing from Redis (${key}): Redis lost them or they expired`,
        { retryable: true },
      );
    for (const b64 of got) this.apply(rep, b64);
  }

  private apply(rep: Replica, entry: string | Delta): void {
    const d = typeof entry === 'string' ? (decodeWire(entry) as Delta) : entry;
    for (const id of Object.keys(d.set)) rep.values[id] = d.set[id];
    if (d.del) for (const id of d.del) delete rep.values[id];
    rep.len++;
  }
}
