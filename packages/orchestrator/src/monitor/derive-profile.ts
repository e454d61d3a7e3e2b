import { z } from 'zod';
import type { StateStore } from '../store/types.js';
import { type DagTask, ExecutionRecord } from './execution-record.js';
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
  const agentOf = new Map(dag.map((d) => [d.id, d.agentId] as const));
  const rec = new ExecutionRecord(executionId, header.workflowId, header.startedAt, dag);
  const queuedAt = new Map<string, number>();
  for (const tr of await store.history(executionId)) {
    const hash = tr.taskKey.indexOf('#');
    const taskId = hash < 0 ? tr.taskKey : tr.taskKey.slice(0, hash);
    const iteration = hash < 0 ? undefined : Number(tr.taskKey.slice(hash + 1));
    const t = rec.task({
      taskId,
      agentId: agentOf.get(taskId) ?? '(unknown)',
      iteration: Number.isFinite(iteration) ? iteration : undefined,
    });
    switch (tr.status) {
      case 'queued':
        if (!queuedAt.has(taskId)) queuedAt.set(taskId, tr.at);
        break;
      case 'running':
        if (t.startedAt < 0) t.startedAt = tr.at;
        // Queue wait: from queued (or the previous retry) to this start.
        if (t.lastStartedAt < 0) t.queueWait += tr.at - (queuedAt.get(taskId) ?? tr.at);
        t.lastStartedAt = tr.at;
        t.attempts = Math.max(t.attempts, tr.attempt);
        t.status = 'running';
        break;
      case 'retrying':
        t.retries++;
        t.status = 'retrying';
        break;
      case 'completed':
      case 'failed':
        t.status = tr.status;
        t.finishedAt = tr.at;
        t.attempts = Math.max(t.attempts, tr.attempt);
        if (tr.usage) {
          t.inputTokens = tr.usage.inputTokens;
          t.outputTokens = tr.usage.outputTokens;
        }
        if (tr.cost !== undefined) t.cost = tr.cost;
        if (tr.error) t.error = tr.error;
        break;
      case 'skipped':
        t.status = 'skipped';
        break;
    }
  }
  rec.status = header.status === 'pending' ? 'running' : header.status;
  if (header.finishedAt !== undefined) rec.finishedAt = header.finishedAt;
  return buildProfile(rec, s, 'store');
}
