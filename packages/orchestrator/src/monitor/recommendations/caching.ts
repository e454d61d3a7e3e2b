import type { ExecutionRecord } from '../execution-record.js';
import type { ModelStats } from '../model-stats.js';
import { round } from '../stats.js';
import type { DetectorSettings } from '../types.js';
import type { InsightDraft } from './types.js';

/** Identical (model, prompt, params) calls — same request key — made again in later runs. */
export function detectCaching(rec: ExecutionRecord, stats: ModelStats, s: DetectorSettings): InsightDraft[] {
  const keys = new Set<string>();
  for (const c of rec.calls) if (c.requestKey !== undefined && c.success) keys.add(c.requestKey);
  const repeated: Array<{
    key: string;
    calls: number;
    executions: number;
    model: string;
    wastedCost: number;
    wastedMs: number;
    tasks: string[];
  }> = [];
  for (const key of keys) {
    const k = stats.byKey.get(key);
    if (k === undefined || k.reported || k.executions.length < s.cacheMinExecutions) continue;
    k.reported = true;
    const mean = k.calls ? 1 / k.calls : 0;
    repeated.push({
      key,
      calls: k.calls,
      executions: k.executions.length,
      model: k.model,
      // Every call after the first could have been served from a cache.
      wastedCost: k.cost * (1 - mean),
      wastedMs: k.latencyMs * (1 - mean),
      tasks: k.tasks,
    });
  }
  if (repeated.length === 0) return [];
  repeated.sort((a, b) => b.wastedCost - a.wastedCost || b.calls - a.calls);
  const cost = repeated.reduce((a, r) => a + r.wastedCost, 0);
  const ms = repeated.reduce((a, r) => a + r.wastedMs, 0);
  const calls = repeated.reduce((a, r) => a + r.calls, 0);
  const tasks = [...new Set(repeated.flatMap((r) => r.tasks))];
  return [
    {
      type: 'caching',
      title: 'Caching opportunity',
      description: `${repeated.length} identical model request${repeated.length === 1 ? ' was' : 's were'} repeated across runs (${calls} calls in total, tasks: ${tasks.slice(0, 5).join(', ')}).`,
      recommendation: `Enable \`cache\` on ${tasks.length === 1 ? `task '${tasks[0]}'` : 'these tasks'}: saves about $${round(cost, 4)} and ${round(ms)} ms of model time per repeat.`,
      evidence: {
        repeatedRequests: repeated.length,
        calls,
        tasks,
        wastedCost: round(cost, 6),
        wastedLatencyMs: round(ms),
        top: repeated.slice(0, 5).map((r) => ({
          requestKey: r.key,
          model: r.model,
          calls: r.calls,
          executions: r.executions,
        })),
      },
      severity: 'info',
    },
  ];
}
