// Public API of the collaboration pillar.
export { CollaborationManager, type CollaborationManagerOptions, type CollaborationEvents } from './manager.js';
export { attachCollabWebSocket, startCollabServer, insecureDevAuthenticate, type CollabWebSocketOptions, type CollabWebSocketHandle, type StartCollabServerOptions } from './ws-server.js';
export { CollabStore } from './store.js';
export { collabConfigSchema, updateInputSchema } from './schemas.js';
export { createStrategy, CrdtStrategy, OtStrategy, LwwStrategy, CustomStrategy } from './strategies/index.js';
export { HybridClock, compareHlc } from './hlc.js';
export { applyToDoc, getJson, DOC_ROOTS } from './paths.js';
export * as collabProtocol from './protocol/messages.js';
export * as awarenessProtocol from './protocol/awareness.js';
export type * from './types.js';
