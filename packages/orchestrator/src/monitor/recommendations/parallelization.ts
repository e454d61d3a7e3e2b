import { longestChain } from '../critical-path.js';
import type { ExecutionRecord } from '../execution-record.js';
import { round } from '../stats.js';
import type { DetectorSettings } from '../types.js';
import type { InsightDraft } from './types.js';

/**
 * Dependencies that carry no data: the downstream task declares which upstream outputs it reads (`reads`,
 * reported by the engine from its templates) and the dependency is not among them. Dropping those edges is
 * what-if'd over the observed durations; the insight fires only when that shortens the longest chain.
 */
export function detectParallelization(rec: ExecutionRecord, s: DetectorSettings): InsightDraft[] {
  const drop = new Set<string>();
  const edges: string[] = [];
  const sequentialTasks = new Set<string>();
  for (const t of rec.dag) {
    if (t.reads === undefined) continue;
    for (const dep of t.dependencies) {
      if (t.reads.includes(dep)) continue;
      drop.add(`${dep}\u0000${t.id}`);
      edges.push(`${dep} → ${t.id}`);
      if (t.type === 'sequential') sequentialTasks.add(t.id);
    }
  }
  if (drop.size === 0) return [];
  const dur = new Map<string, number>();
  for (const t of rec.tasks.values()) {
    if (t.finishedAt < 0 || t.startedAt < 0) continue;
    dur.set(t.taskId, Math.max(dur.get(t.taskId) ?? 0, t.finishedAt - t.startedAt));
  }
  const d = (id: string) => dur.get(id) ?? 0;
  const now = longestChain(rec.dag, d);
  const after = longestChain(rec.dag, d, drop);
  const saved = now - after;
  if (saved < s.parallelMinSavingMs || saved < now * 0.1) return [];
  return [
    {
      type: 'parallelization',
      title: 'Parallelization opportunity',
      description: `${edges.length} dependenc${edges.length === 1 ? 'y' : 'ies'} (${edges.slice(0, 5).join(', ')}${edges.length > 5 ? ', …' : ''}) order tasks that do not read each other's output; the chain of work could drop from ${round(now)} ms to ${round(after)} ms.`,
      recommendation: `Remove these dependencies (or mark the tasks 'parallel') so they run concurrently: about ${round(saved)} ms (${round((saved / now) * 100, 1)} %) faster per run.`,
      evidence: {
        edges,
        sequentialTasks: [...sequentialTasks],
        currentChainMs: round(now),
        estimatedChainMs: round(after),
        savedMs: round(saved),
      },
      severity: saved / now >= 0.3 ? 'warning' : 'info',
    },
  ];
}
