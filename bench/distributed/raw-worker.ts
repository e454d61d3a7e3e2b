// Raw BullMQ worker process for the "used the same way" peer: node --import tsx raw-worker.ts <url> <queue> <n>
// (jobs with `rounds` run the CPU-bound scaling workload's hashing)
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'bullmq';
import { hashWork } from './agents.ts';

const [url, queueName, concurrency] = process.argv.slice(2);
const u = new URL(url);
const w = new Worker<{ up: number[]; ms: number; rounds?: number }, number>(
  queueName,
  async (job) => {
    // The CPU-bound scaling workload: the same hashing as the CodexOS agent `hash`.
    if (job.data.rounds) return hashWork(job.data.rounds).length;
    if (job.data.ms) await sleep(job.data.ms);
    let sum = 0;
    for (const v of job.data.up) sum += v;
    return 1 + sum;
  },
  { connection: { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null }, concurrency: Number(concurrency) },
);
await w.waitUntilReady();
process.stdout.write('READY\n');
process.on('SIGTERM', () => {
  w.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
