import type { EventBus, OrchestratorEventName } from '@codexos/multi-agent-orchestrator';
import type { LiveEvent } from '../types.js';

// Live events: one bus subscription per server. Each execution's events are numbered from 1 (no gaps) and kept
// while the run is live (and for a while after), so a client reconnecting with `after=seq` misses nothing.
// Delivery is batched per tick: one serialised frame per execution per tick, shared by all its watchers.

const EXECUTION_EVENTS: OrchestratorEventName[] = [
  'workflow:started',
  'workflow:completed',
  'workflow:failed',
  'workflow:cancelled',
  'task:queued',
  'task:started',
  'task:completed',
  'task:failed',
  'task:retrying',
  'task:skipped',
  'execution:paused',
  'execution:resumed',
  'task:waiting',
  // Streamed model text (batched per tick by the engine) and the tool calls of model-backed tasks.
  'task:delta',
  'tool:called',
  'tool:completed',
  'tool:failed',
  'model:selected',
  'model:fallback',
  'model:call',
  'insight',
];
const END = new Set(['workflow:completed', 'workflow:failed', 'workflow:cancelled']);

/** One connected client of an execution or of the run-level stream. */
export interface Watcher {
  /** Highest seq this watcher has been sent. */
  lastSeq: number;
  /** Deliver events in seq order; `frame()` gives the shared serialisation when the batch is sent unfiltered. */
  deliver(events: LiveEvent[], frame: BatchFrame): void;
  end(status: string, lastSeq: number): void;
  close(code: number, reason: string): void;
}

/** Lazily built serialisations of one batch, shared by every watcher that receives it whole. */
export class BatchFrame {
  private json?: string;
  private bytes?: Buffer;
  private compact?: Buffer;
  private sse?: string;
  constructor(
    readonly executionId: string,
    readonly events: LiveEvent[],
  ) {}
  asJson(): string {
    if (this.json === undefined) this.json = eventsFrame(this.executionId, this.events);
    return this.json;
  }
  /** The JSON frame as UTF-8, encoded once for every socket (a string would be encoded again per send). */
  asBytes(): Buffer {
    if (this.bytes === undefined) this.bytes = Buffer.from(this.asJson(), 'utf8');
    return this.bytes;
  }
  /** The compact frame (see `compactFrame`) as UTF-8, encoded once for every socket that asked for it. */
  asCompactBytes(): Buffer {
    if (this.compact === undefined) this.compact = Buffer.from(compactFrame(this.executionId, this.events), 'utf8');
    return this.compact;
  }
  asSse(): string {
    if (this.sse === undefined) this.sse = sseText(this.events);
    return this.sse;
  }
}

export const eventsFrame = (executionId: string, events: LiveEvent[]) =>
  JSON.stringify({ type: 'events', executionId, events });
/**
 * The frame for `?compact=1` watchers of one execution: `executionId` and `workflowId` once on the frame instead
 * of on every event and in its payload, and no `payload.timestamp` where it equals `at` (about 40 % fewer bytes to
 * parse for the same events).
 */
export const compactFrame = (executionId: string, events: LiveEvent[]) =>
  JSON.stringify({
    type: 'events',
    executionId,
    workflowId: events[0]?.workflowId ?? '',
    compact: true,
    events: events.map(compactEvent),
  });

function compactEvent(e: LiveEvent): { seq: number; type: string; at: number; payload: unknown } {
  const p = e.payload as Record<string, unknown> | undefined;
  if (!p || typeof p !== 'object') return { seq: e.seq, type: e.type, at: e.at, payload: p };
  const { executionId: _e, workflowId: _w, timestamp, ...rest } = p;
  if (timestamp !== undefined && timestamp !== e.at) rest.timestamp = timestamp;
  return { seq: e.seq, type: e.type, at: e.at, payload: rest };
}

