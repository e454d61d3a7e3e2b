import { spawn } from 'node:child_process';
import { startRedis } from '../engine/redis.ts';
import { rawClient } from './raw-bullmq.ts';
import { procCpuUs } from './cpu.ts';
const redis = await startRedis();
const W = Number(process.env.W ?? 1);
const ws = await Promise.all(Array.from({length: W}, () => new Promise<any>((res) => { const p = spawn(process.execPath, ['--import','tsx','distributed/raw-worker.ts', redis.url, 'q', '1'], {stdio:['ignore','pipe','inherit']}); p.stdout!.on('data', d => String(d).includes('READY') && res(p)); })));
const client = await rawClient(redis.url, 'q');
const N = 400;
const shape = { stages: [Array.from({ length: N }, (_, i) => `h${i}`)], sleepMs: 0 } as any;
for (let rep = 0; rep < 4; rep++) {
  const w0 = ws.map(w => procCpuUs(w.pid));
  const t = performance.now();
  await client.run(shape, { rounds: 31346 });
  const wall = performance.now() - t;
  const w1 = ws.map(w => procCpuUs(w.pid));
  console.log(`${(N / wall * 1000).toFixed(1)} tasks/s; worker cpu ms/task ${ws.map((_, i) => ((w1[i]-w0[i])/1000/ (N/W)).toFixed(2)).join(',')}; wall ms/task/worker ${(wall/(N/W)).toFixed(2)}`);
}
await client.close(); for (const w of ws) w.kill(); await redis.stop();
