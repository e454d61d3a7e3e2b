export { type ActorOptions, type RerunOptions, WorkflowDebugger } from './api.js';
export { DEBUG_KEY, DebugController, type DebugHost, WAIT_PREFIX, WaitSuspended } from './controller.js';
export type * from './types.js';
