import type { ExecutionResult } from '@codexos/multi-agent-orchestrator';

/** The final summary after a run: status, timings per task, tokens and cost. */
export function printSummary(out: NodeJS.WritableStream, r: ExecutionResult): void {
  const icon = r.status === 'completed' ? '✔' : r.status === 'cancelled' ? '■' : '✖';
  out.write(`\n${icon} ${r.workflowId} ${r.status} in ${r.duration.toFixed(0)}ms — execution ${r.executionId}\n`);
  const tasks = Object.values(r.tasks);
  const width = Math.min(40, Math.max(4, ...tasks.map((t) => t.taskId.length)));
  if (tasks.length <= 50) {
    for (const t of tasks) {
      const time = t.duration !== undefined ? `${t.duration.toFixed(0)}ms` : '';
      const extra = t.error
        ? `  ${t.error.message}`
        : t.skippedReason
          ? `  ${t.skippedReason}`
          : t.attempts > 1
            ? `  ${t.attempts} attempts`
            : '';
      out.write(`  ${t.taskId.padEnd(width)} ${t.status.padEnd(9)} ${time.padStart(7)}${extra}\n`);
    }
  }
  const by = (s: string) => tasks.filter((t) => t.status === s).length;
  out.write(`  ${by('completed')} completed, ${by('failed')} failed, ${by('skipped')} skipped`);
  if (r.usage.inputTokens || r.usage.outputTokens)
    out.write(` · ${r.usage.inputTokens} in / ${r.usage.outputTokens} out tokens · $${r.cost.toFixed(6)}`);
  out.write('\n');
  if (r.error) out.write(`  error ${r.error.code}: ${r.error.message}\n`);
}
