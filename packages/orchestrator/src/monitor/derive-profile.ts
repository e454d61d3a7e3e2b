import { z } from 'zod';
import type { StateStore } from '../store/types.js';
import { DagIndex } from './dag-index.js';
import { buildTable, type DagTask, ExecutionRecord, type TaskFacts } from './execution-record.js';
import { buildProfile } from './profile-builder.js';
import type { DetectorSettings, ExecutionProfile } from './types.js';

// A profile rebuilt from the execution state store (header + transitions) for runs the monitor did not see
// live or no longer holds. The definition is stored by the engine as-is; read only the fields needed.

const definitionSchema = z.object({
  tasks: z
    .array(
      z
        .object({
          id: z.string(),
          agentId: z.string().optional(),
          type: z.string().optional(),
          dependencies: z.array(z.string()).optional(),
        })
        .passthrough(),
    )
    .default([]),
});

/** Builds the execution profile (timings, critical path, bottlenecks) of a finished run. */
export async function deriveProfile(
  store: StateStore,
  executionId: string,
  s: DetectorSettings,
): Promise<ExecutionProfile | undefined> {
  const loaded = await store.loadExecution(executionId);
  if (loaded === undefined) return undefined;
  const { header } = loaded;
  const def = definitionSchema.safeParse(header.definition);
  const dag: DagTask[] = def.success
    ? def.data.tasks.map((t) => ({
        id: t.id,
        agentId: t.agentId ?? '(unknown)',
        type: t.type,
        dependencies: t.dependencies ?? [],
      }))
    : [];
  const rec = new ExecutionRecord(executionId, header.workflowId, header.startedAt, dag);
  const facts = new Map<string, TaskFacts>();
  const queuedAt = new Map<string, number>();
  const lastStart = new Map<string, number>();
  for (const tr of await store.history(executionId)) {
    const hash = tr.taskKey.indexOf('#');
    const taskId = hash < 0 ? tr.taskKey : tr.taskKey.slice(0, hash);
    const iteration = hash < 0 ? Number.NaN : Number(tr.taskKey.slice(hash + 1));
    let t = facts.get(taskId);
    if (t === undefined) {
      t = { status: 'queued', attempts: 0, queueWait: 0 };
      facts.set(taskId, t);
    }
    if (Number.isFinite(iteration) && iteration >= (t.iterations ?? 0)) t.iterations = iteration + 1;
    switch (tr.status) {
      case 'queued':
        if (!queuedAt.has(taskId)) queuedAt.set(taskId, tr.at);
        break;
      case 'running':
        t.startedAt ??= tr.at;
        // Queue wait: from queued to the first start.
        if (!lastStart.has(taskId)) t.queueWait = (t.queueWait ?? 0) + tr.at - (queuedAt.get(taskId) ?? tr.at);
        lastStart.set(taskId, tr.at);
        t.attempts = Math.max(t.attempts, tr.attempt);
        t.status = 'running';
        break;
      case 'retrying':
        rec.addRetry(taskId);
        t.status = 'retrying';
        break;
      case 'completed':
      case 'failed':
        t.status = tr.status;
        t.finishedAt = tr.at;
        t.attempts = Math.max(t.attempts, tr.attempt);
        if (tr.usage) t.usage = tr.usage;
        if (tr.cost !== undefined) t.cost = tr.cost;
        if (tr.error) t.error = tr.error;
        break;
      case 'skipped':
        t.status = 'skipped';
        break;
    }
  }
  // Run time as the store can tell it: the last attempt's start to the finish.
  for (const [taskId, t] of facts) {
    const ls = lastStart.get(taskId);
    t.duration = t.finishedAt !== undefined && ls !== undefined ? t.finishedAt - ls : 0;
  }
  // Tasks the stored definition does not name (or an unreadable definition) still get their rows.
  const known = new Set(dag.map((d) => d.id));
  for (const taskId of facts.keys())
    if (!known.has(taskId)) dag.push({ id: taskId, agentId: '(unknown)', dependencies: [] });
  // A profile knows only live and ended runs: pending, interrupted, paused and waiting runs are still live.
  const st = header.status;
  rec.status = st === 'completed' || st === 'failed' || st === 'cancelled' ? st : 'running';
  if (header.finishedAt !== undefined) rec.finishedAt = header.finishedAt;
  return buildProfile(rec, buildTable(new DagIndex(dag), facts, rec), s, 'store');
}
