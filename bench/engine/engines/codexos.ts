// CodexOS: one agent with a code handler; each task depends on every task of the previous stage and reads
// their outputs from ctx.deps. Store: in-memory, or SQLite (a fresh file, every transition persisted).
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MultiAgentOrchestrator as Orchestrator } from '../../../packages/orchestrator/src/index.ts';
import type { EngineAdapter, Runner, Shape, TaskBody } from '../types.ts';

// Like the peers (loaded as published JavaScript from node_modules), CodexOS runs from its build
// (`npm run build`, which `npm run bench` does first); the TypeScript sources through tsx are the fallback.
// CODEXOS_BENCH_DIST names another build's index.js (an A/B pair of two builds in one bench session).
const dist =
  process.env.CODEXOS_BENCH_DIST ?? fileURLToPath(new URL('../../../packages/orchestrator/dist/index.js', import.meta.url));
const { MultiAgentOrchestrator } = (await import(
  existsSync(dist) ? dist : '../../../packages/orchestrator/src/index.ts'
)) as { MultiAgentOrchestrator: typeof Orchestrator };
export const codexosBuild = existsSync(dist) ? 'build (packages/orchestrator/dist)' : 'TypeScript sources via tsx';

export async function createCodexOS(opts: { store: 'memory' | 'sqlite' }): Promise<EngineAdapter> {
  const path = join(tmpdir(), `codexos-bench-${process.pid}-${Date.now()}.db`);
  const o = new MultiAgentOrchestrator({
    store: opts.store === 'memory' ? { type: 'memory' } : { type: 'sqlite', path },
    workflow: { maxTasks: 20_000, maxDepth: 20_000, maxConcurrency: 5_000 },
    monitoring: { enableMetrics: false, enableProfiling: false },
    // biome-ignore lint/suspicious/noExplicitAny: the bench passes only the fields it needs.
  } as any);
  let body: TaskBody = async () => 0;
  o.registerAgent({
    id: 'noop',
    name: 'noop',
    instructions: '',
    handler: (ctx) => body(Object.values(ctx.deps) as number[]),
  });
  let seq = 0;
  return {
    async prepare(shape: Shape, b: TaskBody): Promise<Runner> {
      body = b;
      const tasks = shape.stages.flatMap((stage, s) =>
        stage.map((id) => ({ id, name: id, agentId: 'noop', dependencies: s === 0 ? [] : shape.stages[s - 1] })),
      );
      const raw = { id: `wf${seq++}`, name: 'bench', version: '1', tasks };
      // Validate and compile once, as the peers compile their graphs once (older engines: validate per run).
      const def = typeof o.prepareWorkflow === 'function' ? o.prepareWorkflow(raw as never) : raw;
      const lastId = shape.stages[shape.stages.length - 1][0];
      return async () => {
        // biome-ignore lint/suspicious/noExplicitAny: tolerate a Map or a record of task states.
        const ex: any = await o.executeWorkflow(def as never, { input: {} });
        if (ex.status !== 'completed') throw new Error(`execution ${ex.status}: ${ex.error?.message ?? ''}`);
        const t = ex.tasks instanceof Map ? ex.tasks.get(lastId) : ex.tasks[lastId];
        return t.output as number;
      };
    },
    async close() {
      await o.close();
      if (opts.store === 'sqlite') for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
    },
  };
}
