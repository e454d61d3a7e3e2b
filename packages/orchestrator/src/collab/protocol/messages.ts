import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

// Pure encode/decode of the collaboration wire protocol (see README.md beside this file). No I/O, no state.

/** Message type 0: Yjs sync (step 1, step 2 or update), as in y-protocols. */
export const MSG_SYNC = 0;
/** Message type 1: awareness (presence) update, as in y-protocols. */
export const MSG_AWARENESS = 1;
/** Message type 2: permission denied with a reason (server to client), as in y-protocols. */
export const MSG_AUTH = 2;
/** Message type 3: asks the server for every known awareness state. */
export const MSG_QUERY_AWARENESS = 3;
/** Message type 10: a CodexOS path operation as JSON (client to server). */
export const MSG_OP = 10;
/** Message type 11: the result of a path operation as JSON (server to client). */
export const MSG_OP_RESULT = 11;

/** Sync sub-type 0: the sender's state vector. */
export const SYNC_STEP1 = 0;
/** Sync sub-type 1: the update the other side is missing. */
export const SYNC_STEP2 = 1;
/** Sync sub-type 2: an incremental document update. */
export const SYNC_UPDATE = 2;

// Close codes. y-websocket clients never reconnect after 4400–4499 and do after anything else, so 44xx is kept for
// what a reconnect cannot fix and 45xx for what it can (see README.md beside this file).
/** Malformed frame from this client. */
export const CLOSE_MALFORMED = 4400;
/** Not allowed (realtime disabled, access refused). */
export const CLOSE_FORBIDDEN = 4403;
/** The document could not be loaded (storage or Redis trouble); try again later. */
export const CLOSE_UNAVAILABLE = 4503;
/** The session ended (timeout, closed by its owner, server shutdown); a reconnect joins a new session. */
export const CLOSE_SESSION_ENDED = 4508;
/** The session is at maxParticipants; a reconnect succeeds once someone leaves. */
export const CLOSE_FULL = 4509;
/** The client stopped reading and its unread backlog passed `limits.maxBufferedBytes`; a reconnect resyncs. */
export const CLOSE_SLOW_READER = 4510;

/** A decoded client frame: sync, awareness, awareness query or path operation. */
export type IncomingMessage =
  | { type: 'sync'; sub: typeof SYNC_STEP1 | typeof SYNC_STEP2 | typeof SYNC_UPDATE; payload: Uint8Array }
  | { type: 'awareness'; payload: Uint8Array }
  | { type: 'query-awareness' }
  | { type: 'op'; json: string };

/** Thrown when a client frame is malformed. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/** Decode one client frame; throws ProtocolError on anything malformed (including trailing garbage). */
export function decodeMessage(buf: Uint8Array): IncomingMessage {
  try {
    const d = decoding.createDecoder(buf);
    const type = decoding.readVarUint(d);
    let msg: IncomingMessage;
    switch (type) {
      case MSG_SYNC: {
        const sub = decoding.readVarUint(d);
        if (sub !== SYNC_STEP1 && sub !== SYNC_STEP2 && sub !== SYNC_UPDATE)
          throw new ProtocolError(`unknown sync sub-type ${sub}`);
        msg = { type: 'sync', sub, payload: decoding.readVarUint8Array(d) };
        break;
      }
      case MSG_AWARENESS:
        msg = { type: 'awareness', payload: decoding.readVarUint8Array(d) };
        break;
      case MSG_QUERY_AWARENESS:
        msg = { type: 'query-awareness' };
        break;
      case MSG_OP:
        msg = { type: 'op', json: decoding.readVarString(d) };
        break;
      default:
        throw new ProtocolError(`unknown message type ${type}`);
    }
    if (decoding.hasContent(d)) throw new ProtocolError('trailing bytes after message');
    return msg;
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(`undecodable frame: ${(err as Error).message}`);
  }
}

export function encodeSync(sub: number, payload: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_SYNC);
  encoding.writeVarUint(e, sub);
  encoding.writeVarUint8Array(e, payload);
  return encoding.toUint8Array(e);
}

export function encodePermissionDenied(reason: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, MSG_AUTH);
  encoding.writeVarUint(e, 0);
  encoding.writeVarString(e, reason);
  return encoding.toUint8Array(e);
}

export function encodeOp(json: string, type = MSG_OP): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, type);
  encoding.writeVarString(e, json);
  return encoding.toUint8Array(e);
}

/** Decode a server→client op result (used by our client helper and tests). */
export function decodeOpResult(buf: Uint8Array): string | undefined {
  const d = decoding.createDecoder(buf);
  return decoding.readVarUint(d) === MSG_OP_RESULT ? decoding.readVarString(d) : undefined;
}
