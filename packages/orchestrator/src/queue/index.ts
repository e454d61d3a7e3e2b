export { InProcessQueue } from './in-process.js';
export type { DispatchContext, TaskJobData, TaskJobResult, TaskQueue } from './types.js';
