import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import * as Y from 'yjs';
import { DOC_ROOTS, fromY } from './paths.js';
import { PresenceTable } from './presence.js';
import { type AwarenessEntry, encodeAwarenessMessage, KEEPALIVE_FRAME } from './protocol/awareness.js';
import { Outgoing } from './protocol/frames.js';
import { CLOSE_SLOW_READER, encodeSync, SYNC_STEP1, SYNC_STEP2, SYNC_UPDATE } from './protocol/messages.js';
import type { CollabStore } from './store.js';
import type { OperationType, Path, Role } from './types.js';

// One live workflow document: the Y.Doc, its connections, presence, persistence and fan-out. Transport
// framing lives in protocol/, decisions (roles, locks, strategies) in the manager.

export interface Conn {
  ws: WebSocket;
  userId: string;
  role: Role;
  workflowId: string;
  sessionId: string;
  closed: boolean;
  /** Set when the server decided to close it: later frames are ignored. */
  dropped?: boolean;
  /** The TCP socket when broadcasts may write pre-framed bytes to it (see protocol/frames.ts). */
  raw?: Socket;
  /** Backpressure bound for this socket (see `send`). */
  maxBufferedBytes?: number;
}

/** Transaction origins other than connections. */
export const ORIGIN_LOAD = Symbol('load');
export const ORIGIN_REMOTE = Symbol('remote');
export interface OpOrigin {
  kind: 'op';
  userId: string;
}

export interface DocChange {
  type: OperationType;
  path: Path;
  oldValue?: unknown;
  newValue?: unknown;
}

/** Bounds a room holds every connection to (collaboration config `limits`). */
export interface RoomLimits {
  /** Bytes queued for a socket above which it is closed as a slow reader (4509). */
  maxBufferedBytes: number;
  /** Awareness client ids one connection may introduce (a tab normally has one). */
  maxClientIdsPerConnection: number;
  /** Presence entries per document, all connections and processes together. */
  maxPresenceEntries: number;
  /** Largest awareness state accepted, in characters of JSON. */
  maxPresenceStateChars: number;
  /** A presence entry not renewed for this long is dropped (stock clients renew every 15 s). */
  presenceTimeoutMs: number;
}

export const DEFAULT_ROOM_LIMITS: RoomLimits = {
  maxBufferedBytes: 4 * 1024 * 1024,
  maxClientIdsPerConnection: 4,
  maxPresenceEntries: 1000,
  maxPresenceStateChars: 16 * 1024,
  presenceTimeoutMs: 30_000,
};

export interface RoomHooks {
  /** Changes a connection made through Yjs updates (for the audit trail and `updates:broadcast`). */
  onConnChanges(conn: Conn, changes: DocChange[]): void;
  /** Presence entries that changed, with the connection that sent them (undefined: another process). */
  onPresence(conn: Conn | undefined, entries: AwarenessEntry[]): void;
  /** Forward to other processes (Redis); undefined when running alone. */
  publish?(kind: 'update' | 'awareness', payload: Uint8Array): void;
  /** A persistence write failed; the document stays live and the write is retried with the next. */
  onStoreError?(err: unknown): void;
}

const COMPACT_EVERY = 2000;
const RENEWAL_FLUSH_MS = 5000;
const KEEPALIVE_MS = 10_000;

export class DocRoom {
  readonly doc = new Y.Doc();
  readonly presence: PresenceTable;
  readonly conns = new Set<Conn>();
  destroyed = false;
  private sinceCompact = 0;
  private fastTimer: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private readonly ticker: NodeJS.Timeout;
  private tick = 0;
  // Encoded once per document version and shared by every joiner until the next update.
  private cachedStep1?: Outgoing;
  private cachedFullState?: Outgoing;

