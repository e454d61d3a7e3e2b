import type { ExecutionResult, TaskResult } from '@codexos/multi-agent-orchestrator';

/**
 * Time the run spent working: the union of its tasks' run intervals. For a resumed run this leaves out the time
 * between the interruption and the resume, which `finishedAt - startedAt` would count.
 */
export function workingTime(tasks: TaskResult[]): number {
  const spans = tasks
    .filter((t) => t.startedAt !== undefined && t.finishedAt !== undefined)
    .map((t) => [t.startedAt!, t.finishedAt!] as const)
    .sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = Number.NEGATIVE_INFINITY;
  for (const [s, f] of spans) {
    if (f <= end) continue;
    total += f - Math.max(s, end);
    end = f;
  }
  return total;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What ran for a task beyond one plain attempt: loop items or iterations, and retries. */
function runs(t: TaskResult, loop?: 'forEach' | 'while'): string {
  const units = t.iterations ?? (loop ? t.attempts : undefined);
  if (units !== undefined && loop) {
    const retries = t.attempts - units;
    const unit = loop === 'forEach' ? plural(units, 'item') : plural(units, 'iteration');
    return retries > 0 ? `${unit}, ${retries} ${retries === 1 ? 'retry' : 'retries'}` : unit;
  }
  return t.attempts > 1 ? `${t.attempts} attempts` : '';
}

/** The final summary after a run: status, timings per task, tokens and cost. */
export function printSummary(
  out: NodeJS.WritableStream,
  r: ExecutionResult,
  loops: Map<string, 'forEach' | 'while'> = new Map(),
): void {
  const icon = r.status === 'completed' ? '✔' : r.status === 'cancelled' ? '■' : '✖';
  const tasks = Object.values(r.tasks);
  const took = r.resumed
    ? `in ${workingTime(tasks).toFixed(0)}ms of work (resumed; ${(r.duration / 1000).toFixed(1)}s since the first start)`
    : `in ${r.duration.toFixed(0)}ms`;
  out.write(`\n${icon} ${r.workflowId} ${r.status} ${took} — execution ${r.executionId}\n`);
  const width = Math.min(40, Math.max(4, ...tasks.map((t) => t.taskId.length)));
  if (tasks.length <= 50) {
    for (const t of tasks) {
      const time = t.duration !== undefined ? `${t.duration.toFixed(0)}ms` : '';
      const extra = t.error ? t.error.message : t.skippedReason ? t.skippedReason : runs(t, loops.get(t.taskId));
      out.write(`  ${t.taskId.padEnd(width)} ${t.status.padEnd(9)} ${time.padStart(7)}${extra ? `  ${extra}` : ''}\n`);
    }
  }
  const by = (s: string) => tasks.filter((t) => t.status === s).length;
  out.write(`  ${by('completed')} completed, ${by('failed')} failed, ${by('skipped')} skipped`);
  if (r.usage.inputTokens || r.usage.outputTokens)
    out.write(` · ${r.usage.inputTokens} in / ${r.usage.outputTokens} out tokens · $${r.cost.toFixed(6)}`);
  out.write('\n');
  if (r.error) out.write(`  error ${r.error.code}: ${r.error.message}\n`);
}
