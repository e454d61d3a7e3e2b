import type { ModelProvider, ModelRequest, ModelResponse, ModelStreamChunk, ProviderCallOptions } from '../types.js';

/**
 * A provider written in code: give it an id and a `complete` function (and optionally `stream`). Register it with
 * `manager.registerProvider(...)` and add catalog entries whose `provider` is its id.
 */
export function defineProvider(def: {
  id: string;
  complete: (req: ModelRequest, opts: ProviderCallOptions) => Promise<ModelResponse>;
  stream?: (req: ModelRequest, opts: ProviderCallOptions) => AsyncIterable<ModelStreamChunk>;
  offline?: boolean;
}): ModelProvider {
  const p: ModelProvider = { id: def.id, offline: def.offline, complete: (req, opts = {}) => def.complete(req, opts) };
  if (def.stream) {
    const s = def.stream;
    p.stream = (req, opts = {}) => s(req, opts);
  }
  return p;
}
