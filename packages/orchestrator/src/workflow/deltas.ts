import type { EventBus } from '../events.js';

interface DeltaRef {
  executionId: string;
  workflowId: string;
  taskId: string;
  agentId: string;
  iteration?: number;
}

/**
 * Streamed model text of one task attempt, published as `task:delta` events at most once per tick: a fast
 * stream of small deltas becomes a few events, each numbered so a client can order them.
 */
export class DeltaBatcher {
  private buf = '';
  private seq = 0;
  private scheduled = false;

  constructor(
    private readonly bus: EventBus,
    private readonly ref: DeltaRef,
  ) {}

  readonly push = (delta: string): void => {
    this.buf += delta;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  };

  readonly flush = (): void => {
    this.scheduled = false;
    if (!this.buf) return;
    const delta = this.buf;
    this.buf = '';
    this.bus.publish('task:delta', { ...this.ref, delta, seq: this.seq++, timestamp: Date.now() });
  };
}
