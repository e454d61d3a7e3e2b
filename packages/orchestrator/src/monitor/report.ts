import { round } from './stats.js';
import type { CostBreakdown, CostLine, ExecutionProfile, Insight, MonitorReport } from './types.js';
import { PROFILE_SCHEMA_VERSION } from './types.js';

// `codexos report <executionId>`: a pure text rendering of a profile, its insights and its costs, and the
// JSON shape printed with `--json`.

/** The monitor report of a run as a JSON-ready object (what `codexos report --json` prints). */
export function reportJson(profile: ExecutionProfile, insights: Insight[], costs: CostBreakdown): MonitorReport {
  return { schemaVersion: PROFILE_SCHEMA_VERSION, profile, insights, costs };
}

const ms = (v: number) => `${round(v, v < 10 ? 2 : 0)} ms`;
const usd = (v: number) => `$${v < 0.01 && v > 0 ? v.toFixed(6) : v.toFixed(4)}`;

function table(rows: string[][], indent = '  '): string[] {
  if (rows.length === 0) return [];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map(
    (r) =>
      indent +
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
  );
}

function costRows(title: string, lines: CostLine[], limit = 10): string[] {
  if (lines.length === 0) return [];
  const rows = [[title, 'calls', 'tokens in/out', 'cost']];
  for (const l of lines.slice(0, limit))
    rows.push([l.key, String(l.calls), `${l.inputTokens}/${l.outputTokens}`, usd(l.cost)]);
  if (lines.length > limit) rows.push([`… ${lines.length - limit} more`, '', '', '']);
  return table(rows);
}

/** The monitor report of a run as text (what `codexos report` prints). */
export function formatReport(profile: ExecutionProfile, insights: Insight[], costs: CostBreakdown): string {
  const p = profile;
  const out: string[] = [];
  out.push(`Execution ${p.executionId} — workflow '${p.workflowId}' — ${p.status}`);
  out.push(
    `Started ${new Date(p.startedAt).toISOString()}, makespan ${ms(p.makespanMs)}; ${p.taskCount} tasks: ${p.completed} completed, ${p.failed} failed, ${p.skipped} skipped, ${p.retries} retries`,
  );
  const par = p.parallelism;
  out.push(
    `Parallelism: achieved ${round(par.achievedAvg)} avg / ${par.achievedPeak} peak; possible ${round(par.possibleAvg)} avg / ${par.possiblePeak} peak (efficiency ${round(par.efficiency * 100, 0)} %)`,
  );
  out.push(
    `Totals: queue wait ${ms(p.totals.queueWaitMs)}, run time ${ms(p.totals.runTimeMs)}, ${p.totals.modelCalls} model calls (${ms(p.totals.modelLatencyMs)}), tokens ${p.totals.inputTokens}/${p.totals.outputTokens}, cost ${usd(p.totals.cost)}`,
  );
  if (p.resources) {
    const r = p.resources;
    out.push(
      `Resources: CPU ${round(r.cpuPercentAvg, 1)} % avg / ${round(r.cpuPercentPeak, 1)} % peak, RSS peak ${round(r.rssPeakBytes / 1048576, 1)} MB, heap peak ${round(r.heapUsedPeakBytes / 1048576, 1)} MB, event-loop p99 ${ms(r.eventLoopDelayP99Ms)}, provider network ${r.networkBytesIn} B in / ${r.networkBytesOut} B out`,
    );
  }

  const cp = p.criticalPath;
  out.push(
    '',
    `Critical path: ${cp.steps.length} tasks, ${ms(cp.durationMs)} (work ${ms(cp.workMs)}, overhead ${ms(cp.overheadMs)})`,
  );
  out.push(
    ...table([
      ['task', 'agent', 'start', 'wait', 'duration'],
      ...cp.steps.map((s) => [s.taskKey, s.agentId, `+${ms(s.startMs)}`, ms(s.waitMs), ms(s.durationMs)]),
    ]),
  );

  out.push('', 'Tasks');
  const rows = [['task', 'agent', 'status', 'queue', 'run', 'attempts', 'model', 'latency', 'tokens in/out', 'cost']];
  const shown = p.tasks.slice(0, 50);
  for (const t of shown) {
    rows.push([
      `${t.onCriticalPath ? '*' : ' '}${t.taskKey}`,
      t.agentId,
      t.status + (t.cached ? ' (cached)' : ''),
      ms(t.queueWaitMs),
      ms(t.runTimeMs),
      String(t.attempts),
      t.model ?? '-',
      t.modelCalls ? ms(t.modelLatencyMs) : '-',
      `${t.inputTokens}/${t.outputTokens}`,
      usd(t.cost),
    ]);
  }
  out.push(...table(rows));
  if (p.tasks.length > shown.length) out.push(`  … ${p.tasks.length - shown.length} more tasks (use --json)`);
  out.push('  (* on the critical path)');

  out.push(
    '',
    `Costs: ${usd(costs.total)} over ${costs.calls} priced calls, tokens ${costs.inputTokens}/${costs.outputTokens}`,
  );
  out.push(...costRows('model', costs.byModel), ...costRows('agent', costs.byAgent), ...costRows('task', costs.byTask));

  if (p.bottlenecks.length) {
    out.push('', 'Bottlenecks');
    for (const b of p.bottlenecks) out.push(`  [${b.kind}] ${b.message}`);
  }
  out.push('', insights.length ? 'Insights' : 'Insights: none');
  for (const i of insights) {
    out.push(`💡 Insight: ${i.title}`);
    out.push(`   ${i.description}`);
    out.push(`   Recommendation: ${i.recommendation}`);
  }
  return `${out.join('\n')}\n`;
}
