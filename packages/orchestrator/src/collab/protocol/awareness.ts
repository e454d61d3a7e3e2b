import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { MSG_AWARENESS, ProtocolError } from './messages.js';

// Awareness update encoding (y-protocols compatible), kept at the byte level: states stay JSON strings so the
// server can drop echoes and forward states without JSON.parse/stringify.

/** One client's entry in an awareness update: client id, clock and JSON state (`'null'` when it left). */
export interface AwarenessEntry {
  clientId: number;
  clock: number;
  /** The JSON state as sent; `'null'` means the client left. */
  state: string;
}

export function decodeAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
  try {
    const d = decoding.createDecoder(update);
    const n = decoding.readVarUint(d);
    if (n > 10_000) throw new ProtocolError(`awareness update claims ${n} entries`);
    const out: AwarenessEntry[] = new Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = { clientId: decoding.readVarUint(d), clock: decoding.readVarUint(d), state: decoding.readVarString(d) };
    }
    if (decoding.hasContent(d)) throw new ProtocolError('trailing bytes in awareness update');
    return out;
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError(`undecodable awareness update: ${(err as Error).message}`);
  }
}

/** A full awareness message (type 1) carrying `entries`. */
export function encodeAwarenessMessage(entries: Iterable<AwarenessEntry>): Uint8Array {
  const inner = encoding.createEncoder();
  const list = Array.isArray(entries) ? (entries as AwarenessEntry[]) : [...entries];
  encoding.writeVarUint(inner, list.length);
  for (const e of list) {
    encoding.writeVarUint(inner, e.clientId);
    encoding.writeVarUint(inner, e.clock);
    encoding.writeVarString(inner, e.state);
  }
  const outer = encoding.createEncoder();
  encoding.writeVarUint(outer, MSG_AWARENESS);
  encoding.writeVarUint8Array(outer, encoding.toUint8Array(inner));
  return encoding.toUint8Array(outer);
}

/** `[1, 1, 0]`: an awareness message with no entries; keeps stock clients' 30 s idle check happy. */
export const KEEPALIVE_FRAME = encodeAwarenessMessage([]);
