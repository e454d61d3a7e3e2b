import * as decoding from 'lib0/decoding';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { LOCAL_ORIGIN } from './mutations.ts';
import { DocProjection } from './projection.ts';
import type { Peer, XY } from './types.ts';

// One open workflow document: the Y.Doc, its y-websocket provider (the server's /collab endpoint, token as a
// query parameter), presence through awareness, and a per-user UndoManager that tracks only this client's edits.

export type ConnState = 'connecting' | 'connected' | 'synced' | 'disconnected' | 'closed';

export interface LocalUser {
  name: string;
  color: string;
}

const PALETTE = [
  '#e6194b',
  '#3cb44b',
  '#4363d8',
  '#f58231',
  '#911eb4',
  '#008080',
  '#f032e6',
  '#9a6324',
  '#800000',
  '#000075',
];

/** A stable colour per user name, so a person keeps their colour across reloads and clients. */
export function colorFor(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

export interface CollabSessionOptions {
  url: string;
  workflowId: string;
  token: string;
  user: LocalUser;
  /** Injected in tests (Node has no global WebSocket before 22). */
  WebSocketImpl?: typeof WebSocket;
}

export class CollabSession {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  readonly projection: DocProjection;
  readonly undo: Y.UndoManager;
  state: ConnState = 'connecting';
  /** Last reason the server refused a write (viewer, locked task). */
  denied: string | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly cursorListeners = new Set<() => void>();
  private peersCache: Peer[] = [];
  private cursorsCache: Peer[] = [];
  private presenceKey = '';
  private cursorKey = '';
  private awarenessFrame = false;

  constructor(readonly opts: CollabSessionOptions) {
    this.projection = new DocProjection(this.doc, true);
    this.undo = new Y.UndoManager([this.doc.getMap('tasks'), this.doc.getMap('positions'), this.doc.getMap('meta')], {
      trackedOrigins: new Set([LOCAL_ORIGIN]),
      captureTimeout: 400,
    });
    this.provider = new WebsocketProvider(opts.url, opts.workflowId, this.doc, {
      params: { token: opts.token },
      disableBc: true,
      ...(opts.WebSocketImpl ? { WebSocketPolyfill: opts.WebSocketImpl } : {}),
    });
    // Surface "permission denied" (viewer or locked task) in the UI instead of only in the console.
    this.provider.messageHandlers[2] = (_enc, dec: decoding.Decoder) => {
      if (decoding.readVarUint(dec) === 0) {
        this.denied = decoding.readVarString(dec);
        this.notify();
      }
    };
    this.provider.awareness.setLocalStateField('user', opts.user);
    this.provider.awareness.setLocalStateField('activity', { kind: 'viewing' });
    this.provider.on('status', ({ status }: { status: string }) => {
      this.state = status === 'connected' ? (this.provider.synced ? 'synced' : 'connected') : (status as ConnState);
      this.notify();
    });
    this.provider.on('sync', (synced: boolean) => {
      if (synced) this.state = 'synced';
      this.notify();
    });
    this.provider.on('closed', () => {
      this.state = 'closed';
      this.notify();
    });
    this.provider.awareness.on('change', this.onAwareness);
    this.undo.on('stack-item-added', () => this.notify());
    this.undo.on('stack-item-popped', () => this.notify());
  }

  /** Who else is here and which task they are on (no cursors: those change far more often, see `cursors`). */
  get peers(): Peer[] {
    return this.peersCache;
  }

  /** Remote cursors in flow coordinates, at most one update per animation frame. */
  get cursors(): Peer[] {
    return this.cursorsCache;
  }

  /** Listen to remote cursor moves only (the canvas' cursor layer), without re-rendering the page. */
  subscribeCursors(fn: () => void): () => void {
    this.cursorListeners.add(fn);
    return () => this.cursorListeners.delete(fn);
  }

  private onAwareness = ({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }) => {
    // The local user's own cursor and selection changes come back here too: nothing of theirs is shown.
    const me = this.doc.clientID;
    if (![...added, ...updated, ...removed].some((c) => c !== me)) return;
    if (this.awarenessFrame) return;
    this.awarenessFrame = true;
    // A remote cursor moves up to 25 times a second per peer: read awareness once per animation frame.
    const later =
      typeof requestAnimationFrame === 'function' ? requestAnimationFrame : (fn: () => void) => setTimeout(fn, 0);
    later(() => {
      this.awarenessFrame = false;
      if (this.listeners.size || this.cursorListeners.size) this.readAwareness();
    });
  };

  /** Rebuild presence and cursors from awareness; the page hears only of presence changes, the canvas of cursors. */
  readAwareness(): void {
    const out: Peer[] = [];
    for (const [clientId, st] of this.provider.awareness.getStates()) {
      if (clientId === this.doc.clientID) continue;
      const s = st as {
        user?: { name?: string; color?: string };
        cursor?: XY | null;
        selectedTaskId?: string | null;
        activity?: { kind?: string; taskId?: string };
      };
      if (!s.user?.name) continue;
      out.push({
        clientId,
        name: s.user.name,
        color: s.user.color ?? colorFor(s.user.name),
        cursor: s.cursor ?? null,
        selectedTaskId: s.selectedTaskId ?? null,
        editingTaskId: s.activity?.kind === 'editing' ? (s.activity.taskId ?? null) : null,
      });
    }
    const key = out.map((p) => `${p.clientId}|${p.name}|${p.color}|${p.selectedTaskId}|${p.editingTaskId}`).join('\n');
    const cursorKey = out.map((p) => `${p.clientId}|${p.cursor?.x},${p.cursor?.y}`).join('\n');
    if (cursorKey !== this.cursorKey || key !== this.presenceKey) {
      this.cursorKey = cursorKey;
      this.cursorsCache = out;
      for (const fn of this.cursorListeners) fn();
    }
    if (key !== this.presenceKey) {
      this.presenceKey = key;
      this.peersCache = out.map(({ cursor: _c, ...p }) => p);
      this.notify();
    }
  }

  setCursor(cursor: XY | null): void {
    this.provider.awareness.setLocalStateField(
      'cursor',
      cursor ? { x: Math.round(cursor.x), y: Math.round(cursor.y) } : null,
    );
  }

  setSelected(taskId: string | null, editing: boolean): void {
    const a = this.provider.awareness;
    a.setLocalStateField('selectedTaskId', taskId);
    a.setLocalStateField('activity', editing && taskId ? { kind: 'editing', taskId } : { kind: 'viewing' });
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private notify(): void {
    for (const fn of this.listeners) fn();
  }

  destroy(): void {
    this.listeners.clear();
    this.cursorListeners.clear();
    this.provider.awareness.off('change', this.onAwareness);
    this.undo.destroy();
    this.projection.destroy();
    this.provider.destroy();
    this.doc.destroy();
  }
}
