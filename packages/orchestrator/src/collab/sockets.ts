import type { WebSocket } from 'ws';
import { CodexError, ErrorCodes } from '../errors.js';
import { handleFrame, type WireHost } from './connection.js';
import type { CollaborationManager } from './manager.js';
import { pathKey } from './paths.js';
import type { AwarenessEntry } from './protocol/awareness.js';
import { rawSocketOf } from './protocol/frames.js';
import { CLOSE_FORBIDDEN, CLOSE_FULL } from './protocol/messages.js';
import type { Conn, DocChange, DocRoom } from './room.js';
import { presenceStateSchema } from './schemas.js';
import type { Session } from './session.js';
import type { AppliedUpdate, ApplyResult, Participant, Role } from './types.js';
import { applyOps, checkWrite, parseOp } from './writes.js';

// WebSocket connections of a CollaborationManager: attaching sockets to sessions and documents, the wire's
// write checks, and turning what connections do (Yjs changes, awareness) into audit entries and manager events.

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

export class SocketHub implements WireHost {
  constructor(private readonly m: CollaborationManager) {}

  /** Attach an upgraded, authenticated socket to a workflow's document. */
  async connect(ws: WebSocket, workflowId: string, identity: { userId: string; role?: Role }): Promise<void> {
    const m = this.m;
    if (!m.config.enableRealtime) return void ws.close(CLOSE_FORBIDDEN, 'realtime collaboration is disabled');
    // Buffer frames that arrive while the session and document load.
    const early: Buffer[] = [];
    const buffer = (d: Buffer) => early.push(d);
    ws.on('message', buffer);
    let s: Session;
    let participant: Participant;
    try {
      if (!m.active.get(workflowId)) await m.createSession(workflowId, identity.userId);
      s = m.active.get(workflowId) as Session;
      participant = m.join(s, identity.userId, identity.role);
    } catch (err) {
      const code = err instanceof CodexError && err.code === ErrorCodes.COLLAB_FULL ? CLOSE_FULL : CLOSE_FORBIDDEN;
      return void ws.close(code, (err as Error).message.slice(0, 120));
    }
    const room = await m.room(workflowId);
    const conn: LiveConn = {
      ws,
      userId: identity.userId,
      role: identity.role ?? participant.role,
      workflowId,
      sessionId: s.id,
      closed: false,
      raw: rawSocketOf(ws),
      hub: this,
      room,
    };
    participant.connections++;
    ws.off('message', buffer);
    (ws as Attached)[CONN] = conn;
    ws.on('message', onMessage);
    ws.on('close', onClose);
    room.addConn(conn);
    for (const d of early) handleFrame(this, room, conn, d);
  }

  disconnect(conn: LiveConn): void {
    if (conn.closed) return;
    conn.closed = true;
    conn.room.removeConn(conn);
    const s = this.m.sessions.get(conn.sessionId);
    const p = s?.participants.get(conn.userId);
    if (!s || !p) return;
    if (--p.connections <= 0 && s.state === 'active') this.m.leave(s, conn.userId);
  }

  /** WireHost: a Yjs update from a connection (roles and locks enforced). Returns false when refused. */
  canWrite(conn: Conn, touchedTasks: () => string[]): boolean {
    const s = this.m.sessions.get(conn.sessionId);
    if (!s || s.state !== 'active') return false;
    try {
      checkWrite(this.m, s, conn.userId, conn.role, undefined, undefined);
      if (this.m.locks.heldByOthers(s.workflowId, conn.userId).length)
        for (const t of touchedTasks()) checkWrite(this.m, s, conn.userId, conn.role, `tasks.${t}`, t);
      return true;
    } catch {
      return false;
    }
  }

  /** WireHost: an op message from a connection. */
  applyOpFromWire(conn: Conn, room: DocRoom, raw: unknown): ApplyResult {
    const s = this.m.requireSession(conn.sessionId);
    return applyOps(this.m, s, room, conn.userId, conn.role, [parseOp(raw)]);
  }

  onConnChanges(conn: Conn, changes: DocChange[]): void {
    const s = this.m.sessions.get(conn.sessionId);
    if (!s) return;
    const now = Date.now();
    const updates = changes.map<AppliedUpdate>((c) => ({
      operation: { type: c.type },
      path: c.path,
      value: c.newValue,
      userId: conn.userId,
      sessionId: s.id,
      workflowId: s.workflowId,
      version: s.version,
      timestamp: now,
      source: 'yjs',
    }));
    for (const c of changes)
      this.m.audit({
        workflowId: s.workflowId,
        sessionId: s.id,
        userId: conn.userId,
        at: now,
        action: c.type,
        path: pathKey(c.path),
        oldValue: c.oldValue,
        newValue: c.newValue,
      });
    s.touch(now, conn.userId);
    this.m.queueBroadcast(s, updates);
  }

  onPresence(conn: Conn | undefined, entries: AwarenessEntry[]): void {
    if (!conn) return;
    const s = this.m.sessions.get(conn.sessionId);
    if (!s) return;
    s.touch(Date.now(), conn.userId);
    const p = s.participants.get(conn.userId);
    if (!p) return;
    for (const e of entries) {
      if (e.state === 'null') continue;
      let parsed: ReturnType<typeof presenceStateSchema.safeParse>;
      try {
        parsed = presenceStateSchema.safeParse(JSON.parse(e.state));
      } catch {
        continue;
      }
      if (!parsed.success) continue;
      const st = parsed.data;
      if (st.cursor && (st.cursor.x !== p.cursor?.x || st.cursor.y !== p.cursor?.y)) {
        p.cursor = st.cursor;
        if (st.selectedTaskId) p.selectedTaskId = st.selectedTaskId;
        this.m.emit('cursor:moved', {
          sessionId: s.id,
          workflowId: s.workflowId,
          participantId: conn.userId,
          position: st.cursor,
          selectedTaskId: p.selectedTaskId,
        });
      }
      if (st.activity || st.selectedTaskId) {
        p.activity = st.activity ?? p.activity;
        p.selectedTaskId = st.selectedTaskId ?? p.selectedTaskId;
        this.m.emit('presence:changed', {
          sessionId: s.id,
          workflowId: s.workflowId,
          participantId: conn.userId,
          activity: p.activity,
          selectedTaskId: p.selectedTaskId,
        });
      }
    }
  }
}
