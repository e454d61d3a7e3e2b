import { CodexError, ErrorCodes, MultiAgentOrchestrator } from '@codexos/multi-agent-orchestrator';
import type { Command } from 'commander';

interface Io {
  out: NodeJS.WriteStream;
}

/** The workflow's results: outputs of the completed tasks nothing else depends on (what `result.output` holds). */
function finalTaskIds(definition: unknown, completed: Set<string>): string[] {
  const tasks = ((definition as { tasks?: unknown })?.tasks ?? []) as Array<{ id: string; dependencies?: string[] }>;
  const needed = new Set(tasks.flatMap((t) => t.dependencies ?? []));
  return tasks.map((t) => t.id).filter((id) => !needed.has(id) && completed.has(id));
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v, null, 2));

/** `codexos outputs <executionId>`: prints what a stored run produced. */
export function registerOutputsCommand(program: Command, io: Io): void {
  program
    .command('outputs')
    .description("print a stored run's outputs: the workflow's results, one task's (--task) or every task's (--all)")
    .argument('<executionId>')
    .option('--store <path>', 'SQLite state file', '.codexos/state.db')
    .option('--task <id>', "only this task's output")
    .option('--all', 'every completed task, not only the final ones')
    .option('--json', 'print a JSON object of outputs by task id')
    .action(async (executionId: string, flags: { store: string; task?: string; all?: boolean; json?: boolean }) => {
      const o = new MultiAgentOrchestrator({ store: { type: 'sqlite', path: flags.store } });
      try {
        const stored = await o.getExecution(executionId);
        if (!stored) throw new CodexError(ErrorCodes.EXECUTION_NOT_FOUND, `No stored execution "${executionId}"`);
        const completed = new Set(
          [...stored.tasks.values()].filter((t) => t.status === 'completed').map((t) => t.taskKey),
        );
        if (flags.task && !stored.tasks.has(flags.task))
          throw new CodexError(ErrorCodes.CONFIG_INVALID, `Execution ${executionId} has no task "${flags.task}"`);
        const ids = flags.task
          ? [flags.task]
          : flags.all
            ? [...completed]
            : finalTaskIds(stored.header.definition, completed);
        const outputs: Record<string, unknown> = {};
        for (const id of ids) outputs[id] = stored.tasks.get(id)?.output;
        if (flags.json) io.out.write(`${JSON.stringify(flags.task ? outputs[flags.task] : outputs, null, 2)}\n`);
        else if (flags.task) io.out.write(`${show(outputs[flags.task])}\n`);
        else for (const id of ids) io.out.write(`── ${id}\n${show(outputs[id])}\n`);
      } finally {
        await o.close();
      }
    });
}
