import type { WebSocket } from 'ws';
import { CodexError, ErrorCodes } from '../errors.js';
import { handleFrame, type WireHost } from './connection.js';
import type { AwarenessEntry } from './protocol/awareness.js';
import { rawSocketOf } from './protocol/frames.js';
import { CLOSE_FORBIDDEN, CLOSE_FULL, CLOSE_UNAVAILABLE } from './protocol/messages.js';
import type { Conn, DocChange, DocRoom } from './room.js';
import type { ApplyResult, Role } from './types.js';

// WebSocket connections: attaching sockets to documents and feeding their frames to the wire handler. Everything
// about sessions, roles, locks, audit and events is behind the narrow SocketHost interface the manager implements.

/** A connection's place in a session, as the manager granted it. */
export interface Attachment {
  sessionId: string;
  role: Role;
  room: DocRoom;
}

/** What the socket layer may ask of the collaboration manager, and nothing more. */
export interface SocketHost {
  readonly realtime: boolean;
  /** Per-socket send backlog bound (bytes). */
  readonly maxBufferedBytes: number;
  /**
   * Join the workflow's active session (starting one if there is none) and load its document. Throws a
   * CodexError when refused (COLLAB_FULL, COLLAB_FORBIDDEN) or when the document cannot be loaded (COLLAB).
   */
  attach(workflowId: string, identity: { userId: string; role?: Role }): Promise<Attachment>;
  /** Undo one attach: the connection is gone (its room may be unloaded when it was the last). */
  detach(conn: Conn, room: DocRoom | undefined): void;
  canWrite(conn: Conn, touchedTasks: () => string[]): boolean;
  applyOpFromWire(conn: Conn, room: DocRoom, raw: unknown): ApplyResult;
  onConnChanges(conn: Conn, changes: DocChange[]): void;
  onPresence(conn: Conn | undefined, entries: AwarenessEntry[]): void;
}

interface LiveConn extends Conn {
  hub: SocketHub;
  room: DocRoom;
}

// The connection rides on its socket and the listeners are shared functions, not two closures per socket.
const CONN = Symbol('collab.conn');
type Attached = WebSocket & { [CONN]?: LiveConn };
function onMessage(this: Attached, data: Buffer): void {
  const c = this[CONN];
  if (c) handleFrame(c.hub, c.room, c, data);
}
function onClose(this: Attached): void {
  const c = this[CONN];
  if (c) c.hub.disconnect(c);
}

/** Close code for a refusal: 45xx (stock clients retry later) where a retry can succeed, 44xx where it cannot. */
function closeCodeFor(err: unknown): number {
  if (err instanceof CodexError && err.code === ErrorCodes.COLLAB_FULL) return CLOSE_FULL;
  if (err instanceof CodexError && err.code === ErrorCodes.COLLAB) return CLOSE_UNAVAILABLE;
  return CLOSE_FORBIDDEN;
}

export class SocketHub implements WireHost {
  constructor(private readonly host: SocketHost) {}

  /**
   * Attach an upgraded, authenticated socket to a workflow's document. Never rejects: a refusal or a failed load
   * closes this socket only, with a code that says whether a reconnect can succeed.
   */
  async connect(ws: WebSocket, workflowId: string, identity: { userId: string; role?: Role }): Promise<void> {
    const host = this.host;
    if (!host.realtime) return void ws.close(CLOSE_FORBIDDEN, 'realtime collaboration is disabled');
    // Buffer frames that arrive while the session and document load.
    const early: Buffer[] = [];
    const buffer = (d: Buffer) => early.push(d);
    ws.on('message', buffer);
    let a: Attachment;
    try {
      a = await host.attach(workflowId, identity);
    } catch (err) {
      ws.off('message', buffer);
      if (ws.readyState === ws.OPEN) ws.close(closeCodeFor(err), (err as Error).message.slice(0, 120));
      return;
    }
    ws.off('message', buffer);
    const conn: LiveConn = {
      ws,
      userId: identity.userId,
      role: a.role,
      workflowId,
      sessionId: a.sessionId,
      closed: false,
      raw: rawSocketOf(ws),
      maxBufferedBytes: host.maxBufferedBytes,
      hub: this,
      room: a.room,
    };
    // The socket may have closed while the session and document loaded: attaching it now would leave a
    // participant nobody can remove.
    if (ws.readyState !== ws.OPEN) {
      conn.closed = true;
      host.detach(conn, undefined);
      return;
    }
    (ws as Attached)[CONN] = conn;
    ws.on('message', onMessage);
    ws.on('close', onClose);
    a.room.addConn(conn);
    for (const d of early) handleFrame(this, a.room, conn, d);
  }

  disconnect(conn: LiveConn): void {
    if (conn.closed) return;
    conn.closed = true;
    conn.room.removeConn(conn);
    this.host.detach(conn, conn.room);
  }

  canWrite(conn: Conn, touchedTasks: () => string[]): boolean {
    return this.host.canWrite(conn, touchedTasks);
  }

  applyOpFromWire(conn: Conn, room: DocRoom, raw: unknown): ApplyResult {
    return this.host.applyOpFromWire(conn, room, raw);
  }
}
