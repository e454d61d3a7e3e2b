// Public API of the collaboration pillar.

export { compareHlc, HybridClock } from './hlc.js';
export { CollaborationManager } from './manager.js';
export { applyToDoc, DOC_ROOTS, getJson } from './paths.js';
export * as awarenessProtocol from './protocol/awareness.js';
export * as collabProtocol from './protocol/messages.js';
export { collabConfigSchema, updateInputSchema } from './schemas.js';
export { CollabStore } from './store.js';
export { CrdtStrategy, CustomStrategy, createStrategy, LwwStrategy, OtStrategy } from './strategies/index.js';
export type * from './types.js';
export {
  attachCollabWebSocket,
  type CollabWebSocketHandle,
  type CollabWebSocketOptions,
  insecureDevAuthenticate,
  type StartCollabServerOptions,
  startCollabServer,
} from './ws-server.js';
