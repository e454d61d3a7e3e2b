import { compareHlc, HybridClock } from '../hlc.js';
import { getJson } from '../paths.js';
import type { ConflictStrategy, Hlc, StrategyContext, UpdateInput } from '../types.js';

interface Register {
  ts: Hlc;
  op: UpdateInput;
}

const SEP = '\u0001';
const keyOf = (path: UpdateInput['path']) => path.map(String).join(SEP);

/**
 * Last-write-wins per field with hybrid logical clocks. A write loses to a newer write on the same field or on
 * any ancestor; writing an ancestor re-applies newer descendant writes, so the result does not depend on the
 * arrival order. Array ops (insert/move/delete at an index) become a write of the whole array.
 */
export class LwwStrategy implements ConflictStrategy {
  readonly name = 'last-write-wins' as const;
  private readonly registers = new Map<string, Register>();
  private readonly clock: HybridClock;

  constructor(node = 'server') {
    this.clock = new HybridClock(node);
  }

  resolve(input: UpdateInput, ctx: StrategyContext): UpdateInput[] {
    if (input.timestamp) this.clock.receive(input.timestamp);
    const ts = input.timestamp ? input.timestamp : this.clock.tick();
    const op = this.asFieldWrite(input, ctx);
    const key = keyOf(op.path);
    for (let i = 2; i <= op.path.length; i++) {
      const reg = this.registers.get(keyOf(op.path.slice(0, i)));
      if (reg && compareHlc(reg.ts, ts) >= (i === op.path.length ? 0 : 1)) return [];
    }
    const out: UpdateInput[] = [{ ...op, timestamp: ts }];
    const prefix = key + SEP;
    const newer: Array<[string, Register]> = [];
    for (const [k, reg] of this.registers) {
      if (!k.startsWith(prefix)) continue;
      if (compareHlc(reg.ts, ts) > 0) newer.push([k, reg]);
      else this.registers.delete(k);
    }
    newer.sort((a, b) => compareHlc(a[1].ts, b[1].ts));
    for (const [, reg] of newer) out.push(reg.op);
    this.registers.set(key, { ts, op: out[0] });
    return out;
  }

  private asFieldWrite(op: UpdateInput, ctx: StrategyContext): UpdateInput {
    const last = op.path[op.path.length - 1];
    if (typeof last !== 'number') return op.operation.type === 'insert' ? { ...op, operation: { type: 'set' } } : op;
    const parentPath = op.path.slice(0, -1);
    const cur = getJson(ctx.view.doc, parentPath);
    const arr = Array.isArray(cur) ? [...cur] : [];
    switch (op.operation.type) {
      case 'insert':
        arr.splice(Math.min(last, arr.length), 0, op.value);
        break;
      case 'set':
        arr[Math.min(last, arr.length)] = op.value;
        break;
      case 'delete':
        arr.splice(last, 1);
        break;
      case 'move': {
        if (last < arr.length) {
          const [v] = arr.splice(last, 1);
          arr.splice(Math.max(0, Math.min(op.operation.to ?? 0, arr.length)), 0, v);
        }
        break;
      }
    }
    return { ...op, operation: { type: 'set' }, path: parentPath, value: arr };
  }
}
