// Wire clients shared by every server under test, so each server sees exactly the same traffic.
// `yws` framing (y-websocket, ours) or `hp` framing (Hocuspocus: every message prefixed by the document name,
// an auth message first). `doc` clients keep a Y.Doc; light clients only count what arrives.
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';

export type Framing = 'yws' | 'hp';

export interface ClientOpts {
  url: string;
  doc: string;
  framing: Framing;
  token: string;
  withDoc?: boolean;
  /** Re-send remote awareness changes, as stock y-websocket / Hocuspocus 3 providers do. */
  echo?: boolean;
  onAwareness?: (clientId: number, clock: number, state: string) => void;
}

export class BenchClient {
  ws: WebSocket;
  doc?: Y.Doc;
  updates = 0;
  lastUpdateAt = 0;
  synced = false;
  readonly clientId = Math.floor(Math.random() * 2 ** 31);
  private clock = 0;
  private known = new Map<number, number>();
  readonly ready: Promise<void>;

  constructor(private readonly o: ClientOpts) {
    if (o.withDoc) {
      this.doc = new Y.Doc();
      this.doc.on('update', (u: Uint8Array, origin: unknown) => {
        if (origin === this) return;
        const e = this.enc();
        encoding.writeVarUint(e, 0);
        syncProtocol.writeUpdate(e, u);
        this.send(e);
      });
    }
    const url = o.framing === 'yws' ? `${o.url}/${o.doc}?token=${o.token}` : o.url;
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws.binaryType = 'nodebuffer';
    this.ready = new Promise((resolve, reject) => {
      this.ws.once('error', reject);
      this.ws.once('open', () => {
        if (o.framing === 'hp') {
          const e = this.enc();
          encoding.writeVarUint(e, 2);
          encoding.writeVarUint(e, 0);
          encoding.writeVarString(e, o.token);
          this.send(e);
        }
        this.sendStep1();
      });
      const check = setInterval(() => {
        if (this.synced) (clearInterval(check), resolve());
      }, 2);
    });
    this.ws.on('message', (data: Buffer) => this.onMessage(data));
  }

  private enc(): encoding.Encoder {
    const e = encoding.createEncoder();
    if (this.o.framing === 'hp') encoding.writeVarString(e, this.o.doc);
    return e;
  }

  private send(e: encoding.Encoder): void {
    if (this.ws.readyState === 1) this.ws.send(encoding.toUint8Array(e));
  }

  private sendStep1(): void {
    const e = this.enc();
    encoding.writeVarUint(e, 0);
    if (this.doc) syncProtocol.writeSyncStep1(e, this.doc);
    else {
      encoding.writeVarUint(e, 0);
      encoding.writeVarUint8Array(e, new Uint8Array([0]));
    }
    this.send(e);
  }

  private onMessage(data: Buffer): void {
    const d = decoding.createDecoder(data);
    if (this.o.framing === 'hp') decoding.readVarString(d);
    const type = decoding.readVarUint(d);
    if (type === 0 || type === 4) {
      const sub = decoding.readVarUint(d);
      if (sub === 0) {
        // answer the server's step 1 (light clients have nothing)
        const sv = decoding.readVarUint8Array(d);
        const e = this.enc();
        encoding.writeVarUint(e, 0);
        encoding.writeVarUint(e, 1);
        encoding.writeVarUint8Array(e, this.doc ? Y.encodeStateAsUpdate(this.doc, sv) : new Uint8Array([0, 0]));
        this.send(e);
        return;
      }
      const payload = decoding.readVarUint8Array(d);
      if (this.doc) Y.applyUpdate(this.doc, payload, this);
      if (sub === 1) this.synced = true;
      else {
        this.updates++;
        this.lastUpdateAt = performance.now();
      }
    } else if (type === 1) {
      const inner = decoding.createDecoder(decoding.readVarUint8Array(d));
      const n = decoding.readVarUint(inner);
      const changed: Array<[number, number, string]> = [];
      for (let i = 0; i < n; i++) {
        const id = decoding.readVarUint(inner);
        const clock = decoding.readVarUint(inner);
        const state = decoding.readVarString(inner);
        if ((this.known.get(id) ?? -1) >= clock) continue;
        this.known.set(id, clock);
        changed.push([id, clock, state]);
        if (id !== this.clientId) this.o.onAwareness?.(id, clock, state);
      }
      if (this.o.echo && changed.length) this.sendAwarenessEntries(changed);
    }
  }

  private sendAwarenessEntries(entries: Array<[number, number, string]>): void {
    const inner = encoding.createEncoder();
    encoding.writeVarUint(inner, entries.length);
    for (const [id, clock, state] of entries) {
      encoding.writeVarUint(inner, id);
      encoding.writeVarUint(inner, clock);
      encoding.writeVarString(inner, state);
    }
    const e = this.enc();
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
    this.send(e);
  }

  setAwareness(state: unknown): void {
    this.clock++;
    this.known.set(this.clientId, this.clock);
    this.sendAwarenessEntries([[this.clientId, this.clock, JSON.stringify(state)]]);
  }

  close(): void {
    this.ws.terminate();
  }
}
