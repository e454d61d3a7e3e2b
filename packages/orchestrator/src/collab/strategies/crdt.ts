import type { ConflictStrategy, UpdateInput } from '../types.js';

/** Yjs does the merging: path ops apply as they arrive, concurrent Yjs updates from clients merge as CRDT. */
export class CrdtStrategy implements ConflictStrategy {
  readonly name = 'crdt' as const;
  resolve(op: UpdateInput): UpdateInput[] {
    return [op];
  }
}