  constructor(
    readonly workflowId: string,
    private readonly store: CollabStore,
    private readonly hooks: RoomHooks,
    readonly limits: RoomLimits = DEFAULT_ROOM_LIMITS,
  ) {
    this.presence = new PresenceTable(limits);
    const stored = store.loadDoc(workflowId);
    if (stored.length > 0)
      Y.applyUpdate(this.doc, stored.length === 1 ? stored[0] : Y.mergeUpdates(stored), ORIGIN_LOAD);
    this.sinceCompact = stored.length;
    this.doc.on('update', (update: Uint8Array, origin: unknown) => this.onUpdate(update, origin));
    for (const root of DOC_ROOTS) this.doc.getMap(root).observeDeep((events, txn) => this.observe(root, events, txn));
    this.ticker = setInterval(() => this.onTick(), RENEWAL_FLUSH_MS);
    this.ticker.unref();
  }

  private onUpdate(update: Uint8Array, origin: unknown): void {
    this.cachedStep1 = undefined;
    this.cachedFullState = undefined;
    if (this.conns.size > 0) this.broadcast(new Outgoing(encodeSync(SYNC_UPDATE, update)), origin as Conn | undefined);
    this.store.appendUpdate(this.workflowId, update);
    if (origin !== ORIGIN_REMOTE) this.hooks.publish?.('update', update);
    if (++this.sinceCompact >= COMPACT_EVERY) {
      this.sinceCompact = 0;
      try {
        this.store.compact(this.workflowId, Y.encodeStateAsUpdate(this.doc));
      } catch (err) {
        // The update log is still whole; compaction is tried again after the next COMPACT_EVERY updates.
        this.hooks.onStoreError?.(err);
      }
    }
  }

  private observe(root: string, events: Array<Y.YEvent<Y.AbstractType<unknown>>>, txn: Y.Transaction): void {
    const origin = txn.origin as Conn | undefined;
    if (!origin || typeof origin !== 'object' || !('ws' in origin)) return;
    const changes: DocChange[] = [];
    for (const ev of events) {
      const base: Path = [root, ...ev.path];
      if (ev.target instanceof Y.Map) {
        for (const [key, ch] of ev.changes.keys) {
          const type: OperationType = ch.action === 'delete' ? 'delete' : 'set';
          changes.push({
            type,
            path: [...base, key],
            oldValue: fromY(ch.oldValue),
            newValue: type === 'set' ? fromY((ev.target as Y.Map<unknown>).get(key)) : undefined,
          });
        }
      } else {
        let index = 0;
        for (const d of ev.changes.delta) {
          if (d.retain) index += d.retain;
          else if (d.insert) {
            const items = Array.isArray(d.insert) ? d.insert : [d.insert];
            for (const [i, v] of items.entries())
              changes.push({ type: 'insert', path: [...base, index + i], newValue: fromY(v) });
            index += items.length;
          } else if (d.delete)
            for (let i = 0; i < d.delete; i++) changes.push({ type: 'delete', path: [...base, index] });
        }
      }
    }
    if (changes.length) this.hooks.onConnChanges(origin, changes);
  }

  addConn(conn: Conn): void {
    this.conns.add(conn);
    this.cachedStep1 ??= new Outgoing(encodeSync(SYNC_STEP1, Y.encodeStateVector(this.doc)));
    send(conn, this.cachedStep1);
    const states = this.presence.all();
    if (states.length) send(conn, encodeAwarenessMessage(states));
  }

  removeConn(conn: Conn): void {
    if (!this.conns.delete(conn)) return;
    const removed = this.presence.removeOwner(conn);
    if (removed.length) {
      this.scheduleFast();
      this.hooks.onPresence(conn, removed);
    }
  }

  /** Awareness entries from a local connection. */
  applyAwareness(conn: Conn, entries: AwarenessEntry[]): void {
    const changed = this.presence.apply(conn, entries, Date.now());
    if (this.presence.fast.size) this.scheduleFast();
    if (changed.length) this.hooks.onPresence(conn, changed);
  }

