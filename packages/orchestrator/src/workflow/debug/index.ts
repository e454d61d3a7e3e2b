export { type ActorOptions, WorkflowDebugger } from './api.js';
export { DEBUG_KEY, DebugController } from './controller.js';
export type { DebugHost } from './host.js';
export type { RerunOptions } from './rerun.js';
export type * from './types.js';
export { SIGNAL_PREFIX, WAIT_PREFIX, WaitSuspended } from './waitpoints.js';
