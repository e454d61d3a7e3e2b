import { Redis } from 'ioredis';

// Cross-process fan-out over Redis pub/sub: each process serving a document publishes its Yjs updates and
// awareness frames on the document's channel and applies what the others publish. A process that opens a
// document publishes its state vector; the others answer with what it lacks (Yjs updates are idempotent, so
// duplicates are harmless and no update is lost to a load/unload race).

export type BridgeKind = 'update' | 'awareness' | 'sync-request';
const KIND_CODE: Record<BridgeKind, number> = { update: 1, awareness: 2, 'sync-request': 3 };
const CODE_KIND: Record<number, BridgeKind> = { 1: 'update', 2: 'awareness', 3: 'sync-request' };

export class RedisBridge {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly ownsPub: boolean;
  private readonly node: Buffer;

  constructor(
    redis: Redis | string,
    private readonly prefix: string,
    readonly nodeId: string,
    private readonly onMessage: (workflowId: string, kind: BridgeKind, payload: Uint8Array) => void,
  ) {
    this.ownsPub = typeof redis === 'string';
    this.pub = typeof redis === 'string' ? new Redis(redis, { lazyConnect: false, maxRetriesPerRequest: 3 }) : redis;
    this.sub = this.pub.duplicate();
    this.node = Buffer.from(nodeId);
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.receive(channel.toString(), message));
  }

  private channel(workflowId: string): string {
    return `${this.prefix}:collab:${workflowId}`;
  }

  async subscribe(workflowId: string): Promise<void> {
    await this.sub.subscribe(this.channel(workflowId));
  }

  async unsubscribe(workflowId: string): Promise<void> {
    await this.sub.unsubscribe(this.channel(workflowId));
  }

  publish(workflowId: string, kind: BridgeKind, payload: Uint8Array): void {
    const head = Buffer.from([KIND_CODE[kind], this.node.length]);
    this.pub.publish(this.channel(workflowId), Buffer.concat([head, this.node, payload])).catch(() => {
      // a lost publish is repaired by the next sync-request; nothing to do here
    });
  }

  private receive(channel: string, msg: Buffer): void {
    const start = `${this.prefix}:collab:`;
    if (!channel.startsWith(start) || msg.length < 2) return;
    const kind = CODE_KIND[msg[0]];
    const nodeLen = msg[1];
    if (!kind || msg.length < 2 + nodeLen) return;
    if (msg.subarray(2, 2 + nodeLen).equals(this.node)) return; // our own message
    this.onMessage(channel.slice(start.length), kind, new Uint8Array(msg.subarray(2 + nodeLen)));
  }

  async close(): Promise<void> {
    this.sub.disconnect();
    if (this.ownsPub) this.pub.disconnect();
  }
}
