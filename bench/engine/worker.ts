// Child-process entry: measures one (engine, workload) pair in a fresh process and prints one RESULT line.
// Usage: node --import tsx engine/worker.ts <engine> <workload> [--single]   (from bench/; REDIS_URL for BullMQ)
// --single: one cold run, no warm-up (for pairs whose single run takes tens of seconds).
import { ENGINES } from './engines/index.ts';
import { DEFAULT_MEASURE, measurePair } from './measure.ts';
import type { PairResult, WorkloadId } from './types.ts';

const [engine, workload] = process.argv.slice(2) as [string, WorkloadId];
const factory = ENGINES[engine];
let result: PairResult;
if (!factory) {
  result = { engine, workload, ok: false, error: `unknown engine ${engine}`, reps: 0, warmup: false };
} else {
  const adapter = await factory();
  try {
    result = await measurePair(engine, adapter, workload, {
      ...DEFAULT_MEASURE,
      single: process.argv.includes('--single'),
      onPrepared: () => process.stdout.write('PREPARED\n'),
      onRun: (ms, warm) => process.stdout.write(`RUN ${ms} ${warm ? 'warmup' : 'rep'}\n`),
    });
  } catch (err) {
    const e = err as Error;
    result = { engine, workload, ok: false, error: (e?.message ?? String(err)).slice(0, 300), reps: 0, warmup: false };
  }
  await Promise.race([adapter.close(), new Promise((r) => setTimeout(r, 5_000))]);
}
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
