// A CodexOS server in its own process for the server bench (the load generator must not share its event loop).
// Prints one JSON line {port, token}; in `live` mode the first task of the run waits for an IPC 'go'.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer } from '../../packages/server/src/index.ts';

const mode = process.argv[2] ?? 'api';
let open: () => void = () => {};
const gate = new Promise<void>((r) => (open = r));
let cpu0 = process.cpuUsage();
let t0 = performance.now();
process.on('message', (m: string) => {
  if (m === 'go') {
    cpu0 = process.cpuUsage();
    t0 = performance.now();
    open();
  } else if (m === 'direct') {
    // The orchestrator alone (no HTTP) on the same 1-task workflow, for 2 s: how much of a request it is.
    void (async () => {
      const o = app.codexos.o;
      const prepared = o.prepareWorkflow((await app.codexos.repo.version('one'))?.definition);
      // One after another, then 32 at once (the API load's concurrency): CPU per run in both.
      const measure = async (lanes: number) => {
        let n = 0;
        const t = performance.now();
        const c0 = process.cpuUsage();
        await Promise.all(
          Array.from({ length: lanes }, async () => {
            while (performance.now() - t < 2000) {
              await o.executeWorkflow(prepared, { input: { n } });
              n++;
            }
          }),
        );
        const c = process.cpuUsage(c0);
        return { perSec: n / ((performance.now() - t) / 1000), cpuUsPerRun: (c.user + c.system) / Math.max(1, n) };
      };
      const one = await measure(1);
      const many = await measure(32);
      process.send?.({
        directPerSec: one.perSec,
        directCpuUsPerRun: one.cpuUsPerRun,
        direct32PerSec: many.perSec,
        direct32CpuUsPerRun: many.cpuUsPerRun,
      });
    })();
  } else if (m === 'exit') {
    process.exit(0);
  } else if (m === 'cpu') {
    const c = process.cpuUsage(cpu0);
    const lags = [...(app.codexos.hub.lagSamples ?? [])].sort((a, b) => a - b);
    const at = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] ?? 0;
    process.send?.({ cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() - t0, lagP50: at(0.5), lagP99: at(0.99), batches: lags.length });
  }
});

const dir = mkdtempSync(join(tmpdir(), 'cdx-bench-server-'));
const app = await buildServer({
  config: { store: { type: 'sqlite', path: join(dir, 'state.db') }, workflow: { maxTasks: 5000, maxDepth: 5000 } },
  orchestratorOptions: { monitor: { historyPath: join(dir, 'monitor.db') } },
  rateLimit: 1e9,
  agents: [
    { id: 'noop', name: 'noop', handler: async () => 'ok' },
    { id: 'gate', name: 'gate', handler: async () => (await gate, 'open') },
    { id: 'step', name: 'step', handler: async (ctx) => (await new Promise((r) => setTimeout(r, 1)), ctx.taskId) },
  ],
});
const token = (await app.codexos.tokens.create('bench', 'admin')).token;
app.codexos.hub.lagSamples = [];
const save = (definition: unknown) => app.codexos.repo.save(definition as never, 'bench', 'bench');
await save({ id: 'one', name: 'one task', tasks: [{ id: 'only', agentId: 'noop' }] });
// 1000 tasks: a gate, then 9 parallel chains of 111.
const tasks: Array<Record<string, unknown>> = [{ id: 'gate', agentId: 'gate' }];
for (let c = 0; c < 9; c++)
  for (let i = 0; i < 111; i++)
    tasks.push({ id: `c${c}_${i}`, agentId: 'step', dependencies: [i === 0 ? 'gate' : `c${c}_${i - 1}`] });
await save({ id: 'wide', name: '1000 tasks', tasks });
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port: (app.server.address() as { port: number }).port, token, mode })}\n`);
