import { durations } from '../critical-path.js';
import type { TaskTable } from '../execution-record.js';
import { round } from '../stats.js';
import type { DetectorSettings } from '../types.js';
import type { InsightDraft } from './types.js';

/**
 * Dependencies that carry no data: the downstream task declares which upstream outputs it reads (`reads`,
 * reported by the engine from its templates) and the dependency is not among them. Dropping those edges is
 * what-if'd over the observed durations (the unread edges are found once per compiled DAG); the insight fires only when that shortens the longest chain.
 */
export function detectParallelization(tab: TaskTable, s: DetectorSettings): InsightDraft[] {
  const unread = tab.dag.unread;
  if (unread === undefined) return [];
  const { edges, sequentialTasks, drop } = unread;
  const d = durations(tab);
  const now = tab.dag.longestChain(d);
  const after = tab.dag.longestChain(d, drop);
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
