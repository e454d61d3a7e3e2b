import type { ConflictStrategy, CustomResolver, StrategyContext, UpdateInput } from '../types.js';

/** A user function decides: return the op (maybe rewritten), several ops, or null to drop it. */
export class CustomStrategy implements ConflictStrategy {
  readonly name = 'custom' as const;
  constructor(private readonly resolver: CustomResolver) {}
  resolve(op: UpdateInput, ctx: StrategyContext): UpdateInput[] {
    const r = this.resolver(op, ctx);
    return r == null ? [] : Array.isArray(r) ? r : [r];
  }
}
