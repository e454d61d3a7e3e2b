export {
  BullMQQueue,
  connectRedis,
  type DistributedPoolState,
  distKeys,
  type EventBatch,
  type LocalWorkerState,
  type LocalWorkersState,
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
export {
  type ExecutionConfig,
  executionConfigSchema,
  type FlowRule,
  type LocalWorkersConfig,
} from './config.js';
export { createTaskQueue } from './create-queue.js';
export { InProcessQueue } from './in-process.js';
export type {
  DispatchContext,
  OutputChanges,
  OutputsRef,
  RemoteModelCall,
  TaskJobData,
  TaskJobResult,
  TaskJobValues,
  TaskQueue,
} from './types.js';
