import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import * as Y from 'yjs';
import { decodeAwarenessUpdate } from './protocol/awareness.js';
import { decodeMessage } from './protocol/messages.js';
import { type BridgeKind, RedisBridge } from './redis-bridge.js';
import { DocRoom, ORIGIN_REMOTE, type RoomHooks } from './room.js';
import type { CollabStore } from './store.js';

// The live documents of a manager, one DocRoom per workflow, loaded from the store on first use; with Redis,
// each room is joined to its pub/sub channel so processes serving the same document stay in sync.

export class RoomRegistry {
  private readonly rooms = new Map<string, DocRoom>();
  private readonly bridge?: RedisBridge;

  constructor(
    private readonly store: CollabStore,
    private readonly hooks: Pick<RoomHooks, 'onConnChanges' | 'onPresence'>,
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

  /** The room, loading it from the store (and joining its Redis channel) on first use. */
  async load(workflowId: string): Promise<DocRoom> {
    let room = this.rooms.get(workflowId);
    if (room) return room;
    const bridge = this.bridge;
    room = new DocRoom(workflowId, this.store, {
      onConnChanges: this.hooks.onConnChanges,
      onPresence: this.hooks.onPresence,
      publish: bridge ? (kind, payload) => bridge.publish(workflowId, kind, payload) : undefined,
    });
    this.rooms.set(workflowId, room);
    if (bridge) {
      await bridge.subscribe(workflowId);
      bridge.publish(workflowId, 'update', Y.encodeStateAsUpdate(room.doc));
      bridge.publish(workflowId, 'sync-request', Y.encodeStateVector(room.doc));
    }
    return room;
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
    for (const r of this.rooms.values()) r.destroy();
    this.rooms.clear();
    await this.bridge?.close();
  }
}
