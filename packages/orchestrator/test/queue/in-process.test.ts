import { InProcessQueue } from '../../src/queue/in-process.js';
import { queueConformance } from './conformance.js';

queueConformance('in-process', async () => {
  const queue = new InProcessQueue();
  return { queue, close: () => queue.close() };
});
