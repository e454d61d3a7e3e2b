import * as Y from 'yjs';
import { toErrorInfo } from '../errors.js';
import { decodeAwarenessUpdate } from './protocol/awareness.js';
import {
  CLOSE_MALFORMED,
  decodeMessage,
  encodeOp,
  encodePermissionDenied,
  MSG_OP_RESULT,
  ProtocolError,
  SYNC_STEP1,
} from './protocol/messages.js';
import { type Conn, type DocRoom, send } from './room.js';
import type { ApplyResult } from './types.js';

// Handles one frame from one connection. Anything malformed closes that connection only (4400); the document
// and the other connections carry on.

export interface WireHost {
  canWrite(conn: Conn, touchedTasks: () => string[]): boolean;
  applyOpFromWire(conn: Conn, room: DocRoom, raw: unknown): ApplyResult;
}

export function handleFrame(host: WireHost, room: DocRoom, conn: Conn, data: Buffer | ArrayBuffer | Buffer[]): void {
  if (conn.closed || conn.dropped) return;
  const buf = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
  try {
    const msg = decodeMessage(buf);
    switch (msg.type) {
      case 'sync':
        if (msg.sub === SYNC_STEP1) {
          try {
            Y.decodeStateVector(msg.payload);
          } catch {
            throw new ProtocolError('malformed state vector');
          }
          send(conn, room.syncStep2For(msg.payload));
        } else applyYjsUpdate(host, room, conn, msg.payload);
        return;
      case 'awareness':
        room.applyAwareness(conn, decodeAwarenessUpdate(msg.payload));
        return;
      case 'query-awareness':
        room.sendPresenceTo(conn);
        return;
      case 'op':
        applyOp(host, room, conn, msg.json);
        return;
    }
  } catch (err) {
    const reason = err instanceof ProtocolError ? err.message : `malformed frame: ${(err as Error).message}`;
    conn.dropped = true; // the 'close' event does the bookkeeping
    conn.ws.close(CLOSE_MALFORMED, reason.slice(0, 120));
  }
}

function applyYjsUpdate(host: WireHost, room: DocRoom, conn: Conn, update: Uint8Array): void {
  let decoded: ReturnType<typeof Y.decodeUpdate>;
  try {
    decoded = Y.decodeUpdate(update);
  } catch {
    throw new ProtocolError('truncated or malformed Yjs update');
  }
  if (decoded.structs.length === 0 && decoded.ds.clients.size === 0) return; // an empty sync step 2
  if (!host.canWrite(conn, () => touchedTasks(room.doc, update))) {
    send(
      conn,
      encodePermissionDenied(conn.role === 'viewer' ? 'read-only: viewers cannot edit' : 'task locked by another user'),
    );
    return;
  }
  try {
    Y.applyUpdate(room.doc, update, conn);
  } catch (err) {
    throw new ProtocolError(`Yjs update rejected: ${(err as Error).message}`);
  }
}

/** Task ids an update would change, found by applying it to a scratch copy (only while others hold locks). */
function touchedTasks(doc: Y.Doc, update: Uint8Array): string[] {
  const probe = new Y.Doc();
  Y.applyUpdate(probe, Y.encodeStateAsUpdate(doc));
  const touched = new Set<string>();
  probe.getMap('tasks').observeDeep((events) => {
    for (const ev of events) {
      if (ev.path.length > 0) touched.add(String(ev.path[0]));
      else for (const k of ev.changes.keys.keys()) touched.add(k);
    }
  });
  Y.applyUpdate(probe, update);
  probe.destroy();
  return [...touched];
}

function applyOp(host: WireHost, room: DocRoom, conn: Conn, json: string): void {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new ProtocolError('op message is not JSON');
  }
  const id = raw !== null && typeof raw === 'object' ? (raw as { id?: unknown }).id : undefined;
  let reply: Record<string, unknown>;
  try {
    const r = host.applyOpFromWire(conn, room, raw);
    reply = { id, ok: true, applied: r.applied, version: r.version };
  } catch (err) {
    reply = { id, ok: false, error: toErrorInfo(err) };
  }
  send(conn, encodeOp(JSON.stringify(reply), MSG_OP_RESULT));
}
