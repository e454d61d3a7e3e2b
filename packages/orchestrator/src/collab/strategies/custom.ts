import { CodexError, ErrorCodes } from '../../errors.js';
import type { ConflictStrategy, CustomResolver, StrategyContext, UpdateInput } from '../types.js';
import { parseOp } from '../writes.js';

/**
 * A user function decides: return the op (maybe rewritten), several ops, or null to drop it. The function is user
 * code: a throw, or a returned value that is not an op, refuses that one update with a typed error naming it, and
 * the session, its room and every other participant carry on.
 */
export class CustomStrategy implements ConflictStrategy {
  readonly name = 'custom' as const;
  constructor(private readonly resolver: CustomResolver) {}
  resolve(op: UpdateInput, ctx: StrategyContext): UpdateInput[] {
    let r: ReturnType<CustomResolver>;
    try {
      r = this.resolver(op, ctx);
    } catch (e) {
      throw new CodexError(
        ErrorCodes.COLLAB,
        `The custom conflict resolver threw: ${(e as Error)?.message ?? String(e)}`,
      );
    }
    const ops = r == null ? [] : Array.isArray(r) ? r : [r];
    return ops.map((o, i) => {
      try {
        return parseOp(o);
      } catch (e) {
        throw new CodexError(
          ErrorCodes.COLLAB,
          `The custom conflict resolver returned an invalid op #${i}: ${(e as Error).message}`,
        );
      }
    });
  }
}
