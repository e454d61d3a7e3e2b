import { CodexError, ErrorCodes } from '../../errors.js';
import type { ConflictStrategy, CustomResolver, StrategyName } from '../types.js';
import { CrdtStrategy } from './crdt.js';
import { CustomStrategy } from './custom.js';
import { LwwStrategy } from './lww.js';
import { OtStrategy } from './ot.js';

export { CrdtStrategy, CustomStrategy, LwwStrategy, OtStrategy };

/** A fresh strategy instance per session (OT history and LWW registers are per session). */
export function createStrategy(name: StrategyName, custom?: CustomResolver): ConflictStrategy {
  switch (name) {
    case 'crdt':
      return new CrdtStrategy();
    case 'operational-transform':
      return new OtStrategy();
    case 'last-write-wins':
      return new LwwStrategy();
    case 'custom':
      if (!custom)
        throw new CodexError(
          ErrorCodes.COLLAB,
          "Strategy 'custom' needs a resolver: pass { resolver } to createSession or the manager",
        );
      return new CustomStrategy(custom);
  }
}
