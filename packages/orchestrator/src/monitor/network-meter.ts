import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';

// Bytes exchanged with model providers. The provider SDKs speak HTTP through fetch (undici), which announces
// every new connection on the `undici:client:connected` diagnostics channel; we read the socket's byte
// counters when sampling and once more when it closes. Nothing is wrapped or patched.

interface Tracked {
  host: string;
  readIn: number;
  readOut: number;
}

const CHANNEL = 'undici:client:connected';

/** Counts bytes exchanged per host over fetch (undici) connections, read from the sockets without patching anything. */
export class NetworkMeter {
  private readonly sockets = new Map<Socket, Tracked>();
  /** Bytes from sockets that closed since the last drain, per host. */
  private closed = new Map<string, { in: number; out: number }>();
  private readonly onConnect = (msg: unknown) => {
    const m = msg as {
      socket?: Socket;
      connectParams?: { host?: string; hostname?: string; port?: string | number; protocol?: string };
    };
    if (m.socket === undefined || this.sockets.has(m.socket)) return;
    const cp = m.connectParams ?? {};
    const host = cp.host ?? (cp.hostname ? `${cp.hostname}${cp.port ? `:${cp.port}` : ''}` : 'unknown');
    const t: Tracked = { host, readIn: 0, readOut: 0 };
    this.sockets.set(m.socket, t);
    m.socket.once('close', () => {
      const sock = m.socket as Socket;
      this.add(this.closed, t.host, sock.bytesRead - t.readIn, sock.bytesWritten - t.readOut);
      this.sockets.delete(sock);
    });
  };
  private active = false;

  start(): void {
    if (this.active) return;
    this.active = true;
    diagnostics.subscribe(CHANNEL, this.onConnect);
  }

  stop(): void {
    if (!this.active) return;
    this.active = false;
    diagnostics.unsubscribe(CHANNEL, this.onConnect);
  }

  /** Bytes per host since the previous drain. */
  drain(): Record<string, { in: number; out: number }> {
    const out = this.closed;
    this.closed = new Map();
    for (const [sock, t] of this.sockets) {
      const i = sock.bytesRead;
      const o = sock.bytesWritten;
      this.add(out, t.host, i - t.readIn, o - t.readOut);
      t.readIn = i;
      t.readOut = o;
    }
    const rec: Record<string, { in: number; out: number }> = {};
    for (const [host, v] of out) if (v.in > 0 || v.out > 0) rec[host] = v;
    return rec;
  }

  private add(m: Map<string, { in: number; out: number }>, host: string, i: number, o: number): void {
    const v = m.get(host) ?? { in: 0, out: 0 };
    v.in += Math.max(0, i);
    v.out += Math.max(0, o);
    m.set(host, v);
  }
}
