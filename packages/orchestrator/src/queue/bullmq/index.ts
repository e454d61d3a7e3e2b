export { BullMQQueue } from './bullmq-queue.js';
export { connect as connectRedis, type RedisTarget, redisTarget } from './connection.js';
export { type EventBatch, publishEvents, RedisEventSubscriber } from './event-relay.js';
export { distKeys, queueName } from './keys.js';
export type { LocalWorkerState, LocalWorkersState } from './local-workers.js';
export {
  type DistributedPoolState,
  type PoolAgentState,
  PoolController,
  type PoolWorkerState,
} from './pool-controller.js';
export { TaskWorker, type TaskWorkerOptions, type WorkerHeartbeat } from './task-worker.js';
