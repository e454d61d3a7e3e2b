import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import * as Y from 'yjs';
import { CodexError, ErrorCodes } from '../errors.js';
import { decodeAwarenessUpdate } from './protocol/awareness.js';
import { decodeMessage } from './protocol/messages.js';
import { type BridgeKind, RedisBridge } from './redis-bridge.js';
import { DocRoom, ORIGIN_REMOTE, type RoomHooks, type RoomLimits } from './room.js';
import type { CollabStore } from './store.js';

// The live documents of a manager, one DocRoom per workflow, with the lifecycle Hocuspocus gives its documents:
// - a load runs once however many callers ask at the same time (they share one promise);
// - a failed load (a corrupt stored update, Redis down) leaves nothing behind and rejects with a typed error for
//   the callers of that load only; the next caller tries again;
// - a room with no connections left is unloaded after its writes are flushed (timers stopped, Y.Doc destroyed,
//   Redis channel left); the next use loads it again from the store.
// With Redis, each room is joined to its pub/sub channel so processes serving the same document stay in sync.

export class RoomRegistry {
  private readonly rooms = new Map<string, DocRoom>();
  private readonly loading = new Map<string, Promise<DocRoom>>();
  private readonly bridge?: RedisBridge;

  constructor(
    private readonly store: CollabStore,
    private readonly hooks: Pick<RoomHooks, 'onConnChanges' | 'onPresence' | 'onStoreError'>,
    private readonly limits: RoomLimits,
    redis?: { client: Redis | string; keyPrefix?: string },
  ) {
    if (redis) {
      this.bridge = new RedisBridge(redis.client, redis.keyPrefix ?? 'codexos', randomUUID(), (wf, kind, p) =>
        this.onBridge(wf, kind, p),
      );
    }
  }

  /** The room if it is loaded (no I/O). */
  get(workflowId: string): DocRoom | undefined {
    return this.rooms.get(workflowId);
  }

  /** Loaded rooms (for inspection and tests). */
  get size(): number {
    return this.rooms.size;
  }

  /** The room, loading it from the store (and joining its Redis channel) on first use; one load at a time. */
  load(workflowId: string): Promise<DocRoom> {
    const room = this.rooms.get(workflowId);
    if (room) return Promise.resolve(room);
    let p = this.loading.get(workflowId);
    if (!p) {
      p = this.open(workflowId).finally(() => this.loading.delete(workflowId));
      this.loading.set(workflowId, p);
    }
    return p;
  }

  private async open(workflowId: string): Promise<DocRoom> {
    const bridge = this.bridge;
    let room: DocRoom | undefined;
    try {
      room = new DocRoom(
        workflowId,
        this.store,
        {
          onConnChanges: this.hooks.onConnChanges,
          onPresence: this.hooks.onPresence,
          onStoreError: this.hooks.onStoreError,
          publish: bridge ? (kind, payload) => bridge.publish(workflowId, kind, payload) : undefined,
        },
        this.limits,
      );
      if (bridge) {
        await bridge.subscribe(workflowId);
        bridge.publish(workflowId, 'update', Y.encodeStateAsUpdate(room.doc));
        bridge.publish(workflowId, 'sync-request', Y.encodeStateVector(room.doc));
      }
    } catch (err) {
      room?.destroy();
      if (bridge) await bridge.unsubscribe(workflowId).catch(() => undefined);
      throw new CodexError(
        ErrorCodes.COLLAB,
        `Document of workflow ${workflowId} could not be loaded: ${(err as Error)?.message ?? String(err)}`.slice(
          0,
          300,
        ),
        { cause: err, retryable: true },
      );
    }
    this.rooms.set(workflowId, room);
    return room;
  }

  /**
   * Unloads the room if nobody is connected: queued writes are flushed first (a failed flush keeps the room, so
   * nothing is lost), then its timers stop and the Y.Doc is destroyed. Returns true when it was unloaded.
   */
  async unloadIfIdle(workflowId: string): Promise<boolean> {
    const room = this.rooms.get(workflowId);
    if (!room || room.conns.size > 0) return false;
    if (!this.store.flushInBackground()) return false;
    this.rooms.delete(workflowId);
    room.destroy();
    if (this.bridge) await this.bridge.unsubscribe(workflowId).catch(() => undefined);
    return true;
  }

  private onBridge(workflowId: string, kind: BridgeKind, payload: Uint8Array): void {
    const room = this.rooms.get(workflowId);
    if (!room) return;
    try {
      if (kind === 'update') Y.applyUpdate(room.doc, payload, ORIGIN_REMOTE);
      else if (kind === 'sync-request')
        this.bridge?.publish(workflowId, 'update', Y.encodeStateAsUpdate(room.doc, payload));
      else {
        const msg = decodeMessage(payload);
        if (msg.type === 'awareness') room.applyRemoteAwareness(decodeAwarenessUpdate(msg.payload));
      }
    } catch {
      // a corrupt message from a peer process must not take this one down
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.loading.values()]);
    for (const r of this.rooms.values()) r.destroy();
    this.rooms.clear();
    await this.bridge?.close();
  }
}
