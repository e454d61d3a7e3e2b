export {
  BullMQQueue,
  connectRedis,
  type DistributedPoolState,
  distKeys,
  type EventBatch,
  type PoolAgentState,
  PoolController,
  type PoolWorkerState,
  queueName,
  RedisEventSubscriber,
  type RedisTarget,
  redisTarget,
  TaskWorker,
  type TaskWorkerOptions,
  type WorkerHeartbeat,
} from './bullmq/index.js';
export { type ExecutionConfig, executionConfigSchema, type FlowRule } from './config.js';
export { createTaskQueue } from './create-queue.js';
export { InProcessQueue } from './in-process.js';
export type {
  DispatchContext,
  OutputsRef,
  TaskJobData,
  TaskJobResult,
  TaskJobValues,
  TaskQueue,
} from './types.js';
