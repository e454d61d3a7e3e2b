import { createHash } from 'node:crypto';
import type { ModelRequest } from './types.js';

/** Stable hash of (model, messages, params): equal keys are cacheable repeats of the same call. */
export function requestKey(req: ModelRequest): string {
  const h = createHash('sha256');
  h.update(req.model);
  for (const m of req.messages) h.update(`\u0000${m.role}\u0000${m.content}`);
  h.update(`\u0000${req.maxTokens ?? ''}\u0000${req.temperature ?? ''}\u0000${req.json ? 1 : 0}`);
  return h.digest('base64url').slice(0, 22);
}
