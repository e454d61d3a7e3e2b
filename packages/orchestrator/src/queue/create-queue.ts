import type { OrchestratorConfig } from '../config.js';
import type { EventBus } from '../events.js';
import { BullMQQueue } from './bullmq/bullmq-queue.js';
import { redisTarget } from './bullmq/connection.js';
import { InProcessQueue } from './in-process.js';
import type { TaskQueue } from './types.js';

/** The queue `config.execution.mode` asks for: in process (default) or BullMQ on the `redis` section's server. */
export function createTaskQueue(config: OrchestratorConfig, bus?: EventBus): TaskQueue {
  if (config.execution.mode === 'distributed')
    return new BullMQQueue(redisTarget(config.redis), config.execution, { agents: config.agents, bus });
  return new InProcessQueue();
}
