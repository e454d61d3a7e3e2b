export { type ActorOptions, type RerunOptions, WorkflowDebugger } from './api.js';
export { DEBUG_KEY, DebugController } from './controller.js';
export type { DebugHost } from './host.js';
export type * from './types.js';
export { SIGNAL_PREFIX, WAIT_PREFIX, WaitSuspended } from './waitpoints.js';
