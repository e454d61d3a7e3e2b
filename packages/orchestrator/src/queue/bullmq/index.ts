export { BullMQQueue } from './bullmq-queue.js';
export { type RedisTarget, redisTarget } from './connection.js';
export { distKeys, queueName } from './keys.js';
export { TaskWorker, type TaskWorkerOptions, type WorkerHeartbeat } from './task-worker.js';
