import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { type StartCollabServerOptions, startCollabServer } from '../../src/collab/index.js';
import {
  type AwarenessEntry,
  decodeAwarenessUpdate,
  encodeAwarenessMessage,
} from '../../src/collab/protocol/awareness.js';
import { encodeOp, encodeSync, MSG_OP } from '../../src/collab/protocol/messages.js';
import type { UpdateInput } from '../../src/collab/types.js';
import { mulberry32 } from '../support/prng.js';

export async function waitFor(cond: () => boolean, what = 'condition', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function server(opts: StartCollabServerOptions = {}) {
  return startCollabServer({ port: 0, ...opts });
}

/** A small wire client: real socket, own Y.Doc, y-protocols sync, raw awareness, op messages. */
export class RawClient {
  readonly doc = new Y.Doc();
  readonly ws: WebSocket;
  synced = false;
  closed?: { code: number; reason: string };
  denied: string[] = [];
  presence = new Map<number, { clock: number; state: string }>();
  private clock = 0;
  private waiters = new Map<string, (r: Record<string, unknown>) => void>();
  private seq = 0;
  readonly opened: Promise<void>;

  constructor(url: string, workflowId: string, token: string) {
    this.ws = new WebSocket(`${url}/${encodeURIComponent(workflowId)}?token=${encodeURIComponent(token)}`);
    this.ws.binaryType = 'arraybuffer';
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
    this.ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    this.ws.on('message', (data: ArrayBuffer) => this.onMessage(new Uint8Array(data)));
    this.doc.on('update', (u: Uint8Array, origin: unknown) => {
      if (origin !== this && this.ws.readyState === 1) this.ws.send(encodeSync(2, u));
    });
  }

  private onMessage(buf: Uint8Array): void {
    const d = decoding.createDecoder(buf);
    const type = decoding.readVarUint(d);
    if (type === 0) {
      const e = encoding.createEncoder();
      encoding.writeVarUint(e, 0);
      const t = syncProtocol.readSyncMessage(d, e, this.doc, this);
      if (t === 1) this.synced = true;
      if (encoding.length(e) > 1) this.ws.send(encoding.toUint8Array(e));
      if (t === 0) {
        // answer the server's step 1 and ask for its state (like a provider)
        const s1 = encoding.createEncoder();
        encoding.writeVarUint(s1, 0);
        syncProtocol.writeSyncStep1(s1, this.doc);
        this.ws.send(encoding.toUint8Array(s1));
      }
    } else if (type === 1) {
      for (const e of decodeAwarenessUpdate(decoding.readVarUint8Array(d))) {
        const cur = this.presence.get(e.clientId);
        if (cur && cur.clock >= e.clock) continue;
        if (e.state === 'null') this.presence.delete(e.clientId);
        else this.presence.set(e.clientId, { clock: e.clock, state: e.state });
      }
    } else if (type === 2) {
      decoding.readVarUint(d);
      this.denied.push(decoding.readVarString(d));
    } else if (type === 11) {
      const r = JSON.parse(decoding.readVarString(d)) as Record<string, unknown>;
      this.waiters.get(String(r.id))?.(r);
    }
  }

  setPresence(state: unknown): void {
    this.ws.send(
      encodeAwarenessMessage([{ clientId: this.doc.clientID, clock: ++this.clock, state: JSON.stringify(state) }]),
    );
  }

  sendAwareness(entries: AwarenessEntry[]): void {
    this.ws.send(encodeAwarenessMessage(entries));
  }

  op(input: UpdateInput): Promise<Record<string, unknown>> {
    const id = input.id ?? `${this.doc.clientID}-${++this.seq}`;
    return new Promise((resolve) => {
      this.waiters.set(id, resolve);
      this.ws.send(encodeOp(JSON.stringify({ ...input, id }), MSG_OP));
    });
  }

  json() {
    return {
      tasks: this.doc.getMap('tasks').toJSON(),
      positions: this.doc.getMap('positions').toJSON(),
      meta: this.doc.getMap('meta').toJSON(),
    };
  }

  close(): void {
    this.ws.close();
  }
}

export async function rawClient(url: string, workflowId: string, token: string): Promise<RawClient> {
  const c = new RawClient(url, workflowId, token);
  await c.opened;
  await waitFor(() => c.synced || !!c.closed, 'sync');
  return c;
}

/** Deterministic PRNG (mulberry32) for seeded simulations. */
export const rng = mulberry32;

/** JSON with sorted object keys: Y.Map key order depends on local insertion order, content does not. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );
}