export const sseText = (events: LiveEvent[]) =>
  events.map((e) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join('');

interface ExecLog {
  executionId: string;
  workflowId: string;
  events: LiveEvent[];
  /** Index in `events` of the first event not yet delivered. */
  flushedTo: number;
  watchers: Set<Watcher>;
  ended?: string;
  endedAt?: number;
}

export interface RunWatcher extends Watcher {
  /** Which workflows this client may see (undefined: all) and wants (optional filter). */
  visible(workflowId: string): boolean;
}

export interface HubOptions {
  /** Finished executions whose events stay in memory for late readers (default 200). */
  keepFinished?: number;
  /** Run-level events kept for resume (default 10 000). */
  keepRunEvents?: number;
}

export class LiveHub {
  private readonly logs = new Map<string, ExecLog>();
  private readonly finished: string[] = [];
  private readonly dirty = new Set<ExecLog>();
  private scheduled = false;
  private readonly runEvents: LiveEvent[] = [];
  private runSeq = 0;
  private runFlushedTo = 0;
  private readonly runWatchers = new Set<RunWatcher>();
  private readonly listeners: Array<[OrchestratorEventName, (p: unknown) => void]> = [];
  private readonly keepFinished: number;
  private readonly keepRunEvents: number;
  /** Events published to watchers (for the bench and tests). */
  delivered = 0;
  /** When set, the age (ms) of the oldest event of each batch at the moment it is written to sockets. */
  lagSamples?: number[];

  constructor(
    private readonly bus: EventBus,
    opts: HubOptions = {},
  ) {
    this.keepFinished = opts.keepFinished ?? 200;
    this.keepRunEvents = opts.keepRunEvents ?? 10_000;
    for (const type of EXECUTION_EVENTS) {
      const fn = (p: unknown) => this.onEvent(type, p as Record<string, unknown>);
      bus.on(type, fn as never);
      this.listeners.push([type, fn]);
    }
  }

  /**
   * Also streams the events of another bus (runs driven by other processes, see remote.ts), except those `skip`
   * names as this process's own. Returns the detach function.
   */
  attach(bus: EventBus, skip: (p: Record<string, unknown>) => boolean): () => void {
    const added = EXECUTION_EVENTS.map((type) => {
      const fn = (p: unknown) => {
        if (!skip(p as Record<string, unknown>)) this.onEvent(type, p as Record<string, unknown>);
      };
      bus.on(type, fn as never);
      return [type, fn] as const;
    });
    return () => {
      for (const [type, fn] of added) bus.off(type, fn as never);
    };
  }

  private onEvent(type: string, p: Record<string, unknown>): void {
    const executionId = p.executionId as string | undefined;
    if (!executionId) return;
    let log = this.logs.get(executionId);
    if (!log) {
      log = this.createLog(executionId, (p.workflowId as string) ?? '');
    }
    if (!log.workflowId && typeof p.workflowId === 'string') log.workflowId = p.workflowId;
    if (type === 'workflow:started' && log.ended) {
      // A resumed run continues the same numbering.
      log.ended = undefined;
      log.endedAt = undefined;
      const i = this.finished.indexOf(executionId);
      if (i >= 0) this.finished.splice(i, 1);
    }
    const at = typeof p.timestamp === 'number' ? p.timestamp : Date.now();
    const ev: LiveEvent = { seq: log.events.length + 1, type, executionId, workflowId: log.workflowId, at, payload: p };
    log.events.push(ev);
    this.dirty.add(log);
    if (type.startsWith('workflow:')) this.pushRun(type, ev, p);
    if (END.has(type)) {
      log.ended = (p.result as { status?: string } | undefined)?.status ?? type.slice('workflow:'.length);
      log.endedAt = Date.now();
      this.finished.push(executionId);
      while (this.finished.length > this.keepFinished) {
        const old = this.finished.shift() as string;
        const l = this.logs.get(old);
        if (l?.ended && l.watchers.size === 0) this.logs.delete(old);
      }
    }
    this.schedule();
  }

  private createLog(executionId: string, workflowId: string): ExecLog {
    const log: ExecLog = { executionId, workflowId, events: [], flushedTo: 0, watchers: new Set() };
    this.logs.set(executionId, log);
    return log;
  }

  /** Seeds a log with events recorded before this process started (so numbering continues on resume). */
  seed(executionId: string, workflowId: string, events: Array<Omit<LiveEvent, 'seq'>>): void {
    if (this.logs.has(executionId)) return;
    const log = this.createLog(executionId, workflowId);
    for (const e of events) log.events.push({ ...e, seq: log.events.length + 1 });
    log.flushedTo = log.events.length;
  }

  private pushRun(type: string, ev: LiveEvent, p: Record<string, unknown>): void {
    const result = p.result as { status?: string; cost?: number; error?: unknown } | undefined;
    const payload =
      type === 'workflow:started'
        ? { taskCount: p.taskCount, resumed: p.resumed }
        : { status: result?.status, duration: p.duration, cost: result?.cost, error: result?.error };
    this.runEvents.push({ ...ev, seq: ++this.runSeq, payload });
    if (this.runEvents.length > this.keepRunEvents * 1.5) {
      const drop = this.runEvents.length - this.keepRunEvents;
      this.runEvents.splice(0, drop);
      this.runFlushedTo = Math.max(0, this.runFlushedTo - drop);
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends every undelivered event: one shared frame per execution. */
  flush(): void {
    this.scheduled = false;
    for (const log of this.dirty) {
      const batch = log.events.slice(log.flushedTo);
      log.flushedTo = log.events.length;
      if (batch.length === 0) continue;
      const frame = new BatchFrame(log.executionId, batch);
      if (this.lagSamples && log.watchers.size) this.lagSamples.push(Date.now() - batch[0].at);
      for (const w of log.watchers) this.send(w, batch, frame);
      if (log.ended) {
        for (const w of log.watchers) w.end(log.ended, log.events.length);
        log.watchers.clear();
      }
    }
    this.dirty.clear();
    if (this.runFlushedTo < this.runEvents.length) {
      const batch = this.runEvents.slice(this.runFlushedTo);
      this.runFlushedTo = this.runEvents.length;
      for (const w of this.runWatchers) {
        const mine = batch.filter((e) => e.seq > w.lastSeq && w.visible(e.workflowId));
        if (mine.length) {
          w.lastSeq = batch[batch.length - 1].seq;
          w.deliver(mine, new BatchFrame('', mine));
        }
      }
    }
  }

  private send(w: Watcher, batch: LiveEvent[], frame: BatchFrame): void {
    if (batch[0].seq > w.lastSeq) {
      w.lastSeq = batch[batch.length - 1].seq;
      this.delivered += batch.length;
      return w.deliver(batch, frame);
    }
    const rest = batch.filter((e) => e.seq > w.lastSeq);
    if (!rest.length) return;
    w.lastSeq = rest[rest.length - 1].seq;
    this.delivered += rest.length;
    w.deliver(rest, new BatchFrame(frame.executionId, rest));
  }

  has(executionId: string): boolean {
    return this.logs.has(executionId);
  }

  /** Events so far with seq > after (undefined when this process holds no log for the execution). */
  eventsAfter(executionId: string, after: number, limit = Number.MAX_SAFE_INTEGER): LiveEvent[] | undefined {
    const log = this.logs.get(executionId);
    if (!log) return undefined;
    return log.events.slice(Math.max(0, after), Math.max(0, after) + limit);
  }

  lastSeq(executionId: string): number {
    return this.logs.get(executionId)?.events.length ?? 0;
  }

  /**
   * Attaches a watcher: sends the backlog after `after` (in chunks), then live batches. Returns a detach function.
   * `ensure` creates an empty log for an execution that has not emitted yet (just started, or finished before
   * this process) — `endedStatus` marks the latter so the watcher gets its end frame at once.
   */
  watch(executionId: string, workflowId: string, w: Watcher, after: number, endedStatus?: string): () => void {
    let log = this.logs.get(executionId);
    if (!log) {
      log = this.createLog(executionId, workflowId);
      if (endedStatus) {
        log.ended = endedStatus;
        log.endedAt = Date.now();
        this.finished.push(executionId);
      }
    }
    // Only what was already delivered to others is backlog; undelivered events go out with the next flush.
    const upTo = log.flushedTo;
    for (let i = Math.max(0, after); i < upTo; i += 1000) {
      const chunk = log.events.slice(i, Math.min(upTo, i + 1000));
      w.lastSeq = chunk[chunk.length - 1].seq;
      w.deliver(chunk, new BatchFrame(executionId, chunk));
    }
    if (w.lastSeq < after) w.lastSeq = after;
    if (log.ended && log.flushedTo === log.events.length) {
      w.end(log.ended, log.events.length);
      return () => {};
    }
    log.watchers.add(w);
    const l = log;
    return () => l.watchers.delete(w);
  }

  /** Run-level watcher: from now on, or resumed after `after`. */
  watchRuns(w: RunWatcher, after: number | undefined): () => void {
    if (after === undefined) after = this.runEvents[this.runFlushedTo - 1]?.seq ?? 0;
    const backlog = this.runEvents.slice(0, this.runFlushedTo).filter((e) => e.seq > after && w.visible(e.workflowId));
    w.lastSeq = Math.max(after, this.runEvents[this.runFlushedTo - 1]?.seq ?? 0);
    if (backlog.length) w.deliver(backlog, new BatchFrame('', backlog));
    this.runWatchers.add(w);
    return () => this.runWatchers.delete(w);
  }

  watcherCount(): number {
    let n = this.runWatchers.size;
    for (const l of this.logs.values()) n += l.watchers.size;
    return n;
  }

  /** Closes every watcher (shutdown). */
  closeAll(code: number, reason: string): void {
    this.flush();
    for (const l of this.logs.values()) {
      for (const w of l.watchers) w.close(code, reason);
      l.watchers.clear();
    }
    for (const w of this.runWatchers) w.close(code, reason);
    this.runWatchers.clear();
  }

  dispose(): void {
    for (const [type, fn] of this.listeners) this.bus.off(type, fn as never);
    this.listeners.length = 0;
  }
}
