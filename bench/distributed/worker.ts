// A `codexos worker` equivalent for the bench (same TaskWorker, no CLI start-up): node --import tsx worker.ts
// <redisUrl> <prefix> <concurrency>
import { redisTarget, TaskWorker } from '../../packages/orchestrator/src/index.ts';
import { agents } from './agents.ts';

const [url, prefix, concurrency] = process.argv.slice(2);
const w = await new TaskWorker({
  target: { ...redisTarget(url), prefix },
  agents,
  concurrency: Number(concurrency),
  heartbeatMs: 1000,
}).start();
process.stdout.write('READY\n');
process.on('SIGTERM', () => {
  w.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