  /** Awareness entries from another process: owned by the remote marker, forwarded locally only. */
  applyRemoteAwareness(entries: AwarenessEntry[]): void {
    const changed = this.presence.apply(ORIGIN_REMOTE, entries, Date.now(), Number.POSITIVE_INFINITY);
    if (changed.length) {
      this.broadcast(encodeAwarenessMessage(changed), undefined);
      this.hooks.onPresence(undefined, changed);
    }
    this.presence.takeFast();
  }

  /** Sync step 2 answering a state vector; a joiner with an empty document gets the cached full state. */
  syncStep2For(stateVector: Uint8Array): Outgoing {
    if (stateVector.length === 1 && stateVector[0] === 0) {
      this.cachedFullState ??= new Outgoing(encodeSync(SYNC_STEP2, Y.encodeStateAsUpdate(this.doc)));
      return this.cachedFullState;
    }
    return new Outgoing(encodeSync(SYNC_STEP2, Y.encodeStateAsUpdate(this.doc, stateVector)));
  }

  sendPresenceTo(conn: Conn): void {
    send(conn, encodeAwarenessMessage(this.presence.all()));
  }

  // Coalesce: one awareness broadcast per event-loop turn; at many connections wait longer (n/20 ms, at most
  // 50 ms) so the changes of hundreds of clients share a frame: each flush costs one socket write per client.
  private scheduleFast(): void {
    if (this.fastTimer) return;
    const n = this.conns.size;
    const flush = () => {
      this.fastTimer = undefined;
      this.flushFast();
    };
    this.fastTimer = n < 100 ? setImmediate(flush) : setTimeout(flush, Math.min(50, n / 20));
  }

  private flushFast(): void {
    const { entries, owners } = this.presence.takeFast();
    if (!entries.length) return;
    const frame = encodeAwarenessMessage(entries);
    const only = owners.size === 1 ? [...owners][0] : undefined;
    this.broadcast(frame, only as Conn | undefined);
    this.hooks.publish?.('awareness', frame);
  }

  private onTick(): void {
    const expired = this.presence.expire(Date.now());
    if (expired.length) {
      this.scheduleFast();
      this.hooks.onPresence(undefined, expired);
    }
    const slow = this.presence.takeSlow();
    if (slow.length) {
      const frame = encodeAwarenessMessage(slow);
      this.broadcast(frame, undefined);
      this.hooks.publish?.('awareness', frame);
    } else if (++this.tick % Math.round(KEEPALIVE_MS / RENEWAL_FLUSH_MS) === 0) {
      this.broadcast(KEEPALIVE_FRAME, undefined);
    }
  }

  broadcast(frame: Uint8Array | Outgoing, except: Conn | undefined): void {
    const msg = frame instanceof Outgoing ? frame : new Outgoing(frame);
    for (const c of this.conns) if (c !== except) send(c, msg);
  }

  destroy(): void {
    this.destroyed = true;
    clearInterval(this.ticker);
    if (this.fastTimer) {
      clearTimeout(this.fastTimer as NodeJS.Timeout);
      clearImmediate(this.fastTimer as NodeJS.Immediate);
    }
    this.doc.destroy();
  }
}

/**
 * Sends unless the socket has more than `maxBufferedBytes` queued already: such a reader is closed with 4510
 * (stock clients reconnect and resync) instead of letting its backlog grow in server memory.
 */
export function send(conn: Conn, msg: Uint8Array | Outgoing, maxBufferedBytes = conn.maxBufferedBytes): void {
  if (conn.closed || conn.dropped || conn.ws.readyState !== 1) return;
  if (maxBufferedBytes !== undefined && conn.ws.bufferedAmount > maxBufferedBytes) {
    conn.dropped = true;
    conn.ws.close(CLOSE_SLOW_READER, 'slow reader: too much unread data queued');
    return;
  }
  if (!(msg instanceof Outgoing)) conn.ws.send(msg);
  else if (conn.raw) conn.raw.write(msg.frame);
  else conn.ws.send(msg.data);
}
