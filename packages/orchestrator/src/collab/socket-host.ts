import type { CollaborationManager } from './manager.js';
import { pathKey } from './paths.js';
import type { AwarenessEntry } from './protocol/awareness.js';
import type { Conn, DocChange, DocRoom } from './room.js';
import { presenceStateSchema } from './schemas.js';
import type { Attachment, SocketHost } from './sockets.js';
import type { AppliedUpdate, ApplyResult, Role } from './types.js';
import { applyOps, checkWrite, parseOp } from './writes.js';

// The manager's side of the socket layer: what a connection may do to sessions, documents, the audit trail and
// the manager's events. sockets.ts sees only the SocketHost interface.

export class ManagerSocketHost implements SocketHost {
  constructor(private readonly m: CollaborationManager) {}

  get realtime(): boolean {
    return this.m.config.enableRealtime;
  }

  get maxBufferedBytes(): number {
    return this.m.config.limits.maxBufferedBytes;
  }

  async attach(workflowId: string, identity: { userId: string; role?: Role }): Promise<Attachment> {
    const m = this.m;
    for (;;) {
      let s = m.active.get(workflowId);
      if (!s) {
        await m.createSession(workflowId, identity.userId);
        s = m.active.get(workflowId);
        if (!s) continue; // ended while it was being created: start over
      }
      const participant = m.join(s, identity.userId, identity.role);
      let room: DocRoom;
      try {
        room = await m.room(workflowId);
      } catch (err) {
        if (participant.connections <= 0 && s.state === 'active') m.leave(s, identity.userId);
        throw err;
      }
      // The session may have ended, or the room been unloaded, while the document loaded.
      if (s.state !== 'active' || room.destroyed) {
        if (participant.connections <= 0 && s.state === 'active') m.leave(s, identity.userId);
        continue;
      }
      participant.connections++;
      return { sessionId: s.id, role: identity.role ?? participant.role, room };
    }
  }

  detach(conn: Conn): void {
    const s = this.m.sessions.get(conn.sessionId);
    const p = s?.participants.get(conn.userId);
    if (s && p && --p.connections <= 0 && s.state === 'active') this.m.leave(s, conn.userId);
    this.m.unloadWhenIdle(conn.workflowId);
  }

  canWrite(conn: Conn, touchedTasks: () => string[]): boolean {
    const s = this.m.sessions.get(conn.sessionId);
    if (s?.state !== 'active') return false;
    try {
      checkWrite(this.m, s, conn.userId, conn.role, undefined, undefined);
      if (this.m.locks.heldByOthers(s.workflowId, conn.userId).length)
        for (const t of touchedTasks()) checkWrite(this.m, s, conn.userId, conn.role, `tasks.${t}`, t);
      return true;
    } catch {
      return false;
    }
  }

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
