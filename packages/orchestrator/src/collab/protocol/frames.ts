import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

// Broadcast framing: a message sent to many sockets is framed as a WebSocket frame once and the same bytes are
// written to every socket. `ws.send` would build a header and cork/writev per client; at 200–1000 clients that
// per-client work was most of the server's fan-out CPU.

/** An unmasked, final, binary WebSocket frame (server → client, RFC 6455 §5.2) around `payload`. */
export function wsBinaryFrame(payload: Uint8Array): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const buf = Buffer.allocUnsafe(head + n);
  buf[0] = 0x82;
  if (n < 126) buf[1] = n;
  else if (n < 65_536) {
    buf[1] = 126;
    buf.writeUInt16BE(n, 2);
  } else {
    buf[1] = 127;
    buf.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    buf.writeUInt32BE(n >>> 0, 6);
  }
  buf.set(payload, head);
  return buf;
}

/**
 * The TCP socket under a `ws` WebSocket when pre-framed bytes may be written to it directly: only without
 * permessage-deflate (then ws's sender never queues, so writes keep their order). Undefined otherwise: use ws.send.
 */
export function rawSocketOf(ws: WebSocket): Socket | undefined {
  if (ws.extensions !== '') return undefined;
  const sock = (ws as unknown as { _socket?: Socket })._socket;
  return sock && typeof sock.write === 'function' ? sock : undefined;
}

/** One outgoing message: its bytes, and its frame built on first use by a broadcast. */
export class Outgoing {
  private framed?: Buffer;
  constructor(readonly data: Uint8Array) {}
  get frame(): Buffer {
    if (!this.framed) this.framed = wsBinaryFrame(this.data);
    return this.framed;
  }
}
